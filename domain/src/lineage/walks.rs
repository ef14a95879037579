//! Walks over the graph: closures, shortest paths, cycles, drawing
//! windows, refresh plans and hubs.

use super::*;

impl LineageGraph {
    /// Every node reachable from `start` in `dir`, with its hop distance,
    /// in breadth-first order; `start` itself is not included.
    pub fn closure(&self, start: NodeId, dir: Direction, filter: &Filter) -> Vec<(NodeId, u32)> {
        let (adj, rev) = (self.adjacency(dir), self.adjacency(dir.reverse()));
        self.level_walk(
            start,
            filter,
            |n| adj.iter(n).map(|l| (l.other, l.kind)),
            |v| rev.iter(v).map(|l| (l.other, l.kind)),
            |v| self.live[v as usize],
        )
    }

    /// A breadth-first walk from `start` by levels, over the links that
    /// `forward` gives (and `backward`, the same links seen from their
    /// other end), through the nodes `alive` allows.
    pub(super) fn level_walk<F, FI, B, BI>(
        &self,
        start: NodeId,
        filter: &Filter,
        forward: F,
        backward: B,
        alive: impl Fn(NodeId) -> bool,
    ) -> Vec<(NodeId, u32)>
    where
        F: Fn(NodeId) -> FI,
        FI: Iterator<Item = (NodeId, EdgeKind)>,
        B: Fn(NodeId) -> BI,
        BI: Iterator<Item = (NodeId, EdgeKind)>,
    {
        // A bit per node (a million nodes fit in 128 KB of cache), and the
        // visit order split into levels, so no per-node depth array.
        let words = self.ids.len().div_ceil(64);
        let mut seen = vec![0u64; words];
        seen[start as usize / 64] |= 1u64 << (start % 64);
        let mut order = vec![start];
        // Level d is order[levels[d]..levels[d + 1]].
        let mut levels = vec![0, 1];
        let any_edge = filter.edge_kinds.is_empty();
        let follows = |kind: EdgeKind| any_edge || filter.edge_kinds.contains(&kind);
        loop {
            let d = levels.len() - 2;
            if filter.max_depth.is_some_and(|m| d as u32 >= m) {
                break;
            }
            let (lo, hi) = (levels[d], levels[d + 1]);
            if lo == hi {
                break;
            }
            // A big frontier is cheaper to grow backwards: each node not
            // reached yet looks for a parent in the frontier and stops at
            // the first (Beamer's direction-optimizing search).
            let frontier_links: usize = order[lo..hi].iter().map(|&n| forward(n).count()).sum();
            if frontier_links * 14 > self.edges.len() {
                let mut in_frontier = vec![0u64; words];
                for &n in &order[lo..hi] {
                    in_frontier[n as usize / 64] |= 1u64 << (n % 64);
                }
                let before = order.len();
                for v in 0..self.ids.len() as NodeId {
                    if seen[v as usize / 64] & (1u64 << (v % 64)) != 0 || !alive(v) {
                        continue;
                    }
                    let reached = backward(v).any(|(other, kind)| {
                        in_frontier[other as usize / 64] & (1u64 << (other % 64)) != 0
                            && follows(kind)
                    });
                    if reached {
                        order.push(v);
                    }
                }
                for &v in &order[before..] {
                    seen[v as usize / 64] |= 1u64 << (v % 64);
                }
            } else {
                for i in lo..hi {
                    for (other, kind) in forward(order[i]) {
                        let (w, b) = (other as usize / 64, 1u64 << (other % 64));
                        if seen[w] & b == 0 && follows(kind) {
                            seen[w] |= b;
                            order.push(other);
                        }
                    }
                }
            }
            levels.push(order.len());
        }
        self.by_level(&order, &levels, filter)
    }

    /// A breadth-first visit's nodes past the start with their distances,
    /// those of the kinds `filter` reports: level `d` is
    /// `order[levels[d]..levels[d + 1]]`.
    pub(super) fn by_level(
        &self,
        order: &[NodeId],
        levels: &[usize],
        filter: &Filter,
    ) -> Vec<(NodeId, u32)> {
        let mut out = Vec::with_capacity(order.len() - 1);
        for d in 1..levels.len() - 1 {
            out.extend(
                order[levels[d]..levels[d + 1]]
                    .iter()
                    .filter(|&&n| filter.kinds.is_empty() || filter.kinds.contains(&self.kind(n)))
                    .map(|&n| (n, d as u32)),
            );
        }
        out
    }

    /// How many nodes are reachable from `start` in `dir`.
    pub fn closure_size(&self, start: NodeId, dir: Direction) -> usize {
        self.closure_size_at(start, dir, At::Now)
    }

    /// [`LineageGraph::closure_size`] over the graph as of `at`.
    pub fn closure_size_at(&self, start: NodeId, dir: Direction, at: At) -> usize {
        let mut seen = vec![false; self.ids.len()];
        seen[start as usize] = true;
        let mut stack = vec![start];
        let mut count = 0;
        while let Some(n) = stack.pop() {
            for (other, _) in self.links(n, dir, at) {
                if !seen[other as usize] {
                    seen[other as usize] = true;
                    count += 1;
                    stack.push(other);
                }
            }
        }
        count
    }

    /// A shortest downstream path from `from` to `to`, both included.
    pub fn shortest_path(&self, from: NodeId, to: NodeId) -> Option<Vec<NodeId>> {
        self.shortest_path_at(from, to, At::Now)
    }

    /// [`LineageGraph::shortest_path`] over the graph as of `at`.
    pub fn shortest_path_at(&self, from: NodeId, to: NodeId, at: At) -> Option<Vec<NodeId>> {
        let mut parent = self.unseen();
        parent[from as usize] = from;
        let mut queue = vec![from];
        let mut head = 0;
        while head < queue.len() {
            let n = queue[head];
            head += 1;
            if n == to {
                let mut path = vec![to];
                let mut cur = to;
                while cur != from {
                    cur = parent[cur as usize];
                    path.push(cur);
                }
                path.reverse();
                return Some(path);
            }
            for (other, _) in self.links(n, Direction::Downstream, at) {
                if parent[other as usize] == UNSEEN {
                    parent[other as usize] = n;
                    queue.push(other);
                }
            }
        }
        None
    }

    pub(super) fn live_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.ids.len() as NodeId).filter(|&n| self.live[n as usize])
    }

    /// Whether the graph has a directed cycle, and if so one cycle's nodes.
    pub fn find_cycle(&self) -> Option<Vec<NodeId>> {
        // Iterative three-colour depth-first search.
        let mut colour = vec![0u8; self.ids.len()];
        let mut parent = vec![NodeId::MAX; self.ids.len()];
        for root in self.live_nodes() {
            if colour[root as usize] != 0 {
                continue;
            }
            colour[root as usize] = 1;
            let mut stack = vec![(root, self.out.iter(root))];
            while !stack.is_empty() {
                let top = stack.len() - 1;
                let v = stack[top].0;
                let Some(l) = stack[top].1.next() else {
                    colour[v as usize] = 2;
                    stack.pop();
                    continue;
                };
                let w = l.other;
                match colour[w as usize] {
                    0 => {
                        colour[w as usize] = 1;
                        parent[w as usize] = v;
                        stack.push((w, self.out.iter(w)));
                    }
                    1 => {
                        let mut cycle = vec![w];
                        let mut cur = v;
                        while cur != w {
                            cycle.push(cur);
                            cur = parent[cur as usize];
                        }
                        cycle.reverse();
                        return Some(cycle);
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// For each kept node (`depth[n] != UNSEEN`), the edges among kept
    /// nodes and how many of its neighbours were left out.
    pub(super) fn cut(&self, order: &[NodeId]) -> (Vec<EdgeTriple>, Vec<(NodeId, usize)>) {
        let kept = Bits::of(self.ids.len(), order);
        let mut edges = Vec::new();
        for &n in order {
            for l in self.out.iter(n) {
                if kept.has(l.other) {
                    edges.push((n, l.other, l.kind));
                }
            }
        }
        let mut stamp = Scratch::new(self.ids.len());
        let more = order
            .iter()
            .map(|&n| (n, self.hidden(n, &kept, &mut stamp)))
            .filter(|&(_, h)| h > 0)
            .collect();
        (edges, more)
    }

    /// How many distinct neighbours of `n` are not `kept`; `stamp` is
    /// scratch space (the last node each neighbour was counted for),
    /// reusable across calls.
    pub(super) fn hidden(&self, n: NodeId, kept: &Bits, stamp: &mut Marks) -> usize {
        let links = self.out.iter(n).chain(self.inn.iter(n));
        if self.simple[n as usize] {
            return links.filter(|l| !kept.has(l.other)).count();
        }
        let mut count = 0;
        for l in links {
            if !kept.has(l.other) && stamp.get(l.other) != Some(n) {
                stamp.set(l.other, n);
                count += 1;
            }
        }
        count
    }

    /// The neighbourhood of `start` up to `hops` hops in both directions,
    /// holding at most `budget` nodes (`start` included), nearest first.
    /// For each kept node whose neighbours were not all kept, `more` says
    /// how many were left out, so a viewer can offer to expand it.
    pub fn neighbourhood(&self, start: NodeId, hops: u32, budget: usize) -> Neighbourhood {
        let mut depth = Scratch::new(self.ids.len());
        depth.set(start, 0);
        let mut order = vec![start];
        let mut head = 0;
        'walk: while head < order.len() {
            let n = order[head];
            head += 1;
            let d = depth.get(n).expect("queued nodes are marked");
            if d >= hops {
                continue;
            }
            for l in self.out.iter(n).chain(self.inn.iter(n)) {
                if depth.has(l.other) {
                    continue;
                }
                if order.len() >= budget {
                    break 'walk;
                }
                depth.set(l.other, d + 1);
                order.push(l.other);
            }
        }
        let (edges, more) = self.cut(&order);
        let nodes = order
            .iter()
            .map(|&n| (n, depth.get(n).expect("kept nodes are marked")))
            .collect();
        Neighbourhood { nodes, edges, more }
    }

    /// The lineage of `start` as a picture shows it: `up` hops walked
    /// upstream and `down` hops walked downstream, one level of each in
    /// turn, holding at most `budget` nodes (`start` included). Depths are
    /// negative upstream. `more` counts each kept node's neighbours, in
    /// either direction, that were left out.
    pub fn window(&self, start: NodeId, up: u32, down: u32, budget: usize) -> Window {
        let mut depth = self.unseen();
        depth[start as usize] = 0;
        let mut signed: Vec<(NodeId, i64)> = vec![(start, 0)];
        let mut order = vec![start];
        let mut fronts = [vec![start], vec![start]];
        // Each direction walks on its own, so a node met first upstream is
        // still followed downstream when a cycle makes it both.
        let mut walked = [vec![false; self.ids.len()], vec![false; self.ids.len()]];
        walked[0][start as usize] = true;
        walked[1][start as usize] = true;
        let mut level = 0u32;
        'walk: while level < up.max(down) {
            level += 1;
            for (side, dir) in [(0, Direction::Upstream), (1, Direction::Downstream)] {
                let reach = if side == 0 { up } else { down };
                if level > reach {
                    continue;
                }
                let mut next = Vec::new();
                for &n in &fronts[side] {
                    for l in self.adjacency(dir).iter(n) {
                        if walked[side][l.other as usize] {
                            continue;
                        }
                        if depth[l.other as usize] == UNSEEN {
                            if order.len() >= budget {
                                break 'walk;
                            }
                            depth[l.other as usize] = level;
                            order.push(l.other);
                            let d = i64::from(level);
                            signed.push((l.other, if side == 0 { -d } else { d }));
                        }
                        walked[side][l.other as usize] = true;
                        next.push(l.other);
                    }
                }
                fronts[side] = next;
            }
        }
        let (edges, more) = self.cut(&order);
        Window {
            nodes: signed,
            edges,
            more,
        }
    }

    /// Expanding `node` in a drawing that shows `shown`: up to `budget` of
    /// its neighbours not yet drawn, the edges between them and the
    /// drawing, and each drawn node's count of neighbours still hidden.
    pub fn expand(&self, shown: &[NodeId], node: NodeId, budget: usize) -> Expansion {
        let mut depth = self.unseen();
        for &n in shown.iter().chain([&node]) {
            depth[n as usize] = 0;
        }
        let mut added = Vec::new();
        for l in self.out.iter(node).chain(self.inn.iter(node)) {
            if added.len() >= budget {
                break;
            }
            if depth[l.other as usize] == UNSEEN {
                depth[l.other as usize] = 1;
                added.push(l.other);
            }
        }
        let mut edges = Vec::new();
        for &n in &added {
            for l in self.out.iter(n) {
                if depth[l.other as usize] != UNSEEN {
                    edges.push((n, l.other, l.kind));
                }
            }
            for l in self.inn.iter(n) {
                // Edges between two new nodes were taken on the way out.
                if depth[l.other as usize] == 0 {
                    edges.push((l.other, n, l.kind));
                }
            }
        }
        let mut all: Vec<NodeId> = shown.to_vec();
        if !shown.contains(&node) {
            all.push(node);
        }
        all.extend(&added);
        let mut stamp = Scratch::new(self.ids.len());
        let kept = Bits::of(self.ids.len(), &all);
        let more = all
            .iter()
            .map(|&n| (n, self.hidden(n, &kept, &mut stamp)))
            .collect();
        Expansion { added, edges, more }
    }

    /// The workflows to re-run after `start` changes, upstream ones first.
    /// Workflows on a cycle cannot be ordered; they come last, and
    /// `cyclic` is set.
    pub fn refresh_plan(&self, start: NodeId) -> RefreshPlan {
        let reach: Vec<NodeId> = self
            .closure(start, Direction::Downstream, &Filter::default())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        // Kahn's algorithm over the start and its descendants, counting only
        // edges among them; the start takes part so that a cycle through it
        // is noticed.
        let mut inside = vec![false; self.ids.len()];
        for &n in reach.iter().chain([&start]) {
            inside[n as usize] = true;
        }
        let mut indegree = vec![0usize; self.ids.len()];
        for &n in reach.iter().chain([&start]) {
            indegree[n as usize] = self
                .inn
                .iter(n)
                .filter(|l| inside[l.other as usize])
                .count();
        }
        // Seeded in walk order, so the plan is reproducible.
        let mut ready: VecDeque<NodeId> = std::iter::once(start)
            .chain(reach.iter().copied())
            .filter(|&n| indegree[n as usize] == 0)
            .collect();
        let mut ordered = Vec::new();
        while let Some(n) = ready.pop_front() {
            ordered.push(n);
            for l in self.out.iter(n) {
                if inside[l.other as usize] {
                    indegree[l.other as usize] -= 1;
                    if indegree[l.other as usize] == 0 {
                        ready.push_back(l.other);
                    }
                }
            }
        }
        let cyclic = ordered.len() < reach.len() + 1;
        ordered.retain(|&n| n != start);
        if cyclic {
            let mut done = vec![false; self.ids.len()];
            for &n in &ordered {
                done[n as usize] = true;
            }
            ordered.extend(reach.iter().copied().filter(|&n| !done[n as usize]));
        }
        let workflows = ordered
            .into_iter()
            .filter(|&n| self.kind(n) == AssetKind::Workflow)
            .collect();
        RefreshPlan { workflows, cyclic }
    }

    /// Strongly connected components by Tarjan's algorithm, iteratively.
    /// Returns each node's component (`UNSEEN` for removed nodes) and the
    /// number of components; a component's number is lower than that of
    /// every component that reaches it, so sinks come first.
    pub(super) fn components(&self, at: At) -> (Vec<u32>, usize) {
        let n = self.ids.len();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut comp = vec![UNSEEN; n];
        let mut stack: Vec<NodeId> = Vec::new();
        let mut next = 0u32;
        let mut count = 0u32;
        let down = Direction::Downstream;
        for root in self.nodes_at(at) {
            if index[root as usize] != UNSEEN {
                continue;
            }
            let mut call = vec![(root, self.links(root, down, at))];
            index[root as usize] = next;
            low[root as usize] = next;
            next += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            while !call.is_empty() {
                let top = call.len() - 1;
                let v = call[top].0 as usize;
                if let Some((other, _)) = call[top].1.next() {
                    let w = other as usize;
                    if index[w] == UNSEEN {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(other);
                        on_stack[w] = true;
                        call.push((other, self.links(other, down, at)));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                call.pop();
                if let Some(&(p, _)) = call.last() {
                    low[p as usize] = low[p as usize].min(low[v]);
                }
                if low[v] == index[v] {
                    loop {
                        let w = stack.pop().expect("v is on the stack") as usize;
                        on_stack[w] = false;
                        comp[w] = count;
                        if w == v {
                            break;
                        }
                    }
                    count += 1;
                }
            }
        }
        (comp, count as usize)
    }

    /// The `limit` assets with the most assets downstream of them
    /// (transitively), ties broken by fan-out, then by node. Exact, without
    /// a walk from every asset: an asset with `limit` or more ancestors
    /// outside its own cycle cannot make the list, since each ancestor
    /// reaches strictly more; the rest are walked in order of an upper
    /// bound, stopping once the bound cannot beat the list. The answer is
    /// kept until the graph changes.
    pub fn hubs(&self, limit: usize) -> Vec<Hub> {
        if let Some((k, cached)) = &*self.hub_cache.lock().expect("never poisoned") {
            if *k >= limit || cached.len() < *k {
                return cached.iter().take(limit).copied().collect();
            }
        }
        let hubs = self.compute_hubs(limit, At::Now);
        *self.hub_cache.lock().expect("never poisoned") = Some((limit, hubs.clone()));
        hubs
    }

    /// [`LineageGraph::hubs`] over the graph as it was at `t` (not kept:
    /// each call ranks anew).
    pub fn hubs_at(&self, limit: usize, t: Millis) -> Vec<Hub> {
        self.compute_hubs(limit, At::Moment(t))
    }

    pub(super) fn compute_hubs(&self, limit: usize, at: At) -> Vec<Hub> {
        if limit == 0 {
            return vec![];
        }
        let total = self.nodes_at(at).count();
        let (comp, count) = self.components(at);
        let mut size = vec![0usize; count];
        let mut members: Vec<Vec<NodeId>> = vec![Vec::new(); count];
        for n in self.nodes_at(at) {
            size[comp[n as usize] as usize] += 1;
            members[comp[n as usize] as usize].push(n);
        }
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); count];
        let mut parents: Vec<Vec<u32>> = vec![Vec::new(); count];
        for n in self.nodes_at(at) {
            let c = comp[n as usize];
            for (other, _) in self.links(n, Direction::Downstream, at) {
                let d = comp[other as usize];
                if d != c {
                    children[c as usize].push(d);
                    parents[d as usize].push(c);
                }
            }
        }
        for list in children.iter_mut().chain(parents.iter_mut()) {
            list.sort_unstable();
            list.dedup();
        }
        // Upper bound on the nodes reachable from a component outside it:
        // children first, since they have lower numbers.
        let mut bound = vec![0usize; count];
        for c in 0..count {
            let b: usize = children[c]
                .iter()
                .map(|&d| size[d as usize] + bound[d as usize])
                .sum();
            bound[c] = b.min(total);
        }
        // Components with fewer than `limit` ancestor nodes, sources first.
        let mut ancestors: Vec<Option<Vec<u32>>> = vec![None; count];
        let mut mark = vec![UNSEEN; count];
        'comp: for c in (0..count).rev() {
            let mut set: Vec<u32> = Vec::new();
            let mut nodes = 0;
            for &p in &parents[c] {
                let Some(up) = &ancestors[p as usize] else {
                    continue 'comp;
                };
                for &a in up.iter().chain([&p]) {
                    if mark[a as usize] != c as u32 {
                        mark[a as usize] = c as u32;
                        set.push(a);
                        nodes += size[a as usize];
                        if nodes >= limit {
                            continue 'comp;
                        }
                    }
                }
            }
            ancestors[c] = Some(set);
        }
        let mut candidates: Vec<usize> = (0..count).filter(|&c| ancestors[c].is_some()).collect();
        let upper = |c: usize| size[c] - 1 + bound[c];
        candidates.sort_by_key(|&c| std::cmp::Reverse(upper(c)));
        let order = |a: &Hub, b: &Hub| {
            b.downstream
                .cmp(&a.downstream)
                .then(b.fanout.cmp(&a.fanout))
                .then(a.node.cmp(&b.node))
        };
        let mut best: Vec<Hub> = Vec::new();
        for c in candidates {
            if best.len() >= limit && best[limit - 1].downstream > upper(c) {
                break;
            }
            let downstream = self.closure_size_at(members[c][0], Direction::Downstream, at);
            best.extend(members[c].iter().map(|&n| Hub {
                node: n,
                downstream,
                fanout: self.links(n, Direction::Downstream, at).count(),
            }));
            best.sort_by(order);
            best.truncate(limit);
        }
        best
    }
}

/// What expanding one node adds to a drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub added: Vec<NodeId>,
    /// New edges: each touches an added node, and is listed once.
    pub edges: Vec<(NodeId, NodeId, EdgeKind)>,
    /// Every drawn node (old and new) with its count of hidden neighbours.
    pub more: Vec<(NodeId, usize)>,
}

/// The lineage window a graph view draws.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Kept nodes with their signed distance: negative upstream.
    pub nodes: Vec<(NodeId, i64)>,
    /// Edges among kept nodes: (from, to, kind).
    pub edges: Vec<(NodeId, NodeId, EdgeKind)>,
    /// Kept nodes with neighbours left out, and how many.
    pub more: Vec<(NodeId, usize)>,
}

/// A bounded piece of the graph around one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbourhood {
    /// Kept nodes with their hop distance from the start, nearest first.
    pub nodes: Vec<(NodeId, u32)>,
    /// Edges among kept nodes: (from, to, kind).
    pub edges: Vec<(NodeId, NodeId, EdgeKind)>,
    /// Kept nodes with neighbours left out, and how many.
    pub more: Vec<(NodeId, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshPlan {
    pub workflows: Vec<NodeId>,
    pub cyclic: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hub {
    pub node: NodeId,
    pub downstream: usize,
    pub fanout: usize,
}
