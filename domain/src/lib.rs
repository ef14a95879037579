//! The pure domain model of mlgraph: asset kinds, assets, typed edges with
//! column mappings, their validation, the NDJSON record format, and the
//! seeded demo estate generator.
//!
//! Architecture invariant: this crate does no I/O and depends on no async
//! runtime, web framework or database, so it builds for
//! `wasm32-unknown-unknown` and its tests compile in seconds.

pub mod alias;
pub mod asset;
pub mod auth;
pub mod change_request;
pub mod chart;
pub mod check;
pub mod dbt;
pub mod demo;
pub mod edge;
pub mod error;
pub mod impact;
pub mod lineage;
pub mod mlflow;
pub mod openlineage;
pub mod page;
pub mod query;
pub mod record;
pub mod scaling;
pub mod site;
pub mod svg;
pub mod time;

pub use asset::{Asset, AssetInput, AssetKind, AssetVersion, Field};
pub use edge::{ColumnMapping, Edge, EdgeInput, EdgeKind};
pub use error::{Result, ValidationError};
pub use record::Record;
