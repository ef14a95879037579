//! Adjacency lists and per-walk scratch marks.

use super::*;

/// One edge as seen from one of its ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Link {
    pub(super) other: NodeId,
    pub(super) kind: EdgeKind,
}

/// A slot of the compacted part; `None` marks an edge removed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) other: NodeId,
    pub(super) kind: Option<EdgeKind>,
}

/// One direction's adjacency: a compressed sparse row block built in one
/// pass (`off`, `slots`), plus a short list per node of edges added since.
/// Removals only blank a slot. Once the changes since the last compaction
/// pass an eighth of the block, it is rebuilt, so a write costs amortised
/// O(1) and traversals mostly scan contiguous memory.
#[derive(Debug, Clone, Default)]
pub(super) struct Adjacency {
    pub(super) off: Vec<u32>,
    pub(super) slots: Vec<Slot>,
    pub(super) added: Vec<Vec<Link>>,
    pub(super) changes: usize,
}

impl Adjacency {
    pub(super) fn grow(&mut self, nodes: usize) {
        self.added.resize_with(nodes, Vec::new);
    }

    pub(super) fn compacted(&self, n: NodeId) -> &[Slot] {
        let n = n as usize;
        if n + 1 < self.off.len() {
            &self.slots[self.off[n] as usize..self.off[n + 1] as usize]
        } else {
            &[]
        }
    }

    pub(super) fn iter(&self, n: NodeId) -> impl Iterator<Item = Link> + '_ {
        self.compacted(n)
            .iter()
            .filter_map(|s| {
                s.kind.map(|kind| Link {
                    other: s.other,
                    kind,
                })
            })
            .chain(
                // Nothing was added since the last compaction: skip the
                // lists without touching them (one cache miss per node).
                if self.changes == 0 {
                    &[][..]
                } else {
                    &self.added[n as usize][..]
                }
                .iter()
                .copied(),
            )
    }

    pub(super) fn degree(&self, n: NodeId) -> usize {
        self.compacted(n)
            .iter()
            .filter(|s| s.kind.is_some())
            .count()
            + self.added[n as usize].len()
    }

    pub(super) fn push(&mut self, n: NodeId, link: Link) {
        self.added[n as usize].push(link);
        self.changes += 1;
    }

    pub(super) fn remove(&mut self, n: NodeId, link: Link) {
        let n_us = n as usize;
        if let Some(pos) = self.added[n_us].iter().position(|l| *l == link) {
            self.added[n_us].swap_remove(pos);
            return;
        }
        let range = if n_us + 1 < self.off.len() {
            self.off[n_us] as usize..self.off[n_us + 1] as usize
        } else {
            0..0
        };
        if let Some(s) = self.slots[range]
            .iter_mut()
            .find(|s| s.other == link.other && s.kind == Some(link.kind))
        {
            s.kind = None;
            self.changes += 1;
        }
    }

    /// Drops every link of `n`, returning them.
    pub(super) fn take(&mut self, n: NodeId) -> Vec<Link> {
        let links: Vec<Link> = self.iter(n).collect();
        let n_us = n as usize;
        if n_us + 1 < self.off.len() {
            let range = self.off[n_us] as usize..self.off[n_us + 1] as usize;
            for s in &mut self.slots[range] {
                s.kind = None;
            }
        }
        self.added[n_us].clear();
        self.changes += links.len();
        links
    }

    pub(super) fn wants_compaction(&self) -> bool {
        self.changes > 4096 && self.changes * 8 > self.slots.len()
    }

    pub(super) fn compact(&mut self) {
        let nodes = self.added.len();
        let mut off = Vec::with_capacity(nodes + 1);
        let mut slots = Vec::with_capacity(self.slots.len() + self.changes);
        off.push(0u32);
        for n in 0..nodes as NodeId {
            slots.extend(self.iter(n).map(|l| Slot {
                other: l.other,
                kind: Some(l.kind),
            }));
            off.push(u32::try_from(slots.len()).expect("fewer than 2^32 edges"));
        }
        for a in &mut self.added {
            *a = Vec::new();
        }
        self.off = off;
        self.slots = slots;
        self.changes = 0;
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.off.capacity() * 4
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.added.capacity() * std::mem::size_of::<Vec<Link>>()
            + self
                .added
                .iter()
                .map(|a| a.capacity() * std::mem::size_of::<Link>())
                .sum::<usize>()
    }
}

/// A 128-bit FNV-1a digest of an edge id: the edge table's key, so the
/// index does not keep millions of id strings.
/// Per-node scratch marks for walks, reused across queries: a mark is set
/// when its stamp equals the current generation, so starting a walk costs
/// one increment, not clearing an array the size of the graph.
#[derive(Default)]
pub(super) struct Marks {
    pub(super) generation: u32,
    /// Per node: the generation it was marked in, and its value.
    pub(super) slots: Vec<[u32; 2]>,
}

impl Marks {
    pub(super) fn reset(&mut self, nodes: usize) {
        if self.slots.len() < nodes {
            self.slots.resize(nodes, [0, 0]);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| s[0] = 0);
            self.generation = 1;
        }
    }
    pub(super) fn get(&self, n: NodeId) -> Option<u32> {
        let [g, v] = self.slots[n as usize];
        (g == self.generation).then_some(v)
    }
    pub(super) fn has(&self, n: NodeId) -> bool {
        self.slots[n as usize][0] == self.generation
    }
    pub(super) fn set(&mut self, n: NodeId, v: u32) {
        self.slots[n as usize] = [self.generation, v];
    }
}

/// A set of nodes as one bit each: a million nodes fit in 128 KB.
pub(super) struct Bits(Vec<u64>);

impl Bits {
    pub(super) fn of(nodes: usize, members: &[NodeId]) -> Bits {
        let mut bits = vec![0u64; nodes.div_ceil(64)];
        for &n in members {
            bits[n as usize / 64] |= 1 << (n % 64);
        }
        Bits(bits)
    }
    pub(super) fn has(&self, n: NodeId) -> bool {
        self.0[n as usize / 64] & (1 << (n % 64)) != 0
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<Marks>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Marks lent from this thread's pool for one walk, returned when dropped.
pub(super) struct Scratch(Marks);

impl Scratch {
    pub(super) fn new(nodes: usize) -> Scratch {
        let mut m = SCRATCH.with(|p| p.borrow_mut().pop()).unwrap_or_default();
        m.reset(nodes);
        Scratch(m)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let m = std::mem::take(&mut self.0);
        let _ = SCRATCH.try_with(|p| p.borrow_mut().push(m));
    }
}

impl std::ops::Deref for Scratch {
    type Target = Marks;
    fn deref(&self) -> &Marks {
        &self.0
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut Marks {
        &mut self.0
    }
}
