//! Scaling policies: the load balancer, the pods' start-up and performance
//! model, and the autoscaler's settings.

use super::*;

/// The most replicas a policy may allow, and a simulation may start with.
pub const MAX_REPLICAS: u32 = 10_000;

/// The shortest fixed cost of a decode step, in milliseconds.
pub const MIN_STEP_MS: f64 = 0.1;

/// How the load balancer picks a ready pod for each request.
///
/// With large batches each pod carries hundreds of requests, so at steady
/// load the law of large numbers balances them under any policy but random
/// (the reference case: P99 611 ms under round robin and power of two, 622
/// ms under random). Load-aware policies pay off when pods are uneven: in a
/// surge beyond capacity power of two sends requests to new, empty pods
/// rather than deep queues, and beats round robin by about 3% at P99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LbPolicy {
    /// Cyclic over the ready pods, blind to their load.
    RoundRobin,
    /// A uniformly random ready pod.
    Random,
    /// Two pods sampled uniformly with replacement; the one with fewer
    /// requests in flight wins, ties at random.
    PowerOfTwo,
    /// The pod with the fewest requests in flight (join the shortest queue).
    LeastLoaded,
}

impl LbPolicy {
    pub const ALL: [LbPolicy; 4] = [
        LbPolicy::RoundRobin,
        LbPolicy::Random,
        LbPolicy::PowerOfTwo,
        LbPolicy::LeastLoaded,
    ];

    /// The wire name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            LbPolicy::RoundRobin => "round-robin",
            LbPolicy::Random => "random",
            LbPolicy::PowerOfTwo => "power-of-two",
            LbPolicy::LeastLoaded => "least-loaded",
        }
    }

    /// A name for people.
    pub fn label(self) -> &'static str {
        match self {
            LbPolicy::RoundRobin => "Round robin",
            LbPolicy::Random => "Random",
            LbPolicy::PowerOfTwo => "Power of two choices",
            LbPolicy::LeastLoaded => "Least loaded",
        }
    }
}

/// How a new pod gets its container image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImagePull {
    /// The whole image is pulled before the container starts.
    Full,
    /// The container starts at once and streams image blocks on demand.
    Lazy,
}

impl ImagePull {
    pub fn as_str(self) -> &'static str {
        match self {
            ImagePull::Full => "full",
            ImagePull::Lazy => "lazy",
        }
    }
}

/// What a new pod goes through before it can take traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartupProfile {
    pub image_pull: ImagePull,
    /// Seconds to pull the full image.
    pub image_pull_s: f64,
    /// Seconds until a lazily pulled image can start.
    pub lazy_pull_s: f64,
    /// Seconds to load the model weights onto the accelerator.
    pub model_load_s: f64,
    /// Seconds of warm-up requests (compilation, caches) before readiness.
    pub warmup_s: f64,
}

impl Default for StartupProfile {
    fn default() -> Self {
        StartupProfile {
            image_pull: ImagePull::Full,
            image_pull_s: 90.0,
            lazy_pull_s: 3.0,
            model_load_s: 10.0,
            warmup_s: 2.0,
        }
    }
}

impl StartupProfile {
    /// Seconds from creating a pod to its readiness: the image pull (full or
    /// lazy), then the model load, then the warm-up.
    pub fn cold_start_s(&self) -> f64 {
        let pull = match self.image_pull {
            ImagePull::Full => self.image_pull_s,
            ImagePull::Lazy => self.lazy_pull_s,
        };
        pull + self.model_load_s + self.warmup_s
    }
}

/// How fast one pod serves, under continuous batching.
///
/// A request occupies one batch slot for `output_tokens` decode steps. Its
/// prefill, `input_tokens × prefill_ms_per_token`, is folded into its first
/// step, which also produces its first output token, so a step in which `j`
/// requests join a batch of `b` takes `a + c·b + j·prefill` milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PerfModel {
    /// Fixed cost of a decode step in milliseconds (reading the weights).
    pub step_a_ms: f64,
    /// Extra milliseconds per request in the batch (its KV cache and maths).
    pub step_c_ms: f64,
    pub max_batch: u32,
    pub input_tokens: u32,
    pub output_tokens: u32,
    pub prefill_ms_per_token: f64,
}

impl Default for PerfModel {
    fn default() -> Self {
        PerfModel {
            step_a_ms: 10.0,
            step_c_ms: 0.05,
            max_batch: 128,
            input_tokens: 50,
            output_tokens: 50,
            prefill_ms_per_token: 0.01,
        }
    }
}

impl PerfModel {
    /// Milliseconds of one decode step over a batch of `batch` requests of
    /// which `joining` are new (and pay their prefill).
    pub fn step_ms(&self, batch: f64, joining: f64) -> f64 {
        self.step_a_ms
            + self.step_c_ms * batch
            + self.prefill_ms_per_token * f64::from(self.input_tokens) * joining
    }

    /// Mean decode-step milliseconds in steady state with `concurrency`
    /// requests in the batch: a request lives `output_tokens` steps, so
    /// `concurrency / output_tokens` of them join per step.
    pub fn steady_step_ms(&self, concurrency: f64) -> f64 {
        let k = concurrency.clamp(0.0, f64::from(self.max_batch.max(1)));
        self.step_ms(k, k / f64::from(self.output_tokens.max(1)))
    }

    /// Requests per second one pod completes with `concurrency` requests in
    /// its batch: `batch / (output_tokens × step time)`.
    pub fn throughput_qps(&self, concurrency: f64) -> f64 {
        let k = concurrency.clamp(0.0, f64::from(self.max_batch.max(1)));
        let step_s = self.steady_step_ms(k) / 1000.0;
        if step_s <= 0.0 {
            return f64::INFINITY;
        }
        k / (f64::from(self.output_tokens.max(1)) * step_s)
    }

    /// Milliseconds a request spends in a pod at `concurrency`, not counting
    /// any queueing: half a step waiting for the next step boundary, then
    /// `output_tokens` steps.
    pub fn latency_ms(&self, concurrency: f64) -> f64 {
        let step = self.steady_step_ms(concurrency);
        step * (0.5 + f64::from(self.output_tokens.max(1)))
    }
}

/// A service's scaling configuration: Knative KPA settings, the load
/// balancer, and what its pods are like.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScalingPolicy {
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Requests in flight per pod that the autoscaler aims for at 100%.
    pub target_concurrency: f64,
    /// The share of `target_concurrency` actually aimed for (0 < u ≤ 1).
    pub target_utilization: f64,
    pub stable_window_s: f64,
    /// The panic window as a percentage of the stable window.
    pub panic_window_pct: f64,
    /// Panic when panic-window demand needs this percentage of ready pods.
    pub panic_threshold_pct: f64,
    /// At most `ready × rate` pods after one decision.
    pub max_scale_up_rate: f64,
    /// At least `ready / rate` pods after one decision.
    pub max_scale_down_rate: f64,
    /// A scale-down happens only once lower recommendations have held for
    /// this long.
    pub scale_down_delay_s: f64,
    pub load_balancer: LbPolicy,
    pub startup: StartupProfile,
    pub perf: PerfModel,
}

impl Default for ScalingPolicy {
    /// Knative's KPA defaults (target 100 at 70%, 60 s stable window, 10%
    /// panic window, 200% panic threshold, scale up ×1000, down ÷2 per
    /// decision), on a modest model with a full image pull.
    fn default() -> Self {
        ScalingPolicy {
            min_replicas: 1,
            max_replicas: 100,
            target_concurrency: 100.0,
            target_utilization: 0.70,
            stable_window_s: 60.0,
            panic_window_pct: 10.0,
            panic_threshold_pct: 200.0,
            max_scale_up_rate: 1000.0,
            max_scale_down_rate: 2.0,
            scale_down_delay_s: 0.0,
            load_balancer: LbPolicy::PowerOfTwo,
            startup: StartupProfile::default(),
            perf: PerfModel::default(),
        }
    }
}

impl ScalingPolicy {
    /// Checks every setting, naming the first bad one by its field path.
    pub fn validate(&self) -> Result<()> {
        fn finite(field: &str, v: f64) -> Result<()> {
            if v.is_finite() {
                Ok(())
            } else {
                Err(ValidationError::new(field, "must be a finite number"))
            }
        }
        fn positive(field: &str, v: f64) -> Result<()> {
            finite(field, v)?;
            if v > 0.0 {
                Ok(())
            } else {
                Err(ValidationError::new(field, "must be greater than 0"))
            }
        }
        fn non_negative(field: &str, v: f64) -> Result<()> {
            finite(field, v)?;
            if v >= 0.0 {
                Ok(())
            } else {
                Err(ValidationError::new(field, "must not be negative"))
            }
        }
        fn above_one(field: &str, v: f64) -> Result<()> {
            finite(field, v)?;
            if v > 1.0 {
                Ok(())
            } else {
                Err(ValidationError::new(field, "must be greater than 1"))
            }
        }

        if self.max_replicas == 0 || self.max_replicas > MAX_REPLICAS {
            return Err(ValidationError::new(
                "max_replicas",
                format!("must be from 1 to {MAX_REPLICAS}"),
            ));
        }
        if self.max_replicas < self.min_replicas {
            return Err(ValidationError::new(
                "max_replicas",
                format!("must be at least min_replicas ({})", self.min_replicas),
            ));
        }
        positive("target_concurrency", self.target_concurrency)?;
        positive("target_utilization", self.target_utilization)?;
        if self.target_utilization > 1.0 {
            return Err(ValidationError::new(
                "target_utilization",
                "must be in (0, 1]",
            ));
        }
        positive("stable_window_s", self.stable_window_s)?;
        positive("panic_window_pct", self.panic_window_pct)?;
        if self.panic_window_pct > 100.0 {
            return Err(ValidationError::new(
                "panic_window_pct",
                "must be at most 100 (the panic window is part of the stable window)",
            ));
        }
        if self.stable_window_s * self.panic_window_pct / 100.0 < 1.0 {
            return Err(ValidationError::new(
                "panic_window_pct",
                "the panic window must be at least 1 s (concurrency is averaged per second)",
            ));
        }
        positive("panic_threshold_pct", self.panic_threshold_pct)?;
        if self.panic_threshold_pct <= 100.0 {
            return Err(ValidationError::new(
                "panic_threshold_pct",
                "must be greater than 100, or the autoscaler would panic at its own target",
            ));
        }
        above_one("max_scale_up_rate", self.max_scale_up_rate)?;
        above_one("max_scale_down_rate", self.max_scale_down_rate)?;
        non_negative("scale_down_delay_s", self.scale_down_delay_s)?;
        non_negative("startup.image_pull_s", self.startup.image_pull_s)?;
        non_negative("startup.lazy_pull_s", self.startup.lazy_pull_s)?;
        non_negative("startup.model_load_s", self.startup.model_load_s)?;
        non_negative("startup.warmup_s", self.startup.warmup_s)?;
        finite("perf.step_a_ms", self.perf.step_a_ms)?;
        if self.perf.step_a_ms < MIN_STEP_MS {
            return Err(ValidationError::new(
                "perf.step_a_ms",
                format!("must be at least {MIN_STEP_MS} ms (a decode step takes time)"),
            ));
        }
        non_negative("perf.step_c_ms", self.perf.step_c_ms)?;
        if self.perf.max_batch == 0 {
            return Err(ValidationError::new("perf.max_batch", "must be at least 1"));
        }
        if self.perf.output_tokens == 0 {
            return Err(ValidationError::new(
                "perf.output_tokens",
                "must be at least 1",
            ));
        }
        // The ring of finish buckets is sized by the longest request, so an
        // absurd length would cost memory per pod for no realism.
        if self.perf.output_tokens > 100_000 {
            return Err(ValidationError::new(
                "perf.output_tokens",
                "must be at most 100000",
            ));
        }
        non_negative("perf.prefill_ms_per_token", self.perf.prefill_ms_per_token)?;
        Ok(())
    }

    /// Every leaf that differs between `self` (old) and `other` (new), as
    /// (field path, old value, new value), in declaration order.
    pub fn diff(&self, other: &ScalingPolicy) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let mut leaf = |path: &str, a: String, b: String| {
            if a != b {
                out.push((path.to_string(), a, b));
            }
        };
        let (a, b) = (self, other);
        leaf(
            "min_replicas",
            a.min_replicas.to_string(),
            b.min_replicas.to_string(),
        );
        leaf(
            "max_replicas",
            a.max_replicas.to_string(),
            b.max_replicas.to_string(),
        );
        leaf(
            "target_concurrency",
            a.target_concurrency.to_string(),
            b.target_concurrency.to_string(),
        );
        leaf(
            "target_utilization",
            a.target_utilization.to_string(),
            b.target_utilization.to_string(),
        );
        leaf(
            "stable_window_s",
            a.stable_window_s.to_string(),
            b.stable_window_s.to_string(),
        );
        leaf(
            "panic_window_pct",
            a.panic_window_pct.to_string(),
            b.panic_window_pct.to_string(),
        );
        leaf(
            "panic_threshold_pct",
            a.panic_threshold_pct.to_string(),
            b.panic_threshold_pct.to_string(),
        );
        leaf(
            "max_scale_up_rate",
            a.max_scale_up_rate.to_string(),
            b.max_scale_up_rate.to_string(),
        );
        leaf(
            "max_scale_down_rate",
            a.max_scale_down_rate.to_string(),
            b.max_scale_down_rate.to_string(),
        );
        leaf(
            "scale_down_delay_s",
            a.scale_down_delay_s.to_string(),
            b.scale_down_delay_s.to_string(),
        );
        leaf(
            "load_balancer",
            a.load_balancer.as_str().to_string(),
            b.load_balancer.as_str().to_string(),
        );
        let (sa, sb) = (&a.startup, &b.startup);
        leaf(
            "startup.image_pull",
            sa.image_pull.as_str().to_string(),
            sb.image_pull.as_str().to_string(),
        );
        leaf(
            "startup.image_pull_s",
            sa.image_pull_s.to_string(),
            sb.image_pull_s.to_string(),
        );
        leaf(
            "startup.lazy_pull_s",
            sa.lazy_pull_s.to_string(),
            sb.lazy_pull_s.to_string(),
        );
        leaf(
            "startup.model_load_s",
            sa.model_load_s.to_string(),
            sb.model_load_s.to_string(),
        );
        leaf(
            "startup.warmup_s",
            sa.warmup_s.to_string(),
            sb.warmup_s.to_string(),
        );
        let (pa, pb) = (&a.perf, &b.perf);
        leaf(
            "perf.step_a_ms",
            pa.step_a_ms.to_string(),
            pb.step_a_ms.to_string(),
        );
        leaf(
            "perf.step_c_ms",
            pa.step_c_ms.to_string(),
            pb.step_c_ms.to_string(),
        );
        leaf(
            "perf.max_batch",
            pa.max_batch.to_string(),
            pb.max_batch.to_string(),
        );
        leaf(
            "perf.input_tokens",
            pa.input_tokens.to_string(),
            pb.input_tokens.to_string(),
        );
        leaf(
            "perf.output_tokens",
            pa.output_tokens.to_string(),
            pb.output_tokens.to_string(),
        );
        leaf(
            "perf.prefill_ms_per_token",
            pa.prefill_ms_per_token.to_string(),
            pb.prefill_ms_per_token.to_string(),
        );
        out
    }

    /// The per-pod concurrency the autoscaler aims for.
    pub fn target_per_pod(&self) -> f64 {
        self.target_concurrency * self.target_utilization
    }

    /// How many pods the autoscaler settles on for a steady `qps`, within
    /// bounds: pods at the target concurrency each complete
    /// [`PerfModel::throughput_qps`] requests per second (at most a full
    /// batch, since queued requests add latency but no throughput).
    pub fn pods_for_qps(&self, qps: f64) -> u32 {
        let per_pod = self.perf.throughput_qps(self.target_per_pod().max(1.0));
        let want = if qps > 0.0 && per_pod > 0.0 {
            (qps / per_pod - 1e-9).ceil().min(f64::from(u32::MAX))
        } else {
            0.0
        };
        (want as u32).clamp(self.min_replicas, self.max_replicas.max(self.min_replicas))
    }
}

/// The reference LLM endpoint: 200,000 queries per second of ~50 input and
/// ~50 output tokens, P99 under 1 s, power of two choices, Knative KPA
/// defaults, and lazily pulled images.
///
/// The arithmetic. The autoscaler holds each pod at `1000 × 0.7 = 700`
/// requests in flight, all in the batch (`max_batch` 1024 leaves headroom for
/// fluctuations, so nobody queues). A request lives 50 steps, so 700/50 = 14
/// requests join each step and pay `14 × 50 × 0.001 = 0.7` ms of prefill.
/// One step is then `8.5 + 0.004 × 700 + 0.7 = 12` ms, a request takes
/// `50 × 12 = 600` ms plus about 6 ms waiting for a step boundary, and a pod
/// completes `700 / (50 × 0.012 s) ≈ 1,167` requests per second. 200,000 /
/// 1,167 ≈ 171.4, so about 172 pods; the autoscaler, which sees the 606 ms
/// actually spent in flight, settles a pod or two above that. Latency is
/// nearly flat in the batch size (`c·batch` is under a quarter of a step),
/// which keeps the fixed point stable and P99 near 610 ms.
///
/// A new pod is ready in 2 + 3 + 1 = 6 s with a lazy pull; switching
/// `startup.image_pull` to full adds a 150 s pull.
pub fn reference_policy() -> ScalingPolicy {
    ScalingPolicy {
        min_replicas: 1,
        max_replicas: 1000,
        target_concurrency: 1000.0,
        load_balancer: LbPolicy::PowerOfTwo,
        startup: StartupProfile {
            image_pull: ImagePull::Lazy,
            image_pull_s: 150.0,
            lazy_pull_s: 2.0,
            model_load_s: 3.0,
            warmup_s: 1.0,
        },
        perf: PerfModel {
            step_a_ms: 8.5,
            step_c_ms: 0.004,
            max_batch: 1024,
            input_tokens: 50,
            output_tokens: 50,
            prefill_ms_per_token: 0.001,
        },
        ..ScalingPolicy::default()
    }
}
