//! The spans of one direction, laid out like the current adjacency: one
//! offset array and one contiguous block, plus the spans added since the
//! last compaction, kept apart for the few nodes that have them.

use super::*;

/// Bits a packed time has: milliseconds up to the year 2527.
const TIME_BITS: u32 = 44;
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;

/// A moment as a span stores it: [`ALWAYS`] is 0, [`OPEN`] is all ones,
/// and a real moment is itself plus one (before 1970 counts as 1970).
/// Packing keeps the order, so a span is checked without unpacking.
pub(super) fn pack_time(t: Millis) -> u64 {
    match t {
        ALWAYS => 0,
        OPEN => TIME_MASK,
        t => t.clamp(0, TIME_MASK as i64 - 2) as u64 + 1,
    }
}

fn unpack_time(p: u64) -> Millis {
    match p {
        0 => ALWAYS,
        TIME_MASK => OPEN,
        p => p as i64 - 1,
    }
}

/// One edge's validity as seen from one of its ends, `[since, until)`, in
/// 16 bytes: the other end, then the kind and both times packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) other: NodeId,
    /// The low 24 bits of `until`, then the kind's index.
    until_lo_kind: u32,
    /// `since`, then the high 20 bits of `until`.
    since_until_hi: u64,
}

impl Span {
    pub(super) fn new(other: NodeId, kind: EdgeKind, since: Millis, until: Millis) -> Span {
        let mut s = Span {
            other,
            until_lo_kind: kind_index(kind),
            since_until_hi: pack_time(since) << 20,
        };
        s.set_until(until);
        s
    }

    fn packed_since(&self) -> u64 {
        self.since_until_hi >> 20
    }

    fn packed_until(&self) -> u64 {
        ((self.since_until_hi & 0xF_FFFF) << 24) | u64::from(self.until_lo_kind >> 8)
    }

    pub(super) fn kind(&self) -> EdgeKind {
        EdgeKind::ALL[(self.until_lo_kind & 0xFF) as usize]
    }

    pub(super) fn since(&self) -> Millis {
        unpack_time(self.packed_since())
    }

    pub(super) fn until(&self) -> Millis {
        unpack_time(self.packed_until())
    }

    pub(super) fn set_until(&mut self, until: Millis) {
        let p = pack_time(until);
        self.since_until_hi = (self.since_until_hi & !0xF_FFFF) | (p >> 24);
        self.until_lo_kind = (((p & 0xFF_FFFF) as u32) << 8) | (self.until_lo_kind & 0xFF);
    }

    /// Whether the span holds the moment packed as `t`.
    pub(super) fn holds(&self, t: u64) -> bool {
        self.packed_since() <= t && t < self.packed_until()
    }

    /// A span that ended when it began was never valid: an edge erased
    /// from history, dropped at the next compaction.
    pub(super) fn erased(&self) -> bool {
        self.packed_since() == self.packed_until()
    }

    pub(super) fn is_open(&self) -> bool {
        self.packed_until() == TIME_MASK
    }
}

fn kind_index(kind: EdgeKind) -> u32 {
    EdgeKind::ALL
        .iter()
        .position(|k| *k == kind)
        .expect("a known kind") as u32
}

/// The spans of every node in one direction.
#[derive(Debug, Clone, Default)]
pub(super) struct Spans {
    off: Vec<u32>,
    block: Vec<Span>,
    /// Spans added since the last compaction, by node; `with_added` marks
    /// those nodes, so a walk skips the table for every other node.
    added: HashMap<NodeId, Vec<Span>>,
    with_added: Vec<u64>,
    changes: usize,
}

impl Spans {
    fn compacted(&self, n: NodeId) -> &[Span] {
        let n = n as usize;
        if n + 1 < self.off.len() {
            &self.block[self.off[n] as usize..self.off[n + 1] as usize]
        } else {
            &[]
        }
    }

    fn has_added(&self, n: NodeId) -> bool {
        self.with_added
            .get(n as usize / 64)
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    /// The spans of `n`, erased ones included (they hold no moment).
    pub(super) fn of(&self, n: NodeId) -> impl Iterator<Item = &Span> + '_ {
        let added: &[Span] = if self.has_added(n) {
            &self.added[&n]
        } else {
            &[]
        };
        self.compacted(n).iter().chain(added)
    }

    /// Every span that was valid at some moment, by the node it is kept at.
    pub(super) fn all(&self) -> impl Iterator<Item = (NodeId, &Span)> + '_ {
        let nodes = (self.off.len().saturating_sub(1) as NodeId)
            .max(self.added.keys().map(|&n| n + 1).max().unwrap_or(0));
        (0..nodes)
            .flat_map(move |n| self.of(n).map(move |s| (n, s)))
            .filter(|(_, s)| !s.erased())
    }

    pub(super) fn push(&mut self, n: NodeId, span: Span) {
        let w = n as usize / 64;
        if self.with_added.len() <= w {
            self.with_added.resize(w + 1, 0);
        }
        self.with_added[w] |= 1 << (n % 64);
        self.added.entry(n).or_default().push(span);
        self.changes += 1;
        if self.changes > 4096 && self.changes * 8 > self.block.len() {
            self.compact();
        }
    }

    /// The open span of `n` to `other` of `kind`, if there is one.
    pub(super) fn open_mut(
        &mut self,
        n: NodeId,
        other: NodeId,
        kind: EdgeKind,
    ) -> Option<&mut Span> {
        let is = |s: &&mut Span| s.other == other && s.kind() == kind && s.is_open();
        let n_us = n as usize;
        let range = if n_us + 1 < self.off.len() {
            self.off[n_us] as usize..self.off[n_us + 1] as usize
        } else {
            0..0
        };
        if let Some(s) = self.block[range].iter_mut().find(is) {
            return Some(s);
        }
        self.added.get_mut(&n)?.iter_mut().find(is)
    }

    /// Erases the spans that ended by `cutoff`; returns how many.
    pub(super) fn erase_ended_by(&mut self, cutoff: Millis) -> usize {
        let by = pack_time(cutoff);
        let mut erased = 0;
        for s in self
            .block
            .iter_mut()
            .chain(self.added.values_mut().flatten())
        {
            if !s.erased() && s.packed_until() <= by {
                s.set_until(s.since());
                erased += 1;
            }
        }
        self.changes += erased;
        erased
    }

    /// Rebuilds the block with every span, erased ones left out.
    pub(super) fn compact(&mut self) {
        if self.changes == 0 {
            return;
        }
        let nodes = (self.off.len().saturating_sub(1) as NodeId)
            .max(self.added.keys().map(|&n| n + 1).max().unwrap_or(0));
        let mut off = Vec::with_capacity(nodes as usize + 1);
        let mut block = Vec::with_capacity(self.block.len() + self.changes);
        off.push(0u32);
        for n in 0..nodes {
            block.extend(self.of(n).filter(|s| !s.erased()));
            off.push(u32::try_from(block.len()).expect("fewer than 2^32 spans"));
        }
        self.off = off;
        self.block = block;
        self.added = HashMap::new();
        self.with_added = Vec::new();
        self.changes = 0;
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let span = std::mem::size_of::<Span>();
        self.off.capacity() * 4
            + self.block.capacity() * span
            + self.with_added.capacity() * 8
            + self.added.capacity() * (4 + 24 + 1)
            + self
                .added
                .values()
                .map(|v| v.capacity() * span)
                .sum::<usize>()
    }
}
