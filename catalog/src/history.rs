//! The catalog as it was: lineage as of a past moment, and what changed in
//! one asset's lineage between two moments. The lineage index answers both
//! from its history (see `domain::lineage::timeline`); versions come from
//! `asset_version`, whose record ids make an asset's history one range.

use std::collections::{BTreeMap, BTreeSet};

use domain::lineage::{Direction, Filter, Millis, NodeId};
use domain::query::{
    AssetChange, GraphNode, GraphView, LineageDiff, LineageEdge, LineageNode, LineageView,
};
use domain::AssetKind;
use serde_json::Value;

use crate::error::{CatalogError, Result};
use crate::graph::{lineage_view, node_as_of};
use crate::Catalog;

/// The most assets whose moments a time slider gathers.
const MOMENTS_BUDGET: usize = 5_000;

/// One stored version: its number, when it was written and what changed.
struct VersionAt {
    version: u64,
    at: Millis,
    changes: Vec<String>,
}

impl Catalog {
    /// [`Catalog::lineage`] over the graph as it was at `at`: the edges
    /// valid then, and the assets they reached.
    pub fn lineage_as_of(
        &self,
        id: &str,
        direction: Option<Direction>,
        depth: Option<u32>,
        kinds: Vec<AssetKind>,
        limit: Option<usize>,
        at: Millis,
    ) -> Result<LineageView> {
        self.lineage_at(id, direction, depth, kinds, limit, Some(at))
    }

    /// The graph view's window around `id` as it was at `at`: up to `up`
    /// hops upstream and `down` downstream over the edges valid then, at
    /// most `budget` assets, nearest first.
    pub fn graph_as_of(
        &self,
        id: &str,
        up: u32,
        down: u32,
        budget: usize,
        at: Millis,
    ) -> Result<GraphView> {
        self.check_kept("as_of", at)?;
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let start = node_as_of(&g, id, at)?;
        let walk = |dir, depth: u32, sign: i64| {
            let filter = Filter {
                max_depth: Some(depth),
                ..Filter::default()
            };
            g.closure_at(start, dir, &filter, at)
                .into_iter()
                .map(move |(n, d)| (n, sign * i64::from(d)))
        };
        let mut found: Vec<(NodeId, i64)> = walk(Direction::Upstream, up, -1)
            .chain(walk(Direction::Downstream, down, 1))
            .collect();
        found.sort_by_key(|&(_, d)| d.abs());
        let capped = found.len() + 1 > budget;
        found.truncate(budget.saturating_sub(1));
        found.insert(0, (start, 0));
        let kept: BTreeSet<NodeId> = found.iter().map(|&(n, _)| n).collect();
        let edges = found
            .iter()
            .flat_map(|&(n, _)| g.edges_at(n, Direction::Downstream, at))
            .filter(|e| kept.contains(&e.to))
            .map(|e| LineageEdge {
                from: g.asset_id(e.from).to_string(),
                to: g.asset_id(e.to).to_string(),
                kind: e.kind,
            })
            .collect();
        Ok(GraphView {
            center: id.to_string(),
            up,
            down,
            nodes: found
                .into_iter()
                .map(|(n, depth)| GraphNode {
                    id: g.asset_id(n).to_string(),
                    kind: g.kind(n),
                    name: g.name(n).to_string(),
                    depth,
                    more: 0,
                    hub: false,
                })
                .collect(),
            edges,
            capped,
            pending: false,
            depth_totals: vec![],
            appeared: vec![],
            ended: vec![],
        })
    }

    /// The graph view's window around `id` at two moments at once: every
    /// asset and edge of either, those valid only at the later moment
    /// listed in `appeared` and those valid only at the earlier one in
    /// `ended`. The asset must have existed at one of them at least.
    pub fn graph_compare(
        &self,
        id: &str,
        up: u32,
        down: u32,
        budget: usize,
        (earlier, later): (Millis, Millis),
    ) -> Result<GraphView> {
        let (earlier, later) = (earlier.min(later), earlier.max(later));
        let side = |t| match self.graph_as_of(id, up, down, budget, t) {
            Ok(v) => Ok(Some(v)),
            Err(CatalogError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        };
        let (then, now) = match (side(earlier)?, side(later)?) {
            (None, None) => {
                return Err(CatalogError::NotFound(format!(
                    "asset {id:?}: it existed at neither moment"
                )))
            }
            (a, b) => (a.unwrap_or_default(), b.unwrap_or_default()),
        };
        let ids = |v: &GraphView| -> BTreeSet<String> {
            v.nodes
                .iter()
                .map(|n| n.id.clone())
                .chain(v.edges.iter().map(LineageEdge::key))
                .collect()
        };
        let (before, after) = (ids(&then), ids(&now));
        let mut nodes = now.nodes;
        nodes.extend(then.nodes.into_iter().filter(|n| !after.contains(&n.id)));
        let mut edges = now.edges;
        edges.extend(then.edges.into_iter().filter(|e| !after.contains(&e.key())));
        Ok(GraphView {
            center: id.to_string(),
            up,
            down,
            nodes,
            edges,
            capped: then.capped || now.capped,
            pending: false,
            depth_totals: vec![],
            appeared: after.difference(&before).cloned().collect(),
            ended: before.difference(&after).cloned().collect(),
        })
    }

    /// The asset `id` as it was at `at`: the snapshot its last version
    /// written by then recorded, with that version's time as `updated_at`.
    /// Not found, saying why, if it did not exist then (not created yet,
    /// or deleted or merged into another by then).
    pub async fn asset_as_of(&self, id: &str, at: Millis) -> Result<domain::Asset> {
        self.check_kept("as_of", at)?;
        let mut res = self
            .db
            .query(
                "SELECT version, <string> at AS at, changes, snapshot
                 FROM asset_version:[$id, 0]..=[$id, 9223372036854775807]
                 WHERE at <= $at ORDER BY version DESC LIMIT 1",
            )
            .bind(("id", id.to_string()))
            .bind(("at", crate::rows::at_millis(at)))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let gone = || {
            CatalogError::NotFound(format!(
                "asset {id:?} as of {}: it did not exist then",
                domain::time::from_millis(at)
            ))
        };
        let row = rows.into_iter().next().ok_or_else(gone)?;
        let ended = row["changes"].as_array().is_some_and(|c| {
            c.iter()
                .filter_map(Value::as_str)
                .any(|c| c == "deleted" || c.starts_with("merged into "))
        });
        if ended {
            return Err(gone());
        }
        let mut snapshot = row["snapshot"].clone();
        snapshot["updated_at"] = row["at"].clone();
        crate::write::row_to_asset(snapshot)
    }

    /// The moments at which something began or ended within `depth` hops
    /// of `id` (over edges of any time), oldest first: the stops of the
    /// lineage tab's time slider.
    pub fn lineage_moments(&self, id: &str, depth: u32) -> Result<Vec<Millis>> {
        let g = self.graph.read().expect("the graph lock is never poisoned");
        let n = g
            .latest_node(id)
            .ok_or_else(|| CatalogError::NotFound(format!("asset {id:?}")))?;
        let mut moments = g.moments_around(n, depth, MOMENTS_BUDGET);
        if let Some(since) = self.history_kept_since() {
            moments.retain(|&t| t >= since);
        }
        Ok(moments)
    }

    /// What changed in `id`'s lineage between `from` and `to`: assets and
    /// edges that appeared or disappeared, and assets in both whose
    /// versions differ, with the fields their versions changed. The asset
    /// must have existed at one of the two moments at least.
    pub async fn lineage_diff(
        &self,
        id: &str,
        from: Millis,
        to: Millis,
        direction: Option<Direction>,
        depth: Option<u32>,
        limit: Option<usize>,
    ) -> Result<LineageDiff> {
        self.check_kept("from", from)?;
        let (before, after) = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            let filter = Filter {
                kinds: vec![],
                edge_kinds: vec![],
                max_depth: depth,
            };
            let at = |t| lineage_view(&g, id, direction, &filter, limit, Some(t));
            (at(from), at(to))
        };
        let (before, after) = match (before, after) {
            (Err(e), Err(_)) => return Err(e),
            (b, a) => (b.unwrap_or_default(), a.unwrap_or_default()),
        };
        let nodes = |v: &LineageView| -> BTreeMap<String, LineageNode> {
            v.nodes.iter().map(|n| (n.id.clone(), n.clone())).collect()
        };
        let edges = |v: &LineageView| -> BTreeSet<(String, String, String)> {
            v.edges
                .iter()
                .map(|e| (e.from.clone(), e.kind.as_str().to_string(), e.to.clone()))
                .collect()
        };
        let (was, is) = (nodes(&before), nodes(&after));
        let (had, has) = (edges(&before), edges(&after));
        let edge_list = |set: BTreeSet<&(String, String, String)>, v: &LineageView| {
            v.edges
                .iter()
                .filter(|e| {
                    set.contains(&(e.from.clone(), e.kind.as_str().to_string(), e.to.clone()))
                })
                .cloned()
                .collect::<Vec<LineageEdge>>()
        };
        let both: Vec<&LineageNode> = is.values().filter(|n| was.contains_key(&n.id)).collect();
        let mut changed = Vec::new();
        let mut unchanged = 0;
        let histories = self
            .version_histories(both.iter().map(|n| n.id.clone()).collect())
            .await?;
        for n in both {
            let history = histories.get(&n.id).map(Vec::as_slice).unwrap_or_default();
            let version_at = |t: Millis| {
                history
                    .iter()
                    .filter(|v| v.at <= t)
                    .map(|v| v.version)
                    .max()
                    .unwrap_or(0)
            };
            let (a, b) = (version_at(from), version_at(to));
            if a == b {
                unchanged += 1;
                continue;
            }
            let (lo, hi) = (a.min(b), a.max(b));
            let fields: BTreeSet<String> = history
                .iter()
                .filter(|v| v.version > lo && v.version <= hi)
                .flat_map(|v| v.changes.iter().cloned())
                .collect();
            changed.push(AssetChange {
                id: n.id.clone(),
                kind: n.kind,
                name: n.name.clone(),
                from_version: a,
                to_version: b,
                fields: fields.into_iter().collect(),
            });
        }
        Ok(LineageDiff {
            id: id.to_string(),
            from: domain::time::from_millis(from),
            to: domain::time::from_millis(to),
            appeared: is
                .values()
                .filter(|n| !was.contains_key(&n.id))
                .cloned()
                .collect(),
            disappeared: was
                .values()
                .filter(|n| !is.contains_key(&n.id))
                .cloned()
                .collect(),
            changed,
            edges_appeared: edge_list(has.difference(&had).collect(), &after),
            edges_disappeared: edge_list(had.difference(&has).collect(), &before),
            unchanged,
        })
    }

    /// The stored versions of each of `ids`: one range of record ids each,
    /// in one round trip.
    async fn version_histories(
        &self,
        ids: Vec<String>,
    ) -> Result<BTreeMap<String, Vec<VersionAt>>> {
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(500) {
            let mut res = self
                .db
                .query(
                    "RETURN array::map($ids, |$id| (SELECT version, <string> at AS at, changes
                        FROM asset_version:[$id, 0]..=[$id, 9223372036854775807]))",
                )
                .bind(("ids", chunk.to_vec()))
                .await?;
            let lists: Vec<Vec<Value>> = res.take(0)?;
            for (id, rows) in chunk.iter().zip(lists) {
                let versions = rows
                    .into_iter()
                    .map(|r| {
                        Some(VersionAt {
                            version: r.get("version")?.as_u64()?,
                            at: domain::time::to_millis(r.get("at")?.as_str()?)?,
                            changes: serde_json::from_value(r.get("changes")?.clone())
                                .unwrap_or_default(),
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| CatalogError::Corrupt(format!("a version row of {id}")))?;
                out.insert(id.clone(), versions);
            }
        }
        Ok(out)
    }
}

/// What the catalog keeps of its history: everything by default, or the
/// last `MLGRAPH_HISTORY_DAYS` days.
impl Catalog {
    /// How many days of history to keep; 0 keeps everything.
    pub fn set_history_days(&self, days: u32) {
        self.history_days
            .store(days, std::sync::atomic::Ordering::Relaxed);
    }

    /// The oldest moment whose history is kept, if not everything is.
    pub fn history_kept_since(&self) -> Option<Millis> {
        let days = self.history_days.load(std::sync::atomic::Ordering::Relaxed);
        (days > 0).then(|| crate::rows::now().0 - i64::from(days) * 86_400_000)
    }

    /// Refuses a moment before the history kept, naming `field`: what
    /// ended before then is forgotten, so an answer would be wrong.
    pub fn check_kept(&self, field: &str, at: Millis) -> Result<()> {
        match self.history_kept_since() {
            Some(since) if at < since => Err(CatalogError::Invalid(
                domain::ValidationError::new(
                    field,
                    format!(
                        "{} is before {}, the oldest moment whose history this server keeps (MLGRAPH_HISTORY_DAYS={})",
                        domain::time::from_millis(at),
                        domain::time::from_millis(since),
                        self.history_days.load(std::sync::atomic::Ordering::Relaxed),
                    ),
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Forgets the history that ended before the days kept: ended edges
    /// and deleted assets, in the store and in the lineage index. Asset
    /// versions stay (they are each asset's audit trail). Returns how many
    /// records went; nothing goes when everything is kept.
    pub async fn prune_history(&self) -> Result<u64> {
        match self.history_kept_since() {
            Some(cutoff) => self.prune_history_before(cutoff).await,
            None => Ok(0),
        }
    }

    /// [`Catalog::prune_history`] with the cutoff given.
    pub async fn prune_history_before(&self, cutoff: Millis) -> Result<u64> {
        let mut res = self
            .db
            .query(
                "LET $edges = (SELECT count() AS n FROM edge_history WHERE ended_at < $cut GROUP ALL)[0].n ?? 0;
                 LET $assets = (SELECT count() AS n FROM asset_history WHERE ended_at < $cut GROUP ALL)[0].n ?? 0;
                 DELETE edge_history WHERE ended_at < $cut RETURN NONE;
                 DELETE asset_history WHERE ended_at < $cut RETURN NONE;
                 RETURN $edges + $assets;",
            )
            .bind(("cut", crate::rows::at_millis(cutoff)))
            .await?;
        let n: Option<u64> = res.take(4)?;
        let forgotten = self
            .graph
            .write()
            .expect("the graph lock is never poisoned")
            .forget_before(cutoff);
        tracing::debug!(store = n, index = forgotten, "history pruned");
        Ok(n.unwrap_or(0))
    }
}

impl Catalog {
    /// [`Catalog::search`] over the catalog as it was at `at`: the assets
    /// that existed then (deleted ones included) whose name or id holds
    /// every word of `q.q`, of `q.kinds`, in name order, each as its last
    /// version by then recorded it. The lineage index knows every asset's
    /// name, kind and validity, so this is one scan of it; owners and tags
    /// are not kept in time, so those filters are refused, and only the
    /// kind facet is counted.
    pub async fn search_as_of(
        &self,
        q: &domain::query::SearchQuery,
        at: Millis,
    ) -> Result<domain::query::SearchResult> {
        self.check_kept("as_of", at)?;
        if !q.owners.is_empty() || !q.tags.is_empty() {
            return Err(CatalogError::Invalid(domain::ValidationError::new(
                "as_of",
                "a search as of a moment matches names and kinds; owner and tag filters apply to now only",
            )));
        }
        let words: Vec<String> = q.q.split_whitespace().map(str::to_lowercase).collect();
        let (total, kinds, page) = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
            let mut found: Vec<(&str, &str)> = Vec::new();
            for n in g.nodes_at(domain::lineage::At::Moment(at)) {
                let (name, id) = (g.name(n), g.asset_id(n));
                if !words
                    .iter()
                    .all(|w| holds_word(name, w) || holds_word(id, w))
                {
                    continue;
                }
                *kinds.entry(g.kind(n).as_str().to_string()).or_default() += 1;
                if q.kinds.is_empty() || q.kinds.contains(&g.kind(n)) {
                    found.push((name, id));
                }
            }
            found.sort_unstable();
            let page: Vec<String> = found
                .iter()
                .skip(q.offset)
                .take(q.limit)
                .map(|(_, id)| id.to_string())
                .collect();
            (found.len() as u64, kinds, page)
        };
        let mut items = Vec::with_capacity(page.len());
        for id in &page {
            items.push(self.asset_as_of(id, at).await?);
        }
        Ok(domain::query::SearchResult {
            total,
            items,
            facets: domain::query::Facets {
                kind: kinds,
                ..Default::default()
            },
            next: None,
        })
    }
}

/// Whether `text` holds `word` (lower case), ignoring ASCII case, without
/// allocating: a search as of a moment checks every asset's name and id.
fn holds_word(text: &str, word: &str) -> bool {
    let (t, w) = (text.as_bytes(), word.as_bytes());
    w.is_empty() || t.windows(w.len()).any(|win| win.eq_ignore_ascii_case(w))
}
