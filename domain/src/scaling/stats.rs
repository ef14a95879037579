//! The simulator's random numbers and latency histogram.

/// SplitMix64, as in `demo::Rng`, repeated here so the hot loop can inline
/// it: a call per random number would cost more than the number.
#[derive(Debug, Clone)]
pub(super) struct FastRng(u64);

impl FastRng {
    pub(super) fn new(seed: u64) -> Self {
        FastRng(seed ^ 0x5ca1_ab1e_d00d_f00d)
    }

    #[inline]
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` by multiply-shift, which avoids a division;
    /// `n` must be below 2³².
    #[inline]
    pub(super) fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// An exponential variate with mean 1. The uniform is drawn from (0, 1]
    /// so that the logarithm is finite.
    #[inline]
    pub(super) fn exp(&mut self) -> f64 {
        let u = ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64);
        -u.ln()
    }
}

/// `x · n / 2³²` for a 32-bit random `x`: an index in `0..n`.
#[inline]
pub(super) fn scale_index(x: u32, n: usize) -> usize {
    ((u64::from(x) * n as u64) >> 32) as usize
}

/// Latencies in microseconds, HDR style: exact below 512 µs, then 512
/// buckets per power of two, so a percentile read at a bucket's midpoint is
/// within 0.1% of the truth. The top bucket collects anything beyond about
/// 25 days.
pub(super) const HIST_SUB_BITS: u32 = 9;
pub(super) const HIST_SUB: usize = 1 << HIST_SUB_BITS;
pub(super) const HIST_MAX_SHIFT: u32 = 31;
pub(super) const HIST_LEN: usize = (HIST_MAX_SHIFT as usize + 2) << HIST_SUB_BITS;

#[derive(Debug, Clone)]
pub(super) struct Histogram {
    pub(super) counts: Vec<u64>,
    pub(super) total: u64,
}

#[inline]
pub(super) fn hist_bucket(v: u64) -> usize {
    if v < HIST_SUB as u64 {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - HIST_SUB_BITS;
    if shift > HIST_MAX_SHIFT {
        return HIST_LEN - 1;
    }
    ((shift as usize + 1) << HIST_SUB_BITS) | ((v >> shift) as usize & (HIST_SUB - 1))
}

/// The midpoint of a bucket, in microseconds.
pub(super) fn hist_midpoint(i: usize) -> f64 {
    if i < HIST_SUB {
        return i as f64 + 0.5;
    }
    let shift = (i >> HIST_SUB_BITS) - 1;
    let lower = ((HIST_SUB + (i & (HIST_SUB - 1))) as u64) << shift;
    lower as f64 + (1u64 << shift) as f64 / 2.0
}

impl Histogram {
    pub(super) fn new() -> Self {
        Histogram {
            counts: vec![0; HIST_LEN],
            total: 0,
        }
    }

    #[inline]
    pub(super) fn record_s(&mut self, seconds: f64) {
        // The float-to-int cast saturates, so negatives become 0.
        self.counts[hist_bucket((seconds * 1e6) as u64)] += 1;
        self.total += 1;
    }

    /// Percentiles (`qs` ascending, in 0..=1) in milliseconds; zeros when
    /// the histogram is empty.
    pub(super) fn quantiles_ms(&self, qs: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; qs.len()];
        if self.total == 0 {
            return out;
        }
        let ranks: Vec<u64> = qs
            .iter()
            .map(|q| ((q * self.total as f64).ceil() as u64).clamp(1, self.total))
            .collect();
        let mut seen = 0u64;
        let mut k = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            seen += c;
            while k < ranks.len() && seen >= ranks[k] {
                out[k] = hist_midpoint(i) / 1000.0;
                k += 1;
            }
            if k == ranks.len() {
                break;
            }
        }
        out
    }

    pub(super) fn drain_into(&mut self, other: &mut Histogram) {
        if self.total == 0 {
            return;
        }
        for (o, c) in other.counts.iter_mut().zip(self.counts.iter_mut()) {
            *o += *c;
            *c = 0;
        }
        other.total += self.total;
        self.total = 0;
    }
}
