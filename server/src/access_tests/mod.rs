//! Access tests: the role × endpoint matrix, sign-in with cookies, the
//! origin check, rate limits, anonymous access turned off, the audit log
//! and webhook delivery, all over the real embedded SurrealDB.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::auth::Role;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::auth::AuthState;
use crate::router::build;
use crate::router_tests::{options, ADMIN};

mod flows;
mod gate;
mod matrix;
mod sessions;

/// Who a request is sent as.
#[derive(Clone, Copy)]
enum As<'a> {
    Anonymous,
    Bearer(&'a str),
    Cookie(&'a str),
}

async fn send(
    app: &axum::Router,
    who: As<'_>,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    // A string body is a form, the way server functions take arguments.
    if let Some(Value::String(form)) = &body {
        let mut all = headers.to_vec();
        all.push(("content-type", "application/x-www-form-urlencoded"));
        return send_raw(app, who, method, uri, form.clone(), &all).await;
    }
    let mut all = headers.to_vec();
    if body.is_some() {
        all.push(("content-type", "application/json"));
    }
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    send_raw(app, who, method, uri, text, &all).await
}

async fn send_raw(
    app: &axum::Router,
    who: As<'_>,
    method: &str,
    uri: &str,
    body: String,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    match who {
        As::Anonymous => {}
        As::Bearer(t) => req = req.header("authorization", format!("Bearer {t}")),
        As::Cookie(c) => req = req.header("cookie", format!("mlgraph_session={c}")),
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// One line of the matrix: method, path, body, the roles allowed, and
/// whether anonymous callers are.
type Row<'a> = (&'a str, String, Option<Value>, &'a [Role], bool);

/// Every (method, path template) the router serves: the REST routes as the
/// route modules declare them (`.route("/path", get(..).post(..))`, under
/// `/api/v1` but for router.rs's own) and every server function's endpoint
/// (`POST /rpc/NAME`). Read from the source the router is built from, so a
/// route added without a row in the matrix fails the test.
fn declared_endpoints() -> Vec<(String, String)> {
    let modules = [
        ("/api/v1", include_str!("../api.rs")),
        ("/api/v1", include_str!("../access.rs")),
        ("/api/v1", include_str!("../changes.rs")),
        ("/api/v1", include_str!("../report.rs")),
        ("/api/v1", include_str!("../openlineage.rs")),
        ("/api/v1", include_str!("../scaling.rs")),
        ("", include_str!("../router.rs")),
    ];
    let mut out = Vec::new();
    for (prefix, text) in modules {
        for (at, _) in text.match_indices(".route(") {
            let rest = &text[at + ".route(".len()..];
            let path = rest.split('"').nth(1).expect("a route's path is a literal");
            // The call runs to its matching parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            for method in ["get", "post", "put", "delete", "patch"] {
                let used = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && call.as_bytes()[i - 1] != b'_'
                });
                if used {
                    out.push((method.to_uppercase(), format!("{prefix}{path}")));
                }
            }
        }
    }
    for text in [
        include_str!("../../../app/src/api.rs"),
        include_str!("../../../app/src/api/access.rs"),
        include_str!("../../../app/src/api/change_requests.rs"),
        include_str!("../../../app/src/api/scaling.rs"),
    ] {
        for (at, _) in text.match_indices("#[server(") {
            let attr = &text[at..at + text[at..].find(']').unwrap()];
            let name = attr
                .split("endpoint = \"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .expect("every server function names its endpoint");
            out.push(("POST".into(), format!("/rpc/{name}")));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a concrete path (query ignored) fits a route template.
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
}

fn assert_every_route_has_a_row(matrix: &[Row]) {
    let declared = declared_endpoints();
    assert!(
        declared.len() > 60,
        "the route parser found only {declared:?}"
    );
    let missing: Vec<String> = declared
        .iter()
        .filter(|(m, t)| !matrix.iter().any(|(rm, p, ..)| rm == m && fits(t, p)))
        .map(|(m, t)| format!("{m} {t}"))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the role matrix (add one):\n{}",
        missing.join("\n")
    );
}

/// A demo catalog with one user (and token) per role, plus a proposer.
async fn demo_with_users() -> (catalog::Catalog, Vec<(Option<Role>, String)>) {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS)
        .await
        .unwrap();
    let mut tokens = vec![(None, String::new())];
    for role in Role::ALL.into_iter().chain([Role::Editor]) {
        let name = if tokens.iter().any(|(r, _)| *r == Some(role)) {
            "proposer".to_string()
        } else {
            role.as_str().to_string()
        };
        catalog
            .add_user(
                catalog::NewUser {
                    username: name.clone(),
                    display_name: String::new(),
                    password: "password-1".into(),
                    roles: vec![role],
                    teams: vec![],
                },
                "test",
            )
            .await
            .unwrap();
        let (t, _) = catalog.create_token(&name, "test", "test").await.unwrap();
        if name != "proposer" {
            tokens.push((Some(role), t));
        } else {
            tokens.push((None, t));
        }
    }
    (catalog, tokens)
}

/// The token of the user with role `r` among [`demo_with_users`]'s.
fn token_of(tokens: &[(Option<Role>, String)], r: Role) -> String {
    tokens
        .iter()
        .find(|(x, _)| *x == Some(r))
        .expect("a user per role")
        .1
        .clone()
}

/// A demo dataset and one of its columns that feeds a model.
fn dataset_and_column() -> (String, String) {
    let e = domain::demo::demo();
    for d in &e.edges {
        if d.kind != domain::EdgeKind::Derives {
            continue;
        }
        for m in &d.columns {
            if e.edges.iter().any(|t| {
                t.kind == domain::EdgeKind::Trains
                    && t.from == d.to
                    && t.columns.iter().any(|tm| tm.from == m.to)
            }) && d.from.starts_with("dataset:")
            {
                return (d.from.clone(), m.from.clone());
            }
        }
    }
    panic!("no column of the demo feeds a model");
}

fn enc(id: &str) -> String {
    domain::query::encode_component(id)
}
