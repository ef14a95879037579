//! What a diff reaches: the analysis over the downstream subgraph, and the
//! report it gives (see the module doc of `impact`).

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::change::*;
use super::propagate::{analyze_subgraph, Limits};
use super::subgraph::{Local, Subgraph};
use crate::asset::{Asset, AssetKind};
use crate::edge::Edge;
use crate::error::{Result, ValidationError};

/// Whether an asset serves production: a `production`/`prod` tag, an
/// `environment`, `env` or `stage` property saying so, or, for a service, a
/// namespace with "prod" in it (`serving-prod`).
pub fn is_production(a: &Asset) -> bool {
    let prod = |s: &str| s.eq_ignore_ascii_case("production") || s.eq_ignore_ascii_case("prod");
    a.tags.iter().any(|t| prod(t))
        || ["environment", "env", "stage"].iter().any(|k| {
            a.properties
                .get(*k)
                .and_then(|v| v.as_str())
                .is_some_and(prod)
        })
        || (a.kind == AssetKind::Service && a.namespace.to_ascii_lowercase().contains("prod"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnStep {
    pub asset: String,
    pub column: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedAsset {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    pub hops: u32,
    pub severity: Severity,
    /// Affected columns of this asset, sorted; empty when only possibly hit.
    pub columns: Vec<String>,
    /// One chain per entry of `columns`, from a changed column of the root.
    pub chains: Vec<Vec<ColumnStep>>,
    /// Reached through an edge without column mappings.
    pub possibly: bool,
    /// For a possibly-affected asset: one shortest path from the root to it.
    pub via: Vec<String>,
    pub owners: Vec<String>,
    pub production: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHit {
    pub id: String,
    pub kind: AssetKind,
    pub name: String,
    pub severity: Severity,
    pub hops: u32,
    pub production: bool,
    pub owners: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerNotice {
    pub owner: String,
    /// The worst severity among the owner's assets.
    pub severity: Severity,
    pub assets: Vec<String>,
    /// On a bounded report: how many assets the owner has in all (`assets`
    /// lists the first ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets_total: Option<usize>,
}

impl OwnerNotice {
    /// How many of the owner's assets the change reaches.
    pub fn asset_count(&self) -> usize {
        self.assets_total.unwrap_or(self.assets.len())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshStep {
    pub id: String,
    pub name: String,
    pub kind: AssetKind,
    /// The topological level; 0 is the root.
    pub stage: u32,
    /// On a cycle or downstream of one, so no order between them is safe.
    pub in_cycle: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindCount {
    pub kind: AssetKind,
    pub severity: Severity,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImpactReport {
    pub dataset: String,
    pub changes: Vec<SchemaChange>,
    pub severity: Severity,
    /// The root first, then by (hops, kind, name).
    pub affected: Vec<AffectedAsset>,
    /// Affected services and applications, production ones first.
    pub services: Vec<ServiceHit>,
    pub owners: Vec<OwnerNotice>,
    pub refresh_plan: Vec<RefreshStep>,
    pub counts: Vec<KindCount>,
    /// Set on a bounded report ([`ImpactReport::bounded`]): how much of
    /// each list there is in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounded: Option<Bounds>,
}

/// The sizes of a bounded report's lists before they were cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounds {
    /// Affected assets per hop (the root is hop 0), as (hop, count).
    pub hops: Vec<(u32, usize)>,
    pub services: usize,
    pub refresh_plan: usize,
}

pub(super) fn step(asset: &str, column: &str) -> ColumnStep {
    ColumnStep {
        asset: asset.to_string(),
        column: column.to_string(),
    }
}

/// What `changes` to the dataset `root` reach. `assets` and `edges` must hold
/// at least the root and everything downstream of it; edges with an end
/// outside `assets` are ignored. See the module doc for the rules.
pub fn analyze(
    root: &str,
    changes: &[SchemaChange],
    assets: &[Asset],
    edges: &[Edge],
) -> Result<ImpactReport> {
    analyze_with(root, changes, assets, edges, &is_production)
}

/// [`analyze`], with whether an asset serves production answered by
/// `production` (a caller holding the flags already, such as the catalog's
/// in-memory index, passes assets that carry only what the analysis
/// reads: id, kind, name and owners, and the root's schema).
pub fn analyze_with(
    root: &str,
    changes: &[SchemaChange],
    assets: &[Asset],
    edges: &[Edge],
    production: &dyn Fn(&Asset) -> bool,
) -> Result<ImpactReport> {
    analyze_limited(root, changes, assets, edges, production, None)
}

/// [`analyze_with`], listing only the first rows of the report when
/// `limits` says so (as [`ImpactReport::bounded`] would cut it).
pub fn analyze_limited(
    root: &str,
    changes: &[SchemaChange],
    assets: &[Asset],
    edges: &[Edge],
    production: &dyn Fn(&Asset) -> bool,
    limits: Option<Limits>,
) -> Result<ImpactReport> {
    let missing = || ValidationError::new("dataset", format!("no asset {root:?}"));
    let ra = assets.iter().find(|a| a.id == root).ok_or_else(missing)?;
    let mut sub = Subgraph::new(Vec::new());
    let mut index: HashMap<&str, Local> = HashMap::with_capacity(assets.len());
    for a in std::iter::once(ra).chain(assets.iter().filter(|a| a.id != root)) {
        if let Entry::Vacant(slot) = index.entry(a.id.as_str()) {
            let owners = a.owners.iter().map(String::as_str);
            slot.insert(sub.add_node(&a.id, a.kind, &a.name, owners, production(a)));
        }
    }
    for e in edges {
        let (Some(&u), Some(&v)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) else {
            continue;
        };
        let pairs: Vec<(u32, u32)> = e
            .columns
            .iter()
            .map(|m| (sub.column(&m.from), sub.column(&m.to)))
            .collect();
        sub.add_link(u, v, e.kind, pairs);
    }
    sub.finish();
    analyze_subgraph(&sub, ra, changes, limits)
}

/// One CSV cell: RFC 4180 quoting, and a leading `'` on anything a
/// spreadsheet would run as a formula, since asset names come from users.
pub(super) fn csv_cell(s: &str) -> String {
    let mut v = String::with_capacity(s.len() + 3);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        v.push('\'');
    }
    v.push_str(s);
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

impl ImpactReport {
    /// The report with at most `per_hop` affected assets at each hop
    /// (nearest and then by kind and name, as the report orders them) and
    /// at most `rows` services, refresh steps and assets per owner; the
    /// counts, the owners and the sizes of the lists (in `bounded` and
    /// each owner's `assets_total`) stay whole.
    pub fn bounded(mut self, per_hop: usize, rows: usize) -> ImpactReport {
        let mut hops: Vec<(u32, usize)> = Vec::new();
        for a in &self.affected {
            match hops.last_mut() {
                Some((h, n)) if *h == a.hops => *n += 1,
                _ => hops.push((a.hops, 1)),
            }
        }
        let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
        self.affected.retain(|a| {
            let n = seen.entry(a.hops).or_default();
            *n += 1;
            *n <= per_hop
        });
        let bounds = Bounds {
            hops,
            services: self.services.len(),
            refresh_plan: self.refresh_plan.len(),
        };
        self.services.truncate(rows);
        self.refresh_plan.truncate(rows);
        for o in &mut self.owners {
            o.assets_total = Some(o.assets.len());
            o.assets.truncate(rows);
        }
        self.bounded = Some(bounds);
        self
    }

    /// A bounded report that lists every row of every list is the whole
    /// report: its bounds are dropped, so it equals the unbounded one.
    pub fn whole_if_complete(mut self) -> ImpactReport {
        let Some(b) = &self.bounded else {
            return self;
        };
        let complete = self.affected.len() == b.hops.iter().map(|&(_, n)| n).sum::<usize>()
            && self.services.len() == b.services
            && self.refresh_plan.len() == b.refresh_plan
            && self
                .owners
                .iter()
                .all(|o| o.assets_total.is_none_or(|t| t == o.assets.len()));
        if complete {
            self.bounded = None;
            for o in &mut self.owners {
                o.assets_total = None;
            }
        }
        self
    }

    /// How many assets the change reaches besides the dataset itself.
    pub fn affected_total(&self) -> usize {
        match &self.bounded {
            Some(b) => b.hops.iter().map(|&(_, n)| n).sum::<usize>(),
            None => self.affected.len(),
        }
        .saturating_sub(1)
    }

    /// The affected assets as CSV, one row each, with CRLF line ends.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        for a in &self.affected {
            a.write_csv_row(&mut out);
        }
        out
    }
}

/// The header line of an impact report's CSV.
pub const CSV_HEADER: &str =
    "id,kind,name,hops,severity,possibly,production,columns,owners,chain\r\n";

impl AffectedAsset {
    /// Appends this asset's line of the report's CSV (see [`CSV_HEADER`]).
    pub fn write_csv_row(&self, out: &mut String) {
        let chain: Vec<String> = self
            .chains
            .iter()
            .map(|c| {
                c.iter()
                    .map(|s| format!("{}.{}", s.asset, s.column))
                    .collect::<Vec<_>>()
                    .join(" > ")
            })
            .collect();
        let row = [
            self.id.clone(),
            self.kind.as_str().to_string(),
            self.name.clone(),
            self.hops.to_string(),
            self.severity.as_str().to_string(),
            self.possibly.to_string(),
            self.production.to_string(),
            self.columns.join(";"),
            self.owners.join(";"),
            chain.join(";"),
        ];
        out.push_str(
            &row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
}
