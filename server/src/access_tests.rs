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
        ("/api/v1", include_str!("api.rs")),
        ("/api/v1", include_str!("access.rs")),
        ("/api/v1", include_str!("changes.rs")),
        ("/api/v1", include_str!("report.rs")),
        ("/api/v1", include_str!("openlineage.rs")),
        ("/api/v1", include_str!("scaling.rs")),
        ("", include_str!("router.rs")),
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
        include_str!("../../app/src/api.rs"),
        include_str!("../../app/src/api/access.rs"),
        include_str!("../../app/src/api/change_requests.rs"),
        include_str!("../../app/src/api/scaling.rs"),
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

#[tokio::test]
async fn every_role_gets_exactly_the_endpoints_it_should() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(
        catalog.clone(),
        options(),
        AuthState::new(true, Some(ADMIN.into())),
    );
    let proposer = &tokens.last().unwrap().1;
    let (dataset, column) = dataset_and_column();
    let change = json!({"dataset": dataset, "changes": [{"op": "drop", "column": column}]});
    // Two requests by someone else, so no role here is their proposer.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (s, _, text) = send(
            &app,
            As::Bearer(proposer),
            "POST",
            "/api/v1/change-requests",
            Some(change.clone()),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{text}");
        ids.push(
            serde_json::from_str::<Value>(&text).unwrap()["id"]
                .as_u64()
                .unwrap(),
        );
    }
    let (cr, cr2) = (ids[0], ids[1]);
    let service = domain::demo::demo()
        .assets
        .into_iter()
        .find(|a| a.kind == domain::AssetKind::Service)
        .unwrap()
        .id;
    let asset = json!({"kind": "dataset", "namespace": "matrix", "name": "t", "schema": []});
    let edge = json!({"from": "dataset:matrix:t", "to": "dataset:matrix:u", "kind": "derives"});
    use Role::*;
    let anyone: &[Role] = &[Viewer, Editor, Approver, Operator, Admin];
    // (method, path, body, roles allowed, whether anonymous callers are).
    let ds = enc(&dataset);
    let matrix: Vec<Row> = vec![
        // Reads, open to every caller (anonymous reads are on here).
        (
            "GET",
            format!(
                "/api/v1/column-lineage?nodeId={}",
                enc(&format!(
                    "datasetField:{}:{column}",
                    dataset.trim_start_matches("dataset:")
                ))
            ),
            None,
            anyone,
            true,
        ),
        ("GET", "/api/v1/edges/0123".into(), None, anyone, true),
        ("GET", "/api/v1/hubs".into(), None, anyone, true),
        ("GET", "/api/v1/jobs/runs/none".into(), None, anyone, true),
        (
            "GET",
            format!("/api/v1/lineage?nodeId={ds}&depth=2"),
            None,
            anyone,
            true,
        ),
        ("GET", "/api/v1/namespaces".into(), None, anyone, true),
        (
            "GET",
            "/api/v1/namespaces/demo/datasets".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/datasets/none".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/jobs".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/jobs/none".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/jobs/none/runs".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/paths?from={ds}&to={ds}"),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/refresh-plan/{ds}"),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/services/{}/manifest", enc(&service)),
            None,
            anyone,
            true,
        ),
        // Signing in is for everyone (a malformed attempt: 400, not counted).
        (
            "POST",
            "/api/v1/session".into(),
            Some(json!({"username": "", "password": ""})),
            anyone,
            true,
        ),
        ("POST", "/signout".into(), None, anyone, true),
        (
            "POST",
            "/rpc/asset".into(),
            Some(json!(format!("id={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/change_requests".into(),
            Some(json!("state=")),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/expand".into(),
            Some(json!(format!("id={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/graph".into(),
            Some(json!(format!("id={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/hubs".into(),
            Some(json!("limit=5")),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/ingestion".into(),
            Some(json!("source=")),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/path".into(),
            Some(json!(format!("from={ds}&to={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/runs".into(),
            Some(json!(format!("job={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/scaling".into(),
            Some(json!(format!("id={}", enc(&service)))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/search".into(),
            Some(json!("query=q%3Dwatch")),
            anyone,
            true,
        ),
        ("POST", "/rpc/whoami".into(), Some(json!("")), anyone, true),
        ("GET", "/api/v1/assets?q=watch".into(), None, anyone, true),
        (
            "GET",
            format!("/api/v1/assets/{}", enc(&dataset)),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/lineage/{}", enc(&dataset)),
            None,
            anyone,
            true,
        ),
        (
            "PUT",
            "/api/v1/assets/dataset:matrix:t".into(),
            Some(asset),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/edges".into(),
            Some(edge),
            &[Editor, Admin],
            false,
        ),
        (
            "DELETE",
            "/api/v1/edges/0123".into(),
            None,
            &[Editor, Admin],
            false,
        ),
        (
            "DELETE",
            "/api/v1/assets/dataset:matrix:gone".into(),
            None,
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/import".into(),
            None,
            &[Editor, Admin],
            false,
        ),
        ("GET", "/api/v1/export".into(), None, anyone, true),
        // Ingestion: an OpenLineage event and a dbt manifest (both
        // malformed, so an allowed caller gets a 400 and nothing changes).
        (
            "POST",
            "/api/v1/lineage".into(),
            Some(json!({"eventType": "START"})),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/import/dbt".into(),
            Some(json!({"metadata": {}})),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/simulate".into(),
            Some(
                json!({"service": service, "traffic": {"kind": "constant", "qps": 1000.0}, "duration_s": 5.0}),
            ),
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/assets/{}/report", enc(&dataset)),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/change-requests/{cr}/report"),
            None,
            anyone,
            true,
        ),
        ("DELETE", "/api/v1/session".into(), None, anyone, true),
        (
            "POST",
            "/api/v1/impact".into(),
            Some(change.clone()),
            anyone,
            true,
        ),
        (
            "POST",
            "/api/v1/change-requests".into(),
            Some(change.clone()),
            &[Editor, Admin],
            false,
        ),
        (
            "GET",
            "/api/v1/change-requests?state=open".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/change-requests/{cr}"),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/change-requests/{cr}/impact?format=csv"),
            None,
            anyone,
            true,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/comment"),
            Some(json!({"text": "hi"})),
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/recompute"),
            None,
            &[Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/approve"),
            None,
            &[Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr2}/reject"),
            None,
            &[Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/apply"),
            None,
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr2}/withdraw"),
            None,
            &[Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr2}/submit"),
            None,
            &[Admin],
            false,
        ),
        ("GET", "/api/v1/inbox".into(), None, anyone, false),
        ("GET", "/api/v1/notifications".into(), None, anyone, false),
        (
            "POST",
            "/api/v1/notifications/read".into(),
            None,
            anyone,
            false,
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "m"})),
            anyone,
            false,
        ),
        ("GET", "/api/v1/tokens".into(), None, anyone, false),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "m", "user": "proposer"})),
            &[Admin],
            false,
        ),
        (
            "DELETE",
            "/api/v1/tokens/mlt_000000".into(),
            None,
            anyone,
            false,
        ),
        (
            "DELETE",
            "/api/v1/tokens/mlt_000000?user=proposer".into(),
            None,
            &[Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/session/password".into(),
            Some(json!({"current_password": "not it at all", "new_password": "long enough"})),
            anyone,
            false,
        ),
        (
            "PATCH",
            "/api/v1/users/nobody".into(),
            Some(json!({"disabled": true})),
            &[Admin],
            false,
        ),
        ("GET", "/api/v1/users".into(), None, &[Admin], false),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"username": "x", "password": "short", "roles": ["viewer"]})),
            &[Admin],
            false,
        ),
        ("GET", "/api/v1/audit".into(), None, &[Admin], false),
        ("GET", "/api/v1/session".into(), None, anyone, true),
        (
            "GET",
            format!("/api/v1/services/{}/scaling", enc(&service)),
            None,
            anyone,
            true,
        ),
        (
            "PUT",
            format!("/api/v1/services/{}/scaling", enc(&service)),
            Some(json!({"policy": domain::scaling::ScalingPolicy::default()})),
            &[Operator, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/services/{}/metrics", enc(&service)),
            Some(json!({"concurrency": 3.0, "qps": 100.0, "p99_ms": 200.0, "pods": 2})),
            &[Operator, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/apply_scaling".into(),
            Some(
                json!({"id": service, "policy": domain::scaling::ScalingPolicy::default(), "version": 999, "note": ""}),
            ),
            &[Operator, Admin],
            false,
        ),
        // Server functions, which the pages call, check the same rules.
        (
            "POST",
            "/rpc/impact".into(),
            Some(change.clone()),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/propose".into(),
            Some(
                json!({"dataset": dataset, "title": "", "description": "", "changes": change["changes"], "draft": true}),
            ),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr}&step=comment&text=hi&version=999"))),
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr2}&step=approve&text=&version=999"))),
            &[Approver, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr2}&step=apply&text=&version=999"))),
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr2}&step=withdraw&text=&version=999"))),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request".into(),
            Some(json!(format!("id={cr}"))),
            anyone,
            true,
        ),
        ("POST", "/rpc/inbox".into(), Some(json!("")), anyone, false),
        (
            "POST",
            "/rpc/notifications".into(),
            Some(json!("")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/mark_read".into(),
            Some(json!("")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/audit".into(),
            Some(json!("actor=")),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/users".into(),
            Some(json!("")),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/add_user".into(),
            Some(json!(
                "username=x&display_name=&password=short&roles=viewer&teams="
            )),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_user".into(),
            Some(json!("username=nobody&roles=viewer&teams=&disabled=false")),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/my_tokens".into(),
            Some(json!("")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/create_my_token".into(),
            Some(json!("name=")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/revoke_my_token".into(),
            Some(json!("prefix=mlt_000000")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/rollback_scaling".into(),
            Some(json!(format!("id={}&to=1&version=999", enc(&service)))),
            &[Operator, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/preview_scaling".into(),
            Some(
                json!({"id": service, "proposed": domain::scaling::ScalingPolicy::default(), "scenario": "quarter", "duration_s": 5.0, "trace_csv": ""}),
            ),
            anyone,
            true,
        ),
    ];
    assert_every_route_has_a_row(&matrix);
    let mut wrong = Vec::new();
    for (method, path, body, roles, anonymous) in &matrix {
        for (role, token) in tokens.iter().take(6) {
            let who = match role {
                None => As::Anonymous,
                Some(_) => As::Bearer(token),
            };
            let (s, _, text) = send(&app, who, method, path, body.clone(), &[]).await;
            let allowed = match role {
                None => *anonymous,
                Some(r) => roles.contains(r),
            };
            let denied = s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN;
            let expected_status = match role {
                None => StatusCode::UNAUTHORIZED,
                Some(_) => StatusCode::FORBIDDEN,
            };
            if allowed == denied || (!allowed && s != expected_status) {
                let role = role.map_or("anonymous", |r| r.as_str());
                wrong.push(format!("{method} {path} as {role}: {s} {text}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_failures_are_rate_limited() {
    let (catalog, _) = demo_with_users().await;
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
    let (s, h, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let set = h.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let secret = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mlgraph_session=")
        .to_string();
    assert!(
        !set.contains("Secure"),
        "plain HTTP cannot keep a Secure cookie"
    );
    let (_, h, _) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[("x-forwarded-proto", "https")],
    )
    .await;
    let forged = h.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(
        !forged.contains("Secure"),
        "a client-sent X-Forwarded-Proto decides nothing: {forged}"
    );
    // MLGRAPH_SECURE_COOKIES=1 does.
    let behind_tls = build(
        catalog.clone(),
        options(),
        AuthState::configured(true, None, true, vec![]),
    );
    let (_, h, _) = send(
        &behind_tls,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[],
    )
    .await;
    let secure = h.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(secure.contains("; Secure"), "{secure}");
    let (_, _, me) = send(
        &app,
        As::Cookie(&secret),
        "GET",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["user"],
        "editor"
    );
    // The cookie lets the editor write.
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "PUT",
        "/api/v1/assets/dataset:cookie:t",
        Some(json!({"kind": "dataset", "namespace": "cookie", "name": "t"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let log = catalog
        .audit_log(Some("editor"), Some("dataset:cookie:t"), 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "the write is audited under the user's name");
    // Signing out ends the session.
    let (s, _, _) = send(
        &app,
        As::Cookie(&secret),
        "DELETE",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, me) = send(
        &app,
        As::Cookie(&secret),
        "GET",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["via"],
        "anonymous"
    );

    let bad = json!({"username": "viewer", "password": "wrong password"});
    for _ in 0..5 {
        let (s, _, text) = send(
            &app,
            As::Anonymous,
            "POST",
            "/api/v1/session",
            Some(bad.clone()),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(text.contains("\"field\":\"password\""), "{text}");
    }
    let right = json!({"username": "viewer", "password": "password-1"});
    let (s, h, _) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(right),
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(h.get("retry-after").is_some());
    let (s, _, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "viewer", "password": "x".repeat(20_000)})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    let (s, _, _) = send(
        &app,
        As::Bearer("mlt_forged"),
        "GET",
        "/api/v1/assets",
        None,
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a bad token is refused, not ignored"
    );
}

#[tokio::test]
async fn other_origins_cannot_change_anything() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog, options(), AuthState::new(true, None));
    let admin = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Admin))
        .unwrap()
        .1;
    let body = Some(json!({"kind": "dataset", "namespace": "o", "name": "t"}));
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PUT",
        "/api/v1/assets/dataset:o:t",
        body.clone(),
        &[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:3000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("\"field\":\"origin\""));
    let (s, _, _) = send(
        &app,
        As::Bearer(admin),
        "GET",
        "/api/v1/assets/dataset:o:t",
        None,
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "reads from anywhere are fine, and nothing was written"
    );
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PUT",
        "/api/v1/assets/dataset:o:t",
        body,
        &[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
}

#[tokio::test]
async fn anonymous_access_can_be_turned_off() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog, options(), AuthState::new(false, None));
    let (s, _, _) = send(&app, As::Anonymous, "GET", "/api/v1/assets", None, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, h, _) = send(&app, As::Anonymous, "GET", "/graph", None, &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(h.get("location").unwrap(), "/signin?next=%2Fgraph");
    let viewer = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Viewer))
        .unwrap()
        .1;
    let (s, _, _) = send(&app, As::Bearer(viewer), "GET", "/api/v1/assets", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "viewer", "password": "password-1"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "signing in stays open: {text}");
}

#[tokio::test]
async fn a_change_request_walks_through_the_api_and_reaches_the_webhook() {
    // A real HTTP receiver that fails its first delivery, to see a retry.
    let received = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<Value>::new()));
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hook = {
        let received = received.clone();
        let calls = calls.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let received = received.clone();
                let calls = calls.clone();
                async move {
                    // Each delivery is signed over its timestamp and body.
                    let header =
                        |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
                    let at: u64 = header("x-mlgraph-timestamp").parse().unwrap_or(0);
                    if header("x-mlgraph-signature")
                        != crate::webhook::signature("hook-secret", at, &body)
                        || header("x-mlgraph-delivery").is_empty()
                    {
                        return StatusCode::UNAUTHORIZED;
                    }
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    received
                        .lock()
                        .await
                        .push(serde_json::from_str(&body).unwrap());
                    StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let (catalog, tokens) = demo_with_users().await;
    catalog.set_webhook_enabled(true);
    tokio::spawn(crate::webhook::deliver(
        catalog.clone(),
        format!("http://{addr}/hook"),
        Some("hook-secret".into()),
    ));
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
    let token = |r: Role| {
        tokens
            .iter()
            .find(|(x, _)| *x == Some(r))
            .unwrap()
            .1
            .clone()
    };
    let (dataset, column) = dataset_and_column();
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        "/api/v1/impact?format=csv",
        Some(json!({"dataset": dataset, "changes": [{"op": "drop", "column": column}]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(text.starts_with("id,kind,name,hops,severity"), "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        "/api/v1/impact",
        Some(json!({"dataset": dataset, "changes": [{"op": "explode", "column": column}]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("changes[0].op"), "{text}");

    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        "/api/v1/change-requests",
        Some(json!({"dataset": dataset, "changes": [{"op": "drop", "column": column}]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let cr: Value = serde_json::from_str(&text).unwrap();
    let id = cr["id"].as_u64().unwrap();
    assert!(cr["approver_status"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["approved_by"].is_null()));
    let version = cr["version"].as_u64().unwrap().to_string();
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Approver)),
        "POST",
        &format!("/api/v1/change-requests/{id}/approve"),
        Some(json!({"text": "looks right"})),
        &[("if-match", &version)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    // The same version again is stale now.
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Approver)),
        "POST",
        &format!("/api/v1/change-requests/{id}/comment"),
        Some(json!({"text": "late"})),
        &[("if-match", &version)],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        &format!("/api/v1/change-requests/{id}/apply"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["state"],
        "applied"
    );

    // Three events (opened, approved, applied), the first after a retry.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if received.lock().await.len() >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook got {:?}",
            received.lock().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let got = received.lock().await;
    let mut types: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        vec![
            "change_request.applied",
            "change_request.approved",
            "change_request.opened"
        ]
    );
    assert!(
        calls.load(std::sync::atomic::Ordering::SeqCst) >= 4,
        "one failed attempt was retried"
    );
    assert_eq!(catalog.webhook_counts().await.unwrap(), (3, 0));
}

#[tokio::test]
async fn tokens_are_revoked_and_passwords_changed_over_the_api() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
    let admin = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Admin))
        .unwrap()
        .1;
    let editor = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Editor))
        .unwrap()
        .1;
    let json_of = |text: &str| serde_json::from_str::<Value>(text).unwrap();

    // A second token, listed by prefix and revoked by it: it stops at once.
    let (s, _, text) = send(
        &app,
        As::Bearer(editor),
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "laptop"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let created = json_of(&text);
    let (laptop, prefix) = (
        created["token"].as_str().unwrap().to_string(),
        created["prefix"].as_str().unwrap().to_string(),
    );
    let (s, _, text) = send(
        &app,
        As::Bearer(&laptop),
        "GET",
        "/api/v1/tokens",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(json_of(&text)["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["prefix"] == prefix.as_str()));
    let revoke = format!("/api/v1/tokens/{prefix}");
    let (s, _, text) = send(&app, As::Bearer(editor), "DELETE", &revoke, None, &[]).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{text}");
    let (s, _, _) = send(
        &app,
        As::Bearer(&laptop),
        "GET",
        "/api/v1/tokens",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked token is refused");
    let (s, _, text) = send(&app, As::Bearer(editor), "DELETE", &revoke, None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(editor),
        "DELETE",
        "/api/v1/tokens/nonsense",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json_of(&text)["field"], "prefix", "{text}");

    // A password change by cookie: the wrong current password is named,
    // the new one works, the old one does not, and the session stays.
    let (s, h, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let secret = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mlgraph_session=")
        .to_string();
    let origin = [
        ("origin", "http://127.0.0.1:3000"),
        ("host", "127.0.0.1:3000"),
    ];
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "POST",
        "/api/v1/session/password",
        Some(change("password-2", "password-3")),
        &origin,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json_of(&text)["field"], "current_password", "{text}");
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "POST",
        "/api/v1/session/password",
        Some(json!({"current_password": "password-1"})),
        &origin,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("new_password"), "{text}");
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "POST",
        "/api/v1/session/password",
        Some(change("password-1", "password-3")),
        &origin,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{text}");
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "GET",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&text)["user"], "editor", "the session stays");
    for (password, status) in [
        ("password-1", StatusCode::UNAUTHORIZED),
        ("password-3", StatusCode::OK),
    ] {
        let (s, _, text) = send(
            &app,
            As::Anonymous,
            "POST",
            "/api/v1/session",
            Some(json!({"username": "editor", "password": password})),
            &[],
        )
        .await;
        assert_eq!(s, status, "{password}: {text}");
    }

    // Admins disable a user (their tokens stop) and are refused a change
    // that would leave no enabled admin.
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PATCH",
        "/api/v1/users/editor",
        Some(json!({"disabled": true})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(json_of(&text)["disabled"], true);
    let (s, _, _) = send(&app, As::Bearer(editor), "GET", "/api/v1/tokens", None, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PATCH",
        "/api/v1/users/admin",
        Some(json!({"roles": ["viewer"]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json_of(&text)["field"], "roles", "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PATCH",
        "/api/v1/users/editor",
        Some(json!({"colour": "blue"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("colour"), "{text}");
}

/// Two servers on one database share the sign-in limit: failures counted
/// by one hold back attempts at the other.
#[tokio::test]
async fn servers_on_one_database_share_the_sign_in_limit() {
    let (catalog, _) = demo_with_users().await;
    let first = build(catalog.clone(), options(), AuthState::new(true, None));
    let second = build(catalog.clone(), options(), AuthState::new(true, None));
    let attempt = |app: &axum::Router, password: &str| {
        let app = app.clone();
        let body = json!({"username": "editor", "password": password});
        async move {
            send(
                &app,
                As::Anonymous,
                "POST",
                "/api/v1/session",
                Some(body),
                &[],
            )
            .await
            .0
        }
    };
    // A name no user can have is refused, and not counted.
    let (s, _, text) = send(
        &first,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "no such name!", "password": "x"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"field\":\"username\""), "{text}");
    for _ in 0..5 {
        assert_eq!(
            attempt(&first, "wrong guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&second, "password-1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the other server knows of the failures"
    );
}
