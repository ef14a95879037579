//! Everything one event asks of the catalog: asset patches, `reads`,
//! `writes` and `derives` edges, and the run update.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::asset::AssetKind;
use crate::edge::{edge_id, ColumnMapping, Edge, EdgeKind};

use super::patch::{dataset_patch, description_of, live_facet, owners_of, AssetPatch};
use super::run::RunUpdate;
use super::{dataset_asset_id, job_asset_id, EventKind, ParsedEvent};

/// Everything one event asks of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestPlan {
    /// Sorted by id; one patch per asset.
    pub assets: Vec<AssetPatch>,
    /// Sorted by id; one edge per (from, kind, to).
    pub edges: Vec<Edge>,
    pub run: Option<RunUpdate>,
}

/// The dependencies that an output's columnLineage facet names: for each
/// input dataset, the column mappings into the output. Dataset-level
/// entries (the facet's `dataset` list: joins, filters, sorts) name a
/// dependency without a target column, so they add the input with no
/// mapping of their own.
pub(super) fn column_lineage(
    facets: &Map<String, Value>,
) -> BTreeMap<(String, String), Vec<ColumnMapping>> {
    let mut out: BTreeMap<(String, String), Vec<ColumnMapping>> = BTreeMap::new();
    let Some(cl) = live_facet(facets, "columnLineage") else {
        return out;
    };
    let source = |input: &Value| -> Option<(String, String)> {
        let ns = input.get("namespace")?.as_str()?;
        let name = input.get("name")?.as_str()?;
        (!ns.trim().is_empty() && !name.trim().is_empty())
            .then(|| (ns.to_string(), name.to_string()))
    };
    if let Some(fields) = cl.get("fields").and_then(Value::as_object) {
        for (to, spec) in fields {
            let legacy = spec
                .get("transformationType")
                .and_then(Value::as_str)
                .map(|t| {
                    match spec
                        .get("transformationDescription")
                        .and_then(Value::as_str)
                    {
                        Some(d) => format!("{t}/{d}"),
                        None => t.to_string(),
                    }
                });
            let inputs = spec.get("inputFields").and_then(Value::as_array);
            for input in inputs.into_iter().flatten() {
                let Some(key) = source(input) else {
                    continue;
                };
                let mappings = out.entry(key).or_default();
                let Some(from) = input.get("field").and_then(Value::as_str) else {
                    continue;
                };
                if from.trim().is_empty() || to.trim().is_empty() {
                    continue;
                }
                let transform = input
                    .get("transformations")
                    .and_then(Value::as_array)
                    .and_then(|ts| ts.first())
                    .and_then(|t| {
                        let kind = t.get("type")?.as_str()?;
                        Some(match t.get("subtype").and_then(Value::as_str) {
                            Some(sub) if !sub.is_empty() => format!("{kind}/{sub}"),
                            _ => kind.to_string(),
                        })
                    })
                    .or_else(|| legacy.clone());
                mappings.push(ColumnMapping {
                    from: from.to_string(),
                    to: to.clone(),
                    transform,
                });
            }
        }
    }
    for input in cl
        .get("dataset")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(key) = source(input) {
            out.entry(key).or_default();
        }
    }
    out
}

fn add_edge(
    edges: &mut BTreeMap<String, Edge>,
    from: &str,
    kind: EdgeKind,
    to: &str,
    columns: Vec<ColumnMapping>,
) {
    let id = edge_id(from, kind, to);
    edges
        .entry(id.clone())
        .or_insert_with(|| Edge {
            id,
            from: from.to_string(),
            to: to.to_string(),
            kind,
            columns: Vec::new(),
            first_seen: None,
            last_seen: None,
        })
        .columns
        .extend(columns);
}

fn add_patch(assets: &mut BTreeMap<String, AssetPatch>, patch: AssetPatch) {
    match assets.get_mut(&patch.id) {
        Some(p) => p.absorb(patch),
        None => {
            assets.insert(patch.id.clone(), patch);
        }
    }
}

/// Maps an event onto the catalog. The job becomes a workflow asset and
/// each input or output dataset a dataset asset; inputs give `reads` edges
/// (dataset → workflow), outputs `writes` edges (workflow → dataset).
///
/// An output's columnLineage facet gives one `derives` edge per input
/// dataset → output dataset, carrying a mapping {from: input field, to:
/// output field, transform} for each input field of each output field. The
/// transform is the first transformation as `TYPE/SUBTYPE`, else the legacy
/// `transformationType` (with `/transformationDescription` if given), else
/// none. Inputs named only there still get a (bare) asset patch. A dataset
/// feeding itself gives no `derives` edge, since an edge must join two
/// assets.
///
/// A dataset that appears more than once (as input and output of an in-place
/// update) gets one patch; outputs come last and win, as they describe the
/// dataset after the run. A dataset event yields only its dataset's patch;
/// a job event yields the job and its edges but no run; a run event without
/// `eventType` updates its run as OTHER, which carries facets but changes no
/// state. Assets and edges are sorted by id, and mappings are deduplicated
/// and sorted, so equal events give equal plans.
pub fn plan(e: &ParsedEvent) -> IngestPlan {
    let mut assets = BTreeMap::new();
    let mut edges = BTreeMap::new();
    if e.kind == EventKind::Dataset {
        if let Some(d) = &e.dataset {
            add_patch(&mut assets, dataset_patch(d, ""));
        }
        return IngestPlan {
            assets: assets.into_values().collect(),
            edges: Vec::new(),
            run: None,
        };
    }
    let Some((job_ns, job_name, job_facets)) = &e.job else {
        // parse_event never yields a run or job event without a job.
        return IngestPlan {
            assets: Vec::new(),
            edges: Vec::new(),
            run: None,
        };
    };
    let job = job_asset_id(job_ns, job_name);
    let mut job_patch = AssetPatch::bare(AssetKind::Workflow, job_ns, job_name);
    job_patch.description = description_of(job_facets);
    job_patch.owners = owners_of(job_facets);
    job_patch.facets = job_facets.clone();
    add_patch(&mut assets, job_patch);

    for d in &e.inputs {
        let patch = dataset_patch(d, "input:");
        add_edge(&mut edges, &patch.id, EdgeKind::Reads, &job, Vec::new());
        add_patch(&mut assets, patch);
    }
    for d in &e.outputs {
        let patch = dataset_patch(d, "output:");
        let to = patch.id.clone();
        add_edge(&mut edges, &job, EdgeKind::Writes, &to, Vec::new());
        add_patch(&mut assets, patch);
        for ((ns, name), columns) in column_lineage(&d.facets) {
            let from = dataset_asset_id(&ns, &name);
            if from == to {
                continue;
            }
            if !assets.contains_key(&from) {
                add_patch(
                    &mut assets,
                    AssetPatch::bare(AssetKind::Dataset, &ns, &name),
                );
            }
            add_edge(&mut edges, &from, EdgeKind::Derives, &to, columns);
        }
    }
    let mut edges: Vec<Edge> = edges.into_values().collect();
    for edge in &mut edges {
        // The event says when it saw the edge: an edge new to the catalog
        // began then, not when the event arrived.
        edge.first_seen = Some(e.event_time.clone());
        edge.last_seen = Some(e.event_time.clone());
        edge.columns
            .sort_by(|a, b| (&a.from, &a.to, &a.transform).cmp(&(&b.from, &b.to, &b.transform)));
        edge.columns.dedup();
    }
    let run = match (e.kind, &e.run_id) {
        (EventKind::Run, Some(run_id)) => Some(RunUpdate {
            run_id: run_id.clone(),
            job,
            event_type: e.event_type.clone().unwrap_or_else(|| "OTHER".to_string()),
            event_time: e.event_time.clone(),
            facets: e.run_facets.clone(),
        }),
        _ => None,
    };
    IngestPlan {
        assets: assets.into_values().collect(),
        edges,
        run,
    }
}
