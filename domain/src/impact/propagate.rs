//! The analysis itself, over a [`Subgraph`] (see the module doc of
//! `impact` for the rules), and the report it gives, whole or bounded.
//! Everything runs on dense numbers; strings are touched only for the rows
//! a report lists, so a bounded report over half a million affected assets
//! costs little more than the walks.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::analysis::*;
use super::change::*;
use super::subgraph::{Local, Subgraph};
use crate::asset::{Asset, AssetKind};
use crate::error::{Result, ValidationError};

/// How much of a report to list: at most `per_hop` affected assets per
/// hop, and at most `rows` services, refresh steps and assets per owner
/// (see [`ImpactReport::bounded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_hop: usize,
    pub rows: usize,
}

const NONE: u32 = u32::MAX;

/// One affected column: reached with `sev`, first through `parent` (a
/// state of the asset upstream; `NONE` for a changed column of the root).
/// `next` chains the states of one asset.
#[derive(Debug, Clone, Copy)]
struct State {
    node: Local,
    column: u32,
    sev: Severity,
    parent: u32,
    next: u32,
}

struct Marks {
    states: Vec<State>,
    head: Vec<u32>,
    possibly: Vec<bool>,
    hops: Vec<u32>,
    parent: Vec<Local>,
}

impl Marks {
    fn state(&self, v: Local, column: u32) -> Option<usize> {
        let mut s = self.head[v as usize];
        while s != NONE {
            let st = &self.states[s as usize];
            if st.column == column {
                return Some(s as usize);
            }
            s = st.next;
        }
        None
    }

    fn hot(&self, v: Local) -> bool {
        self.head[v as usize] != NONE
    }

    fn states_of(&self, v: Local) -> impl Iterator<Item = &State> + '_ {
        let mut s = self.head[v as usize];
        std::iter::from_fn(move || {
            let st = self.states.get(s as usize)?;
            s = st.next;
            Some(st)
        })
    }
}

/// What `changes` to the dataset `root` (node 0 of `sub`) reach; with
/// `limits`, the report lists only the first rows, as
/// [`ImpactReport::bounded`] would cut the whole one.
pub fn analyze_subgraph(
    sub: &Subgraph,
    root: &Asset,
    changes: &[SchemaChange],
    limits: Option<Limits>,
) -> Result<ImpactReport> {
    if root.kind != AssetKind::Dataset {
        let msg = format!("{} is a {}, not a dataset", root.id, root.kind);
        return Err(ValidationError::new("dataset", msg));
    }
    validate_changes(&root.schema, changes)?;
    let sev_of: Vec<Severity> = changes
        .iter()
        .map(|c| change_severity(root.column(&c.column), c))
        .collect();
    let marks = propagate(sub, changes, &sev_of);
    Ok(Report {
        sub,
        root,
        changes,
        sev_of: &sev_of,
        marks: &marks,
    }
    .build(limits))
}

fn propagate(sub: &Subgraph, changes: &[SchemaChange], sev_of: &[Severity]) -> Marks {
    use Severity::*;
    let n = sub.len();
    let mut m = Marks {
        states: Vec::new(),
        head: vec![NONE; n],
        possibly: vec![false; n],
        hops: vec![NONE; n],
        parent: vec![0; n],
    };

    // Phase 1: column lineage, breadth first over (asset, column) pairs.
    // Only propagating changes seed it, so every pair in it propagates and
    // the first chain found for a pair is a shortest one. A column that no
    // link maps gets an id past the table's ([`unmapped`]), so it marks the
    // root without reaching anything.
    let mut queue = VecDeque::new();
    for (k, (c, &sev)) in changes.iter().zip(sev_of).enumerate() {
        if sev > NonBreaking {
            let column = sub.find_column(&c.column).unwrap_or(unmapped(k));
            queue.push_back(push_state(&mut m, 0, column, sev, NONE));
        }
    }
    while let Some(s) = queue.pop_front() {
        let State {
            node: u,
            column: c,
            sev,
            ..
        } = m.states[s as usize];
        for &l in sub.out(u) {
            let v = sub.to[l as usize];
            for &(from, to) in sub.pairs(l) {
                if from != c {
                    continue;
                }
                let t = match m.state(v, to) {
                    Some(t) if m.states[t].sev >= sev => continue,
                    // A worse severity arriving later keeps the first chain
                    // but must be passed on again.
                    Some(t) => {
                        m.states[t].sev = sev;
                        t as u32
                    }
                    None => push_state(&mut m, v, to, sev, s),
                };
                queue.push_back(t);
            }
        }
    }

    // Phase 2: possibly-marks, which only senders worse than non-breaking
    // send, so the mark is always possibly-breaking.
    let precise: Vec<bool> = (0..n as Local).map(|v| v == 0 || m.hot(v)).collect();
    let blocked = |u: Local, v: Local| {
        sub.kinds[u as usize] == AssetKind::Workflow
            && sub
                .inn(v)
                .iter()
                .any(|&l| !sub.pairs(l).is_empty() && precise[sub.from[l as usize] as usize])
    };
    let mut work: Vec<Local> = (0..n as Local).filter(|&u| m.hot(u)).collect();
    while let Some(u) = work.pop() {
        for &l in sub.out(u) {
            let v = sub.to[l as usize];
            if (m.possibly[u as usize] || sub.pairs(l).is_empty())
                && !m.possibly[v as usize]
                && !blocked(u, v)
            {
                m.possibly[v as usize] = true;
                work.push(v);
            }
        }
    }

    // Phase 3: hops and paths over the links that carried an effect.
    m.hops[0] = 0;
    let mut queue = VecDeque::from([0 as Local]);
    while let Some(u) = queue.pop_front() {
        let h = m.hops[u as usize];
        for &l in sub.out(u) {
            let v = sub.to[l as usize];
            if m.hops[v as usize] != NONE {
                continue;
            }
            let pairs = sub.pairs(l);
            let carries = pairs.iter().any(|&(f, _)| m.state(u, f).is_some())
                || ((m.possibly[u as usize] || (pairs.is_empty() && m.hot(u))) && !blocked(u, v));
            if carries {
                m.hops[v as usize] = h + 1;
                m.parent[v as usize] = u;
                queue.push_back(v);
            }
        }
    }
    m
}

/// The column id of the `k`th change when no link maps its column.
fn unmapped(k: usize) -> u32 {
    NONE - 1 - k as u32
}

fn push_state(m: &mut Marks, node: Local, column: u32, sev: Severity, parent: u32) -> u32 {
    let s = u32::try_from(m.states.len()).expect("fewer than 2^32 affected columns");
    m.states.push(State {
        node,
        column,
        sev,
        parent,
        next: m.head[node as usize],
    });
    m.head[node as usize] = s;
    s
}

/// The report's order: the root first, then by (hops, kind, name, id).
type Key<'a> = (bool, u32, AssetKind, &'a str, &'a str);

struct Report<'r, 'a> {
    sub: &'r Subgraph<'a>,
    root: &'r Asset,
    changes: &'r [SchemaChange],
    sev_of: &'r [Severity],
    marks: &'r Marks,
}

/// The first `limit` of `items` in the order of `key`, sorted; all of them
/// when `limit` is `None`.
fn first_by<T, K: Ord>(mut items: Vec<T>, limit: Option<usize>, key: impl Fn(&T) -> K) -> Vec<T> {
    if let Some(k) = limit {
        if k == 0 {
            return Vec::new();
        }
        if items.len() > k {
            items.select_nth_unstable_by(k - 1, |a, b| key(a).cmp(&key(b)));
            items.truncate(k);
        }
    }
    items.sort_unstable_by_key(key);
    items
}

impl<'a> Report<'_, 'a> {
    fn key(&self, v: Local) -> Key<'a> {
        let s = self.sub;
        let i = v as usize;
        (v != 0, self.marks.hops[i], s.kinds[i], s.names[i], s.ids[i])
    }

    fn column_name(&self, c: u32) -> &str {
        match self.sub.column_count() {
            n if (c as usize) < n => self.sub.column_name(c),
            _ => &self.changes[(NONE - 1 - c) as usize].column,
        }
    }

    /// The affected columns of `v` with their severities, by name: for the
    /// root also every changed column, with its own change's severity.
    fn columns(&self, v: Local) -> BTreeMap<&str, (Severity, Option<u32>)> {
        let mut out: BTreeMap<&str, (Severity, Option<u32>)> = BTreeMap::new();
        let m = self.marks;
        let mut s = m.head[v as usize];
        while s != NONE {
            let st = &m.states[s as usize];
            out.insert(self.column_name(st.column), (st.sev, Some(s)));
            s = st.next;
        }
        if v == 0 {
            for (c, &sev) in self.changes.iter().zip(self.sev_of) {
                out.entry(c.column.as_str()).or_insert((sev, None));
            }
        }
        out
    }

    fn severity(&self, v: Local) -> Severity {
        let m = self.marks;
        let mut sev = m
            .states_of(v)
            .map(|s| s.sev)
            .chain(m.possibly[v as usize].then_some(Severity::PossiblyBreaking))
            .max()
            .unwrap_or(Severity::NonBreaking);
        if v == 0 {
            sev = sev.max(self.sev_of.iter().copied().max().unwrap_or(sev));
        }
        sev
    }

    fn chain(&self, s: u32) -> Vec<ColumnStep> {
        let mut chain = Vec::new();
        let mut s = s;
        while s != NONE {
            let st = &self.marks.states[s as usize];
            chain.push(step(
                self.sub.ids[st.node as usize],
                self.column_name(st.column),
            ));
            s = st.parent;
        }
        chain.reverse();
        chain
    }

    fn row(&self, v: Local) -> AffectedAsset {
        let (sub, m, i) = (self.sub, self.marks, v as usize);
        let mut columns = Vec::new();
        let mut chains = Vec::new();
        for (c, (_, s)) in self.columns(v) {
            chains.push(match s {
                Some(s) => self.chain(s),
                None => vec![step(&self.root.id, c)],
            });
            columns.push(c.to_string());
        }
        let mut via = Vec::new();
        if m.possibly[i] {
            let mut x = v;
            via.push(sub.ids[i].to_string());
            while x != 0 {
                x = m.parent[x as usize];
                via.push(sub.ids[x as usize].to_string());
            }
            via.reverse();
        }
        AffectedAsset {
            id: sub.ids[i].to_string(),
            kind: sub.kinds[i],
            name: sub.names[i].to_string(),
            hops: m.hops[i],
            severity: self.severity(v),
            columns,
            chains,
            possibly: m.possibly[i],
            via,
            owners: sub.owners(v).iter().map(|o| o.to_string()).collect(),
            production: sub.production[i],
        }
    }

    fn build(&self, limits: Option<Limits>) -> ImpactReport {
        let (sub, m) = (self.sub, self.marks);
        // Every non-root asset with a state or a mark is worse than
        // non-breaking, so those and the root are what the change reaches.
        let affected: Vec<Local> = (0..sub.len() as Local)
            .filter(|&v| {
                m.hops[v as usize] != NONE && (v == 0 || m.hot(v) || m.possibly[v as usize])
            })
            .collect();
        let severities: Vec<Severity> = affected.iter().map(|&v| self.severity(v)).collect();
        let per_hop = limits.map(|l| l.per_hop);
        let rows = limits.map(|l| l.rows);

        // Affected rows: per hop, the first ones in report order.
        let mut by_hop: BTreeMap<u32, Vec<Local>> = BTreeMap::new();
        for &v in &affected {
            by_hop.entry(m.hops[v as usize]).or_default().push(v);
        }
        let hop_sizes: Vec<(u32, usize)> = by_hop.iter().map(|(h, vs)| (*h, vs.len())).collect();
        let listed: Vec<Local> = by_hop
            .into_values()
            .flat_map(|vs| first_by(vs, per_hop, |&v| self.key(v)))
            .collect();

        let is_service = |v: Local| {
            matches!(
                sub.kinds[v as usize],
                AssetKind::Service | AssetKind::Application
            )
        };
        let service_nodes: Vec<Local> = affected
            .iter()
            .copied()
            .filter(|&v| is_service(v))
            .collect();
        let services_total = service_nodes.len();
        let services = first_by(service_nodes, rows, |&v| {
            (!sub.production[v as usize], self.key(v))
        })
        .into_iter()
        .map(|v| {
            let i = v as usize;
            ServiceHit {
                id: sub.ids[i].to_string(),
                kind: sub.kinds[i],
                name: sub.names[i].to_string(),
                severity: self.severity(v),
                hops: m.hops[i],
                production: sub.production[i],
                owners: sub.owners(v).iter().map(|o| o.to_string()).collect(),
            }
        })
        .collect();

        let mut owner_at: HashMap<&str, usize> = HashMap::new();
        let mut owners: Vec<(&str, Severity, Vec<Local>)> = Vec::new();
        for (&v, &sev) in affected.iter().zip(&severities) {
            for &o in sub.owners(v) {
                let i = *owner_at.entry(o).or_insert_with(|| {
                    owners.push((o, Severity::NonBreaking, Vec::new()));
                    owners.len() - 1
                });
                let entry = &mut owners[i];
                entry.1 = entry.1.max(sev);
                if entry.2.last() != Some(&v) {
                    entry.2.push(v);
                }
            }
        }
        owners.sort_unstable_by_key(|o| o.0);
        let owners = owners
            .into_iter()
            .map(|(owner, severity, vs)| {
                let total = vs.len();
                let assets = first_by(vs, rows, |&v| self.key(v))
                    .into_iter()
                    .map(|v| sub.ids[v as usize].to_string())
                    .collect();
                OwnerNotice {
                    owner: owner.to_string(),
                    severity,
                    assets,
                    assets_total: limits.map(|_| total),
                }
            })
            .collect();

        let mut counts: BTreeMap<(AssetKind, Severity), usize> = BTreeMap::new();
        for (&v, &sev) in affected.iter().zip(&severities) {
            *counts.entry((sub.kinds[v as usize], sev)).or_default() += 1;
        }

        let refresh_plan = self.refresh_plan(&affected, rows);
        ImpactReport {
            dataset: self.root.id.clone(),
            changes: self.changes.to_vec(),
            severity: severities
                .iter()
                .copied()
                .max()
                .unwrap_or(Severity::NonBreaking),
            affected: listed.iter().map(|&v| self.row(v)).collect(),
            services,
            owners,
            refresh_plan,
            counts: counts
                .into_iter()
                .map(|((kind, severity), count)| KindCount {
                    kind,
                    severity,
                    count,
                })
                .collect(),
            bounded: limits.map(|_| Bounds {
                hops: hop_sizes,
                services: services_total,
                refresh_plan: affected.len(),
            }),
        }
    }

    /// Kahn's algorithm by levels over the affected assets and every link
    /// between them, so everything an asset reads is refreshed in an
    /// earlier stage; a level lists in report order. Assets it cannot order
    /// (on a cycle or behind one) come last, flagged. With `rows`, it stops
    /// once that many steps are listed.
    fn refresh_plan(&self, affected: &[Local], rows: Option<usize>) -> Vec<RefreshStep> {
        let sub = self.sub;
        let want = rows.unwrap_or(usize::MAX);
        let mut pos = vec![NONE; sub.len()];
        for (i, &v) in affected.iter().enumerate() {
            pos[v as usize] = i as u32;
        }
        let mut indeg = vec![0u32; affected.len()];
        for (u, v) in sub.links() {
            if pos[u as usize] != NONE && pos[v as usize] != NONE {
                indeg[pos[v as usize] as usize] += 1;
            }
        }
        let plan_step = |v: Local, stage: u32, in_cycle: bool| {
            let i = v as usize;
            RefreshStep {
                id: sub.ids[i].to_string(),
                name: sub.names[i].to_string(),
                kind: sub.kinds[i],
                stage,
                in_cycle,
            }
        };
        let mut plan = Vec::new();
        let mut done = vec![false; affected.len()];
        let mut level: Vec<Local> = affected
            .iter()
            .enumerate()
            .filter(|&(i, _)| indeg[i] == 0)
            .map(|(_, &v)| v)
            .collect();
        let mut stage = 0;
        while !level.is_empty() && plan.len() < want {
            let mut next = Vec::new();
            for &u in &level {
                done[pos[u as usize] as usize] = true;
                for &l in sub.out(u) {
                    let v = sub.to[l as usize];
                    let p = pos[v as usize];
                    if p != NONE {
                        indeg[p as usize] -= 1;
                        if indeg[p as usize] == 0 {
                            next.push(v);
                        }
                    }
                }
            }
            let room = want - plan.len();
            let listed = first_by(level, Some(room).filter(|_| rows.is_some()), |&v| {
                self.key(v)
            });
            plan.extend(listed.into_iter().map(|v| plan_step(v, stage, false)));
            level = next;
            stage += 1;
        }
        if plan.len() < want {
            let rest: Vec<Local> = affected
                .iter()
                .enumerate()
                .filter(|&(i, _)| !done[i])
                .map(|(_, &v)| v)
                .collect();
            let room = want - plan.len();
            let listed = first_by(rest, Some(room).filter(|_| rows.is_some()), |&v| {
                self.key(v)
            });
            plan.extend(listed.into_iter().map(|v| plan_step(v, stage, true)));
        }
        plan
    }
}
