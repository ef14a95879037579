//! The autoscaler: Knative's KPA decision.

use super::*;

/// What the autoscaler sees at a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpaInput {
    pub ready: u32,
    /// Mean concurrency over the stable window.
    pub stable_concurrency: f64,
    /// Mean concurrency over the panic window.
    pub panic_concurrency: f64,
    /// Whether the previous decision was in panic.
    pub in_panic: bool,
    /// Seconds that panic-window demand has been continuously below the
    /// panic threshold, this decision included.
    pub below_threshold_for_s: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpaDecision {
    pub desired: u32,
    pub in_panic: bool,
}

/// Whether panic-window demand needs at least `panic_threshold_pct`% of the
/// ready pods. Like Knative, zero ready pods count as one, so that a scaled
/// to zero service panics on its first requests.
pub(super) fn over_panic_threshold(
    policy: &ScalingPolicy,
    ready: u32,
    panic_concurrency: f64,
) -> bool {
    let target = policy.target_per_pod().max(f64::MIN_POSITIVE);
    let want = panic_concurrency.max(0.0) / target;
    // A hair of tolerance, so that demand at exactly the threshold (which
    // rarely survives floating point) counts as reaching it.
    want >= policy.panic_threshold_pct / 100.0 * f64::from(ready.max(1)) * (1.0 - 1e-12)
}

/// The KPA decision: pods = ⌈observed / (target × utilization)⌉, observed
/// being the panic-window average in panic and the stable-window average
/// otherwise; at most `ready × max_scale_up_rate`, at least
/// `⌊ready / max_scale_down_rate⌋`, within `[min_replicas, max_replicas]`.
/// Panic starts when panic-window demand reaches the threshold and ends only
/// after a full stable window below it; in panic the decision never drops
/// below `ready`.
pub fn kpa_decide(policy: &ScalingPolicy, input: &KpaInput) -> KpaDecision {
    let target = policy.target_per_pod().max(f64::MIN_POSITIVE);
    // The small subtraction keeps 140 / 7.000000000000001 from asking for
    // an extra pod; no real demand sits within a billionth of a pod.
    let pods_for = |c: f64| (c.max(0.0) / target - 1e-9).ceil().max(0.0);
    let over = over_panic_threshold(policy, input.ready, input.panic_concurrency);
    let in_panic = over || (input.in_panic && input.below_threshold_for_s < policy.stable_window_s);
    let ready = f64::from(input.ready.max(1));
    let max_up = (ready * policy.max_scale_up_rate).ceil();
    let max_down = (ready / policy.max_scale_down_rate).floor();
    let observed = if in_panic {
        input.panic_concurrency
    } else {
        input.stable_concurrency
    };
    let mut want = pods_for(observed).min(max_up).max(max_down);
    if in_panic {
        want = want.max(f64::from(input.ready));
    }
    let hi = policy.max_replicas.max(policy.min_replicas);
    let desired = (want.min(f64::from(u32::MAX)) as u32).clamp(policy.min_replicas, hi);
    KpaDecision { desired, in_panic }
}
