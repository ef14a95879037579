//! The lineage tab's time slider: the graph as it was at any moment at
//! which something around the asset began or ended.

use domain::query::encode_component;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{lineage_moments, MAX_DEPTH};

/// The lineage tab's URL for `id` at position `i` of `moments` (past the
/// last: now), with `depths` (`&up=…&down=…`, as asked for).
fn moment_href(id: &str, depths: &str, moments: &[String], i: usize) -> String {
    let at = moments
        .get(i)
        .map(|t| format!("&as_of={}", encode_component(t)))
        .unwrap_or_default();
    format!("/asset?id={}&tab=lineage{depths}{at}", encode_component(id))
}

/// A slider over the moments at which the lineage around `id` changed,
/// ending at "now"; moving it redraws the graph as it was then. A list of
/// the same moments as links serves pages without scripts.
#[component]
pub fn HistorySlider(
    id: String,
    as_of: Memo<Option<String>>,
    compare: Memo<Option<String>>,
) -> impl IntoView {
    let depths = use_query_map().with_untracked(|q| {
        ["up", "down"]
            .into_iter()
            .filter_map(|k| Some(format!("&{k}={}", encode_component(&q.get(k)?))))
            .collect::<String>()
    });
    // The form that compares keeps the window's depths and moment.
    let kept: Vec<(&'static str, String)> = use_query_map().with_untracked(|q| {
        ["up", "down", "as_of"]
            .into_iter()
            .filter_map(|k| Some((k, q.get(k)?)))
            .collect()
    });
    let moments_id = id.clone();
    let moments = Resource::new(
        move || moments_id.clone(),
        |id| lineage_moments(id, MAX_DEPTH),
    );
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (id, depths, kept) = (id.clone(), depths.clone(), kept.clone());
                Suspend::new(async move {
                    let Ok(ms) = moments.await else {
                        return ().into_any();
                    };
                    if ms.is_empty() {
                        return view! {
                            <p class="muted" data-testid="history-none">"Nothing around this asset has changed since it was recorded."</p>
                        }
                        .into_any();
                    }
                    let n = ms.len();
                    let current = as_of
                        .get_untracked()
                        .and_then(|t| ms.iter().position(|m| *m == t))
                        .unwrap_or(n);
                    let pos = RwSignal::new(current);
                    let shown = ms.clone();
                    let label = move || shown.get(pos.get()).cloned().unwrap_or_else(|| "now".into());
                    let navigate = use_navigate();
                    let (go_id, go_depths, go_ms) = (id.clone(), depths.clone(), ms.clone());
                    let compared = compare.get_untracked();
                    let options = ms
                        .iter()
                        .map(|t| {
                            let chosen = compared.as_deref() == Some(t.as_str());
                            view! { <option value=t.clone() selected=chosen>{t.clone()}</option> }
                        })
                        .collect_view();
                    let hidden = kept
                        .iter()
                        .map(|(k, v)| view! { <input type="hidden" name=*k value=v.clone()/> })
                        .collect_view();
                    let stop = compared.is_some().then(|| {
                        let at = as_of
                            .get_untracked()
                            .map(|t| format!("&as_of={}", encode_component(&t)))
                            .unwrap_or_default();
                        view! { <a href=format!("/asset?id={}&tab=lineage{depths}{at}", encode_component(&id)) data-testid="compare-stop">"Stop comparing"</a> }
                    });
                    let links = ms
                        .iter()
                        .enumerate()
                        .map(|(i, t)| view! { <li><a href=moment_href(&id, &depths, &ms, i)>{t.clone()}</a></li> })
                        .collect_view();
                    view! {
                        <section class="panel history" data-testid="history">
                            <label class="history-slider">
                                "Lineage as of "
                                <output data-testid="history-moment">{label}</output>
                                <input type="range" min="0" max=n.to_string() step="1"
                                    value=current.to_string() data-testid="history-slider"
                                    aria-label="Moment to show the lineage at"
                                    on:input=move |ev| pos.set(event_target_value(&ev).parse().unwrap_or(n))
                                    on:change=move |ev| {
                                        let i = event_target_value(&ev).parse().unwrap_or(n);
                                        navigate(&moment_href(&go_id, &go_depths, &go_ms, i), Default::default());
                                    }/>
                            </label>
                            <form method="get" action="/asset" class="history-compare" data-testid="compare-form">
                                <input type="hidden" name="id" value=id.clone()/>
                                <input type="hidden" name="tab" value="lineage"/>
                                {hidden}
                                <label>
                                    "Compare with "
                                    <select name="compare" data-testid="compare-select">{options}</select>
                                </label>
                                " "
                                <button type="submit" data-testid="compare-go">"Compare"</button>
                                " "
                                {stop}
                            </form>
                            <details>
                                <summary>{format!("{n} moments at which the lineage changed")}</summary>
                                <ul class="history-moments">{links}<li><a href=moment_href(&id, &depths, &[], 0)>"now"</a></li></ul>
                            </details>
                        </section>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
}
