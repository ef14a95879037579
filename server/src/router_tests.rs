//! Router tests: the whole application (REST API and server-rendered pages)
//! over the real embedded SurrealDB, through `oneshot` and over real HTTP.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::router::build;

/// The admin bearer token the test apps accept, as `MLGRAPH_ADMIN_TOKEN`.
pub const ADMIN: &str = "test-admin-token";

pub async fn app_with_demo() -> axum::Router {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS)
        .await
        .unwrap();
    build(
        catalog,
        options(),
        crate::auth::AuthState::new(true, Some(ADMIN.into())),
    )
}

/// The id of the demo catalog's first serving endpoint.
pub(crate) fn demo_service() -> String {
    domain::demo::demo()
        .assets
        .into_iter()
        .find(|a| a.kind == domain::AssetKind::Service)
        .expect("the demo has a service")
        .id
}

pub(crate) async fn empty_app() -> axum::Router {
    build(
        catalog::Catalog::connect("mem://").await.unwrap(),
        options(),
        crate::auth::AuthState::new(true, Some(ADMIN.into())),
    )
}

pub fn options() -> leptos::config::LeptosOptions {
    leptos::config::LeptosOptions::builder()
        .output_name("mlgraph")
        .site_root("target/site")
        .build()
}

/// Calls the app as the admin token; reads work the same anonymously.
pub(crate) async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<String>,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {ADMIN}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let res = app
        .clone()
        .oneshot(req.body(body.map(Body::from).unwrap_or_default()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub(crate) fn enc(id: &str) -> String {
    domain::query::encode_component(id)
}

#[tokio::test]
async fn search_api_returns_items_total_and_facets() {
    let app = app_with_demo().await;
    let (s, body) = call(
        &app,
        "GET",
        "/api/v1/assets?q=watch&kind=feature&limit=5",
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v = json(&body);
    assert!(v["total"].as_u64().unwrap() > 5);
    assert_eq!(v["items"].as_array().unwrap().len(), 5);
    assert!(v["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["kind"] == "feature"));
    assert!(
        v["facets"]["kind"]["dataset"].as_u64().unwrap() > 0,
        "the kind facet ignores the kind filter"
    );
    assert!(v["facets"]["owner"].as_object().unwrap().len() > 1);
    assert!(v["facets"]["tag"]
        .as_object()
        .unwrap()
        .contains_key("feature-store"));

    let (s, body) = call(&app, "GET", "/api/v1/assets?kind=robot", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["field"], "kind");
    let (s, body) = call(&app, "GET", "/api/v1/assets?limit=lots", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["field"], "limit");
}

#[tokio::test]
async fn assets_can_be_created_read_replaced_and_deleted() {
    let app = empty_app().await;
    let id = "dataset:postgres://db:5432:public.orders";
    let path = format!(
        "/api/v1/assets/{}",
        enc(&domain::asset::asset_id(
            domain::AssetKind::Dataset,
            "postgres://db:5432",
            "public.orders"
        ))
    );
    let body = json!({"kind": "dataset", "namespace": "postgres://db:5432", "name": "public.orders", "owners": ["sales"], "schema": [{"name": "order_id", "type": "bigint", "nullable": false}]});
    let (s, text) = call(&app, "PUT", &path, Some(body.to_string())).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let created = json(&text);
    assert_eq!(created["version"], 1);
    assert_ne!(
        created["id"], id,
        "the namespace's colons are encoded in the id"
    );

    let (s, text) = call(&app, "GET", &path, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json(&text)["schema"][0]["name"], "order_id");

    let changed = json!({"owners": ["sales", "finance"], "schema": [{"name": "order_id", "type": "bigint", "nullable": false}]});
    let (s, text) = call(&app, "PUT", &path, Some(changed.to_string())).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(json(&text)["version"], 2);

    let (s, text) = call(
        &app,
        "PUT",
        &path,
        Some(json!({"name": "other"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(json(&text)["field"], "name");

    let (s, _) = call(&app, "DELETE", &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, text) = call(&app, "GET", &path, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{text}");
}

#[tokio::test]
async fn bad_bodies_name_the_field_and_write_nothing() {
    let app = empty_app().await;
    let path = format!("/api/v1/assets/{}", enc("model:ml:ranker"));
    for (body, field) in [
        (json!({"kind": 5}).to_string(), "kind"),
        (json!({"colour": "red"}).to_string(), "colour"),
        (
            json!({"schema": [{"name": "a"}]}).to_string(),
            "schema[0].type",
        ),
        (json!({"owners": ["a", "a"]}).to_string(), "owners[1]"),
        ("{not json".to_string(), "body"),
    ] {
        let (s, text) = call(&app, "PUT", &path, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} -> {text}");
        let v = json(&text);
        assert!(
            v["field"].as_str().unwrap().contains(field),
            "{body}: {text}"
        );
    }
    let (_, text) = call(&app, "GET", "/api/v1/assets", None).await;
    assert_eq!(json(&text)["total"], 0);
}

#[tokio::test]
async fn edges_import_and_export_round_trip() {
    let app = empty_app().await;
    let ndjson = "{\"type\":\"asset\",\"kind\":\"dataset\",\"name\":\"events\",\"schema\":[{\"name\":\"seconds\",\"type\":\"double\"}]}\n\
                  {\"type\":\"asset\",\"kind\":\"feature\",\"name\":\"watch_7d\",\"schema\":[{\"name\":\"value\",\"type\":\"double\"}]}\n\
                  {\"type\":\"edge\",\"from\":\"dataset:default:events\",\"to\":\"feature:default:watch_7d\",\"kind\":\"derives\",\"columns\":[{\"from\":\"seconds\",\"to\":\"value\",\"transform\":\"sum\"}]}\n";
    let bad = format!("{ndjson}{{\"type\":\"edge\",\"from\":\"dataset:default:events\",\"to\":\"feature:default:missing\",\"kind\":\"derives\"}}\n");
    let (s, text) = call(&app, "POST", "/api/v1/import", Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json(&text)["field"], "line 4.to");
    let (_, text) = call(&app, "GET", "/api/v1/export", None).await;
    assert_eq!(text, "", "the failed import wrote nothing");

    let (s, text) = call(&app, "POST", "/api/v1/import", Some(ndjson.to_string())).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (_, exported) = call(&app, "GET", "/api/v1/export", None).await;
    let lines: Vec<Value> = exported.lines().map(json).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["type"], "edge");
    assert_eq!(lines[2]["columns"][0]["transform"], "sum");

    // The export imports again into an empty catalog, unchanged.
    let other = empty_app().await;
    let (s, text) = call(&other, "POST", "/api/v1/import", Some(exported.clone())).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (_, again) = call(&other, "GET", "/api/v1/export", None).await;
    let strip = |t: &str| {
        t.lines()
            .map(|l| {
                let mut v = json(l);
                for k in ["created_at", "updated_at", "first_seen", "last_seen"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                v
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&again), strip(&exported));

    let edge_id = lines[2]["id"].as_str().unwrap().to_string();
    let (s, _) = call(&app, "DELETE", &format!("/api/v1/edges/{edge_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, text) = call(&app, "POST", "/api/v1/edges", Some(json!({"from": "dataset:default:events", "to": "feature:default:watch_7d", "kind": "deploys"}).to_string())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(json(&text)["field"], "kind");
    let (s, text) = call(&app, "POST", "/api/v1/edges", Some(json!({"from": "dataset:default:events", "to": "feature:default:watch_7d", "kind": "derives"}).to_string())).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    assert_eq!(json(&text)["id"], edge_id, "edge ids are stable");
}

#[tokio::test]
async fn pages_are_server_rendered_with_data() {
    let app = app_with_demo().await;
    let (s, html) = call(&app, "GET", "/?q=ranker&kind=model", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("home_ranker"),
        "the search page lists results in its first HTML"
    );
    assert!(html.contains("data-facet=\"kind\""));
    let id = domain::asset::asset_id(domain::AssetKind::Model, "model-registry", "home_ranker");
    let (s, html) = call(&app, "GET", &format!("/asset?id={}", enc(&id)), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Version history") && html.contains("Upstream"));
    assert!(
        html.contains("home_ranker_offline_eval"),
        "downstream neighbours are listed"
    );
    let (s, _) = call(&app, "GET", "/no/such/page", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn user_text_is_escaped_in_pages() {
    let app = empty_app().await;
    let body = json!({"kind": "dataset", "name": "<script>alert(1)</script>", "description": "\"'><img src=x onerror=alert(2)>"});
    let (s, text) = call(
        &app,
        "POST",
        "/api/v1/import",
        Some(format!("{{\"type\":\"asset\",{}", &body.to_string()[1..])),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let (_, html) = call(&app, "GET", "/", None).await;
    assert!(!html.contains("<script>alert(1)"), "names are escaped");
    assert!(!html.contains("<img src=x"), "descriptions are escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[tokio::test]
async fn the_api_answers_over_real_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = app_with_demo().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/assets?q=title_metadata&limit=1 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    server.abort();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("application/json"));
    assert!(response.contains("\"title_metadata\""));
}

#[tokio::test]
async fn lineage_api_walks_the_graph() {
    let app = app_with_demo().await;
    let id = domain::asset::asset_id(domain::AssetKind::Model, "model-registry", "home_ranker");
    let (s, text) = call(
        &app,
        "GET",
        &format!(
            "/api/v1/lineage/{}?direction=upstream&kinds=dataset",
            enc(&id)
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v = json(&text);
    let names: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"playback_events"), "{names:?}");
    assert_eq!(v["nodes"][0]["depth"], 0);
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/lineage/{}?depth=1&limit=2", enc(&id)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v = json(&text);
    assert_eq!(v["nodes"].as_array().unwrap().len(), 3);
    assert!(v["truncated"]["omitted"].as_u64().unwrap() > 0);
    assert!(!v["edges"].as_array().unwrap().is_empty());
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/lineage/{}?direction=sideways", enc(&id)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(json(&text)["field"], "direction");
    let (s, _) = call(&app, "GET", "/api/v1/lineage/model%3Ax%3Anope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn paths_hubs_and_refresh_plans() {
    let app = app_with_demo().await;
    let events = domain::asset::asset_id(
        domain::AssetKind::Dataset,
        "kafka://events-prod",
        "playback_events",
    );
    let page = domain::asset::asset_id(domain::AssetKind::Application, "product", "home_page");
    let (s, text) = call(
        &app,
        "GET",
        &format!(
            "/api/v1/paths?from={}&to={}&limit=5",
            enc(&events),
            enc(&page)
        ),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v = json(&text);
    let shortest = v["shortest"].as_array().unwrap();
    assert!(shortest.len() >= 3, "{text}");
    assert_eq!(shortest[0]["name"], "playback_events");
    assert_eq!(shortest.last().unwrap()["name"], "home_page");
    let paths = v["paths"].as_array().unwrap();
    assert!(!paths.is_empty() && paths.len() <= 5);
    assert_eq!(
        paths[0].as_array().unwrap().len(),
        shortest.len(),
        "the first path is a shortest one"
    );
    let (s, text) = call(&app, "GET", "/api/v1/paths?from=x", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(json(&text)["field"], "to");

    let (s, text) = call(&app, "GET", "/api/v1/hubs?limit=3", None).await;
    assert_eq!(s, StatusCode::OK);
    let items = json(&text)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    let down: Vec<u64> = items
        .iter()
        .map(|i| i["downstream"].as_u64().unwrap())
        .collect();
    assert!(down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
    assert!(
        items.iter().all(|i| i["kind"] == "dataset"),
        "raw sources are the hubs: {items:?}"
    );

    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/refresh-plan/{}", enc(&events)),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let plan = json(&text);
    let names: Vec<&str> = plan["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} not in {names:?}"))
    };
    assert!(
        pos("build_member_daily_watch") < pos("member_features_from_member_daily_watch"),
        "{names:?}"
    );
    assert_eq!(plan["cyclic"], false);
}

/// An import of more records than one batch is spooled and written in
/// batches: a bad last line refuses all of it, and a good one lands whole
/// with one audit record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_import_over_http_is_written_in_batches() {
    let app = empty_app().await;
    let n = crate::bulk::BATCH + 50;
    let mut ndjson = String::new();
    for i in 0..n {
        ndjson.push_str(&format!(
            "{{\"type\":\"asset\",\"kind\":\"dataset\",\"namespace\":\"big\",\"name\":\"t{i:05}\"}}\n"
        ));
    }
    for i in 1..n {
        ndjson.push_str(&format!(
            "{{\"type\":\"edge\",\"from\":\"dataset:big:t{:05}\",\"to\":\"dataset:big:t{i:05}\",\"kind\":\"derives\"}}\n",
            i - 1
        ));
    }
    let bad = format!("{ndjson}{{\"type\":\"asset\",\"kind\":\"robot\",\"name\":\"x\"}}\n");
    let (s, text) = call(&app, "POST", "/api/v1/import", Some(bad)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json(&text)["field"], format!("line {}.kind", 2 * n));
    let (_, text) = call(&app, "GET", "/api/v1/assets?limit=1", None).await;
    assert_eq!(json(&text)["total"], 0, "nothing was written");

    let (s, text) = call(&app, "POST", "/api/v1/import", Some(ndjson)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let out = json(&text);
    assert_eq!(out["assets_created"], n);
    assert_eq!(out["edges_written"], n - 1);
    assert!(out["batches"].as_u64().unwrap() >= 4, "{out}");
    let (_, text) = call(&app, "GET", "/api/v1/assets?limit=1", None).await;
    assert_eq!(json(&text)["total"], n);
    let (_, exported) = call(&app, "GET", "/api/v1/export", None).await;
    assert_eq!(exported.lines().count(), 2 * n - 1, "every asset and edge");
}

#[tokio::test]
async fn an_impact_answer_can_be_bounded_per_hop() {
    let app = app_with_demo().await;
    let id = domain::asset::asset_id(
        domain::AssetKind::Dataset,
        "kafka://events-prod",
        "playback_events",
    );
    let (s, text) = call(&app, "GET", &format!("/api/v1/assets/{}", enc(&id)), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let column = json(&text)["schema"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let body = serde_json::json!({"dataset": id, "changes": [{"op": "drop", "column": column}]});
    let (s, full) = call(&app, "POST", "/api/v1/impact", Some(body.to_string())).await;
    assert_eq!(s, StatusCode::OK, "{full}");
    let full = json(&full);
    let all = full["affected"].as_array().unwrap().len();
    assert!(all > 3, "the drop reaches several hops ({all})");
    assert!(full.get("bounded").is_none());
    let (s, cut) = call(
        &app,
        "POST",
        "/api/v1/impact?limit=1",
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{cut}");
    let cut = json(&cut);
    let hops: Vec<u64> = cut["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["hops"].as_u64().unwrap())
        .collect();
    let mut unique = hops.clone();
    unique.dedup();
    assert_eq!(hops, unique, "one row per hop");
    let totals: u64 = cut["bounded"]["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[1].as_u64().unwrap())
        .sum();
    assert_eq!(totals as usize, all, "the sizes stay whole");
    assert_eq!(cut["counts"], full["counts"]);
    for bad in ["0", "10001", "x"] {
        let (s, text) = call(
            &app,
            "POST",
            &format!("/api/v1/impact?limit={bad}"),
            Some(body.to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {text}");
        assert!(text.contains("limit"), "{text}");
    }
}
