//! Server functions: the UI's view of the catalog. Each takes the
//! `Catalog` from context, calls it and returns a `domain` wire type;
//! database details are logged on the server, never sent to the browser.

use domain::query::{AssetDetail, SearchResult};
use leptos::prelude::*;

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

/// One asset's page.
#[server(prefix = "/rpc", endpoint = "asset")]
pub async fn load_asset(id: String) -> Result<AssetDetail, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog.asset_detail(&id).await.map_err(server::public)
}

#[cfg(feature = "ssr")]
mod server {
    use catalog::CatalogError;
    use leptos::prelude::ServerFnError;

    /// The message a user may see; internal failures are logged instead.
    pub fn public(e: CatalogError) -> ServerFnError {
        match e {
            CatalogError::Invalid(_) | CatalogError::NotFound(_) | CatalogError::Conflict(_) => {
                ServerFnError::new(e.to_string())
            }
            other => {
                tracing::error!(error = %other, "catalog failure in a server function");
                ServerFnError::new("internal error; see the server log")
            }
        }
    }
}

/// The text of a server function error, without the framework's prefix.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}
