//! The axum application: Leptos pages and server functions, the REST API
//! and the compiled site's static files, all sharing one `Catalog`.

use axum::extract::FromRef;
use axum::Router;
use catalog::Catalog;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use std::sync::Arc;

use crate::auth::AuthState;
use crate::config::Settings;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub catalog: Catalog,
    pub auth: Arc<AuthState>,
    pub ingestor: crate::openlineage::Ingestor,
}

/// Builds the whole application around an open catalog.
pub fn build(catalog: Catalog, leptos_options: LeptosOptions, auth: Arc<AuthState>) -> Router {
    // Leptos spawns rendering tasks on a global executor and silently drops
    // any task spawned before one is set; set it before anything renders.
    // A second call (in tests, one per app) is a harmless "already set".
    let _ = any_spawner::Executor::init_tokio();
    let state = AppState {
        leptos_options: leptos_options.clone(),
        catalog: catalog.clone(),
        auth,
        ingestor: crate::openlineage::Ingestor::start(catalog.clone()),
    };
    let routes = generate_route_list(app::App);
    let context = move || {
        provide_context(catalog.clone());
        crate::csp::provide_page_policy();
    };
    Router::new()
        .nest("/api/v1", crate::api::routes())
        .route(
            "/signout",
            axum::routing::post(crate::access::sign_out_form),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, app::shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authenticate,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::api::MAX_JSON_BYTES,
        ))
        .layer(axum::middleware::from_fn(crate::csp::default_policy))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    // A server's memory is its configured memory from the start (see
    // `alloc`); a short command does not pay for a memtable it won't fill.
    if settings.db.starts_with("surrealkv://") {
        crate::alloc::keep_resident((settings.store.memtable_mb << 20) as usize);
    }
    let catalog = crate::config::open(&crate::config::DbArgs {
        db: Some(settings.db.clone()),
        store_cache_mb: Some(settings.store.cache_mb),
        store_memtable_mb: Some(settings.store.memtable_mb),
    })
    .await?;
    if settings.demo
        && catalog
            .is_empty()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        let (a, e) =
            crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS).await?;
        tracing::info!("loaded the demo catalog: {a} assets, {e} edges");
        crate::seed::demo_llm_service(&catalog).await?;
    }
    crate::seed::demo_users(&catalog, settings.demo, settings.demo_password.as_deref()).await?;
    if let Some(url) = &settings.webhook_url {
        catalog.set_webhook_enabled(true);
        tokio::spawn(crate::webhook::deliver(
            catalog.clone(),
            url.clone(),
            settings.webhook_secret.clone(),
        ));
        tracing::info!(
            "change-request events go to the webhook {}",
            crate::webhook::redacted(url)
        );
    }
    catalog.set_ingest_log_days(settings.ingest_log_days);
    catalog.set_history_days(settings.history_days);
    tokio::spawn(housekeeping(catalog.clone(), settings.ingest_log_days));
    tokio::spawn(commit_search_index(catalog.clone()));
    // A SurrealDB server may be shared with other mlgraph servers: follow
    // their writes into this process's lineage graph.
    if settings.db.starts_with("ws://") || settings.db.starts_with("wss://") {
        tokio::spawn(follow_other_servers(catalog.clone()));
    } else {
        catalog.writes_alone();
    }
    let addr = settings.leptos.site_addr;
    catalog.set_token_days(settings.token_days);
    let auth = AuthState::configured(
        settings.anonymous,
        settings.admin_token.clone(),
        settings.secure_cookies,
        settings.trusted_proxies.clone(),
    );
    let app = build(catalog.clone(), settings.leptos, auth);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        "mlgraph listening on http://{addr} (database {})",
        settings.db
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stopped())
    .await?;
    // No request is in flight any more: commit the search index and keep
    // the lineage graph's image for a fast next start.
    if let Err(e) = catalog.flush_search() {
        tracing::warn!("could not commit the search index: {e}");
    }
    match catalog.save_lineage_image().await {
        Ok(()) => tracing::info!("saved the lineage image"),
        Err(e) => tracing::warn!("could not save the lineage image: {e}"),
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (how service managers and containers stop
/// a process), so either way the server drains and saves its lineage image.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// At start and hourly: trims the ingestion log to its last `days` days
/// (0 keeps it all) and drops sign-in counters whose window is over.
async fn housekeeping(catalog: catalog::Catalog, days: u32) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        if days > 0 {
            match catalog.prune_ingest_log(days).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("pruned {n} ingestion log entries older than {days} days"),
                Err(e) => tracing::warn!(error = %e, "pruning the ingestion log"),
            }
        }
        match catalog.prune_history().await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!("forgot {n} ended edges and deleted assets past the history kept")
            }
            Err(e) => tracing::warn!(error = %e, "pruning the history"),
        }
        crate::auth::prune_sign_in_limits(&catalog).await;
    }
}

/// Every two seconds: commits what the search index was handed since its
/// last commit (searches commit it too), so that after a crash the index
/// on disk is rarely behind the store and the next start need not rebuild.
async fn commit_search_index(catalog: catalog::Catalog) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        every.tick().await;
        let c = catalog.clone();
        match tokio::task::spawn_blocking(move || c.flush_search()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "committing the search index"),
            Err(e) => tracing::warn!(error = %e, "committing the search index"),
        }
    }
}

/// Every second: rebuilds the lineage graph and the search index if
/// another process wrote to the shared store (see
/// `catalog::Catalog::sync_graph`), so another server's write shows here
/// within about a second plus the rebuild. A check is one read of one
/// record.
async fn follow_other_servers(catalog: catalog::Catalog) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        every.tick().await;
        if let Err(e) = catalog.sync_graph().await {
            tracing::warn!(error = %e, "following other servers' writes");
        }
    }
}
