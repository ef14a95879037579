//! `/graph`: the lineage explorer. With `?id=` it draws that asset's
//! lineage (depths from `up` and `down`); without, it lists the catalog's
//! hubs to start from.

use domain::query::encode_component;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{error_text, lineage_outline, top_hubs};
use crate::components::{AssetLink, KindBadge};
use crate::graph::GraphPanel;

/// Depth each way when the URL names none.
pub const DEFAULT_DEPTH: u32 = 2;

/// The link to the explorer centred on `id`. Like asset links, the id is
/// encoded twice, since the router decodes query values twice.
pub fn graph_href(id: &str) -> String {
    format!("/graph?id={}", encode_component(&encode_component(id)))
}

/// Reads `up` and `down` from the query, defaulting to [`DEFAULT_DEPTH`].
pub fn depths(m: &leptos_router::params::ParamsMap) -> (u32, u32) {
    let get = |k: &str| {
        m.get(k)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(DEFAULT_DEPTH)
            .min(crate::api::MAX_DEPTH)
    };
    (get("up"), get("down"))
}

#[component]
pub fn GraphPage() -> impl IntoView {
    let query = use_query_map();
    let id = Memo::new(move |_| query.with(|m| m.get("id").unwrap_or_default()));
    view! {
        {move || if id.get().is_empty() { view! { <HubsStart/> }.into_any() } else { view! { <Explorer/> }.into_any() }}
    }
}

#[component]
fn Explorer() -> impl IntoView {
    let query = use_query_map();
    let key = Memo::new(move |_| {
        query.with(|m| {
            let (up, down) = depths(m);
            (m.get("id").unwrap_or_default(), up, down)
        })
    });
    let graph = Resource::new(
        move || key.get(),
        |(id, up, down)| lineage_outline(id, up, down),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the graph…"</p> }>
            {move || Suspend::new(async move {
                match graph.await {
                    Ok(v) => {
                        let center = v.nodes.first().cloned();
                        view! {
                            <Title text=center.as_ref().map(|c| format!("Lineage of {}", c.name)).unwrap_or_default()/>
                            <nav class="crumbs"><a href="/graph">"Lineage explorer"</a>" / "<span>{center.as_ref().map(|c| c.name.clone())}</span></nav>
                            {center.map(|c| view! {
                                <h1 class="graph-title"><KindBadge kind=c.kind/>" "{c.name.clone()}" "
                                    <a class="small" href=crate::components::asset_href(&c.id)>"asset page"</a>
                                </h1>
                            })}
                            <GraphPanel view=v action="/graph"/>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <Title text="Not found"/>
                        <section class="error-box" role="alert">
                            <h1>"This lineage could not be shown"</h1>
                            <p>{error_text(&e)}</p>
                            <p><a href="/graph">"Back to the explorer"</a></p>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn HubsStart() -> impl IntoView {
    let hubs = Resource::new(|| (), |_| top_hubs(20));
    view! {
        <Title text="Lineage explorer"/>
        <section class="panel">
            <h1>"Lineage explorer"</h1>
            <p class="muted">"Start from one of the assets the most depend on, or open any asset and choose its lineage graph."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match hubs.await {
                        Ok(items) => view! {
                            <table class="data" data-testid="hubs">
                                <thead><tr><th>"Asset"</th><th class="num">"Downstream"</th><th class="num">"Fan-out"</th><th></th></tr></thead>
                                <tbody>
                                    {items.into_iter().map(|h| view! {
                                        <tr>
                                            <td><AssetLink id=h.id.clone() kind=h.kind name=h.name.clone()/></td>
                                            <td class="num">{h.downstream.to_string()}</td>
                                            <td class="num">{h.fanout.to_string()}</td>
                                            <td><a href=graph_href(&h.id)>"Explore"</a></td>
                                        </tr>
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
