//! What an export holds in memory for the whole catalog: the lineage index
//! (every asset's id, kind and name, and every edge) and the edges' column
//! mappings with their transforms, interned. Full asset records are not
//! held: they stream from the store in pages while the site is written.

use std::collections::HashMap;

use domain::lineage::{EdgeTriple, LineageGraph, NodeId};
use domain::{Asset, ColumnMapping, Edge};

/// Marks a mapping without a transform in the pool.
const NO_TRANSFORM: u32 = u32::MAX;

#[derive(Default)]
pub(super) struct Estate {
    pub(super) g: LineageGraph,
    strings: Vec<Box<str>>,
    string_index: HashMap<Box<str>, u32>,
    /// Per edge with mappings: where they sit in `pool`.
    mappings: HashMap<EdgeTriple, (u32, u32)>,
    /// (from, to, transform) as interned string ids.
    pool: Vec<[u32; 3]>,
}

impl Estate {
    /// The estate of `assets` and the `edges` between them (edges with an
    /// end outside `assets` are left out).
    pub(super) fn from_slices(assets: &[Asset], edges: &[Edge]) -> Estate {
        let mut assets: Vec<&Asset> = assets.iter().collect();
        assets.sort_by(|a, b| a.id.cmp(&b.id));
        let mut edges: Vec<&Edge> = edges.iter().collect();
        edges.sort_by(|a, b| a.id.cmp(&b.id));
        let mut e = Estate::default();
        for a in assets {
            e.g.upsert_node(&a.id, a.kind, &a.name);
        }
        for x in edges {
            if e.g.upsert_edge(x) {
                e.add_mappings(x);
            }
        }
        e.g.compact();
        e
    }

    /// The whole catalog: its assets' ids, kinds and names from the lineage
    /// index, and its edges read from the store a page at a time. Both go
    /// in by id, as [`Estate::from_slices`] puts them, so that the graph
    /// (and every window drawn from it) depends only on the catalog's
    /// content, not on the order its index was built in.
    pub(super) async fn from_catalog(catalog: &catalog::Catalog) -> anyhow::Result<Estate> {
        let mut e = Estate::default();
        {
            let index = catalog.graph();
            let mut nodes: Vec<NodeId> = index.nodes().collect();
            nodes.sort_unstable_by_key(|&n| index.asset_id(n));
            for n in nodes {
                e.g.upsert_node(index.asset_id(n), index.kind(n), index.name(n));
            }
        }
        let page = super::ASSET_PAGE;
        let fetch = |after: Option<String>| async move {
            catalog.export_edges(after.as_deref(), page).await
        };
        super::in_pages(
            page,
            fetch,
            |x: &Edge| x.id.clone(),
            |got| {
                for x in &got {
                    if e.g.upsert_edge(x) {
                        e.add_mappings(x);
                    }
                }
                Ok(())
            },
        )
        .await?;
        e.g.compact();
        Ok(e)
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.string_index.get(s) {
            return i;
        }
        let i = u32::try_from(self.strings.len()).expect("fewer than 2^32 names");
        self.strings.push(s.into());
        self.string_index.insert(s.into(), i);
        i
    }

    fn add_mappings(&mut self, edge: &Edge) {
        let (Some(f), Some(t)) = (self.g.id_of(&edge.from), self.g.id_of(&edge.to)) else {
            return;
        };
        if edge.columns.is_empty() {
            return;
        }
        let start = self.pool.len() as u32;
        for m in &edge.columns {
            let entry = [
                self.intern(&m.from),
                self.intern(&m.to),
                m.transform
                    .as_deref()
                    .map_or(NO_TRANSFORM, |x| self.intern(x)),
            ];
            self.pool.push(entry);
        }
        self.mappings
            .insert((f, t, edge.kind), (start, edge.columns.len() as u32));
    }

    /// The column mappings of one edge, in the order the edge lists them.
    pub(super) fn columns(&self, link: EdgeTriple) -> impl Iterator<Item = ColumnMapping> + '_ {
        let (start, len) = self.mappings.get(&link).copied().unwrap_or((0, 0));
        self.pool[start as usize..(start + len) as usize]
            .iter()
            .map(|[f, t, x]| ColumnMapping {
                from: self.strings[*f as usize].to_string(),
                to: self.strings[*t as usize].to_string(),
                transform: (*x != NO_TRANSFORM).then(|| self.strings[*x as usize].to_string()),
            })
    }
}
