//! The mlgraph web application: routes, pages, components and the server
//! functions that feed them. Pages render on the server and hydrate in the
//! browser; every page is usable before the WebAssembly has loaded, since
//! navigation, search and filters are plain links and GET forms.
//!
//! Architecture invariant: under the `hydrate` feature this crate depends on
//! `domain` and Leptos only; `catalog` (and with it SurrealDB and tokio)
//! comes in only with `ssr`.

// Leptos view types nest deeply; the impact view needs more than the default.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
#[cfg(feature = "hydrate")]
mod cy;
pub mod graph;
#[cfg(feature = "hydrate")]
mod graph_live;
pub mod impact_view;
pub mod pages;
#[cfg(feature = "hydrate")]
mod static_site;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use crate::api::access::whoami;
use crate::pages::account::{AccountPage, UsersPage};
use crate::pages::asset::AssetPage;
use crate::pages::audit::AuditPage;
use crate::pages::change_request::{ChangeListPage, ChangeRequestView};
use crate::pages::graph::GraphPage;
use crate::pages::inbox::InboxPage;
use crate::pages::ingestion::IngestionPage;
use crate::pages::propose::ProposePage;
use crate::pages::search::SearchPage;
use crate::pages::signin::SignInPage;

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
        <Title formatter=page_title/>
        <Router>
            <header class="topbar">
                <A href="/" attr:class="brand">
                    <span class="brand-mark">"◆"</span>
                    " mlgraph"
                </A>
                <nav>
                    <A href="/">"Catalog"</A>
                    <A href="/graph">"Lineage"</A>
                    <A href="/changes">"Changes"</A>
                    <A href="/ingestion">"Ingestion"</A>
                    <a href="/api/v1/assets" rel="external">"API"</a>
                </nav>
                <form class="topsearch" method="get" action="/">
                    <input type="search" name="q" placeholder="Search datasets, features, models…" aria-label="Search the catalog"/>
                </form>
                <UserMenu/>
            </header>
            <main>
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=SearchPage ssr=SsrMode::Async/>
                    <Route path=path!("/asset") view=AssetPage ssr=SsrMode::Async/>
                    <Route path=path!("/graph") view=GraphPage ssr=SsrMode::Async/>
                    <Route path=path!("/propose") view=ProposePage ssr=SsrMode::Async/>
                    <Route path=path!("/change") view=ChangeRequestView ssr=SsrMode::Async/>
                    <Route path=path!("/changes") view=ChangeListPage ssr=SsrMode::Async/>
                    <Route path=path!("/inbox") view=InboxPage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/ingestion") view=IngestionPage ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=SignInPage/>
                    <Route path=path!("/account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/users") view=UsersPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// The text of the page's `<title>`. The server writes it into the HTML
/// as it is (leptos_meta does not escape it), so it is escaped here, on
/// the server only: in the browser the same text becomes `document.title`,
/// which is plain text. Every page's title goes through this formatter; a
/// page must not set a formatter of its own.
pub fn page_title(t: String) -> String {
    let t = if t.is_empty() {
        "mlgraph".to_string()
    } else {
        format!("{t} · mlgraph")
    };
    #[cfg(feature = "ssr")]
    let t = domain::svg::escape(&t);
    t
}

/// Who is signed in, with their inbox and a sign-out button, or a
/// sign-in link.
#[component]
fn UserMenu() -> impl IntoView {
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <div class="usermenu" data-testid="usermenu">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(p)) => {
                            let roles = p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                            let admin = p.has(domain::auth::Role::Admin);
                            view! {
                                <a href="/inbox" data-testid="inbox-link">"Inbox"</a>
                                {admin.then(|| view! { <a href="/audit">"Audit"</a><a href="/users">"Users"</a> })}
                                <a href="/account" data-testid="account-link">"Account"</a>
                                <span class="me" data-testid="me" title=roles.clone()>{p.display_name.clone()}<small>{format!(" · {roles}")}</small></span>
                                <form method="post" action="/signout"><button type="submit" class="link" data-testid="signout">"Sign out"</button></form>
                            }.into_any()
                        }
                        _ => view! { <a href="/signin" data-testid="signin-link">"Sign in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
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
