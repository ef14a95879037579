//! The lineage image: a compact binary form of the graph.

use super::spans::Span;
use super::*;
use crate::edge::ColumnMapping;

/// The first bytes of an encoded graph, with the format's version.
pub(super) const ENCODING_MAGIC: &[u8; 8] = b"MLGLIN03";

/// A cursor over an encoded graph.
pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or("the image is cut short")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    pub(super) fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub(super) fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub(super) fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub(super) fn text(&mut self) -> Result<&'a str, String> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| "text that is not UTF-8".to_string())
    }
}

fn kind_index(kind: AssetKind) -> u8 {
    AssetKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("a known kind") as u8
}

fn edge_kind_index(kind: EdgeKind) -> u8 {
    EdgeKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("a known kind") as u8
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

impl LineageGraph {
    /// A compact binary image of the graph: live nodes (renumbered densely)
    /// and edges. [`LineageGraph::decode`] turns it back into a graph that
    /// answers every query the same way; a catalog keeps one beside its
    /// store so that a restart need not read every edge again.
    pub fn encode(&self) -> Vec<u8> {
        let mut renumber = vec![UNSEEN; self.ids.len()];
        let mut out = Vec::with_capacity(self.ids.len() * 48 + self.edges.len() * 25 + 16);
        out.extend_from_slice(ENCODING_MAGIC);
        let live: Vec<usize> = (0..self.ids.len()).filter(|&n| self.live[n]).collect();
        out.extend_from_slice(&(live.len() as u32).to_le_bytes());
        for (new, &n) in live.iter().enumerate() {
            renumber[n] = new as NodeId;
            let kind = AssetKind::ALL
                .iter()
                .position(|k| *k == self.kinds[n])
                .expect("a known kind");
            out.push(kind as u8);
            for text in [&self.ids[n], &self.names[n]] {
                put_text(&mut out, text);
            }
            out.push(u8::from(self.production(n as NodeId)));
            let owners: Vec<&str> = self.owners(n as NodeId).collect();
            out.extend_from_slice(&(owners.len() as u32).to_le_bytes());
            for o in owners {
                put_text(&mut out, o);
            }
        }
        out.extend_from_slice(&(self.edges.len() as u64).to_le_bytes());
        for (key, &(f, t, kind)) in &self.edges {
            out.extend_from_slice(&key.to_le_bytes());
            out.extend_from_slice(&renumber[f as usize].to_le_bytes());
            out.extend_from_slice(&renumber[t as usize].to_le_bytes());
            let kind = EdgeKind::ALL
                .iter()
                .position(|k| *k == kind)
                .expect("a known kind");
            out.push(kind as u8);
            let pairs: Vec<(&str, &str)> = self.mapping_pairs(*key).collect();
            out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
            for (from, to) in pairs {
                put_text(&mut out, from);
                put_text(&mut out, to);
            }
        }
        // History: when each live node appeared, the deleted assets' nodes
        // and every edge's span.
        let tl = &self.timeline;
        for &n in &live {
            out.extend_from_slice(&tl.born[n].to_le_bytes());
        }
        let dead: Vec<usize> = tl.past.values().flatten().map(|&n| n as usize).collect();
        out.extend_from_slice(&(dead.len() as u32).to_le_bytes());
        for (i, &n) in dead.iter().enumerate() {
            renumber[n] = (live.len() + i) as NodeId;
            out.push(kind_index(self.kinds[n]));
            put_text(&mut out, &self.ids[n]);
            put_text(&mut out, &self.names[n]);
            out.extend_from_slice(&tl.born[n].to_le_bytes());
            out.extend_from_slice(&tl.died[n].to_le_bytes());
        }
        let spans: Vec<(NodeId, &Span)> = tl
            .out
            .all()
            .filter(|(f, s)| {
                renumber[*f as usize] != UNSEEN && renumber[s.other as usize] != UNSEEN
            })
            .collect();
        out.extend_from_slice(&(spans.len() as u64).to_le_bytes());
        for (f, s) in spans {
            out.extend_from_slice(&renumber[f as usize].to_le_bytes());
            out.extend_from_slice(&renumber[s.other as usize].to_le_bytes());
            out.push(edge_kind_index(s.kind()));
            out.extend_from_slice(&s.since().to_le_bytes());
            out.extend_from_slice(&s.until().to_le_bytes());
        }
        out
    }

    /// Reads what [`LineageGraph::encode`] wrote; any damage is an error,
    /// never a wrong graph.
    pub fn decode(bytes: &[u8]) -> Result<LineageGraph, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(ENCODING_MAGIC.len())? != ENCODING_MAGIC {
            return Err("not a lineage graph image".into());
        }
        let nodes = r.u32()? as usize;
        let mut g = LineageGraph::new();
        for _ in 0..nodes {
            let kind = *AssetKind::ALL
                .get(r.u8()? as usize)
                .ok_or("unknown asset kind")?;
            let id = r.text()?;
            let name = r.text()?;
            if g.index.contains_key(id) {
                return Err(format!("asset {id:?} appears twice"));
            }
            let n = g.upsert_node(id, kind, name);
            let production = r.u8()? != 0;
            let owners = (0..r.u32()?)
                .map(|_| r.text().map(str::to_string))
                .collect::<Result<Vec<String>, String>>()?;
            g.set_facts(n, &owners, production);
        }
        let edges = r.u64()? as usize;
        g.edges.reserve(edges.min(bytes.len() / 25));
        for _ in 0..edges {
            let key = u128::from_le_bytes(r.take(16)?.try_into().expect("16 bytes"));
            let (f, t) = (r.u32()?, r.u32()?);
            let kind = *EdgeKind::ALL
                .get(r.u8()? as usize)
                .ok_or("unknown edge kind")?;
            if f as usize >= nodes || t as usize >= nodes {
                return Err("an edge names a node that is not there".into());
            }
            if g.edges.insert(key, (f, t, kind)).is_some() {
                return Err("an edge appears twice".into());
            }
            let columns = (0..r.u32()?)
                .map(|_| {
                    Ok(ColumnMapping {
                        from: r.text()?.to_string(),
                        to: r.text()?.to_string(),
                        transform: None,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            g.facts.set_mappings((f, t, kind), &columns);
            g.out.push(f, Link { other: t, kind });
            g.inn.push(t, Link { other: f, kind });
        }
        for n in 0..nodes {
            g.timeline.born[n] = r.i64()?;
        }
        for _ in 0..r.u32()? {
            let kind = *AssetKind::ALL
                .get(r.u8()? as usize)
                .ok_or("unknown asset kind")?;
            let (id, name) = (r.text()?, r.text()?);
            let (born, died) = (r.i64()?, r.i64()?);
            g.add_past_node(id, kind, name, born, died)
                .ok_or("a deleted asset that never existed")?;
        }
        let all = g.ids.len();
        for _ in 0..r.u64()? {
            let (f, t) = (r.u32()?, r.u32()?);
            let kind = *EdgeKind::ALL
                .get(r.u8()? as usize)
                .ok_or("unknown edge kind")?;
            let (since, until) = (r.i64()?, r.i64()?);
            if f as usize >= all || t as usize >= all {
                return Err("a span names a node that is not there".into());
            }
            if until <= since {
                return Err("a span that ends before it begins".into());
            }
            g.timeline.out.push(f, Span::new(t, kind, since, until));
            g.timeline.inn.push(t, Span::new(f, kind, since, until));
        }
        if r.at != bytes.len() {
            return Err("trailing bytes after the graph".into());
        }
        g.compact();
        Ok(g)
    }
}
