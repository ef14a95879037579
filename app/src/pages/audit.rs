//! The audit log, for admins: every mutation with who made it and when.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::audit_log;
use crate::api::error_box;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let actor = Memo::new(move |_| query.with(|m| m.get("actor").unwrap_or_default()));
    let log = Resource::new(move || actor.get(), audit_log);
    view! {
        <Title text="Audit log"/>
        <header class="asset-head"><h1>"Audit log"</h1></header>
        <form method="get" action="/audit" class="inline-form">
            <input type="search" name="actor" placeholder="Only this actor" aria-label="Actor" prop:value=move || actor.get()/>
            <button type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match log.await {
                    Ok(items) => view! {
                        <table class="data compact" data-testid="audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"On"</th><th>"Detail"</th></tr></thead>
                            <tbody>
                                {items.into_iter().map(|r| view! {
                                    <tr>
                                        <td class="mono small">{r.at.clone()}</td>
                                        <td>{r.actor.clone()}</td>
                                        <td class="mono">{r.action.clone()}</td>
                                        <td class="mono small">{r.target.clone()}</td>
                                        <td class="mono small">{r.detail.to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => error_box(&e),
                }
            })}
        </Suspense>
    }
}
