//! The read side's wire types: a catalog search with its facets, and an
//! asset's page (neighbours, versions, reuse). They live here, not in the
//! catalog, so the browser build shares them without pulling in a database.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetKind, AssetVersion};
use crate::edge::{ColumnMapping, EdgeKind};
use crate::error::ValidationError;
use crate::page::Listing;

pub const DEFAULT_LIMIT: usize = 25;
pub const MAX_LIMIT: usize = 1000;
/// The deepest a search pages by offset; past it, narrow the search.
pub const MAX_OFFSET: usize = 10_000;
/// The longest search text, in characters, and the most words in it.
pub const MAX_QUERY_CHARS: usize = 500;
pub const MAX_QUERY_WORDS: usize = 32;
/// The most values one facet filter (`owner`, `tag`) may hold, and the
/// longest value, in characters.
pub const MAX_FILTER_VALUES: usize = 50;
pub const MAX_FILTER_CHARS: usize = 200;
/// How many values each facet lists, besides the selected ones.
pub const FACET_VALUES: usize = 50;

/// A search over the catalog. Empty lists mean "no filter"; several values
/// in one list mean "any of them".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub kinds: Vec<AssetKind>,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "default_limit")]
    pub limit: usize,
    #[serde(default)]
    pub offset: usize,
    /// Continues a listing without text after the previous page (its
    /// `next`, a cursor from [`cursor_after`]): keyset paging, at any depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// Narrows each facet's list of values to those containing this text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fq: String,
}

fn default_limit() -> usize {
    DEFAULT_LIMIT
}

/// Counts per facet value, for the current query without that facet's own
/// filter, so a user can widen a selection as well as narrow it. Each facet
/// lists its `FACET_VALUES` most frequent values (those containing the
/// query's `fq`) and every selected one; `more` says how many values each
/// facet left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    pub kind: BTreeMap<String, u64>,
    pub owner: BTreeMap<String, u64>,
    pub tag: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub more: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub total: u64,
    pub items: Vec<Asset>,
    pub facets: Facets,
    /// For a listing without text (in name order): the `after` that shows
    /// the next page, when there may be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A direct neighbour of an asset, seen from that asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbor {
    pub edge_id: String,
    pub edge_kind: EdgeKind,
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    /// The first [`crate::page::MAPPINGS_SHOWN`] column mappings.
    #[serde(default)]
    pub columns: Vec<ColumnMapping>,
    /// Mappings of this edge beyond those listed.
    #[serde(default)]
    pub more_columns: usize,
}

/// Another feature or model built from the same upstream assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReuseCandidate {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    /// How many of this asset's upstream assets it also reads.
    pub shared: u64,
    pub via: Vec<String>,
}

/// Everything an asset's page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetDetail {
    pub asset: Asset,
    /// Newest first.
    pub versions: Listing<AssetVersion>,
    pub upstream: Listing<Neighbor>,
    pub downstream: Listing<Neighbor>,
    pub reuse: Vec<ReuseCandidate>,
    /// Everything upstream and downstream by distance, farthest upstream
    /// first, then nearest downstream first; each hop is windowed.
    pub hops: Vec<Hop>,
}

/// The assets at one distance from an asset: negative upstream, positive
/// downstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub depth: i64,
    pub assets: Listing<AssetRef>,
}

/// Adds facet filter values, each once, within the limits.
fn add_filter_values(
    list: &mut Vec<String>,
    field: &str,
    values: Vec<String>,
) -> Result<(), ValidationError> {
    for v in values {
        if v.chars().count() > MAX_FILTER_CHARS {
            return Err(ValidationError::new(
                field,
                format!("a value must be at most {MAX_FILTER_CHARS} characters"),
            ));
        }
        if !list.contains(&v) {
            if list.len() == MAX_FILTER_VALUES {
                return Err(ValidationError::new(
                    field,
                    format!("may hold at most {MAX_FILTER_VALUES} values"),
                ));
            }
            list.push(v);
        }
    }
    Ok(())
}

impl SearchQuery {
    /// Reads a search from URL query pairs, as both the REST API and the
    /// search page receive it. `kind`, `owner` and `tag` may repeat, and
    /// each may also hold a comma-separated list.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ValidationError> {
        let mut q = SearchQuery {
            limit: DEFAULT_LIMIT,
            ..Default::default()
        };
        let split = |v: &str| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        for (k, v) in pairs {
            match k.as_str() {
                "q" => {
                    if v.chars().count() > MAX_QUERY_CHARS {
                        return Err(ValidationError::new(
                            "q",
                            format!("must be at most {MAX_QUERY_CHARS} characters"),
                        ));
                    }
                    if v.split_whitespace().count() > MAX_QUERY_WORDS {
                        return Err(ValidationError::new(
                            "q",
                            format!("must be at most {MAX_QUERY_WORDS} words"),
                        ));
                    }
                    q.q = v
                }
                "kind" => {
                    for k in split(&v) {
                        let kind: AssetKind = k.parse()?;
                        if !q.kinds.contains(&kind) {
                            q.kinds.push(kind);
                        }
                    }
                }
                "owner" => add_filter_values(&mut q.owners, "owner", split(&v))?,
                "tag" => add_filter_values(&mut q.tags, "tag", split(&v))?,
                "limit" => {
                    q.limit = v.parse().map_err(|_| {
                        ValidationError::new("limit", format!("{v:?} is not a whole number"))
                    })?;
                    if q.limit == 0 || q.limit > MAX_LIMIT {
                        return Err(ValidationError::new(
                            "limit",
                            format!("must be between 1 and {MAX_LIMIT}"),
                        ));
                    }
                }
                "offset" => {
                    q.offset = v.parse().map_err(|_| {
                        ValidationError::new("offset", format!("{v:?} is not a whole number"))
                    })?;
                    if q.offset > MAX_OFFSET {
                        return Err(ValidationError::new(
                            "offset",
                            format!(
                                "must be at most {MAX_OFFSET}; narrow the search to see further"
                            ),
                        ));
                    }
                }
                "after" => {
                    if v.len() > 4096 || asset_after(&v).is_none() {
                        return Err(ValidationError::new(
                            "after",
                            "must be the `next` of a previous page",
                        ));
                    }
                    q.after = Some(v)
                }
                "fq" => {
                    if v.chars().count() > MAX_FILTER_CHARS {
                        return Err(ValidationError::new(
                            "fq",
                            format!("must be at most {MAX_FILTER_CHARS} characters"),
                        ));
                    }
                    q.fq = v
                }
                _ => {}
            }
        }
        if q.after.is_some() && q.offset > 0 {
            return Err(ValidationError::new(
                "after",
                "pages by cursor; leave offset out with after",
            ));
        }
        Ok(q)
    }

    /// The URL query string for this search (without `?`), with the limit
    /// and offset left out when they are the defaults.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode_component(&self.q)));
        }
        for k in &self.kinds {
            parts.push(format!("kind={}", k.as_str()));
        }
        for o in &self.owners {
            parts.push(format!("owner={}", encode_component(o)));
        }
        for t in &self.tags {
            parts.push(format!("tag={}", encode_component(t)));
        }
        if self.limit != DEFAULT_LIMIT {
            parts.push(format!("limit={}", self.limit));
        }
        if self.offset != 0 {
            parts.push(format!("offset={}", self.offset));
        }
        if let Some(a) = &self.after {
            parts.push(format!("after={}", encode_component(a)));
        }
        if !self.fq.is_empty() {
            parts.push(format!("fq={}", encode_component(&self.fq)));
        }
        parts.join("&")
    }
}

const CURSOR_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The cursor (`next`, given back as `after`) that continues a listing
/// after the asset `id`: the id in unpadded base64url, so that it passes
/// through URLs, forms and links unchanged however often they are decoded.
pub fn cursor_after(id: &str) -> String {
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 3);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(CURSOR_ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

/// The asset id inside a cursor, if it is one.
pub fn asset_after(cursor: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(cursor.len() * 3 / 4);
    for chunk in cursor.as_bytes().chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = CURSOR_ALPHABET.iter().position(|a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            bytes.push((n >> (16 - 8 * i)) as u8);
        }
    }
    let id = String::from_utf8(bytes).ok()?;
    crate::asset::parse_asset_id(&id).ok()?;
    Some(id)
}

/// Percent-encodes everything but RFC 3986's unreserved characters, like
/// JavaScript's `encodeURIComponent` (which also keeps a few marks).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space when `plus` is set). Invalid
/// escapes are kept as they are.
pub fn decode_component(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a raw URL query string into decoded pairs.
pub fn parse_query_string(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k, true), decode_component(v, true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_round_trip_through_urls() {
        let q = SearchQuery {
            q: "watch time & more".into(),
            kinds: vec![AssetKind::Feature, AssetKind::Model],
            owners: vec!["ana.silva".into()],
            tags: vec!["tier-1".into()],
            limit: 50,
            offset: 100,
            after: None,
            fq: "ana".into(),
        };
        let s = q.to_query_string();
        assert_eq!(SearchQuery::from_pairs(parse_query_string(&s)).unwrap(), q);
        let comma =
            SearchQuery::from_pairs(parse_query_string("kind=model,feature&q=a+b")).unwrap();
        assert_eq!(comma.kinds, vec![AssetKind::Model, AssetKind::Feature]);
        assert_eq!(comma.q, "a b");
    }

    #[test]
    fn bad_parameters_name_the_parameter() {
        for (raw, field) in [
            ("kind=robot", "kind"),
            ("limit=x", "limit"),
            ("limit=0", "limit"),
            ("limit=5000", "limit"),
            ("offset=-1", "offset"),
            ("after=nonsense", "after"),
            ("after=dataset:w:t&offset=5", "after"),
        ] {
            assert_eq!(
                SearchQuery::from_pairs(parse_query_string(raw))
                    .unwrap_err()
                    .field,
                field,
                "{raw}"
            );
        }
    }

    #[test]
    fn cursors_carry_ids_through_urls() {
        for id in [
            "dataset:postgres%3A//db:5432:public.orders v2",
            "model:m:a",
            "feature:fs:été_1",
            "feature:fs:ab",
        ] {
            let c = cursor_after(id);
            assert!(c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(asset_after(&c).as_deref(), Some(id));
        }
        assert_eq!(asset_after("nonsense"), None, "not an asset id");
        assert_eq!(asset_after("a"), None);
        assert_eq!(asset_after("ab!c"), None);
    }

    #[test]
    fn ids_survive_encoding() {
        let id = "dataset:postgres%3A//db:5432:public.orders v2";
        let enc = encode_component(id);
        assert!(!enc.contains('/') && !enc.contains(' ') && !enc.contains(':'));
        assert_eq!(decode_component(&enc, false), id);
        assert_eq!(decode_component("100%", false), "100%");
        assert_eq!(decode_component("%zz%4", false), "%zz%4");
    }
}

/// One node of a lineage answer. `depth` is negative upstream and positive
/// downstream of the asset asked about, which has depth 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageNode {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    pub depth: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageEdge {
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
}

impl LineageEdge {
    /// The edge's key in a drawing: `from|kind|to`.
    pub fn key(&self) -> String {
        format!("{}|{}|{}", self.from, self.kind.as_str(), self.to)
    }
}

/// How much of an answer a limit cut off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncated {
    /// Reachable nodes in all, before the limit.
    pub total: usize,
    /// Nodes left out by the limit.
    pub omitted: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageView {
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
    pub truncated: Truncated,
}

/// An asset named in a traversal answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRef {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
}

/// Paths from one asset down to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathsView {
    /// A shortest path, empty when there is none.
    pub shortest: Vec<AssetRef>,
    /// Simple paths, shortest first, up to the limit asked for.
    pub paths: Vec<Vec<AssetRef>>,
    /// False when the search stopped at its step budget
    /// ([`crate::lineage::PATH_STEP_BUDGET`]) before finding `limit` paths
    /// or every path: more may exist.
    #[serde(default = "complete_by_default")]
    pub complete: bool,
}

fn complete_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubItem {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    /// Assets that depend on this one, directly or not.
    pub downstream: usize,
    /// Assets that read this one directly.
    pub fanout: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshPlanView {
    /// Workflows to re-run, upstream ones first.
    pub workflows: Vec<AssetRef>,
    /// Set when a cycle made a full order impossible.
    pub cyclic: bool,
}

/// A node as the graph view draws it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphNode {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    /// Hops from the centre: negative upstream, positive downstream.
    pub depth: i64,
    /// Neighbours (either direction) not drawn yet.
    pub more: usize,
    /// One of the assets most depended on in the whole catalog.
    pub hub: bool,
}

/// What the graph view draws around one asset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphView {
    pub center: String,
    pub up: u32,
    pub down: u32,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<LineageEdge>,
    /// Set when the node budget cut the window short.
    pub capped: bool,
    /// Set on the outline a page is rendered with: `nodes` are then the
    /// centre and the first few assets at each distance, by name, with no
    /// edges, and the browser fetches the whole window to draw it.
    #[serde(default)]
    pub pending: bool,
    /// With `pending`: how many assets there are at each distance.
    #[serde(default)]
    pub depth_totals: Vec<(i64, usize)>,
    /// When two moments are compared: the assets (by id) and edges (by
    /// [`LineageEdge::key`]) valid at the later moment only.
    #[serde(default)]
    pub appeared: Vec<String>,
    /// When two moments are compared: those valid at the earlier moment
    /// only.
    #[serde(default)]
    pub ended: Vec<String>,
}

/// What expanding a node adds to a drawn graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphDelta {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<LineageEdge>,
    /// New "N more" counts for every drawn node, as (id, count).
    pub more: Vec<(String, usize)>,
    /// For a path request: the path's assets in order, empty if none.
    #[serde(default)]
    pub path: Vec<String>,
}

/// A message to a person or team about a change request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub recipient: String,
    pub at: String,
    pub change_request: u64,
    pub event: String,
    pub message: String,
    pub read: bool,
}

/// One OpenLineage event as the ingestion page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestEventRow {
    pub at: String,
    /// The event's producer (the integration that sent it).
    pub source: String,
    /// run, dataset or job, with the run's event type.
    pub kind: String,
    pub summary: String,
    pub ok: bool,
    #[serde(default)]
    pub problems: Vec<serde_json::Value>,
}

/// Events per producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCount {
    pub source: String,
    pub accepted: u64,
    pub rejected: u64,
    pub last_at: String,
}

/// What the ingestion page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestOverview {
    /// How many days the log keeps; the counts are of those days.
    #[serde(default)]
    pub log_days: u32,
    pub accepted: u64,
    pub rejected: u64,
    pub sources: Vec<SourceCount>,
    pub recent: Vec<IngestEventRow>,
    pub rejections: Vec<IngestEventRow>,
}

/// One version of a service's scaling policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub version: u64,
    pub at: String,
    pub by: String,
    #[serde(default)]
    pub note: String,
    pub policy: crate::scaling::ScalingPolicy,
    /// What changed from the version before: (field, old, new).
    #[serde(default)]
    pub changes: Vec<(String, String, String)>,
}

/// One sample of what a service reported about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSample {
    #[serde(default)]
    pub at: String,
    /// Average requests in flight per pod.
    pub concurrency: f64,
    pub qps: f64,
    pub p99_ms: f64,
    #[serde(default)]
    pub pods: Option<u32>,
}

/// A service's scaling: the policy in force, its history (newest first)
/// and the latest observed metrics (newest first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceScaling {
    pub service: String,
    pub current: Option<PolicyVersion>,
    pub history: Vec<PolicyVersion>,
    pub metrics: Vec<MetricSample>,
}

/// What the autoscaler would decide on a service's latest observed metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoscalerView {
    pub ready: u32,
    pub observed_concurrency: f64,
    pub desired: u32,
    pub panic: bool,
    pub latest_at: String,
    pub samples: usize,
}

/// One asset in both moments of a lineage diff whose versions differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetChange {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    /// Its version at each moment.
    pub from_version: u64,
    pub to_version: u64,
    /// The fields the versions between changed (`schema`, `owners`, ...).
    pub fields: Vec<String>,
}

/// What changed in one asset's lineage between two moments
/// (`GET /api/v1/lineage/{id}/diff`): assets and edges that appeared and
/// disappeared, and the assets in both whose versions changed. Depths are
/// as at the moment the node was there (`to` for appeared, `from` for
/// disappeared).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageDiff {
    pub id: String,
    /// The two moments, RFC 3339.
    pub from: String,
    pub to: String,
    pub appeared: Vec<LineageNode>,
    pub disappeared: Vec<LineageNode>,
    pub changed: Vec<AssetChange>,
    pub edges_appeared: Vec<LineageEdge>,
    pub edges_disappeared: Vec<LineageEdge>,
    /// Assets in the lineage at both moments with no change between.
    pub unchanged: usize,
}
