//! The mlgraph web application: routes, pages, components and the server
//! functions that feed them. Pages render on the server and hydrate in the
//! browser; every page is usable before the WebAssembly has loaded, since
//! navigation, search and filters are plain links and GET forms.
//!
//! Architecture invariant: under the `hydrate` feature this crate depends on
//! `domain` and Leptos only; `catalog` (and with it SurrealDB and tokio)
//! comes in only with `ssr`.

pub mod api;
pub mod components;
#[cfg(feature = "hydrate")]
mod cy;
pub mod graph;
#[cfg(feature = "hydrate")]
mod graph_live;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use crate::pages::asset::AssetPage;
use crate::pages::graph::GraphPage;
use crate::pages::search::SearchPage;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // Cytoscape.js and its layered layout, from npm (scripts/setup.sh).
                <script defer src="/vendor/cytoscape.min.js"></script>
                <script defer src="/vendor/cytoscape-dagre.min.js"></script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/mlgraph.css"/>
        <Title formatter=|t: String| if t.is_empty() { "mlgraph".to_string() } else { format!("{t} · mlgraph") }/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark">"◆"</span>
                    " mlgraph"
                </A>
                <nav>
                    <A href="/">"Catalog"</A>
                    <A href="/graph">"Lineage"</A>
                    <a href="/api/v1/assets" rel="external">"API"</a>
                </nav>
                <form class="topsearch" method="get" action="/">
                    <input type="search" name="q" placeholder="Search datasets, features, models…" aria-label="Search the catalog"/>
                </form>
            </header>
            <main>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/asset") view=AssetPage ssr=SsrMode::Async/>
                    <Route path=path!("/graph") view=GraphPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="empty">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the catalog"</a></p>
        </section>
    }
}

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
