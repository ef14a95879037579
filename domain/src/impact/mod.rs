//! Impact analysis: what a proposed schema change to a dataset reaches.
//!
//! A diff is a list of [`SchemaChange`]s against one dataset's schema. Each
//! change gets a [`Severity`] of its own ([`change_severity`]), and only
//! changes that may break someone travel downstream. [`analyze`] follows them
//! through the graph in two ways. Where an edge carries column mappings the
//! effect is column-precise: an affected column reaches exactly the
//! downstream columns mapped from it, with the same severity, and a chain
//! records the first (shortest) route it took. Where an edge has no mappings
//! we cannot tell which columns are hit, so the downstream asset is only
//! "possibly" affected, at most possibly-breaking, and from then on every one
//! of its outgoing edges passes the mark on.
//!
//! One exception, the process-lineage rule, keeps jobs from smearing that
//! uncertainty across the estate: a possibly-mark that would come only from
//! a workflow (a job's unmapped write) is dropped when the written asset also
//! has a mapped input from a column-precisely analysed asset (the changed
//! dataset, or an asset with affected columns). Column lineage from its data
//! inputs decides there; the job's reads and writes are process lineage,
//! which says that the job runs, not which columns it moves. The job itself
//! is still possibly affected, since it reads the changed data.
//!
//! Column effects never depend on possibly-marks, so the analysis runs in
//! phases: a breadth-first worklist over (asset, column) pairs whose states
//! only grow, so cycles terminate; then a worklist over possibly-marks, which
//! can only be set; then a breadth-first search over the edges that carried
//! either effect, for hops and paths. Neighbours are visited in id order and
//! every output is sorted, so the same graph always gives the same report:
//! an asset's outgoing edges are taken in the order of (target id, edge
//! kind).
//!
//! The analysis runs on a [`Subgraph`] in dense numbers, which a slice of
//! assets and edges ([`analyze`]) or the catalog's lineage index fills;
//! [`analyze_subgraph`] with [`Limits`] lists only a report's first rows,
//! the way [`ImpactReport::bounded`] cuts a whole one.

mod analysis;
mod change;
mod diff;
mod propagate;
mod subgraph;
#[cfg(test)]
mod tests;

pub use analysis::*;
pub use change::*;
pub use diff::{changes_in_effect, same_changes, schema_diff, SchemaDiff};
pub use propagate::{analyze_subgraph, Limits};
pub use subgraph::{Local, Subgraph};
