//! What a diff reaches: the analysis over the downstream subgraph, and the
//! report it gives (see the module doc of `impact`).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::change::*;
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
    use Severity::*;
    let index: HashMap<&str, usize> = assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let missing = || ValidationError::new("dataset", format!("no asset {root:?}"));
    let r = *index.get(root).ok_or_else(missing)?;
    let ra = &assets[r];
    if ra.kind != AssetKind::Dataset {
        let msg = format!("{root} is a {}, not a dataset", ra.kind);
        return Err(ValidationError::new("dataset", msg));
    }
    validate_changes(&ra.schema, changes)?;

    let n = assets.len();
    let links: Vec<(usize, usize, &Edge)> = edges
        .iter()
        .filter_map(|e| Some((*index.get(e.from.as_str())?, *index.get(e.to.as_str())?, e)))
        .collect();
    let (mut out, mut inc) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    for (l, &(u, v, _)) in links.iter().enumerate() {
        out[u].push(l);
        inc[v].push(l);
    }
    for o in &mut out {
        o.sort_by_key(|&l| (assets[links[l].1].id.as_str(), links[l].2.id.as_str()));
    }

    // Phase 1: column lineage, breadth first over (asset, column) pairs. Only
    // propagating (worse than non-breaking) changes seed it, so every pair in
    // it propagates and the first chain found for a pair is a shortest one.
    let sev_of: Vec<Severity> = changes
        .iter()
        .map(|c| change_severity(ra.column(&c.column), c))
        .collect();
    let mut cols: Vec<BTreeMap<String, (Severity, Vec<ColumnStep>)>> = vec![BTreeMap::new(); n];
    let mut queue = VecDeque::new();
    for (c, &sev) in changes
        .iter()
        .zip(&sev_of)
        .filter(|(_, &s)| s > NonBreaking)
    {
        cols[r].insert(c.column.clone(), (sev, vec![step(root, &c.column)]));
        queue.push_back((r, c.column.clone()));
    }
    while let Some((u, c)) = queue.pop_front() {
        let (sev, chain) = cols[u][&c].clone();
        for &l in &out[u] {
            let (_, v, e) = links[l];
            for m in e.columns.iter().filter(|m| m.from == c) {
                match cols[v].get_mut(&m.to) {
                    Some(st) if st.0 >= sev => continue,
                    // A worse severity arriving later keeps the first chain
                    // but must be passed on again.
                    Some(st) => st.0 = sev,
                    None => {
                        let mut chain = chain.clone();
                        chain.push(step(&assets[v].id, &m.to));
                        cols[v].insert(m.to.clone(), (sev, chain));
                    }
                }
                queue.push_back((v, m.to.clone()));
            }
        }
    }

    // Phase 2: possibly-marks. The mark is always possibly-breaking: it is
    // min(sender's severity, possibly-breaking), and only senders worse than
    // non-breaking send.
    let hot = |u: usize| !cols[u].is_empty();
    let precise: Vec<bool> = (0..n).map(|v| v == r || hot(v)).collect();
    let blocked = |u: usize, v: usize| {
        assets[u].kind == AssetKind::Workflow
            && inc[v]
                .iter()
                .any(|&l| !links[l].2.columns.is_empty() && precise[links[l].0])
    };
    let mut possibly = vec![false; n];
    let mut work: Vec<usize> = (0..n).filter(|&u| hot(u)).collect();
    while let Some(u) = work.pop() {
        for &l in &out[u] {
            let (_, v, e) = links[l];
            if (possibly[u] || e.columns.is_empty()) && !possibly[v] && !blocked(u, v) {
                possibly[v] = true;
                work.push(v);
            }
        }
    }

    // Phase 3: hops and paths over the edges that carried an effect.
    let carries = |l: usize| {
        let (u, v, e) = links[l];
        e.columns.iter().any(|m| cols[u].contains_key(&m.from))
            || ((possibly[u] || (e.columns.is_empty() && hot(u))) && !blocked(u, v))
    };
    let mut hops: Vec<Option<u32>> = vec![None; n];
    let mut parent = vec![r; n];
    hops[r] = Some(0);
    let mut queue = VecDeque::from([r]);
    while let Some(u) = queue.pop_front() {
        for &l in &out[u] {
            let v = links[l].1;
            if let (Some(h), None) = (hops[u], hops[v]) {
                if carries(l) {
                    hops[v] = Some(h + 1);
                    parent[v] = u;
                    queue.push_back(v);
                }
            }
        }
    }

    let mut affected: Vec<AffectedAsset> = (0..n)
        .filter_map(|v| {
            let hops = hops[v]?;
            let a = &assets[v];
            let mut columns: BTreeMap<String, (Severity, Vec<ColumnStep>)> = cols[v].clone();
            if v == r {
                // The root lists every changed column, also those that do not
                // propagate, with its own change's severity.
                for (c, &sev) in changes.iter().zip(&sev_of) {
                    columns
                        .entry(c.column.clone())
                        .or_insert((sev, vec![step(root, &c.column)]));
                }
            }
            let severity = columns
                .values()
                .map(|s| s.0)
                .chain(possibly[v].then_some(PossiblyBreaking))
                .max()
                .unwrap_or(NonBreaking);
            if v != r && severity == NonBreaking {
                return None;
            }
            let mut via = Vec::new();
            if possibly[v] {
                let mut x = v;
                via.push(a.id.clone());
                while x != r {
                    x = parent[x];
                    via.push(assets[x].id.clone());
                }
                via.reverse();
            }
            let (columns, chains) = columns.into_iter().map(|(c, (_, ch))| (c, ch)).unzip();
            Some(AffectedAsset {
                id: a.id.clone(),
                kind: a.kind,
                name: a.name.clone(),
                hops,
                severity,
                columns,
                chains,
                possibly: possibly[v],
                via,
                owners: a.owners.clone(),
                production: production(a),
            })
        })
        .collect();
    let order = |a: &AffectedAsset| (a.id != root, a.hops, a.kind);
    affected.sort_by(|a, b| {
        order(a)
            .cmp(&order(b))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.id.cmp(&b.id))
    });

    let mut services: Vec<ServiceHit> = affected
        .iter()
        .filter(|a| matches!(a.kind, AssetKind::Service | AssetKind::Application))
        .map(|a| ServiceHit {
            id: a.id.clone(),
            kind: a.kind,
            name: a.name.clone(),
            severity: a.severity,
            hops: a.hops,
            production: a.production,
            owners: a.owners.clone(),
        })
        .collect();
    // Stable, so within each group the report order (hops, kind, name) stays.
    services.sort_by_key(|s| !s.production);

    let mut owners: BTreeMap<String, OwnerNotice> = BTreeMap::new();
    for a in affected
        .iter()
        .filter(|a| a.severity > NonBreaking || a.id == root)
    {
        for o in &a.owners {
            let notice = owners.entry(o.clone()).or_insert_with(|| OwnerNotice {
                owner: o.clone(),
                severity: NonBreaking,
                assets: Vec::new(),
                assets_total: None,
            });
            notice.severity = notice.severity.max(a.severity);
            if !notice.assets.contains(&a.id) {
                notice.assets.push(a.id.clone());
            }
        }
    }

    let mut counts: BTreeMap<(AssetKind, Severity), usize> = BTreeMap::new();
    for a in &affected {
        *counts.entry((a.kind, a.severity)).or_default() += 1;
    }

    let severity = affected
        .iter()
        .map(|a| a.severity)
        .max()
        .unwrap_or(NonBreaking);
    Ok(ImpactReport {
        dataset: root.to_string(),
        changes: changes.to_vec(),
        severity,
        refresh_plan: refresh_plan(&affected, &links, assets),
        bounded: None,
        services,
        owners: owners.into_values().collect(),
        counts: counts
            .into_iter()
            .map(|((kind, severity), count)| KindCount {
                kind,
                severity,
                count,
            })
            .collect(),
        affected,
    })
}

/// Kahn's algorithm by levels over the affected assets and all edges between
/// them, so everything an asset reads is refreshed in an earlier stage.
/// Assets it cannot order (on a cycle or behind one) come last, flagged.
fn refresh_plan(
    affected: &[AffectedAsset],
    links: &[(usize, usize, &Edge)],
    assets: &[Asset],
) -> Vec<RefreshStep> {
    let pos: HashMap<&str, usize> = affected
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let mut indeg = vec![0usize; affected.len()];
    let mut children = vec![Vec::new(); affected.len()];
    for &(u, v, _) in links {
        if let (Some(&pu), Some(&pv)) = (
            pos.get(assets[u].id.as_str()),
            pos.get(assets[v].id.as_str()),
        ) {
            indeg[pv] += 1;
            children[pu].push(pv);
        }
    }
    let plan_step = |i: usize, stage: u32, in_cycle: bool| {
        let a = &affected[i];
        RefreshStep {
            id: a.id.clone(),
            name: a.name.clone(),
            kind: a.kind,
            stage,
            in_cycle,
        }
    };
    let mut plan = Vec::with_capacity(affected.len());
    let mut done = vec![false; affected.len()];
    let mut level: Vec<usize> = (0..affected.len()).filter(|&i| indeg[i] == 0).collect();
    let mut stage = 0;
    while !level.is_empty() {
        // Positions follow the report order, so sorting them orders a level.
        level.sort_unstable();
        let mut next = Vec::new();
        for &i in &level {
            done[i] = true;
            plan.push(plan_step(i, stage, false));
            for &j in &children[i] {
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    next.push(j);
                }
            }
        }
        level = next;
        stage += 1;
    }
    plan.extend(
        (0..affected.len())
            .filter(|&i| !done[i])
            .map(|i| plan_step(i, stage, true)),
    );
    plan
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
        let mut out =
            String::from("id,kind,name,hops,severity,possibly,production,columns,owners,chain\r\n");
        for a in &self.affected {
            let chain: Vec<String> = a
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
                a.id.clone(),
                a.kind.as_str().to_string(),
                a.name.clone(),
                a.hops.to_string(),
                a.severity.as_str().to_string(),
                a.possibly.to_string(),
                a.production.to_string(),
                a.columns.join(";"),
                a.owners.join(";"),
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
        out
    }
}
