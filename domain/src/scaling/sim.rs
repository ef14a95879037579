//! The discrete-event simulator: its configuration, its result and the
//! event loop.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

fn default_slo_ms() -> f64 {
    1000.0
}
fn default_timeout_ms() -> f64 {
    10_000.0
}
fn default_max_queue() -> u32 {
    10_000
}

/// The longest queue a pod may be given in a simulation.
pub const MAX_QUEUE_PER_POD: u32 = 1_000_000;

/// The most batch buckets (pods × the ring each holds) one simulation may
/// allocate: about 200 MB.
pub const MAX_BATCH_SLOTS: u64 = 1 << 23;

/// The length of a pod's ring of finish buckets for requests of
/// `output_tokens` steps.
pub(super) fn ring_len(output_tokens: u32) -> usize {
    (output_tokens.max(1) as usize + 1).next_power_of_two()
}

/// One simulation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    pub policy: ScalingPolicy,
    pub traffic: Traffic,
    pub duration_s: f64,
    pub seed: u64,
    /// Pods ready at t = 0. By default, what the autoscaler would settle on
    /// for the traffic at t = 0 ([`ScalingPolicy::pods_for_qps`]).
    #[serde(default)]
    pub initial_replicas: Option<u32>,
    #[serde(default = "default_slo_ms")]
    pub slo_ms: f64,
    /// A request that waits longer than this in a queue is dropped as timed
    /// out (when it would next be admitted).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: f64,
    /// Arrivals at a pod whose queue is this long are dropped.
    #[serde(default = "default_max_queue")]
    pub max_queue_per_pod: u32,
}

impl SimConfig {
    /// A run with the default SLO (1 s), timeout (10 s) and queue limit
    /// (10,000), starting at the autoscaler's own size for t = 0.
    pub fn new(policy: ScalingPolicy, traffic: Traffic, duration_s: f64, seed: u64) -> Self {
        SimConfig {
            policy,
            traffic,
            duration_s,
            seed,
            initial_replicas: None,
            slo_ms: default_slo_ms(),
            timeout_ms: default_timeout_ms(),
            max_queue_per_pod: default_max_queue(),
        }
    }

    /// Checks the policy (fields prefixed `policy.`) and the run settings.
    pub fn validate(&self) -> Result<()> {
        self.policy.validate().map_err(|e| e.within("policy"))?;
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return Err(ValidationError::new(
                "duration_s",
                "must be a finite number greater than 0",
            ));
        }
        if !(self.slo_ms.is_finite() && self.slo_ms > 0.0) {
            return Err(ValidationError::new("slo_ms", "must be greater than 0"));
        }
        if !(self.timeout_ms.is_finite() && self.timeout_ms > 0.0) {
            return Err(ValidationError::new("timeout_ms", "must be greater than 0"));
        }
        if self.max_queue_per_pod == 0 || self.max_queue_per_pod > MAX_QUEUE_PER_POD {
            return Err(ValidationError::new(
                "max_queue_per_pod",
                format!("must be from 1 to {MAX_QUEUE_PER_POD}"),
            ));
        }
        if let Some(n) = self.initial_replicas {
            if n > MAX_REPLICAS {
                return Err(ValidationError::new(
                    "initial_replicas",
                    format!("must be at most {MAX_REPLICAS}"),
                ));
            }
        }
        // Every pod holds a ring of buckets as long as the longest request,
        // so the pods a run may create times that length is its memory.
        let pods = u64::from(
            self.policy
                .max_replicas
                .max(self.initial_replicas.unwrap_or(0)),
        );
        let ring = ring_len(self.policy.perf.output_tokens) as u64;
        if pods * ring > MAX_BATCH_SLOTS {
            let field = if self.initial_replicas.unwrap_or(0) > self.policy.max_replicas {
                "initial_replicas"
            } else {
                "policy.max_replicas"
            };
            return Err(ValidationError::new(
                field,
                format!(
                    "with {} output tokens a request, at most {} pods can be simulated",
                    self.policy.perf.output_tokens,
                    MAX_BATCH_SLOTS / ring
                ),
            ));
        }
        Ok(())
    }
}

/// The state at one autoscaler tick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimePoint {
    pub t: f64,
    /// Arrivals per second over the tick.
    pub qps: f64,
    /// Mean requests in flight (queued or in a batch) over the tick.
    pub demand: f64,
    pub ready: u32,
    pub desired: u32,
    /// Requests waiting (in pod queues or for a first ready pod) at the tick.
    pub queued: u64,
    /// Latency percentiles of the requests completed during the tick, or 0
    /// if none completed.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    #[serde(default)]
    pub p999_ms: f64,
    pub panic: bool,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    /// Arrivals; each ends up completed, dropped or timed out.
    pub requests: u64,
    pub completed: u64,
    /// Turned away at a full queue.
    pub dropped: u64,
    pub timed_out: u64,
    /// Percentiles of completed requests, in milliseconds (to within 0.2%).
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Requests completed within the SLO, over all requests.
    pub slo_attainment: f64,
    /// Pod-seconds of pods that exist (starting, ready or draining) over the
    /// run, what the fleet costs.
    pub pod_seconds: f64,
    pub max_ready: u32,
    pub panic_seconds: f64,
    /// One point per autoscaler tick.
    pub series: Vec<TimePoint>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PodState {
    Starting,
    Ready,
    Draining,
    Gone,
}

/// One pod. Its batch is a ring of buckets indexed by decode step: a request
/// admitted at step `s` with `L` output tokens waits in bucket `s + L − 1`,
/// so finishing a step touches only the requests that finish in it.
#[derive(Debug)]
struct Pod {
    state: PodState,
    /// Bumped when the pod slot is reused, so stale events are recognised.
    gen: u32,
    /// Arrival times of requests waiting for a batch slot.
    queue: VecDeque<f64>,
    /// Arrival times of batched requests, by finishing step (mod ring size).
    ring: Vec<Vec<f64>>,
    batch: u32,
    /// Index of the step running now (or next).
    step: u64,
    busy: bool,
    /// Position in the ready list while ready.
    ready_slot: usize,
}

/// The heap's event payload: a pod id with this bit set is its readiness,
/// without it the end of its current decode step.
const READY_BIT: u32 = 1 << 31;

/// What happens next in the main loop.
enum Next {
    Event,
    Arrival,
    Tick,
}

/// Poisson arrivals with a rate held constant per 10 ms segment. Crossing a
/// segment boundary restarts the draw there, which is exact because the
/// exponential distribution is memoryless.
struct ArrivalClock {
    seg: u64,
    seg_end: f64,
    rate: f64,
}

impl ArrivalClock {
    fn new(traffic: &Traffic) -> Self {
        ArrivalClock {
            seg: 0,
            seg_end: RATE_SEGMENT_S,
            rate: traffic.qps_at(RATE_SEGMENT_S / 2.0),
        }
    }

    /// The first arrival after `from`, or infinity past `horizon`.
    #[inline]
    fn next(&mut self, from: f64, traffic: &Traffic, rng: &mut FastRng, horizon: f64) -> f64 {
        let mut t = from;
        loop {
            if t > horizon {
                return f64::INFINITY;
            }
            if self.rate > 0.0 {
                let candidate = t + rng.exp() / self.rate;
                if candidate < self.seg_end {
                    return if candidate > horizon {
                        f64::INFINITY
                    } else {
                        candidate
                    };
                }
            }
            t = self.seg_end;
            self.seg += 1;
            self.seg_end = (self.seg + 1) as f64 * RATE_SEGMENT_S;
            self.rate = traffic.qps_at((self.seg as f64 + 0.5) * RATE_SEGMENT_S);
        }
    }
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    policy: &'a ScalingPolicy,
    duration: f64,
    // The pod model in seconds.
    step_a_s: f64,
    step_c_s: f64,
    prefill_s: f64,
    max_batch: u32,
    /// Decode steps per request: every request generates `output_tokens`.
    out_steps: usize,
    ring_mask: usize,
    timeout_s: f64,
    slo_s: f64,
    max_queue: usize,
    cold_start_s: f64,
    lb: LbPolicy,

    /// The arrivals' own stream, apart from the balancer's, so that runs
    /// with the same seed see the same requests whatever the policy.
    traffic_rng: FastRng,
    lb_rng: FastRng,
    clock: ArrivalClock,
    pods: Vec<Pod>,
    /// Requests in flight per pod (queued or batched), apart from `pods` so
    /// the balancer's probes stay in cache.
    inflight: Vec<u32>,
    free: Vec<u32>,
    ready: Vec<u32>,
    starting: Vec<u32>,
    alive: u32,
    rr: usize,
    loads: Option<LoadBuckets>,
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Requests that found no ready pod, held as Knative's activator does.
    activator: VecDeque<f64>,

    requests: u64,
    completed: u64,
    dropped: u64,
    timed_out: u64,
    within_slo: u64,
    total_inflight: u64,
    total_batched: u64,

    // Time-weighted accounting, closed into one bucket per second.
    last_t: f64,
    next_sec: f64,
    conc_area: f64,
    pod_seconds: f64,
    seconds: Vec<f64>,
    max_ready: u32,
    tick_hist: Histogram,
    all_hist: Histogram,

    // The autoscaler.
    desired: u32,
    in_panic: bool,
    below_for: f64,
    panic_seconds: f64,
    recommendations: VecDeque<(f64, u32)>,
    tick_arrivals: u64,
    series: Vec<TimePoint>,
}

impl<'a> Sim<'a> {
    fn new(cfg: &'a SimConfig) -> Self {
        let policy = &cfg.policy;
        let perf = &policy.perf;
        let out_steps = perf.output_tokens.max(1) as usize;
        let ring_len = ring_len(perf.output_tokens);
        let lb = policy.load_balancer;
        let mut sim = Sim {
            cfg,
            policy,
            duration: if cfg.duration_s.is_finite() {
                cfg.duration_s.max(0.0)
            } else {
                0.0
            },
            // A step of at least a microsecond keeps a nonsense policy from
            // freezing the clock.
            step_a_s: (perf.step_a_ms / 1000.0).max(1e-6),
            step_c_s: (perf.step_c_ms / 1000.0).max(0.0),
            prefill_s: (perf.prefill_ms_per_token * f64::from(perf.input_tokens) / 1000.0).max(0.0),
            max_batch: perf.max_batch.max(1),
            out_steps,
            ring_mask: ring_len - 1,
            timeout_s: cfg.timeout_ms / 1000.0,
            slo_s: cfg.slo_ms / 1000.0,
            max_queue: cfg.max_queue_per_pod.max(1) as usize,
            cold_start_s: policy.startup.cold_start_s().max(0.0),
            lb,
            traffic_rng: FastRng::new(cfg.seed),
            lb_rng: FastRng::new(cfg.seed.wrapping_add(0x6c62_272e_07bb_0142)),
            clock: ArrivalClock::new(&cfg.traffic),
            pods: Vec::new(),
            inflight: Vec::new(),
            free: Vec::new(),
            ready: Vec::new(),
            starting: Vec::new(),
            alive: 0,
            rr: 0,
            loads: (lb == LbPolicy::LeastLoaded).then(LoadBuckets::default),
            heap: BinaryHeap::new(),
            activator: VecDeque::new(),
            requests: 0,
            completed: 0,
            dropped: 0,
            timed_out: 0,
            within_slo: 0,
            total_inflight: 0,
            total_batched: 0,
            last_t: 0.0,
            next_sec: 1.0,
            conc_area: 0.0,
            pod_seconds: 0.0,
            seconds: Vec::new(),
            max_ready: 0,
            tick_hist: Histogram::new(),
            all_hist: Histogram::new(),
            desired: 0,
            in_panic: false,
            below_for: 0.0,
            panic_seconds: 0.0,
            recommendations: VecDeque::new(),
            tick_arrivals: 0,
            series: Vec::new(),
        };
        let initial = cfg
            .initial_replicas
            .unwrap_or_else(|| policy.pods_for_qps(cfg.traffic.qps_at(0.0)));
        for _ in 0..initial {
            let p = sim.new_pod();
            sim.make_ready(p, 0.0);
        }
        sim.desired = initial;
        // The run starts in the middle of things: as if this fleet had been
        // serving the t = 0 rate for a whole stable window. Without that
        // history the first decision would average the first second's ramp
        // from empty pods and scale a right-sized fleet down.
        let before = steady_concurrency(policy, cfg.traffic.qps_at(0.0), initial);
        let history = (policy.stable_window_s.round().max(1.0) as usize).min(3600);
        sim.seconds = vec![before; history];
        sim
    }

    /// Runs to the end, or stops once `max_events` loop turns have passed
    /// or `cancel` is set (both checked every few thousand turns).
    fn run(mut self, max_events: u64, cancel: &AtomicBool) -> Result<SimResult, SimError> {
        let mut events: u64 = 0;
        let count = |events: &mut u64| -> Result<(), SimError> {
            *events += 1;
            if *events & 0xfff == 0 {
                if cancel.load(Ordering::Relaxed) {
                    return Err(SimError::Cancelled);
                }
                if *events > max_events {
                    return Err(SimError::Budget { events: *events });
                }
            }
            Ok(())
        };
        let duration = self.duration;
        let traffic = &self.cfg.traffic;
        let mut next_arrival = self
            .clock
            .next(0.0, traffic, &mut self.traffic_rng, duration);
        let mut next_tick = TICK_S;
        loop {
            let event_t = self
                .heap
                .peek()
                .map_or(f64::INFINITY, |Reverse((bits, _, _))| f64::from_bits(*bits));
            // Pod events go first on ties (a pod ready at a tick counts in
            // it), then arrivals, then the tick.
            let (t, next) = if event_t <= next_arrival && event_t <= next_tick {
                (event_t, Next::Event)
            } else if next_arrival <= next_tick {
                (next_arrival, Next::Arrival)
            } else {
                (next_tick, Next::Tick)
            };
            if t > duration {
                break;
            }
            count(&mut events)?;
            self.advance(t);
            match next {
                Next::Event => {
                    let Some(Reverse((_, id, gen))) = self.heap.pop() else {
                        break;
                    };
                    self.handle_event(id, gen, t);
                }
                Next::Arrival => {
                    self.arrive(t);
                    next_arrival = self.clock.next(t, traffic, &mut self.traffic_rng, duration);
                }
                Next::Tick => {
                    self.tick(t);
                    next_tick += TICK_S;
                }
            }
        }
        self.advance(duration);
        // Drain: no more arrivals or decisions; what is in flight finishes,
        // times out, or (stuck behind no ready pod) counts as timed out.
        // Pods still starting stay so: readiness after the end would
        // flatter `max_ready`.
        while let Some(Reverse((bits, id, _))) = self.heap.pop() {
            count(&mut events)?;
            if id & READY_BIT == 0 {
                self.step_end(id as usize, f64::from_bits(bits));
            }
        }
        self.timed_out += self.activator.len() as u64;
        self.activator.clear();
        Ok(self.finish())
    }

    /// Accumulates time-weighted concurrency and pod counts up to `t`,
    /// closing a bucket at every whole second.
    #[inline]
    fn advance(&mut self, t: f64) {
        while t >= self.next_sec {
            let dt = self.next_sec - self.last_t;
            self.conc_area += self.total_inflight as f64 * dt;
            self.pod_seconds += f64::from(self.alive) * dt;
            self.seconds.push(self.conc_area);
            self.conc_area = 0.0;
            self.last_t = self.next_sec;
            self.next_sec += 1.0;
        }
        let dt = t - self.last_t;
        if dt > 0.0 {
            self.conc_area += self.total_inflight as f64 * dt;
            self.pod_seconds += f64::from(self.alive) * dt;
            self.last_t = t;
        }
    }

    fn handle_event(&mut self, id: u32, gen: u32, now: f64) {
        if id & READY_BIT != 0 {
            let p = (id & !READY_BIT) as usize;
            if self.pods[p].gen == gen && self.pods[p].state == PodState::Starting {
                if let Some(i) = self.starting.iter().position(|&s| s as usize == p) {
                    self.starting.remove(i);
                }
                self.make_ready(p, now);
            }
        } else {
            self.step_end(id as usize, now);
        }
    }

    fn new_pod(&mut self) -> usize {
        self.alive += 1;
        if let Some(p) = self.free.pop() {
            let pod = &mut self.pods[p as usize];
            pod.state = PodState::Starting;
            return p as usize;
        }
        self.pods.push(Pod {
            state: PodState::Starting,
            gen: 0,
            queue: VecDeque::new(),
            ring: vec![Vec::new(); self.ring_mask + 1],
            batch: 0,
            step: 0,
            busy: false,
            ready_slot: 0,
        });
        self.inflight.push(0);
        self.pods.len() - 1
    }

    fn make_ready(&mut self, p: usize, now: f64) {
        let pod = &mut self.pods[p];
        pod.state = PodState::Ready;
        pod.ready_slot = self.ready.len();
        self.ready.push(p as u32);
        self.max_ready = self.max_ready.max(self.ready.len() as u32);
        if let Some(loads) = self.loads.as_mut() {
            loads.insert(p as u32, self.inflight[p]);
        }
        // The activator's buffer goes out as soon as there is somewhere to
        // send it.
        while let Some(arrived) = self.activator.pop_front() {
            self.total_inflight -= 1;
            if arrived < now - self.timeout_s {
                self.timed_out += 1;
            } else {
                let q = self.pick();
                self.dispatch(q, arrived, now);
            }
        }
    }

    fn retire(&mut self, p: usize) {
        let pod = &mut self.pods[p];
        pod.state = PodState::Gone;
        pod.gen = pod.gen.wrapping_add(1);
        self.alive -= 1;
        self.free.push(p as u32);
    }

    /// Stops sending requests to a ready pod; it finishes what it has.
    fn drain(&mut self, p: usize) {
        let slot = self.pods[p].ready_slot;
        self.ready.swap_remove(slot);
        if let Some(&moved) = self.ready.get(slot) {
            self.pods[moved as usize].ready_slot = slot;
        }
        if let Some(loads) = self.loads.as_mut() {
            loads.remove(p as u32);
        }
        self.pods[p].state = PodState::Draining;
        if !self.pods[p].busy {
            self.retire(p);
        }
    }

    #[inline]
    fn pick(&mut self) -> usize {
        let (ready, inflight) = (&self.ready, &self.inflight);
        route(
            self.lb,
            &mut self.rr,
            &mut self.lb_rng,
            ready.len(),
            |i| ready[i] as usize,
            |p| inflight[p],
            self.loads.as_ref(),
        )
    }

    #[inline]
    fn arrive(&mut self, now: f64) {
        self.requests += 1;
        self.tick_arrivals += 1;
        if self.ready.is_empty() {
            if self.activator.len() < self.max_queue {
                self.activator.push_back(now);
                self.total_inflight += 1;
            } else {
                self.dropped += 1;
            }
            return;
        }
        let p = self.pick();
        self.dispatch(p, now, now);
    }

    /// Queues a request that arrived at `arrived` on pod `p`.
    #[inline]
    fn dispatch(&mut self, p: usize, arrived: f64, now: f64) {
        let pod = &mut self.pods[p];
        if pod.queue.len() >= self.max_queue {
            self.dropped += 1;
            return;
        }
        pod.queue.push_back(arrived);
        let busy = pod.busy;
        self.inflight[p] += 1;
        self.total_inflight += 1;
        if let Some(loads) = self.loads.as_mut() {
            loads.set(p as u32, self.inflight[p]);
        }
        if !busy {
            self.start_step(p, now);
        }
    }

    /// At a step boundary: drops queued requests past the timeout, fills free
    /// batch slots from the queue, and schedules the end of the next step.
    #[inline]
    fn start_step(&mut self, p: usize, now: f64) {
        let pod = &mut self.pods[p];
        let cutoff = now - self.timeout_s;
        let mut expired = 0u32;
        while pod.queue.front().is_some_and(|&a| a < cutoff) {
            pod.queue.pop_front();
            expired += 1;
        }
        let admit = (self.max_batch - pod.batch).min(pod.queue.len() as u32);
        if admit > 0 {
            // Requests joining in step s produce their last token in step
            // s + output_tokens − 1, so they all share that bucket.
            let last = pod.step as usize + self.out_steps - 1;
            pod.ring[last & self.ring_mask].extend(pod.queue.drain(..admit as usize));
            pod.batch += admit;
            self.total_batched += u64::from(admit);
        }
        let batch = pod.batch;
        if expired > 0 {
            self.timed_out += u64::from(expired);
            self.inflight[p] -= expired;
            self.total_inflight -= u64::from(expired);
            if let Some(loads) = self.loads.as_mut() {
                loads.set(p as u32, self.inflight[p]);
            }
        }
        let pod = &mut self.pods[p];
        if batch == 0 {
            pod.busy = false;
            if pod.state == PodState::Draining {
                self.retire(p);
            }
            return;
        }
        pod.busy = true;
        let step =
            self.step_a_s + self.step_c_s * f64::from(batch) + self.prefill_s * f64::from(admit);
        self.heap
            .push(Reverse(((now + step).to_bits(), p as u32, pod.gen)));
    }

    /// At the end of a step: the requests whose last token it produced are
    /// done.
    #[inline]
    fn step_end(&mut self, p: usize, now: f64) {
        let pod = &mut self.pods[p];
        let bucket = &mut pod.ring[pod.step as usize & self.ring_mask];
        let done = bucket.len() as u32;
        for &arrived in bucket.iter() {
            let latency = now - arrived;
            self.tick_hist.record_s(latency);
            self.within_slo += u64::from(latency <= self.slo_s);
        }
        bucket.clear();
        pod.step += 1;
        pod.batch -= done;
        if done > 0 {
            self.completed += u64::from(done);
            self.total_batched -= u64::from(done);
            self.total_inflight -= u64::from(done);
            self.inflight[p] -= done;
            if let Some(loads) = self.loads.as_mut() {
                loads.set(p as u32, self.inflight[p]);
            }
        }
        self.start_step(p, now);
    }

    fn tick(&mut self, t: f64) {
        let cutoff = t - self.timeout_s;
        while self.activator.front().is_some_and(|&a| a < cutoff) {
            self.activator.pop_front();
            self.total_inflight -= 1;
            self.timed_out += 1;
        }
        let policy = self.policy;
        let n = self.seconds.len();
        let stable_n = (policy.stable_window_s.round() as usize)
            .max(1)
            .min(n.max(1));
        let panic_n = ((policy.stable_window_s * policy.panic_window_pct / 100.0).round() as usize)
            .max(1)
            .min(n.max(1));
        let mean_last = |k: usize| -> f64 {
            if n == 0 {
                0.0
            } else {
                self.seconds[n - k..].iter().sum::<f64>() / k as f64
            }
        };
        let stable = mean_last(stable_n);
        let panic = mean_last(panic_n);
        let demand = mean_last(2.min(n.max(1)));
        let ready = self.ready.len() as u32;
        if over_panic_threshold(policy, ready, panic) {
            self.below_for = 0.0;
        } else {
            self.below_for += TICK_S;
        }
        let decision = kpa_decide(
            policy,
            &KpaInput {
                ready,
                stable_concurrency: stable,
                panic_concurrency: panic,
                in_panic: self.in_panic,
                below_threshold_for_s: self.below_for,
            },
        );
        let mut want = decision.desired;
        // kpa_decide holds the ready count in panic; holding the previous
        // decision too keeps pods still starting from being cancelled.
        if decision.in_panic {
            want = want.max(self.desired);
        }
        if policy.scale_down_delay_s > 0.0 {
            self.recommendations.push_back((t, want));
            while self
                .recommendations
                .front()
                .is_some_and(|&(rt, _)| rt < t - policy.scale_down_delay_s - 1e-9)
            {
                self.recommendations.pop_front();
            }
            want = self
                .recommendations
                .iter()
                .map(|&(_, d)| d)
                .max()
                .unwrap_or(want);
        }
        self.in_panic = decision.in_panic;
        if self.in_panic {
            self.panic_seconds += TICK_S;
        }
        self.desired = want;
        self.scale_to(want, t);

        let q = self.tick_hist.quantiles_ms(&[0.50, 0.95, 0.99, 0.999]);
        self.tick_hist.drain_into(&mut self.all_hist);
        self.series.push(TimePoint {
            t,
            qps: self.tick_arrivals as f64 / TICK_S,
            demand,
            ready: self.ready.len() as u32,
            desired: want,
            queued: self.total_inflight - self.total_batched,
            p50_ms: q[0],
            p95_ms: q[1],
            p99_ms: q[2],
            p999_ms: q[3],
            panic: self.in_panic,
        });
        self.tick_arrivals = 0;
    }

    /// Creates or removes pods so that `want` exist. Removal cancels pods
    /// still starting first (newest first, they are furthest from ready),
    /// then drains the ready pods with the least in flight.
    fn scale_to(&mut self, want: u32, now: f64) {
        let existing = (self.starting.len() + self.ready.len()) as u32;
        if want > existing {
            for _ in existing..want {
                let p = self.new_pod();
                self.starting.push(p as u32);
                let gen = self.pods[p].gen;
                let at = now + self.cold_start_s;
                self.heap
                    .push(Reverse((at.to_bits(), p as u32 | READY_BIT, gen)));
            }
        } else if want < existing {
            let mut remove = existing - want;
            while remove > 0 {
                let Some(p) = self.starting.pop() else { break };
                self.retire(p as usize);
                remove -= 1;
            }
            if remove > 0 {
                let mut order = self.ready.clone();
                order.sort_by_key(|&p| (self.inflight[p as usize], p));
                for &p in order.iter().take(remove as usize) {
                    self.drain(p as usize);
                }
            }
        }
    }

    fn finish(mut self) -> SimResult {
        self.tick_hist.drain_into(&mut self.all_hist);
        let q = self.all_hist.quantiles_ms(&[0.50, 0.95, 0.99, 0.999]);
        SimResult {
            requests: self.requests,
            completed: self.completed,
            dropped: self.dropped,
            timed_out: self.timed_out,
            p50_ms: q[0],
            p95_ms: q[1],
            p99_ms: q[2],
            p999_ms: q[3],
            slo_attainment: if self.requests == 0 {
                1.0
            } else {
                self.within_slo as f64 / self.requests as f64
            },
            pod_seconds: self.pod_seconds,
            max_ready: self.max_ready,
            panic_seconds: self.panic_seconds,
            series: self.series,
        }
    }
}

/// Requests in flight over `pods` pods that share `qps` in steady state, by
/// Little's law: a pod taking `r` requests per second holds `k = r × L(k)`,
/// with `L(k) = (output_tokens + ½) × step(k)` linear in `k`. An overloaded
/// fleet has no steady state; it is taken to hold full batches.
fn steady_concurrency(policy: &ScalingPolicy, qps: f64, pods: u32) -> f64 {
    if pods == 0 || qps <= 0.0 {
        return 0.0;
    }
    let perf = &policy.perf;
    let out = f64::from(perf.output_tokens.max(1));
    let per_pod = qps / f64::from(pods);
    let steps_s = per_pod * (out + 0.5) / 1000.0;
    let c = perf.step_c_ms.max(0.0)
        + perf.prefill_ms_per_token.max(0.0) * f64::from(perf.input_tokens) / out;
    let full = f64::from(perf.max_batch.max(1));
    let denominator = 1.0 - steps_s * c;
    let k = if denominator > 0.0 {
        (steps_s * perf.step_a_ms.max(0.0) / denominator).min(full)
    } else {
        full
    };
    k * f64::from(pods)
}

/// Runs the simulation. The configuration should pass
/// [`SimConfig::validate`]; nonsense values are clamped rather than trusted
/// (a step takes at least a microsecond, a batch holds at least one request).
pub fn simulate(cfg: &SimConfig) -> SimResult {
    static NEVER: AtomicBool = AtomicBool::new(false);
    match Sim::new(cfg).run(u64::MAX, &NEVER) {
        Ok(r) => r,
        Err(e) => unreachable!("an unbounded run stopped: {e}"),
    }
}

/// The most loop turns (arrivals, pod steps and ticks) a run on behalf of a
/// request may take: 2 to 7 s of one core, optimised. The reference case
/// (a minute at 200,000 QPS, 12 million requests) takes about 15 million;
/// the largest run `check_size` admits, 30 million requests, about 37
/// million.
pub const MAX_EVENTS: u64 = 40_000_000;

/// Why a bounded run gave no result.
#[derive(Debug, Clone, PartialEq)]
pub enum SimError {
    /// The configuration failed [`SimConfig::validate`].
    Invalid(ValidationError),
    /// The run needed more than its budget of events.
    Budget { events: u64 },
    /// The caller gave up (the request timed out or disconnected).
    Cancelled,
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Invalid(e) => write!(f, "{e}"),
            SimError::Budget { events } => write!(
                f,
                "the simulation needed more than {events} events; shorten it, lower the traffic or give each pod longer steps"
            ),
            SimError::Cancelled => write!(f, "the simulation was cancelled"),
        }
    }
}

/// Runs a simulation on behalf of a caller that may not be trusted: the
/// configuration is validated first (replica counts, step times and the
/// memory of pods' batches are bounded there), the run stops after
/// `max_events` events, and it stops early once `cancel` is set.
pub fn simulate_within(
    cfg: &SimConfig,
    max_events: u64,
    cancel: &AtomicBool,
) -> Result<SimResult, SimError> {
    cfg.validate().map_err(SimError::Invalid)?;
    Sim::new(cfg).run(max_events, cancel)
}
