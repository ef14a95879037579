//! What impact analysis needs beyond the graph's shape, held beside it so
//! that an impact answer reads no rows: each asset's owners and whether it
//! serves production, and each edge's column mappings. Owner and column
//! names are interned: an estate has few distinct ones.

use std::collections::HashMap;

use super::{edge_key, EdgeTriple, LineageGraph, NodeId};
use crate::edge::ColumnMapping;

#[derive(Debug, Default, Clone)]
pub(super) struct Facts {
    strings: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    /// Per node.
    owners: Vec<Box<[u32]>>,
    production: Vec<bool>,
    /// Per edge, by its ends and kind (so a walk over the adjacency finds
    /// them without the edge's id); edges without mappings are absent.
    mappings: HashMap<EdgeTriple, Box<[(u32, u32)]>>,
}

impl Facts {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).expect("fewer than 2^32 names");
        self.strings.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    pub(super) fn grow(&mut self, nodes: usize) {
        self.owners.resize_with(nodes, Default::default);
        self.production.resize(nodes, false);
    }

    pub(super) fn set_mappings(&mut self, key: EdgeTriple, columns: &[ColumnMapping]) {
        if columns.is_empty() {
            self.mappings.remove(&key);
            return;
        }
        let pairs: Box<[(u32, u32)]> = columns
            .iter()
            .map(|m| (self.intern(&m.from), self.intern(&m.to)))
            .collect();
        self.mappings.insert(key, pairs);
    }

    pub(super) fn forget_mappings(&mut self, key: EdgeTriple) {
        self.mappings.remove(&key);
    }

    /// Keeps the mappings of the edges `keep` says are still there.
    pub(super) fn retain_mappings(&mut self, keep: impl Fn(&EdgeTriple) -> bool) {
        self.mappings.retain(|k, _| keep(k));
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let strings: usize = self.strings.iter().map(|s| 2 * s.len() + 16 + 20).sum();
        let owners: usize = self.owners.iter().map(|o| 16 + 4 * o.len()).sum();
        let mappings: usize = self
            .mappings
            .values()
            .map(|m| 12 + 1 + 16 + 8 * m.len())
            .sum();
        strings + owners + self.production.capacity() + self.mappings.capacity() * 8 + mappings
    }

    /// Every interned name, by id.
    pub(super) fn names(&self) -> Vec<&str> {
        self.strings.iter().map(|s| &**s).collect()
    }

    /// The mappings of one edge, as interned (from, to) ids.
    pub(super) fn pairs(&self, link: &EdgeTriple) -> &[(u32, u32)] {
        self.mappings.get(link).map_or(&[], |m| &m[..])
    }
}

impl LineageGraph {
    /// Records an asset's owners and whether it serves production.
    pub fn set_facts(&mut self, n: NodeId, owners: &[String], production: bool) {
        let owners: Box<[u32]> = owners.iter().map(|o| self.facts.intern(o)).collect();
        self.facts.owners[n as usize] = owners;
        self.facts.production[n as usize] = production;
    }

    pub fn owners(&self, n: NodeId) -> impl Iterator<Item = &str> + '_ {
        self.facts.owners[n as usize]
            .iter()
            .map(|&i| &*self.facts.strings[i as usize])
    }

    pub fn production(&self, n: NodeId) -> bool {
        self.facts.production[n as usize]
    }

    /// The column mappings of the edge `edge_id`, as (from, to).
    pub fn mappings(&self, edge_id: &str) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.mapping_pairs(edge_key(edge_id))
    }

    pub(super) fn mapping_pairs(&self, key: u128) -> impl Iterator<Item = (&str, &str)> + '_ {
        let name = |i: u32| &*self.facts.strings[i as usize];
        self.edges
            .get(&key)
            .and_then(|link| self.facts.mappings.get(link))
            .into_iter()
            .flat_map(|m| m.iter())
            .map(move |&(f, t)| (name(f), name(t)))
    }
}
