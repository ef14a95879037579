//! Content-Security-Policy: the second line of defence behind escaping.
//!
//! Pages rendered by Leptos get a policy that lets scripts run only from
//! this site or with the page's own nonce (a fresh one per response, which
//! Leptos puts on its hydration scripts), so markup injected into a page
//! cannot run script even where escaping failed. Every other response
//! (JSON, reports, downloads, static files) gets a policy that runs no
//! script at all.

use axum::extract::Request;
use axum::http::header::{HeaderValue, CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of responses that are not app pages: reports (inline CSS and
/// SVG), JSON, CSV and the compiled site's files.
pub const STRICT: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The policy of an app page whose inline scripts carry `nonce`.
/// `'wasm-unsafe-eval'` lets the page compile the app's WebAssembly; styles
/// stay open to inline `style` attributes, which run no code.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Called in the Leptos context of every rendered page: sets the page's
/// policy with the nonce Leptos generated for this response.
pub fn provide_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(CONTENT_SECURITY_POLICY, v);
    }
}

/// A layer that gives every response without a policy the strict one, and
/// stops browsers from sniffing a download into HTML.
pub async fn default_policy(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(STRICT));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}
