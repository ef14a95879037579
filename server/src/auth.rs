//! Who is calling, and whether they may: the middleware that turns a
//! session cookie or bearer token into a `Principal` for every request,
//! refuses state-changing requests from other origins, keeps anonymous
//! callers out when the configuration says so, and rate-limits sign-ins.
//! Handlers and server functions then ask the principal about each action.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::auth::{Action, Principal, Role, Throttle, Via};
use serde_json::json;

use crate::router::AppState;

/// The cookie that carries a session secret.
pub const SESSION_COOKIE: &str = "mlgraph_session";

/// Sign-in throttles. A user name gets 5 free failures in a row, then waits
/// 5 s, 10 s, 20 s … up to 2 minutes between attempts; a client address
/// gets 20 free failures (over every name it tries) on the same schedule.
/// Neither ever locks anyone out for good, and a success clears only the
/// user's key. A key quiet for 15 minutes starts afresh.
pub const USER_THROTTLE: Throttle = Throttle {
    free: 5,
    base_s: 5,
    cap_s: 120,
};
pub const ADDRESS_THROTTLE: Throttle = Throttle {
    free: 20,
    base_s: 5,
    cap_s: 120,
};
const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The throttle keys of a sign-in as `username` from `addr`.
pub fn sign_in_keys(username: &str, addr: Option<std::net::IpAddr>) -> Vec<(String, Throttle)> {
    let mut keys = vec![(format!("user:{}", username.to_lowercase()), USER_THROTTLE)];
    if let Some(ip) = addr {
        keys.push((format!("ip:{ip}"), ADDRESS_THROTTLE));
    }
    keys
}

/// The security settings the middleware needs, shared by every request.
pub struct AuthState {
    /// Whether callers who have not signed in may read.
    pub anonymous_reads: bool,
    /// `MLGRAPH_ADMIN_TOKEN`: a bearer token that acts as an admin.
    pub admin_token: Option<String>,
    /// `MLGRAPH_SECURE_COOKIES`: whether the session cookie is `Secure`.
    pub secure_cookies: bool,
    /// `MLGRAPH_TRUSTED_PROXIES`: peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl AuthState {
    pub fn new(anonymous_reads: bool, admin_token: Option<String>) -> Arc<Self> {
        Self::configured(anonymous_reads, admin_token, false, Vec::new())
    }

    pub fn configured(
        anonymous_reads: bool,
        admin_token: Option<String>,
        secure_cookies: bool,
        trusted_proxies: Vec<std::net::IpAddr>,
    ) -> Arc<Self> {
        Arc::new(AuthState {
            anonymous_reads,
            admin_token: admin_token.filter(|t| !t.is_empty()),
            secure_cookies,
            trusted_proxies,
        })
    }

    /// The client's address: the TCP peer, or, when the peer is a trusted
    /// proxy, the last address in `X-Forwarded-For` that is not one (each
    /// proxy appends the address it received from, so what a client wrote
    /// itself comes earlier and is never believed).
    pub fn client_ip(
        &self,
        peer: Option<std::net::IpAddr>,
        headers: &axum::http::HeaderMap,
    ) -> Option<std::net::IpAddr> {
        let peer = peer?;
        if !self.trusted_proxies.contains(&peer) {
            return Some(peer);
        }
        let hops: Vec<std::net::IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        Some(
            hops.into_iter()
                .rev()
                .find(|a| !self.trusted_proxies.contains(a))
                .unwrap_or(peer),
        )
    }
}

/// Starts a sign-in attempt: refused with the time to wait if a throttle
/// of `keys` holds it back, otherwise counted at once (before the password
/// is checked, so parallel guesses are each counted). The counts are in
/// the store, shared by every server on the same database.
pub async fn begin_sign_in(
    catalog: &catalog::Catalog,
    keys: &[(String, Throttle)],
) -> Result<Result<(), Duration>, crate::api::ApiError> {
    Ok(
        match catalog
            .begin_sign_in(keys, SIGN_IN_WINDOW.as_secs())
            .await?
        {
            Some(wait) => Err(Duration::from_secs(wait)),
            None => Ok(()),
        },
    )
}

/// A sign-in succeeded: the user's key starts afresh. The address's key
/// does not, so an account of one's own cannot reset the count of guesses
/// at other users' passwords.
pub async fn sign_in_succeeded(catalog: &catalog::Catalog, keys: &[(String, Throttle)]) {
    let users: Vec<String> = keys
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| k.starts_with("user:"))
        .collect();
    if let Err(e) = catalog.clear_sign_in(&users).await {
        tracing::warn!(error = %e, "clearing sign-in counters");
    }
}

/// Drops the sign-in counters whose window is over.
pub async fn prune_sign_in_limits(catalog: &catalog::Catalog) {
    if let Err(e) = catalog.prune_sign_in_limits(SIGN_IN_WINDOW.as_secs()).await {
        tracing::warn!(error = %e, "pruning sign-in counters");
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of one cookie of a request.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A JSON error answer, the same shape as the REST API's.
pub fn refuse(status: StatusCode, field: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "error": format!("{field}: {message}"),
            "field": field,
            "message": message,
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

/// Whether a state-changing request comes from a page of another site.
/// Browsers send `Origin` on such requests and `Sec-Fetch-Site` on all;
/// clients that send neither (curl, the OpenLineage client) are not
/// browsers, and cookies, the thing a forged request would abuse, are
/// SameSite=Strict anyway.
fn cross_origin(parts: &axum::http::HeaderMap) -> bool {
    if let Some(site) = parts.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site == "cross-site" || site == "same-site" {
            return true;
        }
    }
    let Some(origin) = parts.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = parts
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin)
        .trim_end_matches('/');
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// Paths an anonymous caller may reach even when anonymous reads are off:
/// signing in, and the files the sign-in page needs.
fn always_open(path: &str) -> bool {
    path == "/signin"
        || path == "/api/v1/session"
        || path == "/rpc/sign_in"
        || path.starts_with("/pkg/")
        || path.starts_with("/vendor/")
        || path == "/favicon.ico"
}

/// Resolves the caller of a request and applies the origin and anonymous
/// rules; the principal is left in the request's extensions.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method && cross_origin(req.headers()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "origin",
            "requests from another site may not change anything",
        );
    }
    let auth = &state.auth;
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let principal = if let Some(token) = bearer {
        match resolve_token(&state, &token).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "Authorization",
                    "the bearer token is not valid",
                )
            }
            Err(e) => return e,
        }
    } else if let Some(secret) = cookie(req.headers(), SESSION_COOKIE) {
        match state.catalog.session_user(&secret).await {
            Ok(Some(u)) => u.principal(Via::Session),
            Ok(None) => Principal::anonymous(),
            Err(e) => {
                tracing::error!(error = %e, "looking up a session");
                Principal::anonymous()
            }
        }
    } else {
        Principal::anonymous()
    };
    let path = req.uri().path().to_string();
    if principal.is_anonymous() && !auth.anonymous_reads && !always_open(&path) {
        if path.starts_with("/api/") || path.starts_with("/rpc/") {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "session",
                "sign in first: anonymous access is turned off",
            );
        }
        let back = domain::query::encode_component(
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/"),
        );
        return Redirect::to(&format!("/signin?next={back}")).into_response();
    }
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = auth.client_ip(peer, req.headers());
    let key = if principal.is_anonymous() {
        ip.map_or_else(|| "ip:unknown".to_string(), |ip| format!("ip:{ip}"))
    } else {
        format!("user:{}", principal.user)
    };
    req.extensions_mut().insert(ClientAddr(ip));
    req.extensions_mut().insert(domain::auth::ClientKey(key));
    req.extensions_mut().insert(principal);
    next.run(req).await
}

async fn resolve_token(state: &AppState, token: &str) -> Result<Option<Principal>, Response> {
    if let Some(admin) = &state.auth.admin_token {
        if same_secret(token, admin) {
            return Ok(Some(Principal {
                user: "admin-token".into(),
                display_name: "MLGRAPH_ADMIN_TOKEN".into(),
                roles: vec![Role::Admin],
                teams: vec![],
                via: Via::Environment,
            }));
        }
    }
    match state.catalog.token_user(token).await {
        Ok(u) => Ok(u.map(|u| u.principal(Via::Token))),
        Err(e) => {
            tracing::error!(error = %e, "looking up a token");
            Err(refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "",
                "internal error; see the server log",
            ))
        }
    }
}

/// A route layer that refuses a caller who may not take the action before
/// the handler reads the body, so that an anonymous upload of hundreds of
/// megabytes is answered with 401 at once instead of being buffered first:
/// `.layer(from_fn_with_state(Action::WriteCatalog, auth::before_body))`.
pub async fn before_body(State(action): State<Action>, req: Request, next: Next) -> Response {
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(Principal::anonymous);
    if let Err(e) = Caller(principal).require(action) {
        return e.into_response();
    }
    next.run(req).await
}

/// The client's address as [`AuthState::client_ip`] found it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::IpAddr>);

/// Whom the request counts against for per-caller limits.
pub struct ClientKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientKey(
            parts
                .extensions
                .get::<domain::auth::ClientKey>()
                .map_or_else(|| "ip:unknown".to_string(), |k| k.0.clone()),
        ))
    }
}

/// The caller, for handlers: `Caller(principal)`.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or_else(Principal::anonymous),
        ))
    }
}

impl Caller {
    /// Refuses the request unless the caller may take `action`: 401 for
    /// anonymous callers, 403 for signed-in ones.
    pub fn require(&self, action: Action) -> Result<&Principal, crate::api::ApiError> {
        if self.0.may(action, true) {
            return Ok(&self.0);
        }
        Err(self.denied(action))
    }

    /// Refuses anonymous callers.
    pub fn signed_in(&self) -> Result<&Principal, crate::api::ApiError> {
        if self.0.is_anonymous() {
            return Err(crate::api::ApiError::status(
                StatusCode::UNAUTHORIZED,
                "session",
                "sign in first".into(),
            ));
        }
        Ok(&self.0)
    }

    fn denied(&self, action: Action) -> crate::api::ApiError {
        if self.0.is_anonymous() {
            crate::api::ApiError::status(
                StatusCode::UNAUTHORIZED,
                "session",
                format!("sign in to {}", action.describe()),
            )
        } else {
            crate::api::ApiError::status(
                StatusCode::FORBIDDEN,
                "role",
                format!(
                    "{} may not {}; ask an admin for a role that allows it",
                    self.0.user,
                    action.describe()
                ),
            )
        }
    }
}

/// The `Set-Cookie` value that starts a session; `Secure` when
/// `MLGRAPH_SECURE_COOKIES` says so (a client-sent header such as
/// `X-Forwarded-Proto` is never trusted for it).
pub fn session_cookie(secret: &str, secure: bool) -> String {
    let https = secure;
    format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        catalog::SESSION_HOURS * 3600,
        if https { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends one.
pub fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_with_the_host() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        assert!(!cross_origin(&h), "no Origin: not a browser form");
        h.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        assert!(!cross_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(cross_origin(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(cross_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_origin(&h));
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let mut h = axum::http::HeaderMap::new();
        // The client wrote the first address itself; the proxy appended
        // the one it saw.
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
        let direct = AuthState::new(true, None);
        assert_eq!(
            direct.client_ip(Some(ip("10.0.0.1")), &h),
            Some(ip("10.0.0.1"))
        );
        let proxied = AuthState::configured(true, None, false, vec![ip("10.0.0.1")]);
        assert_eq!(
            proxied.client_ip(Some(ip("10.0.0.1")), &h),
            Some(ip("203.0.113.9"))
        );
        // From anyone else, the header is ignored.
        assert_eq!(
            proxied.client_ip(Some(ip("10.0.0.2")), &h),
            Some(ip("10.0.0.2"))
        );
        // Without the header, the proxy is the client.
        let none = axum::http::HeaderMap::new();
        assert_eq!(
            proxied.client_ip(Some(ip("10.0.0.1")), &none),
            Some(ip("10.0.0.1"))
        );
    }

    #[test]
    fn throttles_double_from_the_base_up_to_the_cap() {
        let t = USER_THROTTLE;
        let delays: Vec<u64> = (0..12).map(|f| t.delay_s(f)).collect();
        assert_eq!(delays, [0, 0, 0, 0, 0, 5, 10, 20, 40, 80, 120, 120]);
        assert_eq!(t.delay_s(u64::MAX), 120);
    }

    #[tokio::test]
    async fn sign_in_failures_slow_down_but_never_lock_others_out() {
        let c = catalog::Catalog::connect("mem://").await.unwrap();
        let ip = |last: u8| Some(std::net::IpAddr::from([10, 0, 0, last]));
        let ana = sign_in_keys("ana", ip(7));
        for _ in 0..USER_THROTTLE.free {
            assert!(begin_sign_in(&c, &ana).await.unwrap().is_ok());
        }
        let wait = begin_sign_in(&c, &ana).await.unwrap().unwrap_err();
        assert!(
            wait.as_secs() >= 1 && wait.as_secs() <= USER_THROTTLE.base_s,
            "{wait:?}"
        );
        // Another name from the same address is not held back: the address
        // has its own, larger allowance.
        let ben = sign_in_keys("ben", ip(7));
        assert!(begin_sign_in(&c, &ben).await.unwrap().is_ok());
        sign_in_succeeded(&c, &ben).await;
        // Refused attempts are not counted: ana's wait does not grow.
        for _ in 0..10 {
            let again = begin_sign_in(&c, &ana).await.unwrap().unwrap_err();
            assert!(again <= wait, "{again:?} > {wait:?}");
        }
        // A success clears the user's key, not the address's: guesses at
        // many names from one address are still throttled.
        sign_in_succeeded(&c, &ana).await;
        assert!(begin_sign_in(&c, &ana).await.unwrap().is_ok());
        let mut refused = false;
        for n in 0..ADDRESS_THROTTLE.free + 2 {
            let keys = sign_in_keys(&format!("guess{n}"), ip(9));
            if begin_sign_in(&c, &keys).await.unwrap().is_err() {
                refused = true;
                break;
            }
            // Each succeeds for its own user, which must not help.
            sign_in_succeeded(&c, &keys).await;
        }
        assert!(refused, "the address's throttle was reset by successes");
    }

    /// Parallel guesses are each counted: no more than the free ones get in.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_attempts_cannot_exceed_the_limit() {
        let c = catalog::Catalog::connect("mem://").await.unwrap();
        let keys = sign_in_keys("ana", None);
        let attempts: Vec<_> = (0..20)
            .map(|_| {
                let (c, keys) = (c.clone(), keys.clone());
                tokio::spawn(async move { begin_sign_in(&c, &keys).await.unwrap().is_ok() })
            })
            .collect();
        let mut admitted = 0;
        for a in attempts {
            admitted += usize::from(a.await.unwrap());
        }
        assert_eq!(admitted, USER_THROTTLE.free as usize);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; mlgraph_session=mls_abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("mls_abc"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
