//! Server functions: the UI's view of the catalog. Each takes the
//! `Catalog` from context, calls it and returns a `domain` wire type;
//! database details are logged on the server, never sent to the browser.

use domain::query::{AssetDetail, GraphDelta, GraphView, HubItem, SearchResult};
use leptos::prelude::*;

pub mod access;
pub mod change_requests;
pub mod scaling;

/// Searches the catalog. The argument is the page's URL query string, so
/// the page, its links and this call agree on one encoding.
#[server(prefix = "/rpc", endpoint = "search")]
pub async fn search_assets(query: String) -> Result<SearchResult, ServerFnError> {
    use domain::query::{parse_query_string, SearchQuery};
    let q = SearchQuery::from_pairs(parse_query_string(&query))
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog.search(&q).await.map_err(server::public)
}

/// One asset alone, without its lists.
#[server(prefix = "/rpc", endpoint = "asset_record")]
pub async fn load_asset_record(id: String) -> Result<domain::Asset, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog.get_asset(&id).await.map_err(server::public)
}

/// One asset's page. `more` and `offset` (the page's query parameters of
/// those names) say which list is paged past its first window.
#[server(prefix = "/rpc", endpoint = "asset")]
pub async fn load_asset(
    id: String,
    more: String,
    offset: String,
) -> Result<AssetDetail, ServerFnError> {
    let window = domain::page::DetailWindow::parse(&more, &offset)
        .map_err(|e| server::public(catalog::CatalogError::from(e)))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .asset_detail(&id, window)
        .await
        .map_err(server::public)
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use catalog::CatalogError;
    use domain::auth::{Action, Principal};
    use leptos::prelude::{use_context, ServerFnError};

    /// Sets the HTTP status of the answer a server function is giving.
    fn status(code: http::StatusCode) {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(code);
        }
    }

    /// The caller, as the server's authentication middleware found them.
    ///
    /// Call it before the first `.await`. While a page renders on the
    /// server, a resource whose view was superseded keeps running after its
    /// owner is gone, and from then on finds no context: it would answer for
    /// an anonymous caller, and the browser, given that answer, would
    /// hydrate a page that differs from the HTML it received.
    pub fn caller() -> Principal {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<Principal>().cloned())
            .unwrap_or_else(Principal::anonymous)
    }

    /// The caller, if they may take `action` (any signed-in user for
    /// `None`); otherwise an error with status 401 or 403.
    pub fn require(action: Option<Action>) -> Result<Principal, ServerFnError> {
        let who = caller();
        if who.is_anonymous() {
            status(http::StatusCode::UNAUTHORIZED);
            return Err(ServerFnError::new("sign in first"));
        }
        if let Some(a) = action {
            if !who.may(a, false) {
                status(http::StatusCode::FORBIDDEN);
                return Err(ServerFnError::new(format!(
                    "{} may not {}",
                    who.user,
                    a.describe()
                )));
            }
        }
        Ok(who)
    }

    /// A refusal with its HTTP status (400 for bad input, 429, 503…) and
    /// the message the user sees; a server function's error is otherwise a
    /// 500.
    pub fn refused(code: http::StatusCode, message: impl std::fmt::Display) -> ServerFnError {
        status(code);
        ServerFnError::new(message.to_string())
    }

    /// The message a user may see; internal failures are logged instead.
    pub fn public(e: CatalogError) -> ServerFnError {
        match e {
            CatalogError::Forbidden(_) => {
                status(http::StatusCode::FORBIDDEN);
                ServerFnError::new(e.to_string())
            }
            CatalogError::Invalid(_)
            | CatalogError::NotFound(_)
            | CatalogError::Conflict(_)
            | CatalogError::Refused(_) => {
                status(match e {
                    CatalogError::Invalid(_) => http::StatusCode::BAD_REQUEST,
                    CatalogError::NotFound(_) => http::StatusCode::NOT_FOUND,
                    _ => http::StatusCode::CONFLICT,
                });
                ServerFnError::new(e.to_string())
            }
            other => {
                tracing::error!(error = %other, "catalog failure in a server function");
                ServerFnError::new("internal error; see the server log")
            }
        }
    }

    /// The moment a server function's argument `field` names (RFC 3339).
    pub fn moment(field: &str, v: &str) -> Result<domain::lineage::Millis, ServerFnError> {
        domain::time::to_millis(v).ok_or_else(|| {
            public(CatalogError::Invalid(domain::ValidationError::new(
                field,
                format!("{v:?} is not an RFC 3339 date-time"),
            )))
        })
    }

    /// This server's clock, in milliseconds since the Unix epoch.
    pub fn now() -> domain::lineage::Millis {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as domain::lineage::Millis)
    }
}

/// The text of a server function error, without the framework's prefix.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A server function's error as an alert box.
pub fn error_box(e: &ServerFnError) -> AnyView {
    view! { <p class="error-box" role="alert">{error_text(e)}</p> }.into_any()
}

/// The lineage graph around one asset, `up` and `down` hops each way.
#[server(prefix = "/rpc", endpoint = "graph")]
pub async fn lineage_graph(id: String, up: u32, down: u32) -> Result<GraphView, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .graph_window(&id, up.min(MAX_DEPTH), down.min(MAX_DEPTH), GRAPH_BUDGET)
        .map_err(server::public)
}

/// [`lineage_graph`] as the graph was at `as_of` (RFC 3339): the edges
/// valid then, ended ones included.
#[server(prefix = "/rpc", endpoint = "graph_as_of")]
pub async fn lineage_graph_as_of(
    id: String,
    up: u32,
    down: u32,
    as_of: String,
) -> Result<GraphView, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    let at = server::moment("as_of", &as_of)?;
    catalog
        .graph_as_of(
            &id,
            up.min(MAX_DEPTH),
            down.min(MAX_DEPTH),
            GRAPH_BUDGET,
            at,
        )
        .map_err(server::public)
}

/// [`lineage_graph_as_of`] at two moments at once, `as_of` (or now) and
/// `compare`: everything valid at either, with what appeared and what
/// ended between them marked.
#[server(prefix = "/rpc", endpoint = "graph_compare")]
pub async fn lineage_graph_compare(
    id: String,
    up: u32,
    down: u32,
    as_of: Option<String>,
    compare: String,
) -> Result<GraphView, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    let at = match as_of {
        Some(t) => server::moment("as_of", &t)?,
        None => server::now(),
    };
    let other = server::moment("compare", &compare)?;
    catalog
        .graph_compare(
            &id,
            up.min(MAX_DEPTH),
            down.min(MAX_DEPTH),
            GRAPH_BUDGET,
            (at, other),
        )
        .map_err(server::public)
}

/// The moments at which something began or ended within `depth` hops of
/// one asset, oldest first, as RFC 3339: the time slider's stops.
#[server(prefix = "/rpc", endpoint = "lineage_moments")]
pub async fn lineage_moments(id: String, depth: u32) -> Result<Vec<String>, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    Ok(catalog
        .lineage_moments(&id, depth.min(MAX_DEPTH))
        .map_err(server::public)?
        .into_iter()
        .map(domain::time::from_millis)
        .collect())
}

/// The outline of [`lineage_graph`] a page is rendered with: the first
/// assets at each distance and their counts. The browser then fetches the
/// whole window with `lineage_graph` to draw it.
#[server(prefix = "/rpc", endpoint = "graph_outline")]
pub async fn lineage_outline(id: String, up: u32, down: u32) -> Result<GraphView, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .graph_outline(&id, up.min(MAX_DEPTH), down.min(MAX_DEPTH))
        .map_err(server::public)
}

/// Expanding one node of a drawn graph: its hidden neighbours.
#[server(prefix = "/rpc", endpoint = "expand", input = leptos::server_fn::codec::Json)]
pub async fn expand_graph(id: String, shown: Vec<String>) -> Result<GraphDelta, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .graph_expand(&id, &shown, EXPAND_BUDGET)
        .map_err(server::public)
}

/// A shortest path between two assets, for highlighting in a drawn graph.
#[server(prefix = "/rpc", endpoint = "path", input = leptos::server_fn::codec::Json)]
pub async fn graph_path(
    from: String,
    to: String,
    shown: Vec<String>,
) -> Result<GraphDelta, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .graph_path(&from, &to, &shown)
        .map_err(server::public)
}

/// The assets most depended on, to start exploring from.
#[server(prefix = "/rpc", endpoint = "hubs")]
pub async fn top_hubs(limit: usize) -> Result<Vec<HubItem>, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    Ok(catalog.hubs(limit.min(100)))
}

/// The deepest the depth controls go.
pub const MAX_DEPTH: u32 = 8;
/// The most nodes a graph view starts with.
pub const GRAPH_BUDGET: usize = 2_000;
/// The most nodes one expansion adds.
pub const EXPAND_BUDGET: usize = 150;
