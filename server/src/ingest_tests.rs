//! Ingestion over the router and the real embedded SurrealDB: OpenLineage
//! events (the spec's examples, malformed variants, gzip, idempotence,
//! ordering, column lineage), the Marquez-compatible reads, and dbt
//! manifests from ../shared/data.

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::auth::AuthState;
use crate::router::build;
use crate::router_tests::{options, ADMIN};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

async fn app() -> (catalog::Catalog, axum::Router) {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    let app = build(
        catalog.clone(),
        options(),
        AuthState::new(true, Some(ADMIN.into())),
    );
    (catalog, app)
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn post(app: &axum::Router, uri: &str, v: &Value) -> (StatusCode, String) {
    let auth = format!("Bearer {ADMIN}");
    send(
        app,
        "POST",
        uri,
        v.to_string().into_bytes(),
        &[("authorization", &auth)],
    )
    .await
}

async fn get(app: &axum::Router, uri: &str) -> Value {
    let (s, text) = send(app, "GET", uri, vec![], &[]).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn event(run: &str, ty: &str, time: &str, inputs: Value, outputs: Value) -> Value {
    json!({
        "eventType": ty,
        "eventTime": time,
        "producer": "https://github.com/example/pipeline",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run, "facets": {}},
        "job": {"namespace": "etl", "name": "build_orders", "facets": {}},
        "inputs": inputs,
        "outputs": outputs,
    })
}

fn orders_output() -> Value {
    json!([{
        "namespace": "postgres://db:5432",
        "name": "shop.orders_clean",
        "facets": {
            "schema": {"_producer": "p", "_schemaURL": "s", "fields": [
                {"name": "order_id", "type": "BIGINT"}, {"name": "amount", "type": "DECIMAL"}]},
            "columnLineage": {"_producer": "p", "_schemaURL": "s", "fields": {
                "amount": {"inputFields": [{"namespace": "postgres://db:5432", "name": "shop.orders_raw", "field": "total",
                    "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "description": "", "masking": false}]}]},
                "order_id": {"inputFields": [{"namespace": "postgres://db:5432", "name": "shop.orders_raw", "field": "id",
                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}]}
            }},
            "ownership": {"_producer": "p", "_schemaURL": "s", "owners": [{"name": "team-orders"}]},
            "customThing": {"_producer": "p", "_schemaURL": "s", "anything": [1, 2, 3]}
        }
    }])
}

fn orders_input() -> Value {
    json!([{"namespace": "postgres://db:5432", "name": "shop.orders_raw", "facets": {}}])
}

const RUN: &str = "3f5e83fa-3480-44ff-99c5-ff943904e5e8";

#[tokio::test]
async fn the_spec_examples_are_accepted_and_malformed_events_named() {
    let (_, app) = app().await;
    let dir = std::path::Path::new(DATA).join("openlineage/events");
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    let mut accepted = 0;
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let expect_ok = domain::openlineage::parse_event(&v).is_ok();
        let (s, text) = post(&app, "/api/v1/lineage", &v).await;
        if expect_ok {
            assert_eq!(s, StatusCode::CREATED, "{}: {text}", f.display());
            accepted += 1;
        } else {
            assert_eq!(s, StatusCode::BAD_REQUEST, "{}: {text}", f.display());
            assert!(text.contains("\"problems\""), "{text}");
        }
        if f.ends_with("event_no_run_id.json") {
            assert_eq!(s, StatusCode::BAD_REQUEST);
            assert!(text.contains("run.runId"), "{text}");
        }
    }
    assert!(accepted >= 8, "most example events are valid ({accepted})");

    let good = event(
        RUN,
        "START",
        "2024-05-01T10:00:00Z",
        orders_input(),
        orders_output(),
    );
    let mut bad = good.clone();
    bad["run"].as_object_mut().unwrap().remove("runId");
    bad["eventTime"] = json!("yesterday");
    bad["inputs"][0]["name"] = json!(42);
    let (s, text) = post(&app, "/api/v1/lineage", &bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    let paths: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for want in ["run.runId", "eventTime", "inputs[0].name"] {
        assert!(
            paths.iter().any(|p| p.contains(want)),
            "{want} in {paths:?}"
        );
    }
    let (s, _) = send(
        &app,
        "POST",
        "/api/v1/lineage",
        good.to_string().into_bytes(),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "ingestion needs a token");
    let auth = format!("Bearer {ADMIN}");
    let huge = vec![b' '; 5 * 1024 * 1024];
    let (s, _) = send(
        &app,
        "POST",
        "/api/v1/lineage",
        huge,
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, text) = send(
        &app,
        "POST",
        "/api/v1/lineage",
        b"{not json".to_vec(),
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("\"field\":\"body\""), "{text}");
}

#[tokio::test]
async fn events_map_onto_the_graph_idempotently_in_any_order() {
    let (catalog, app) = app().await;
    // COMPLETE arrives before START, gzip-compressed.
    let complete = event(
        RUN,
        "COMPLETE",
        "2024-05-01T10:05:00Z",
        orders_input(),
        orders_output(),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(complete.to_string().as_bytes()).unwrap();
    let auth = format!("Bearer {ADMIN}");
    let (s, text) = send(
        &app,
        "POST",
        "/api/v1/lineage",
        gz.finish().unwrap(),
        &[("authorization", &auth), ("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let start = event(
        RUN,
        "START",
        "2024-05-01T10:00:00Z",
        orders_input(),
        orders_output(),
    );
    assert_eq!(
        post(&app, "/api/v1/lineage", &start).await.0,
        StatusCode::CREATED
    );

    let job = domain::openlineage::job_asset_id("etl", "build_orders");
    let runs = catalog.runs_of(&job, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].state, "COMPLETE",
        "a terminal state wins over a late START"
    );
    assert!(runs[0]
        .started_at
        .as_deref()
        .unwrap()
        .starts_with("2024-05-01T10:00"));
    assert!(runs[0]
        .ended_at
        .as_deref()
        .unwrap()
        .starts_with("2024-05-01T10:05"));

    let out = domain::openlineage::dataset_asset_id("postgres://db:5432", "shop.orders_clean");
    let asset = catalog.get_asset(&out).await.unwrap();
    assert_eq!(asset.schema.len(), 2);
    assert_eq!(asset.owners, vec!["team-orders"]);
    assert!(
        asset.properties["openlineage"].get("customThing").is_some(),
        "unknown facets are kept"
    );

    // The same event again changes nothing at all.
    let version = catalog.graph_version().await.unwrap();
    assert_eq!(
        post(&app, "/api/v1/lineage", &start).await.0,
        StatusCode::CREATED
    );
    assert_eq!(catalog.graph_version().await.unwrap(), version);
    assert_eq!(
        catalog.get_asset(&out).await.unwrap().version,
        asset.version
    );
    assert_eq!(catalog.runs_of(&job, 10).await.unwrap(), runs);

    // An event without a schema facet keeps the schema.
    let bare = event(
        "8d7a6f0e-1111-4222-8333-944455556666",
        "START",
        "2024-05-02T10:00:00Z",
        orders_input(),
        json!([{"namespace": "postgres://db:5432", "name": "shop.orders_clean", "facets": {}}]),
    );
    assert_eq!(
        post(&app, "/api/v1/lineage", &bare).await.0,
        StatusCode::CREATED
    );
    assert_eq!(catalog.get_asset(&out).await.unwrap().schema.len(), 2);

    // Marquez-compatible reads.
    let ns = get(&app, "/api/v1/namespaces").await;
    let names: Vec<&str> = ns["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"etl") && names.contains(&"postgres://db:5432"),
        "{names:?}"
    );
    let ds = get(
        &app,
        &format!(
            "/api/v1/namespaces/{}/datasets",
            domain::query::encode_component("postgres://db:5432")
        ),
    )
    .await;
    assert_eq!(ds["totalCount"], 2);
    let jobs = get(&app, "/api/v1/namespaces/etl/jobs").await;
    // The latest run is the second one, which has only started.
    assert_eq!(
        jobs["jobs"][0]["latestRun"]["id"],
        "8d7a6f0e-1111-4222-8333-944455556666"
    );
    assert_eq!(jobs["jobs"][0]["latestRun"]["state"], "RUNNING");
    // One job, its runs (newest first, paged) and one run, as Marquez
    // names them.
    let one = get(&app, "/api/v1/namespaces/etl/jobs/build_orders").await;
    assert_eq!(one["name"], "build_orders");
    assert_eq!(one["outputs"][0]["name"], "shop.orders_clean");
    let runs = get(&app, "/api/v1/namespaces/etl/jobs/build_orders/runs").await;
    assert_eq!(runs["totalCount"], 2);
    assert_eq!(
        runs["runs"][0]["id"],
        "8d7a6f0e-1111-4222-8333-944455556666"
    );
    assert_eq!(runs["runs"][1]["id"], RUN);
    assert_eq!(runs["runs"][1]["state"], "COMPLETED");
    assert_eq!(runs["runs"][1]["durationMs"], 300_000);
    assert_eq!(runs["runs"][1]["startedAt"], "2024-05-01T10:00:00Z");
    let page = get(
        &app,
        "/api/v1/namespaces/etl/jobs/build_orders/runs?limit=1&offset=1",
    )
    .await;
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["runs"].as_array().unwrap().len(), 1);
    assert_eq!(page["runs"][0]["id"], RUN);
    let run = get(&app, &format!("/api/v1/jobs/runs/{RUN}")).await;
    assert_eq!(run["state"], "COMPLETED");
    assert_eq!(run["endedAt"], "2024-05-01T10:05:00Z");
    let ds = get(
        &app,
        &format!(
            "/api/v1/namespaces/{}/datasets/shop.orders_clean",
            domain::query::encode_component("postgres://db:5432")
        ),
    )
    .await;
    assert_eq!(ds["name"], "shop.orders_clean");
    assert_eq!(ds["fields"].as_array().unwrap().len(), 2);
    for (uri, status) in [
        ("/api/v1/namespaces/etl/jobs/nope", StatusCode::NOT_FOUND),
        (
            "/api/v1/namespaces/etl/jobs/nope/runs",
            StatusCode::NOT_FOUND,
        ),
        ("/api/v1/jobs/runs/nope", StatusCode::NOT_FOUND),
        (
            "/api/v1/namespaces/etl/datasets/nope",
            StatusCode::NOT_FOUND,
        ),
        (
            "/api/v1/namespaces/etl/jobs/build_orders/runs?limit=many",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, text) = send(&app, "GET", uri, vec![], &[]).await;
        assert_eq!(s, status, "{uri}: {text}");
        if status == StatusCode::BAD_REQUEST {
            assert!(text.contains("limit"), "{text}");
        }
    }
    assert_eq!(jobs["jobs"][0]["inputs"][0]["name"], "shop.orders_raw");
    let node = domain::query::encode_component("job:etl:build_orders");
    let g = get(&app, &format!("/api/v1/lineage?nodeId={node}&depth=2")).await;
    let ids: Vec<&str> = g["graph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"dataset:postgres://db:5432:shop.orders_clean"),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"dataset:postgres://db:5432:shop.orders_raw"),
        "{ids:?}"
    );
    let job_node = g["graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["type"] == "JOB")
        .unwrap();
    assert_eq!(job_node["inEdges"].as_array().unwrap().len(), 1);
    assert_eq!(job_node["outEdges"].as_array().unwrap().len(), 1);
    let field =
        domain::query::encode_component("datasetField:postgres://db:5432:shop.orders_clean:amount");
    let cl = get(
        &app,
        &format!("/api/v1/column-lineage?nodeId={field}&depth=5&withDownstream=true"),
    )
    .await;
    let amount = cl["graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["data"]["field"] == "amount")
        .unwrap();
    assert_eq!(amount["data"]["inputFields"][0]["field"], "total");
    assert_eq!(
        amount["data"]["inputFields"][0]["transformationType"],
        "DIRECT"
    );
    let (s, text) = send(
        &app,
        "GET",
        "/api/v1/lineage?nodeId=dataset:nowhere:x",
        vec![],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{text}");
}

#[tokio::test]
async fn dbt_manifests_import_and_reimport_without_duplicates() {
    let (catalog, app) = app().await;
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{DATA}/dbt/{f}")).unwrap()).unwrap()
    };
    let manifest = read("postgres.manifest.json");
    let (s, text) = post(
        &app,
        "/api/v1/import/dbt?namespace=postgres%3A%2F%2Fshop",
        &manifest,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let first: Value = serde_json::from_str(&text).unwrap();
    assert!(first["assets_created"].as_u64().unwrap() > 3, "{first}");
    let assets = catalog.count_assets().await.unwrap();
    let edges = catalog.count_edges().await.unwrap();
    // The same manifest again: nothing new, nothing lost.
    let (s, text) = post(
        &app,
        "/api/v1/import/dbt?namespace=postgres%3A%2F%2Fshop",
        &manifest,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let again: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again["assets_created"], 0);
    assert_eq!(again["assets_updated"], 0);
    assert_eq!(again["edges_removed"], 0);
    assert_eq!(catalog.count_assets().await.unwrap(), assets);
    assert_eq!(catalog.count_edges().await.unwrap(), edges);
    // A newer manifest without one model's dependencies removes those edges.
    let mut newer = manifest.clone();
    let nodes = newer["nodes"].as_object_mut().unwrap();
    let present: Vec<String> = nodes.keys().cloned().collect();
    let key = nodes
        .iter()
        .find(|(_, n)| {
            n["resource_type"] == "model"
                && n["depends_on"]["nodes"].as_array().is_some_and(|d| {
                    d.iter()
                        .any(|x| present.iter().any(|p| Some(p.as_str()) == x.as_str()))
                })
        })
        .map(|(k, _)| k.clone())
        .expect("a model that depends on a node of the manifest");
    nodes.get_mut(&key).unwrap()["depends_on"]["nodes"] = json!([]);
    let (s, text) = post(
        &app,
        "/api/v1/import/dbt?namespace=postgres%3A%2F%2Fshop",
        &newer,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let third: Value = serde_json::from_str(&text).unwrap();
    assert!(third["edges_removed"].as_u64().unwrap() >= 1, "{third}");
    assert!(catalog.count_edges().await.unwrap() < edges);
    let log = catalog
        .audit_log(None, Some("postgres://shop"), 10)
        .await
        .unwrap();
    assert!(
        log.iter().any(|r| r.detail["removed_edges"]
            .as_array()
            .is_some_and(|a| !a.is_empty())),
        "the removal is in the history"
    );
    // Old manifests are refused by name.
    let (s, text) = post(&app, "/api/v1/import/dbt", &read("small.manifest.json")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(
        text.contains("metadata.dbt_schema_version") && text.contains("v2"),
        "{text}"
    );
    // Every v7 to v12 manifest imports.
    for f in [
        "compiled_code.manifest.json",
        "duckdb.manifest.json",
        "singular_test.manifest.json",
        "no_test_metadata.manifest.json",
    ] {
        let (s, text) = post(&app, "/api/v1/import/dbt", &read(f)).await;
        assert_eq!(s, StatusCode::OK, "{f}: {text}");
    }
}

/// dbt-ol's events and the manifest's import name one project alike, so the
/// events add nothing beside the imported assets, and a re-import leaves
/// the edges of jobs the manifest does not describe (dbt-ol's test runs).
#[tokio::test]
async fn dbt_ol_events_land_on_the_imported_project() {
    let (catalog, app) = app().await;
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DATA}/dbt/postgres.manifest.json")).unwrap(),
    )
    .unwrap();
    let import = "/api/v1/import/dbt?namespace=postgres%3A%2F%2Fdb%3A5432&job_namespace=shop_jobs";
    let (s, text) = post(&app, import, &manifest).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let assets = catalog.count_assets().await.unwrap();
    let edges = catalog.count_edges().await.unwrap();
    let table = |name: &str| json!({"namespace": "postgres://db:5432", "name": name, "facets": {}});
    let ol = |run: &str, job: &str, inputs: Value, outputs: Value| {
        let mut e = event(run, "COMPLETE", "2026-12-01T10:00:00Z", inputs, outputs);
        e["job"] = json!({"namespace": "shop_jobs", "name": job, "facets": {}});
        e
    };
    // The model's job as dbt-ol reports it: no asset new, and only the
    // column lineage that the manifest does not know.
    let mut output = table("postgres.public.customers");
    output["facets"]["columnLineage"] = json!({"_producer": "p", "_schemaURL": "s", "fields": {
        "customer_id": {"inputFields": [{"namespace": "postgres://db:5432", "name": "postgres.public.stg_customers", "field": "customer_id"}]}
    }});
    let model = ol(
        "0190e0a6-0000-7000-8000-000000000001",
        "postgres.public.jaffle_shop.customers",
        json!([
            table("postgres.public.stg_customers"),
            table("postgres.public.stg_orders"),
            table("postgres.public.stg_payments")
        ]),
        json!([output]),
    );
    let (s, text) = post(&app, "/api/v1/lineage", &model).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    assert_eq!(catalog.count_assets().await.unwrap(), assets);
    let edges = edges + 1;
    assert_eq!(catalog.count_edges().await.unwrap(), edges);
    // A test run reads the table: one job and one edge more.
    let test = ol(
        "0190e0a6-0000-7000-8000-000000000002",
        "postgres.public.jaffle_shop.customers.test",
        json!([table("postgres.public.customers")]),
        json!([]),
    );
    let (s, text) = post(&app, "/api/v1/lineage", &test).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    assert_eq!(catalog.count_assets().await.unwrap(), assets + 1);
    assert_eq!(catalog.count_edges().await.unwrap(), edges + 1);
    // Importing again keeps the test run's edge and the column lineage:
    // they are not the manifest's.
    let (s, text) = post(&app, import, &manifest).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let again: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again["edges_removed"], 0, "{again}");
    assert_eq!(again["job_namespace"], "shop_jobs", "{again}");
    assert_eq!(catalog.count_edges().await.unwrap(), edges + 1);
    // The build command names jobs as `dbt-ol build` does; a bad one is named.
    let (s, text) = post(&app, &format!("{import}&command=test"), &manifest).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("command"), "{text}");
}

/// An alias merges a table and a job that two sources name differently:
/// edges and runs move to the targets, the old ids answer the targets, and
/// later events under the old names land on them.
#[tokio::test]
async fn aliases_merge_assets_and_later_events_land_on_the_target() {
    let (catalog, app) = app().await;
    let enc = |id: &str| {
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let job_event = |run: &str, ns: &str, name: &str, out_ns: &str| {
        let mut e = event(
            run,
            "COMPLETE",
            "2026-12-01T10:00:00Z",
            json!([]),
            json!([{"namespace": out_ns, "name": "shop.orders", "facets": {}}]),
        );
        e["job"] = json!({"namespace": ns, "name": name, "facets": {}});
        e
    };
    for e in [
        job_event(
            "0190e0a6-0000-7000-8000-00000000000a",
            "etl",
            "load_orders",
            "dbt://pg",
        ),
        job_event(
            "0190e0a6-0000-7000-8000-00000000000b",
            "dbt",
            "pg.shop.orders",
            "postgres://db:5432",
        ),
    ] {
        let (s, text) = post(&app, "/api/v1/lineage", &e).await;
        assert_eq!(s, StatusCode::CREATED, "{text}");
    }
    let old = "dataset:dbt%3A//pg:shop.orders";
    let table = "dataset:postgres%3A//db%3A5432:shop.orders";
    let (s, text) = post(&app, "/api/v1/aliases", &json!({"from": old, "to": table})).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let out: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (out["merged"].as_bool(), out["edges_moved"].as_u64()),
        (Some(true), Some(1))
    );
    // The old id answers the target.
    let asset = get(&app, &format!("/api/v1/assets/{}", enc(old))).await;
    assert_eq!(asset["id"], table);
    let up = get(
        &app,
        &format!("/api/v1/lineage/{}?direction=upstream", enc(old)),
    )
    .await;
    let names: Vec<&str> = up["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    assert!(
        names.contains(&"load_orders") && names.contains(&"pg.shop.orders"),
        "{names:?}"
    );

    // The job too: its run history moves with it.
    let (s, text) = post(
        &app,
        "/api/v1/aliases",
        &json!({"from": "workflow:etl:load_orders", "to": "workflow:dbt:pg.shop.orders"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let runs = get(&app, "/api/v1/namespaces/dbt/jobs/pg.shop.orders/runs").await;
    assert_eq!(runs["totalCount"], 2, "{runs}");

    // A later event under both old names adds a run, and no asset.
    let assets = catalog.count_assets().await.unwrap();
    let later = job_event(
        "0190e0a6-0000-7000-8000-00000000000c",
        "etl",
        "load_orders",
        "dbt://pg",
    );
    let (s, text) = post(&app, "/api/v1/lineage", &later).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    assert_eq!(catalog.count_assets().await.unwrap(), assets);
    let runs = get(&app, "/api/v1/namespaces/dbt/jobs/pg.shop.orders/runs").await;
    assert_eq!(runs["totalCount"], 3, "{runs}");
    let list = get(&app, "/api/v1/aliases").await;
    assert_eq!(list["aliases"].as_array().unwrap().len(), 2, "{list}");

    // Bad input is named.
    let (s, text) = post(&app, "/api/v1/aliases", &json!({"from": old})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    let (s, text) = post(
        &app,
        "/api/v1/aliases",
        &json!({"from": "dataset:x:y", "to": "workflow:dbt:pg.shop.orders"}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"to\""), "{text}");
}

#[tokio::test]
async fn the_ingestion_page_and_run_history_show_what_arrived() {
    let (catalog, app) = app().await;
    let good = event(
        RUN,
        "COMPLETE",
        "2024-05-01T10:05:00Z",
        orders_input(),
        orders_output(),
    );
    assert_eq!(
        post(&app, "/api/v1/lineage", &good).await.0,
        StatusCode::CREATED
    );
    let mut bad = good.clone();
    bad["run"].as_object_mut().unwrap().remove("runId");
    assert_eq!(
        post(&app, "/api/v1/lineage", &bad).await.0,
        StatusCode::BAD_REQUEST
    );
    let (s, html) = send(&app, "GET", "/ingestion", vec![], &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("1 events accepted · 1 rejected"), "counts");
    assert!(
        html.contains("https://github.com/example/pipeline"),
        "the source"
    );
    assert!(
        html.contains("run.runId: is required"),
        "the rejection's reason"
    );
    assert!(html.contains("job etl/build_orders"), "the recent event");
    let job = domain::query::encode_component(&domain::query::encode_component(
        &domain::openlineage::job_asset_id("etl", "build_orders"),
    ));
    let (s, html) = send(&app, "GET", &format!("/asset?id={job}"), vec![], &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Run history") && html.contains(RUN) && html.contains("COMPLETE"));

    // A second producer; filtering by source shows only its events.
    let mut other = event(
        "3b2c1d0e-2222-4333-8444-955566667777",
        "START",
        "2024-05-01T11:00:00Z",
        orders_input(),
        orders_output(),
    );
    other["producer"] = json!("https://example.org/other-producer");
    other["job"]["name"] = json!("other_job");
    assert_eq!(
        post(&app, "/api/v1/lineage", &other).await.0,
        StatusCode::CREATED
    );
    let only = domain::query::encode_component("https://example.org/other-producer");
    let (s, html) = send(
        &app,
        "GET",
        &format!("/ingestion?source={only}"),
        vec![],
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("job etl/other_job"), "its event");
    assert!(
        !html.contains("job etl/build_orders"),
        "not the other source's"
    );
    assert!(
        !html.contains("run.runId: is required"),
        "nor its rejection"
    );
    assert!(html.contains("Show every source"));
    assert!(
        html.contains("2 events accepted · 1 rejected"),
        "counts stay whole"
    );

    let o = catalog.ingest_overview(None).await.unwrap();
    assert_eq!((o.accepted, o.rejected, o.log_days), (2, 1, 30));
}
