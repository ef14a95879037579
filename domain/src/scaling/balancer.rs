//! The load balancer, and its check against queueing theory.

use super::*;

/// Members keyed by a small integer load, with O(1) moves by any amount and
/// an O(1) amortised minimum: the least-loaded balancer's index. Loads change
/// by one per arrival, so the minimum moves at most one bucket per arrival.
#[derive(Debug, Clone, Default)]
pub(super) struct LoadBuckets {
    pub(super) buckets: Vec<Vec<u32>>,
    pub(super) slot: Vec<u32>,
    pub(super) level: Vec<u32>,
    pub(super) member: Vec<bool>,
    pub(super) min: usize,
    pub(super) len: usize,
}

impl LoadBuckets {
    pub(super) fn grow(&mut self, id: usize, level: usize) {
        if self.member.len() <= id {
            self.slot.resize(id + 1, 0);
            self.level.resize(id + 1, 0);
            self.member.resize(id + 1, false);
        }
        if self.buckets.len() <= level {
            self.buckets.resize_with(level + 1, Vec::new);
        }
    }

    pub(super) fn put(&mut self, id: u32, level: u32) {
        let (i, l) = (id as usize, level as usize);
        self.grow(i, l);
        self.slot[i] = self.buckets[l].len() as u32;
        self.level[i] = level;
        self.buckets[l].push(id);
    }

    pub(super) fn take(&mut self, id: u32) {
        let i = id as usize;
        let b = &mut self.buckets[self.level[i] as usize];
        let s = self.slot[i] as usize;
        b.swap_remove(s);
        if let Some(&moved) = b.get(s) {
            self.slot[moved as usize] = s as u32;
        }
    }

    pub(super) fn settle_min(&mut self) {
        if self.len == 0 {
            self.min = 0;
            return;
        }
        while self.buckets[self.min].is_empty() {
            self.min += 1;
        }
    }

    pub(super) fn insert(&mut self, id: u32, level: u32) {
        if self.member.get(id as usize).copied().unwrap_or(false) {
            self.set(id, level);
            return;
        }
        self.put(id, level);
        self.member[id as usize] = true;
        self.len += 1;
        if self.len == 1 || (level as usize) < self.min {
            self.min = level as usize;
        }
    }

    pub(super) fn remove(&mut self, id: u32) {
        if !self.member.get(id as usize).copied().unwrap_or(false) {
            return;
        }
        self.take(id);
        self.member[id as usize] = false;
        self.len -= 1;
        self.settle_min();
    }

    #[inline]
    pub(super) fn set(&mut self, id: u32, level: u32) {
        if !self.member.get(id as usize).copied().unwrap_or(false) {
            return;
        }
        self.take(id);
        self.put(id, level);
        if (level as usize) < self.min {
            self.min = level as usize;
        } else {
            self.settle_min();
        }
    }

    /// A member with the least load, ties at random.
    #[inline]
    pub(super) fn pick_min(&self, rng: &mut FastRng) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let b = &self.buckets[self.min];
        Some(b[if b.len() == 1 { 0 } else { rng.below(b.len()) }])
    }
}

/// The load balancer: picks one of `n` candidates, the `i`-th being
/// `id_at(i)` with `load_of(id)` requests in flight. Least-loaded reads
/// `loads`, kept in step by the caller. The simulator routes every request
/// through this, and so does [`queueing_mean_time`], which checks it
/// against queueing theory.
#[inline]
pub(super) fn route(
    policy: LbPolicy,
    rr: &mut usize,
    rng: &mut FastRng,
    n: usize,
    id_at: impl Fn(usize) -> usize,
    load_of: impl Fn(usize) -> u32,
    loads: Option<&LoadBuckets>,
) -> usize {
    match policy {
        LbPolicy::RoundRobin => {
            if *rr >= n {
                *rr = 0;
            }
            let p = id_at(*rr);
            *rr += 1;
            p
        }
        LbPolicy::Random => id_at(rng.below(n)),
        LbPolicy::PowerOfTwo => {
            let r = rng.next_u64();
            let a = id_at(scale_index(r as u32, n));
            let b = id_at(scale_index((r >> 32) as u32, n));
            match load_of(a).cmp(&load_of(b)) {
                std::cmp::Ordering::Less => a,
                std::cmp::Ordering::Greater => b,
                std::cmp::Ordering::Equal => {
                    if a == b || rng.next_u64() & 1 == 0 {
                        a
                    } else {
                        b
                    }
                }
            }
        }
        LbPolicy::LeastLoaded => loads
            .and_then(|l| l.pick_min(rng))
            .map_or_else(|| id_at(0), |p| p as usize),
    }
}

/// Classic check of the load balancers: `n` single-server FIFO queues,
/// Poisson arrivals at rate `lambda · n`, exponential service with mean 1,
/// routed by `policy`. Returns the mean time in system over `requests`
/// requests that follow a warm-up of `requests / 4` (queues start empty, and
/// at high load they take thousands of arrivals to forget it).
///
/// Known answers at λ = 0.9: random routing is n M/M/1 queues, 1/(1−λ) = 10;
/// power of two choices tends to Σ λ^(2^i − 2) ≈ 2.61 as n grows; join the
/// shortest queue approaches 1 (almost always an idle server).
pub fn queueing_mean_time(
    n: usize,
    lambda: f64,
    policy: LbPolicy,
    requests: usize,
    seed: u64,
) -> f64 {
    if n == 0 || requests == 0 || !(lambda.is_finite() && lambda > 0.0) {
        return 0.0;
    }
    let warmup = requests / 4;
    let rate = lambda * n as f64;
    let mut rng = FastRng::new(seed);
    let mut len = vec![0u32; n];
    let mut last_departure = vec![0.0f64; n];
    let mut departures: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::with_capacity(n * 64);
    let mut loads = LoadBuckets::default();
    if policy == LbPolicy::LeastLoaded {
        for q in 0..n {
            loads.insert(q as u32, 0);
        }
    }
    let mut rr = 0usize;
    let mut t = 0.0f64;
    let mut sum = 0.0f64;
    for i in 0..warmup + requests {
        t += rng.exp() / rate;
        // Departures are processed in time order only up to this arrival,
        // which is all any balancer can see.
        while let Some(&Reverse((bits, q))) = departures.peek() {
            if f64::from_bits(bits) > t {
                break;
            }
            departures.pop();
            let q = q as usize;
            len[q] -= 1;
            if policy == LbPolicy::LeastLoaded {
                loads.set(q as u32, len[q]);
            }
        }
        let q = route(
            policy,
            &mut rr,
            &mut rng,
            n,
            |i| i,
            |q| len[q],
            (policy == LbPolicy::LeastLoaded).then_some(&loads),
        );
        // FIFO with one server: service starts when the previous request
        // leaves, or now if the queue is empty.
        let start = if len[q] == 0 { t } else { last_departure[q] };
        let departure = start + rng.exp();
        last_departure[q] = departure;
        len[q] += 1;
        if policy == LbPolicy::LeastLoaded {
            loads.set(q as u32, len[q]);
        }
        departures.push(Reverse((departure.to_bits(), q as u32)));
        if i >= warmup {
            sum += departure - t;
        }
    }
    sum / requests as f64
}
