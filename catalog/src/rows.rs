//! Rows bound as SurrealDB's own values rather than JSON.
//!
//! The bulk-written tables (`asset`, `asset_version`, `edge`) have no field
//! definitions (see `schema.rs`): SurrealDB evaluates every definition for
//! every record, and that was a quarter of a bulk load's time. What the
//! definitions did is done here instead: times are real datetimes, and an
//! edge's ends are record links, which JSON cannot say.

use domain::Edge;
use serde_json::Value as Json;
pub(crate) use surrealdb::types::{Datetime, Value};
use surrealdb::types::{RecordId, SurrealValue};

/// `json` as a SurrealDB value, with `extra` fields set on it (an object).
pub(crate) fn row(json: Json, extra: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    let mut v = json.into_value();
    if let Value::Object(o) = &mut v {
        for (k, x) in extra {
            o.insert(k, x);
        }
    }
    v
}

/// Now, to the millisecond: as the lineage index's moment and as the
/// datetime a write stores, so that the index and one rebuilt from the
/// store agree on when things began and ended.
pub(crate) fn now() -> (domain::lineage::Millis, Datetime) {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    (ms, at_millis(ms))
}

/// The datetime of a moment in milliseconds.
pub(crate) fn at_millis(ms: domain::lineage::Millis) -> Datetime {
    Datetime::from_timestamp(
        ms.div_euclid(1000),
        (ms.rem_euclid(1000) * 1_000_000) as u32,
    )
    .unwrap_or_default()
}

/// A datetime value.
pub(crate) fn time(at: &Datetime) -> Value {
    Value::Datetime(*at)
}

/// `table:⟨key⟩` as a record link.
pub(crate) fn record(table: &str, key: &str) -> Value {
    Value::RecordId(RecordId::new(table, key.to_string()))
}

/// The record id of `asset`'s version `version`: `asset_version:[asset,
/// version]`, so that an asset's history is one range of ids.
pub(crate) fn version_record(asset: &str, version: u64) -> Value {
    let key = surrealdb::types::Array::from(vec![
        Value::String(asset.to_string()),
        Value::Number((version as i64).into()),
    ]);
    Value::RecordId(RecordId::new("asset_version", key))
}

/// The stored row of an edge being written at `at`: its record id, its
/// ends as links to their assets, and `first_seen` and `last_seen` (an edge
/// that exists keeps its `first_seen`; see `upsert_edges!`).
pub(crate) fn edge_row(edge: &Edge, at: &Datetime) -> Value {
    let mut columns = serde_json::to_value(&edge.columns).unwrap_or_default();
    crate::write::strip_nulls(&mut columns);
    let now = at.timestamp_millis();
    let seen = |t: &Option<String>| time(&at_millis(seen_at(t.as_deref(), now)));
    row(
        serde_json::json!({"key": edge.id, "kind": edge.kind.as_str(), "columns": columns}),
        [
            ("id", record("edge", &edge.id)),
            ("in", record("asset", &edge.from)),
            ("out", record("asset", &edge.to)),
            ("first_seen", seen(&edge.first_seen)),
            ("last_seen", seen(&edge.last_seen)),
        ],
    )
}

/// When an edge written at `now` was seen: the time its source gave (an
/// OpenLineage event's `eventTime`, an exported edge's `first_seen`), if
/// it is one and not later than `now`, else `now`. The lineage index takes
/// the same moment (see `GraphOp::apply`).
pub(crate) fn seen_at(
    given: Option<&str>,
    now: domain::lineage::Millis,
) -> domain::lineage::Millis {
    given
        .and_then(domain::time::to_millis)
        .map_or(now, |t| t.min(now))
}

/// A list of rows as one value to bind.
pub(crate) fn rows(items: Vec<Value>) -> Value {
    Value::Array(items.into())
}
