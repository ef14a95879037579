//! The interactive parts of an exported static site, in the browser only:
//! the lineage graph (the same `GraphPanel`, fed from a page's data file)
//! and the offline impact explorer, which runs `domain::impact` on the
//! exported graph records. Pages call the two `mount_*` functions after
//! loading this module; nothing here talks to a server.

use std::collections::{BTreeSet, HashMap};

use domain::impact::{analyze, ChangeOp, ImpactReport, SchemaChange};
use domain::query::GraphView;
use domain::site::{graph_shard, page_name, GraphRecord};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::graph::GraphPanel;
use crate::impact_view::ImpactView;

/// Fetches `url` (relative to the page) as text.
async fn fetch_text(url: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|e| format!("fetching {url}: {e:?}"))?;
    let resp: web_sys::Response = resp
        .dyn_into()
        .map_err(|_| format!("fetching {url}: not a response"))?;
    if !resp.ok() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    let text = resp.text().map_err(|e| format!("reading {url}: {e:?}"))?;
    wasm_bindgen_futures::JsFuture::from(text)
        .await
        .map_err(|e| format!("reading {url}: {e:?}"))?
        .as_string()
        .ok_or_else(|| format!("{url} is not text"))
}

/// Fetches and parses one of the site's JSON files.
pub async fn fetch_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, String> {
    let text = fetch_text(url).await?;
    serde_json::from_str(&text).map_err(|e| format!("{url}: {e}"))
}

/// Draws the lineage graph of the page `page` into `el`; `base` is the
/// relative path to the site's root.
#[wasm_bindgen]
pub fn mount_static_graph(el: web_sys::HtmlElement, base: String, page: String) {
    crate::components::set_static_base(&base);
    leptos::mount::mount_to(el, move || view! { <StaticGraph base page/> }).forget();
}

/// Mounts the impact explorer of the dataset `page` into `el`.
#[wasm_bindgen]
pub fn mount_impact_explorer(el: web_sys::HtmlElement, base: String, page: String) {
    crate::components::set_static_base(&base);
    leptos::mount::mount_to(el, move || view! { <ImpactExplorer base page/> }).forget();
}

#[component]
fn StaticGraph(base: String, page: String) -> impl IntoView {
    let url = format!("{base}data/{page}.json");
    let data = LocalResource::new(move || {
        let url = url.clone();
        async move { fetch_json::<GraphView>(&url).await }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the graph…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(v) => view! { <GraphPanel view=v action="" offline=true/> }.into_any(),
                    Err(e) => view! { <p class="error-box">{e}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Loads the records of every asset downstream of `root`, shard by shard.
async fn downstream_records(base: &str, root: &str) -> Result<Vec<GraphRecord>, String> {
    let mut shards: HashMap<String, HashMap<String, GraphRecord>> = HashMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::from([root.to_string()]);
    let mut frontier = vec![root.to_string()];
    let mut out = Vec::new();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for id in frontier {
            let page = page_name(&id);
            let shard = graph_shard(&page).to_string();
            if !shards.contains_key(&shard) {
                let loaded = fetch_json(&format!("{base}g/{shard}.json")).await?;
                shards.insert(shard.clone(), loaded);
            }
            let Some(r) = shards[&shard].get(&page).cloned() else {
                continue;
            };
            for e in &r.out {
                if seen.insert(e.to.clone()) {
                    next.push(e.to.clone());
                }
            }
            out.push(r);
        }
        frontier = next;
    }
    Ok(out)
}

async fn run_impact(
    base: String,
    root: String,
    change: SchemaChange,
) -> Result<ImpactReport, String> {
    let records = downstream_records(&base, &root).await?;
    let assets: Vec<domain::Asset> = records.iter().map(GraphRecord::to_asset).collect();
    let edges: Vec<domain::Edge> = records.iter().flat_map(GraphRecord::edges).collect();
    analyze(&root, &[change], &assets, &edges).map_err(|e| e.to_string())
}

#[component]
fn ImpactExplorer(base: String, page: String) -> impl IntoView {
    let shard = graph_shard(&page).to_string();
    let url = format!("{base}g/{shard}.json");
    let record = LocalResource::new(move || {
        let (url, page) = (url.clone(), page.clone());
        async move {
            let mut all: HashMap<String, GraphRecord> = fetch_json(&url).await?;
            all.remove(&page)
                .ok_or_else(|| "this asset is not in the exported graph".to_string())
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let base = base.clone();
                Suspend::new(async move {
                    match record.await {
                        Ok(r) => view! { <Explorer base record=r/> }.into_any(),
                        Err(e) => view! { <p class="error-box">{e}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn Explorer(base: String, record: GraphRecord) -> impl IntoView {
    let columns: Vec<String> = record.schema.iter().map(|f| f.name.clone()).collect();
    let column = RwSignal::new(columns.first().cloned().unwrap_or_default());
    let op = RwSignal::new("drop".to_string());
    let arg = RwSignal::new(String::new());
    let root = record.id.clone();
    let schema = record.schema.clone();
    let run = Action::new_local(move |_: &()| {
        let (base, root) = (base.clone(), root.clone());
        let col = column.get_untracked();
        let nullable = schema.iter().find(|f| f.name == col).map(|f| !f.nullable);
        let a = arg.get_untracked().trim().to_string();
        let mut change = SchemaChange {
            op: ChangeOp::Drop,
            column: col,
            new_name: None,
            data_type: None,
            nullable: None,
        };
        match op.get_untracked().as_str() {
            "rename" => {
                change.op = ChangeOp::Rename;
                change.new_name = Some(a);
            }
            "retype" => {
                change.op = ChangeOp::Retype;
                change.data_type = Some(a);
            }
            "nullability" => {
                change.op = ChangeOp::Nullability;
                change.nullable = nullable;
            }
            _ => {}
        }
        run_impact(base, root, change)
    });
    if columns.is_empty() {
        return view! { <p class="empty">"This dataset has no columns to change."</p> }.into_any();
    }
    view! {
        <form class="inline-form" data-testid="explorer-form" on:submit=move |ev| { ev.prevent_default(); run.dispatch(()); }>
            <label>"Column "
                <select data-testid="explorer-column" prop:value=move || column.get() on:change=move |ev| column.set(event_target_value(&ev))>
                    {columns.iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                </select>
            </label>
            <select data-testid="explorer-op" aria-label="Change" prop:value=move || op.get() on:change=move |ev| op.set(event_target_value(&ev))>
                <option value="drop">"drop"</option>
                <option value="rename">"rename to"</option>
                <option value="retype">"retype to"</option>
                <option value="nullability">"flip nullability"</option>
            </select>
            <Show when=move || matches!(op.get().as_str(), "rename" | "retype")>
                <input type="text" aria-label="New name or type" prop:value=move || arg.get() on:input=move |ev| arg.set(event_target_value(&ev))/>
            </Show>
            <button type="submit" class="primary" data-testid="explorer-run">"Show impact"</button>
        </form>
        {move || run.value().get().map(|r| match r {
            Ok(report) => view! { <ImpactView report=report/> }.into_any(),
            Err(e) => view! { <p class="error-box" role="alert">{e}</p> }.into_any(),
        })}
    }
    .into_any()
}
