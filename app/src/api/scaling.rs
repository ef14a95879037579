//! Server functions of a service's Scaling tab: the policy, its history
//! and observed metrics, a side-by-side preview of the current and a
//! proposed policy on the same traffic (charts drawn in Rust), applying a
//! policy (operators) and rolling back to an earlier version.

use domain::query::{AutoscalerView, ServiceScaling};
use domain::scaling::ScalingPolicy;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// The tab's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScalingPage {
    pub scaling: ServiceScaling,
    pub autoscaler: Option<AutoscalerView>,
    /// The policy the editor starts from: the one in force, or the
    /// defaults for a service without one.
    pub starting_point: ScalingPolicy,
    pub can_apply: bool,
}

/// The headline numbers of one simulated policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub slo_attainment: f64,
    pub pod_seconds: f64,
    pub max_ready: u32,
    pub dropped: u64,
    pub timed_out: u64,
    pub requests: u64,
}

/// Both policies on the same traffic, with the charts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub scenario: String,
    pub duration_s: f64,
    pub current: Headline,
    pub proposed: Headline,
    /// SVG charts drawn on the server: latency, pods, queue depth.
    pub charts: Vec<String>,
}

/// The traffic scenarios the picker offers, by name.
/// `trace` replays the CSV the user pastes (`seconds,qps` rows).
pub const SCENARIOS: [(&str, &str); 6] = [
    ("reference", "Reference: 200k QPS with a surge to 280k"),
    ("steady", "Steady: 200k QPS"),
    ("spike", "Spike: 100k QPS, 3× for 10 s"),
    ("diurnal", "Diurnal: 60k–200k QPS"),
    ("quarter", "Quiet: 50k QPS steady"),
    ("trace", "Replay a trace (CSV)"),
];

#[server(prefix = "/rpc", endpoint = "scaling")]
pub async fn load_scaling(id: String) -> Result<ScalingPage, ServerFnError> {
    let who = super::server::caller();
    let catalog = expect_context::<catalog::Catalog>();
    let scaling = catalog
        .scaling_of(&id)
        .await
        .map_err(super::server::public)?;
    Ok(ScalingPage {
        autoscaler: catalog::autoscaler_view(&scaling),
        starting_point: scaling
            .current
            .as_ref()
            .map(|c| c.policy.clone())
            .unwrap_or_else(domain::scaling::reference_policy),
        can_apply: who.may(domain::auth::Action::OperateScaling, false),
        scaling,
    })
}

#[cfg(feature = "ssr")]
pub mod sim {
    use domain::chart::{line_chart, Series};
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};

    use domain::scaling::{simulate_within, SimConfig, SimError, SimResult, Traffic, MAX_EVENTS};

    use super::Headline;

    pub fn traffic(scenario: &str) -> Option<Traffic> {
        Some(match scenario {
            // The reference endpoint's traffic: 200k QPS with a surge past
            // the fleet's full-batch capacity, which is where the choice of
            // load balancer shows (at a steady 200k every policy but random
            // keeps pods equally busy).
            "reference" => Traffic::Spike {
                base_qps: 200_000.0,
                spike_qps: 280_000.0,
                start_s: 10.0,
                duration_s: 15.0,
            },
            "steady" => Traffic::Constant { qps: 200_000.0 },
            "spike" => Traffic::Spike {
                base_qps: 100_000.0,
                spike_qps: 300_000.0,
                start_s: 5.0,
                duration_s: 10.0,
            },
            "diurnal" => Traffic::Diurnal {
                base_qps: 60_000.0,
                peak_qps: 200_000.0,
                period_s: 30.0,
            },
            "quarter" => Traffic::Constant { qps: 50_000.0 },
            _ => return None,
        })
    }

    /// How many simulations may run at once, each on a blocking thread.
    /// Others wait their turn, so a burst of previews (or of calls to
    /// `/api/v1/simulate`) cannot take every core from the server.
    pub const CONCURRENT: usize = 2;
    /// How many simulations one caller may have running or waiting (a
    /// preview runs two); more are refused with 429.
    pub const PER_CALLER: usize = 2;
    static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT);
    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static PEAK: AtomicUsize = AtomicUsize::new(0);
    static CALLERS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

    /// The most simulations that ran at once since the process started.
    pub fn peak_concurrency() -> usize {
        PEAK.load(SeqCst)
    }

    /// The simulations `caller` has running or waiting for a permit now.
    pub fn in_flight_of(caller: &str) -> usize {
        CALLERS
            .lock()
            .map_or(0, |m| m.get(caller).copied().unwrap_or(0))
    }

    /// Why a simulation gave no result.
    #[derive(Debug, Clone, PartialEq)]
    pub enum RunError {
        /// The configuration, or its size (see [`SimError`]).
        Refused(SimError),
        /// The caller already has [`PER_CALLER`] simulations under way.
        Busy,
    }

    impl std::fmt::Display for RunError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                RunError::Refused(e) => write!(f, "{e}"),
                RunError::Busy => write!(
                    f,
                    "you already have {PER_CALLER} simulations running; wait for them to finish"
                ),
            }
        }
    }

    /// One of a caller's simulations, counted until dropped.
    struct Slot(String);

    impl Slot {
        fn take(caller: &str) -> Option<Slot> {
            let mut m = CALLERS.lock().unwrap_or_else(|e| e.into_inner());
            let n = m.entry(caller.to_string()).or_insert(0);
            if *n >= PER_CALLER {
                return None;
            }
            *n += 1;
            Some(Slot(caller.to_string()))
        }
    }

    impl Drop for Slot {
        fn drop(&mut self) {
            let mut m = CALLERS.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = m.get_mut(&self.0) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.0);
                }
            }
        }
    }

    /// Sets the flag when the waiting request goes away (it timed out or
    /// its client disconnected), so that the simulation stops too.
    struct CancelOnDrop(Arc<AtomicBool>);

    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }

    /// The caller's key for the per-caller limit, as the server's
    /// authentication layer put it in the request.
    pub fn caller_key() -> String {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<domain::auth::ClientKey>().cloned())
            .map_or_else(|| "ip:unknown".to_string(), |k| k.0)
    }

    /// Runs one simulation for `caller` when a permit is free, within
    /// [`MAX_EVENTS`]. The blocking task holds the permit and the caller's
    /// slot itself, so they are released when the simulation stops, not
    /// when the request gives up; a request that gives up cancels it.
    pub async fn run(cfg: SimConfig, caller: &str) -> Result<SimResult, RunError> {
        cfg.validate()
            .map_err(|e| RunError::Refused(SimError::Invalid(e)))?;
        let slot = Slot::take(caller).ok_or(RunError::Busy)?;
        let permit = PERMITS
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(cancel.clone());
        tokio::task::spawn_blocking(move || {
            let _held = (permit, slot);
            let now = RUNNING.fetch_add(1, SeqCst) + 1;
            PEAK.fetch_max(now, SeqCst);
            let r = simulate_within(&cfg, MAX_EVENTS, &cancel);
            RUNNING.fetch_sub(1, SeqCst);
            r
        })
        .await
        .expect("the simulator does not panic")
        .map_err(RunError::Refused)
    }

    pub fn headline(r: &SimResult) -> Headline {
        Headline {
            p50_ms: r.p50_ms,
            p99_ms: r.p99_ms,
            p999_ms: r.p999_ms,
            slo_attainment: r.slo_attainment,
            pod_seconds: r.pod_seconds,
            max_ready: r.max_ready,
            dropped: r.dropped,
            timed_out: r.timed_out,
            requests: r.requests,
        }
    }

    const CUR: &str = "#5b6b82";
    const NEW: &str = "#2f6fde";
    const CUR_LIGHT: &str = "#a9b4c4";
    const NEW_LIGHT: &str = "#9dbcf2";

    fn line(name: &str, colour: &'static str, dashed: bool, pts: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            colour,
            dashed,
            points: pts,
        }
    }

    pub fn charts(a: &SimResult, b: &SimResult, per_pod: f64) -> Vec<String> {
        let pts = |r: &SimResult, f: &dyn Fn(&domain::scaling::TimePoint) -> f64| {
            r.series.iter().map(|p| (p.t, f(p))).collect::<Vec<_>>()
        };
        let latency = line_chart(
            "Latency over time",
            "time (s)",
            "latency (ms)",
            &[
                line("current p99.9", CUR_LIGHT, false, pts(a, &|p| p.p999_ms)),
                line("current p99", CUR, false, pts(a, &|p| p.p99_ms)),
                line("current p50", CUR, true, pts(a, &|p| p.p50_ms)),
                line("proposed p99.9", NEW_LIGHT, false, pts(b, &|p| p.p999_ms)),
                line("proposed p99", NEW, false, pts(b, &|p| p.p99_ms)),
                line("proposed p50", NEW, true, pts(b, &|p| p.p50_ms)),
            ],
            true,
        );
        let pods = line_chart(
            "Pods against demand",
            "time (s)",
            "pods",
            &[
                line(
                    "pods the demand needs",
                    "#c77a0a",
                    true,
                    pts(a, &|p| p.demand / per_pod),
                ),
                line("current ready", CUR, false, pts(a, &|p| f64::from(p.ready))),
                line(
                    "current desired",
                    CUR,
                    true,
                    pts(a, &|p| f64::from(p.desired)),
                ),
                line(
                    "proposed ready",
                    NEW,
                    false,
                    pts(b, &|p| f64::from(p.ready)),
                ),
                line(
                    "proposed desired",
                    NEW,
                    true,
                    pts(b, &|p| f64::from(p.desired)),
                ),
            ],
            true,
        );
        let queue = line_chart(
            "Queue depth",
            "time (s)",
            "requests waiting",
            &[
                line("current", CUR, false, pts(a, &|p| p.queued as f64)),
                line("proposed", NEW, false, pts(b, &|p| p.queued as f64)),
            ],
            true,
        );
        vec![latency, pods, queue]
    }
}

/// Runs the current and the proposed policy on the same traffic.
#[server(prefix = "/rpc", endpoint = "preview_scaling", input = Json)]
pub async fn preview_scaling(
    id: String,
    proposed: ScalingPolicy,
    scenario: String,
    duration_s: f64,
    /// The trace to replay when `scenario` is `trace`.
    trace_csv: String,
) -> Result<Preview, ServerFnError> {
    use super::server::refused;
    use domain::scaling::SimConfig;
    use http::StatusCode;
    const BAD_REQUEST: StatusCode = StatusCode::BAD_REQUEST;
    /// A simulation that gave no result: its input (400), the caller's
    /// limit (429) or the time it took (503).
    fn run_refused(which: &str, e: sim::RunError) -> ServerFnError {
        use domain::scaling::SimError;
        let code = match &e {
            sim::RunError::Busy => StatusCode::TOO_MANY_REQUESTS,
            sim::RunError::Refused(SimError::Cancelled) => StatusCode::SERVICE_UNAVAILABLE,
            sim::RunError::Refused(_) => BAD_REQUEST,
        };
        refused(code, format!("{which}: {e}"))
    }
    let catalog = expect_context::<catalog::Catalog>();
    // Read from the request's context before the first await.
    let who = sim::caller_key();
    let current = catalog
        .scaling_of(&id)
        .await
        .map_err(super::server::public)?
        .current
        .map(|c| c.policy)
        .unwrap_or_else(domain::scaling::reference_policy);
    proposed.validate().map_err(|e| refused(BAD_REQUEST, e))?;
    let traffic = if scenario == "trace" {
        domain::scaling::parse_trace_csv(&trace_csv)
            .map_err(|e| refused(BAD_REQUEST, format!("trace {e}")))?
    } else {
        sim::traffic(&scenario)
            .ok_or_else(|| refused(BAD_REQUEST, format!("unknown scenario {scenario:?}")))?
    };
    let duration_s = if duration_s.is_finite() {
        duration_s.clamp(5.0, 60.0)
    } else {
        20.0
    };
    domain::scaling::check_size(&traffic, duration_s).map_err(|e| refused(BAD_REQUEST, e))?;
    let cfg = |policy| SimConfig {
        policy,
        traffic: traffic.clone(),
        duration_s,
        seed: 7,
        initial_replicas: None,
        slo_ms: 1000.0,
        timeout_ms: 10_000.0,
        max_queue_per_pod: 10_000,
    };
    let per_pod = current.target_concurrency * current.target_utilization;
    // A preview answers within a minute or says so; the simulations are
    // far quicker than that, so only an overloaded server gets here.
    let (a, b) = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        tokio::join!(sim::run(cfg(current), &who), sim::run(cfg(proposed), &who))
    })
    .await
    .map_err(|_| {
        refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation took over a minute; try a shorter run",
        )
    })?;
    let (a, b) = (
        a.map_err(|e| run_refused("current policy", e))?,
        b.map_err(|e| run_refused("proposed policy", e))?,
    );
    Ok(Preview {
        scenario,
        duration_s,
        charts: sim::charts(&a, &b, per_pod.max(1e-9)),
        current: sim::headline(&a),
        proposed: sim::headline(&b),
    })
}

/// Writes the proposed policy as the next version (operators).
#[server(prefix = "/rpc", endpoint = "apply_scaling", input = Json)]
pub async fn apply_scaling(
    id: String,
    policy: ScalingPolicy,
    version: u64,
    note: String,
) -> Result<u64, ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::OperateScaling))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .put_scaling(&id, policy, version, &who.actor(), &note)
        .await
        .map(|v| v.version)
        .map_err(super::server::public)
}

/// Makes an earlier version the policy in force again, as a new version.
#[server(prefix = "/rpc", endpoint = "rollback_scaling")]
pub async fn rollback_scaling(id: String, to: u64, version: u64) -> Result<u64, ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::OperateScaling))?;
    let catalog = expect_context::<catalog::Catalog>();
    let s = catalog
        .scaling_of(&id)
        .await
        .map_err(super::server::public)?;
    let old = s.history.iter().find(|v| v.version == to).ok_or_else(|| {
        super::server::refused(http::StatusCode::NOT_FOUND, format!("no version {to}"))
    })?;
    catalog
        .put_scaling(
            &id,
            old.policy.clone(),
            version,
            &who.actor(),
            &format!("rollback to version {to}"),
        )
        .await
        .map(|v| v.version)
        .map_err(super::server::public)
}
