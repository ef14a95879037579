//! The part of the graph an analysis reads, numbered densely: the changed
//! dataset and everything downstream of it, with what the analysis needs
//! of each asset and edge and nothing else. Two sources fill it: a slice of
//! assets and edges ([`super::analyze`]), and the catalog's in-memory
//! lineage index, which hands over borrowed names and interned column ids so
//! that no string is copied.

use std::collections::HashMap;

use crate::asset::AssetKind;
use crate::edge::EdgeKind;

/// A node of a [`Subgraph`]; node 0 is the changed dataset.
pub type Local = u32;

#[derive(Debug, Default)]
pub struct Subgraph<'a> {
    pub(super) ids: Vec<&'a str>,
    pub(super) names: Vec<&'a str>,
    pub(super) kinds: Vec<AssetKind>,
    pub(super) production: Vec<bool>,
    owner_off: Vec<u32>,
    owner_names: Vec<&'a str>,
    /// Per link: its ends and where its column pairs start in `pairs`.
    pub(super) from: Vec<Local>,
    pub(super) to: Vec<Local>,
    kinds_of_links: Vec<EdgeKind>,
    pair_off: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    /// Column names by id; ids come from the caller ([`Subgraph::new`]) or
    /// from [`Subgraph::column`].
    columns: Vec<&'a str>,
    column_index: Option<HashMap<&'a str, u32>>,
    /// Links leaving and entering each node, as compressed rows; outgoing
    /// links are sorted by (target id, edge kind), so a walk is the same
    /// whatever order the links came in.
    out_off: Vec<u32>,
    out: Vec<u32>,
    in_off: Vec<u32>,
    inn: Vec<u32>,
}

impl<'a> Subgraph<'a> {
    /// An empty subgraph whose column ids index `columns` (an interning
    /// table the caller already holds; empty when it has none).
    pub fn new(columns: Vec<&'a str>) -> Self {
        Subgraph {
            columns,
            owner_off: vec![0],
            pair_off: vec![0],
            ..Default::default()
        }
    }

    /// The id of a column name, added to the table if it is not there.
    pub fn column(&mut self, name: &'a str) -> u32 {
        let columns = &self.columns;
        let index = self.column_index.get_or_insert_with(|| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, i as u32))
                .collect()
        });
        if let Some(&i) = index.get(name) {
            return i;
        }
        let i = u32::try_from(self.columns.len()).expect("fewer than 2^32 columns");
        index.insert(name, i);
        self.columns.push(name);
        i
    }

    /// The id of a column name if any link maps it; a scan, for the few
    /// names a diff holds.
    pub(super) fn find_column(&self, name: &str) -> Option<u32> {
        match &self.column_index {
            Some(index) => index.get(name).copied(),
            None => self
                .columns
                .iter()
                .position(|c| *c == name)
                .map(|i| i as u32),
        }
    }

    pub(super) fn column_count(&self) -> usize {
        self.columns.len()
    }

    pub(super) fn column_name(&self, c: u32) -> &'a str {
        self.columns[c as usize]
    }

    /// Adds an asset; the first one added is the changed dataset.
    pub fn add_node(
        &mut self,
        id: &'a str,
        kind: AssetKind,
        name: &'a str,
        owners: impl IntoIterator<Item = &'a str>,
        production: bool,
    ) -> Local {
        let n = Local::try_from(self.ids.len()).expect("fewer than 2^32 assets");
        self.ids.push(id);
        self.names.push(name);
        self.kinds.push(kind);
        self.production.push(production);
        self.owner_names.extend(owners);
        self.owner_off.push(self.owner_names.len() as u32);
        n
    }

    /// Adds an edge between two added nodes with its column mappings, as
    /// (from, to) column ids.
    pub fn add_link(
        &mut self,
        from: Local,
        to: Local,
        kind: EdgeKind,
        pairs: impl IntoIterator<Item = (u32, u32)>,
    ) {
        self.from.push(from);
        self.to.push(to);
        self.kinds_of_links.push(kind);
        self.pairs.extend(pairs);
        self.pair_off.push(self.pairs.len() as u32);
    }

    /// Builds the adjacency; call once, after the last link.
    pub fn finish(&mut self) {
        let n = self.ids.len();
        let mut by_id: Vec<Local> = (0..n as Local).collect();
        by_id.sort_unstable_by_key(|&v| self.ids[v as usize]);
        let mut rank = vec![0u32; n];
        for (r, &v) in by_id.iter().enumerate() {
            rank[v as usize] = r as u32;
        }
        let rows = |ends: &[Local]| {
            let mut off = vec![0u32; n + 1];
            for &u in ends {
                off[u as usize + 1] += 1;
            }
            for i in 0..n {
                off[i + 1] += off[i];
            }
            let mut fill = off.clone();
            let mut links = vec![0u32; ends.len()];
            for (l, &u) in ends.iter().enumerate() {
                links[fill[u as usize] as usize] = l as u32;
                fill[u as usize] += 1;
            }
            (off, links)
        };
        let (out_off, mut out) = rows(&self.from);
        for u in 0..n {
            out[out_off[u] as usize..out_off[u + 1] as usize].sort_unstable_by_key(|&l| {
                (
                    rank[self.to[l as usize] as usize],
                    self.kinds_of_links[l as usize].as_str(),
                )
            });
        }
        let (in_off, inn) = rows(&self.to);
        (self.out_off, self.out, self.in_off, self.inn) = (out_off, out, in_off, inn);
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub(super) fn owners(&self, v: Local) -> &[&'a str] {
        let v = v as usize;
        &self.owner_names[self.owner_off[v] as usize..self.owner_off[v + 1] as usize]
    }

    pub(super) fn pairs(&self, l: u32) -> &[(u32, u32)] {
        let l = l as usize;
        &self.pairs[self.pair_off[l] as usize..self.pair_off[l + 1] as usize]
    }

    pub(super) fn out(&self, u: Local) -> &[u32] {
        let u = u as usize;
        &self.out[self.out_off[u] as usize..self.out_off[u + 1] as usize]
    }

    pub(super) fn inn(&self, v: Local) -> &[u32] {
        let v = v as usize;
        &self.inn[self.in_off[v] as usize..self.in_off[v + 1] as usize]
    }

    /// Every link, as (from, to).
    pub(super) fn links(&self) -> impl Iterator<Item = (Local, Local)> + '_ {
        self.from.iter().copied().zip(self.to.iter().copied())
    }
}
