//! The ingestion page: where OpenLineage events come from, how many were
//! accepted or rejected, the latest ones, and why rejected ones were.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::ingestion_overview;
use crate::api::error_text;

fn source_href(source: &str) -> String {
    format!(
        "/ingestion?source={}",
        domain::query::encode_component(source)
    )
}

#[component]
pub fn IngestionPage() -> impl IntoView {
    let query = use_query_map();
    let source = Memo::new(move |_| query.with(|m| m.get("source").unwrap_or_default()));
    let data = Resource::new(move || source.get(), ingestion_overview);
    view! {
        <Title text="Ingestion"/>
        <header class="asset-head">
            <h1>"Ingestion"</h1>
            <p class="muted">"OpenLineage clients post to "<span class="mono">"/api/v1/lineage"</span>" with a bearer token (mlgraph token create); dbt projects come in with "<span class="mono">"mlgraph import dbt manifest.json"</span>" or "<span class="mono">"POST /api/v1/import/dbt"</span>"."</p>
        </header>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <p class="error-box">{error_text(&e)}</p> }.into_any(),
                    Ok(o) => view! {
                        <section class="panel" data-testid="ingestion-counts">
                            <p class="impact-summary">{format!("{} events accepted · {} rejected", o.accepted, o.rejected)}</p>
                            <table class="data compact">
                                <thead><tr><th>"Source (producer)"</th><th>"Accepted"</th><th>"Rejected"</th><th>"Last event"</th></tr></thead>
                                <tbody>
                                    {o.sources.into_iter().map(|s| view! {
                                        <tr class:selected=s.source == source.get_untracked()>
                                            <td class="mono small"><a href=source_href(&s.source)>{s.source.clone()}</a></td>
                                            <td class="num">{s.accepted.to_string()}</td><td class="num">{s.rejected.to_string()}</td><td class="mono small">{s.last_at}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {(!source.get_untracked().is_empty()).then(|| view! {
                                <p class="small" data-testid="ingestion-filter">
                                    {format!("The events below are from {} only. ", source.get_untracked())}
                                    <a href="/ingestion">"Show every source"</a>
                                </p>
                            })}
                            <p class="small muted">{if o.log_days == 0 {
                                "Counts and lists cover every event logged (MLGRAPH_INGEST_LOG_DAYS=0 keeps them all).".to_string()
                            } else {
                                format!("Counts and lists cover the last {} days of events (MLGRAPH_INGEST_LOG_DAYS); older log entries are pruned, while runs, datasets and jobs stay.", o.log_days)
                            }}</p>
                        </section>
                        <section class="panel" data-testid="ingestion-rejected">
                            <h2>"Rejected events"</h2>
                            {if o.rejections.is_empty() {
                                view! { <p class="empty">"None."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="data compact">
                                        <thead><tr><th>"When"</th><th>"Source"</th><th>"Problems"</th></tr></thead>
                                        <tbody>
                                            {o.rejections.into_iter().map(|r| view! {
                                                <tr>
                                                    <td class="mono small">{r.at}</td>
                                                    <td class="mono small">{r.source}</td>
                                                    <td class="small">{r.problems.iter().map(|p| format!("{}: {}", p["path"].as_str().unwrap_or(""), p["message"].as_str().unwrap_or(""))).collect::<Vec<_>>().join("; ")}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                        <section class="panel" data-testid="ingestion-recent">
                            <h2>"Recent events"</h2>
                            <table class="data compact">
                                <thead><tr><th>"When"</th><th>"Kind"</th><th>"What"</th><th>"Source"</th><th></th></tr></thead>
                                <tbody>
                                    {o.recent.into_iter().map(|r| view! {
                                        <tr>
                                            <td class="mono small">{r.at}</td>
                                            <td>{r.kind}</td>
                                            <td class="small">{r.summary}</td>
                                            <td class="mono small">{r.source}</td>
                                            <td>{if r.ok { "accepted" } else { "rejected" }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A workflow's run history, for its asset page.
#[component]
pub fn RunHistory(id: String) -> impl IntoView {
    let runs = Resource::new(move || id.clone(), crate::api::access::workflow_runs);
    view! {
        <section class="panel" data-testid="runs">
            <h2>"Run history"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No runs reported yet (OpenLineage RunEvents add them)."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="data compact">
                                <thead><tr><th>"Run"</th><th>"State"</th><th>"Started"</th><th>"Ended"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r| view! {
                                        <tr><td class="mono small">{r.run_id}</td><td>{r.state}</td><td class="mono small">{r.started_at.unwrap_or_default()}</td><td class="mono small">{r.ended_at.unwrap_or_default()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error-box">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
