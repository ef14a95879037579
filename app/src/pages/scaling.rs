//! A service's Scaling tab: the policy in force, an editor for a proposed
//! one, a traffic scenario, "Preview" (both policies simulated on the same
//! traffic, with charts and headline numbers), "Apply" for operators, the
//! version history with diffs and rollback, and what the autoscaler would
//! do on the metrics the service reported.

use domain::scaling::{ImagePull, LbPolicy, ScalingPolicy};
use leptos::prelude::*;

use crate::api::error_box;
use crate::api::scaling::{
    apply_scaling, load_scaling, preview_scaling, Headline, RollbackScaling, ScalingPage, SCENARIOS,
};

#[component]
pub fn ScalingTab(id: String) -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let rollback = ServerAction::<RollbackScaling>::new();
    let key = id.clone();
    let page = Resource::new(
        move || (key.clone(), reload.get(), rollback.version().get()),
        |(id, _, _)| load_scaling(id),
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let id = id.clone();
                Suspend::new(async move {
                    match page.await {
                        Ok(p) => view! { <Body id p reload rollback/> }.into_any(),
                        Err(e) => error_box(&e),
                    }
                })
            }}
        </Transition>
    }
}

fn policy_rows(p: &ScalingPolicy) -> Vec<(&'static str, String)> {
    vec![
        (
            "Replicas",
            format!("{} – {}", p.min_replicas, p.max_replicas),
        ),
        (
            "Target concurrency per pod",
            format!("{}", p.target_concurrency),
        ),
        (
            "Target utilisation",
            format!("{:.0}%", p.target_utilization * 100.0),
        ),
        ("Stable window", format!("{} s", p.stable_window_s)),
        ("Panic window", format!("{}% of stable", p.panic_window_pct)),
        ("Panic threshold", format!("{}%", p.panic_threshold_pct)),
        (
            "Max scale up / down rate",
            format!("{} / {}", p.max_scale_up_rate, p.max_scale_down_rate),
        ),
        ("Scale-down delay", format!("{} s", p.scale_down_delay_s)),
        ("Load balancer", p.load_balancer.label().to_string()),
        (
            "Start-up",
            format!(
                "{} image pull, {:.1} s cold start",
                match p.startup.image_pull {
                    ImagePull::Full => "full",
                    ImagePull::Lazy => "lazy",
                },
                p.startup.cold_start_s()
            ),
        ),
        (
            "Per-pod model",
            format!(
                "step {} + {}·batch ms, batch ≤ {}, {} in / {} out tokens",
                p.perf.step_a_ms,
                p.perf.step_c_ms,
                p.perf.max_batch,
                p.perf.input_tokens,
                p.perf.output_tokens
            ),
        ),
    ]
}

/// A number input bound to one field of the proposed policy.
#[component]
fn NumberField(
    label: &'static str,
    testid: &'static str,
    get: Signal<f64>,
    set: Callback<f64>,
    #[prop(optional)] step: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="field small">{label}
            <input type="number" step=step.unwrap_or("any") data-testid=testid
                prop:value=move || get.get().to_string()
                on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<f64>() { set.run(v) }
                }/>
        </label>
    }
}

fn headline_view(name: &'static str, h: &Headline, testid: &'static str) -> impl IntoView {
    view! {
        <div class="headline" data-testid=testid data-p99=format!("{:.3}", h.p99_ms)>
            <h3>{name}</h3>
            <p class="big">{format!("P99 {:.0} ms", h.p99_ms)}</p>
            <p class="small">{format!("P50 {:.0} ms · P99.9 {:.0} ms", h.p50_ms, h.p999_ms)}</p>
            <p class="small">{format!("SLO (1 s) attained: {:.2}%", h.slo_attainment * 100.0)}</p>
            <p class="small">{format!("{:.0} pod-seconds · up to {} pods", h.pod_seconds, h.max_ready)}</p>
            <p class="small muted">{format!("{} requests, {} dropped, {} timed out", h.requests, h.dropped, h.timed_out)}</p>
        </div>
    }
}

#[component]
fn Body(
    id: String,
    p: ScalingPage,
    reload: RwSignal<u32>,
    rollback: ServerAction<RollbackScaling>,
) -> impl IntoView {
    let current_version = p.scaling.current.as_ref().map_or(0, |c| c.version);
    let proposed = RwSignal::new(p.starting_point.clone());
    let scenario = RwSignal::new("reference".to_string());
    let duration = RwSignal::new(60.0f64);
    let note = RwSignal::new(String::new());
    let trace = RwSignal::new(String::from(
        "seconds,qps\n0,150000\n20,150000\n25,260000\n40,260000\n45,150000\n",
    ));
    let preview_id = id.clone();
    let preview = Action::new(move |_: &()| {
        let id = preview_id.clone();
        let (pol, sc, d, t) = (
            proposed.get_untracked(),
            scenario.get_untracked(),
            duration.get_untracked(),
            trace.get_untracked(),
        );
        async move { preview_scaling(id, pol, sc, d, t).await }
    });
    let apply_id = id.clone();
    let apply = Action::new(move |_: &()| {
        let id = apply_id.clone();
        let (pol, n) = (proposed.get_untracked(), note.get_untracked());
        async move { apply_scaling(id, pol, current_version, n).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = apply.value().get() {
            reload.update(|r| *r += 1);
        }
    });
    let num = |f: fn(&ScalingPolicy) -> f64, g: fn(&mut ScalingPolicy, f64)| {
        (
            Signal::derive(move || proposed.with(f)),
            Callback::new(move |v: f64| proposed.update(|p| g(p, v))),
        )
    };
    let (min_g, min_s) = num(
        |p| f64::from(p.min_replicas),
        |p, v| p.min_replicas = v.max(0.0) as u32,
    );
    let (max_g, max_s) = num(
        |p| f64::from(p.max_replicas),
        |p, v| p.max_replicas = v.max(0.0) as u32,
    );
    let (tc_g, tc_s) = num(|p| p.target_concurrency, |p, v| p.target_concurrency = v);
    let (tu_g, tu_s) = num(
        |p| p.target_utilization * 100.0,
        |p, v| p.target_utilization = v / 100.0,
    );
    let (sw_g, sw_s) = num(|p| p.stable_window_s, |p, v| p.stable_window_s = v);
    let (pw_g, pw_s) = num(|p| p.panic_window_pct, |p, v| p.panic_window_pct = v);
    let (pt_g, pt_s) = num(|p| p.panic_threshold_pct, |p, v| p.panic_threshold_pct = v);
    let (up_g, up_s) = num(|p| p.max_scale_up_rate, |p, v| p.max_scale_up_rate = v);
    let (dn_g, dn_s) = num(|p| p.max_scale_down_rate, |p, v| p.max_scale_down_rate = v);
    let (dl_g, dl_s) = num(|p| p.scale_down_delay_s, |p, v| p.scale_down_delay_s = v);
    let (mb_g, mb_s) = num(
        |p| f64::from(p.perf.max_batch),
        |p, v| p.perf.max_batch = v.max(1.0) as u32,
    );
    let (ml_g, ml_s) = num(
        |p| p.startup.model_load_s,
        |p, v| p.startup.model_load_s = v,
    );
    let (ip_g, ip_s) = num(
        |p| p.startup.image_pull_s,
        |p, v| p.startup.image_pull_s = v,
    );
    let (lp_g, lp_s) = num(|p| p.startup.lazy_pull_s, |p, v| p.startup.lazy_pull_s = v);
    let (wu_g, wu_s) = num(|p| p.startup.warmup_s, |p, v| p.startup.warmup_s = v);
    let (sa_g, sa_s) = num(|p| p.perf.step_a_ms, |p, v| p.perf.step_a_ms = v);
    let (sc_g, sc_s) = num(|p| p.perf.step_c_ms, |p, v| p.perf.step_c_ms = v);
    let (it_g, it_s) = num(
        |p| f64::from(p.perf.input_tokens),
        |p, v| p.perf.input_tokens = v.max(0.0) as u32,
    );
    let (ot_g, ot_s) = num(
        |p| f64::from(p.perf.output_tokens),
        |p, v| p.perf.output_tokens = v.max(1.0) as u32,
    );
    let (pf_g, pf_s) = num(
        |p| p.perf.prefill_ms_per_token,
        |p, v| p.perf.prefill_ms_per_token = v,
    );
    let lb_value = move || proposed.with(|p| p.load_balancer.as_str().to_string());
    let pull_value = move || {
        proposed.with(|p| match p.startup.image_pull {
            ImagePull::Full => "full".to_string(),
            ImagePull::Lazy => "lazy".to_string(),
        })
    };
    let diff_preview = {
        let base = p.starting_point.clone();
        move || proposed.with(|n| base.diff(n))
    };
    let history = p.scaling.history.clone();
    view! {
        <div class="scaling" data-testid="scaling">
            <div class="propose-layout">
                <section class="panel" data-testid="policy-current">
                    <h2>{match &p.scaling.current {
                        Some(c) => format!("Policy in force · version {}", c.version),
                        None => "No policy yet: the defaults below are a starting point".to_string(),
                    }}</h2>
                    <table class="data compact">
                        <tbody>
                            {policy_rows(&p.starting_point).into_iter().map(|(k, v)| view! {
                                <tr><th>{k}</th><td data-testid=format!("policy-{}", k.to_lowercase().replace(' ', "-"))>{v}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h3>"Observed metrics"</h3>
                    {match (&p.autoscaler, p.scaling.metrics.first()) {
                        (Some(a), Some(m)) => view! {
                            <p class="small" data-testid="observed">{format!(
                                "Latest at {}: {:.0} QPS, P99 {:.0} ms, {:.1} in flight per pod on {} pods. On these {} samples the autoscaler would want {} pods{}.",
                                a.latest_at, m.qps, m.p99_ms, m.concurrency, a.ready, a.samples, a.desired,
                                if a.panic { " (panic mode)" } else { "" })}</p>
                        }.into_any(),
                        _ => view! { <p class="small muted">"None received yet. Services post them to /api/v1/services/{id}/metrics."</p> }.into_any(),
                    }}
                    <p class="small">
                        "Export: "
                        <a rel="external" href=format!("/api/v1/services/{}/manifest?format=knative", domain::query::encode_component(&id))>"Knative Service"</a>" · "
                        <a rel="external" href=format!("/api/v1/services/{}/manifest?format=kserve", domain::query::encode_component(&id))>"KServe InferenceService"</a>
                    </p>
                </section>
                <section class="panel" data-testid="policy-editor">
                    <h2>"Proposed policy"</h2>
                    <div class="field-grid">
                        <NumberField label="Min replicas" testid="min-replicas" get=min_g set=min_s step="1"/>
                        <NumberField label="Max replicas" testid="max-replicas" get=max_g set=max_s step="1"/>
                        <NumberField label="Target concurrency per pod" testid="target-concurrency" get=tc_g set=tc_s/>
                        <NumberField label="Target utilisation (%)" testid="target-utilization" get=tu_g set=tu_s/>
                        <NumberField label="Stable window (s)" testid="stable-window" get=sw_g set=sw_s/>
                        <NumberField label="Panic window (% of stable)" testid="panic-window" get=pw_g set=pw_s/>
                        <NumberField label="Panic threshold (%)" testid="panic-threshold" get=pt_g set=pt_s/>
                        <NumberField label="Max scale-up rate" testid="scale-up" get=up_g set=up_s/>
                        <NumberField label="Max scale-down rate" testid="scale-down" get=dn_g set=dn_s/>
                        <NumberField label="Scale-down delay (s)" testid="scale-down-delay" get=dl_g set=dl_s/>
                        <NumberField label="Max batch" testid="max-batch" get=mb_g set=mb_s step="1"/>
                        <NumberField label="Model load (s)" testid="model-load" get=ml_g set=ml_s/>
                        <NumberField label="Full image pull (s)" testid="image-pull-s" get=ip_g set=ip_s/>
                        <NumberField label="Lazy image pull (s)" testid="lazy-pull-s" get=lp_g set=lp_s/>
                        <NumberField label="Warm-up (s)" testid="warmup" get=wu_g set=wu_s/>
                        <NumberField label="Decode step, fixed (ms)" testid="step-a" get=sa_g set=sa_s/>
                        <NumberField label="Decode step, per request in batch (ms)" testid="step-c" get=sc_g set=sc_s/>
                        <NumberField label="Prefill per input token (ms)" testid="prefill" get=pf_g set=pf_s/>
                        <NumberField label="Input tokens" testid="input-tokens" get=it_g set=it_s step="1"/>
                        <NumberField label="Output tokens" testid="output-tokens" get=ot_g set=ot_s step="1"/>
                        <label class="field small">"Load balancer"
                            <select data-testid="load-balancer" prop:value=lb_value on:change=move |ev| {
                                let v = event_target_value(&ev);
                                let lb = match v.as_str() {
                                    "round-robin" => LbPolicy::RoundRobin,
                                    "random" => LbPolicy::Random,
                                    "least-loaded" => LbPolicy::LeastLoaded,
                                    _ => LbPolicy::PowerOfTwo,
                                };
                                proposed.update(|p| p.load_balancer = lb);
                            }>
                                <option value="round-robin">"round-robin"</option>
                                <option value="random">"random"</option>
                                <option value="power-of-two">"power of two choices"</option>
                                <option value="least-loaded">"least-loaded"</option>
                            </select>
                        </label>
                        <label class="field small">"Image pull"
                            <select data-testid="image-pull" prop:value=pull_value on:change=move |ev| {
                                let full = event_target_value(&ev) == "full";
                                proposed.update(|p| p.startup.image_pull = if full { ImagePull::Full } else { ImagePull::Lazy });
                            }>
                                <option value="lazy">"lazy (stream on demand)"</option>
                                <option value="full">"full"</option>
                            </select>
                        </label>
                    </div>
                    <p class="small" data-testid="policy-diff">{move || {
                        let d = diff_preview();
                        if d.is_empty() { "No change yet.".to_string() } else {
                            d.iter().map(|(f, o, n)| format!("{f}: {o} → {n}")).collect::<Vec<_>>().join(" · ")
                        }
                    }}</p>
                    <div class="buttons">
                        <label class="field small">"Traffic"
                            <select data-testid="scenario" prop:value=move || scenario.get() on:change=move |ev| scenario.set(event_target_value(&ev))>
                                {SCENARIOS.iter().map(|(k, label)| view! { <option value=*k>{*label}</option> }).collect_view()}
                            </select>
                        </label>
                        <NumberField label="Simulated seconds" testid="duration" get=Signal::derive(move || duration.get()) set=Callback::new(move |v| duration.set(v))/>
                        <button class="primary" data-testid="preview" disabled=move || preview.pending().get()
                            on:click=move |_| { preview.dispatch(()); }>{move || if preview.pending().get() { "Simulating…" } else { "Preview" }}</button>
                    </div>
                    <label class="field small trace-field" class:hidden=move || scenario.get() != "trace">
                        "Trace to replay: a header, then seconds,qps rows; the rate is interpolated between rows and held after the last"
                        <textarea data-testid="trace" rows="6" spellcheck="false"
                            prop:value=move || trace.get() on:input=move |ev| trace.set(event_target_value(&ev))></textarea>
                    </label>
                    {p.can_apply.then(|| view! {
                        <div class="buttons">
                            <input type="text" placeholder="Why (optional)" aria-label="Note" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                            <button data-testid="apply" disabled=move || apply.pending().get() on:click=move |_| { apply.dispatch(()); }>"Apply"</button>
                        </div>
                    })}
                    {move || apply.value().get().map(|r| match r {
                        Ok(v) => view! { <p class="ok" data-testid="applied">{format!("Applied as version {v}.")}</p> }.into_any(),
                        Err(e) => error_box(&e),
                    })}
                </section>
            </div>
            {move || preview.value().get().map(|r| match r {
                Ok(pv) => view! {
                    <section class="panel" data-testid="preview-result" data-scenario=pv.scenario.clone()>
                        <h2>{format!("Preview: {} simulated seconds", pv.duration_s)}</h2>
                        <div class="headlines">
                            {headline_view("Current", &pv.current, "headline-current")}
                            {headline_view("Proposed", &pv.proposed, "headline-proposed")}
                        </div>
                        {pv.charts.into_iter().map(|svg| view! { <div class="chart-box" inner_html=svg></div> }).collect_view()}
                    </section>
                }.into_any(),
                Err(e) => error_box(&e),
            })}
            <section class="panel" data-testid="policy-history">
                <h2>"History"</h2>
                {if history.is_empty() {
                    view! { <p class="empty">"No versions yet."</p> }.into_any()
                } else {
                    view! {
                        <table class="data compact">
                            <thead><tr><th>"Version"</th><th>"When"</th><th>"By"</th><th>"Changes"</th><th></th></tr></thead>
                            <tbody>
                                {history.into_iter().map(|v| {
                                    let changes = if v.changes.is_empty() { "first version".to_string() } else {
                                        v.changes.iter().map(|(f, o, n)| format!("{f}: {o} → {n}")).collect::<Vec<_>>().join("; ")
                                    };
                                    let id = id.clone();
                                    view! {
                                        <tr data-version=v.version.to_string()>
                                            <td>{v.version.to_string()}</td>
                                            <td class="mono small">{v.at.clone()}</td>
                                            <td>{v.by.clone()}</td>
                                            <td class="small">{changes}{(!v.note.is_empty()).then(|| format!(" ({})", v.note))}</td>
                                            <td>{(p.can_apply && v.version != current_version).then(|| view! {
                                                <leptos::form::ActionForm action=rollback>
                                                    <input type="hidden" name="id" value=id.clone()/>
                                                    <input type="hidden" name="to" value=v.version.to_string()/>
                                                    <input type="hidden" name="version" value=current_version.to_string()/>
                                                    <button type="submit">"Roll back to this"</button>
                                                </leptos::form::ActionForm>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
            </section>
        </div>
    }
}
