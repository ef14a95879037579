//! `POST /api/v1/import/kube` over the router and the real embedded
//! SurrealDB: an exported manifest imports back to the same policy, an
//! edited one makes a new policy version, a new InferenceService becomes a
//! service linked to its model, and bad resources are refused by name while
//! the rest import.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::AuthState;
use crate::router::build;
use crate::router_tests::{options, ADMIN};

async fn send(app: &axum::Router, method: &str, uri: &str, body: String) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/yaml")
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let s = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (s, String::from_utf8_lossy(&bytes).into_owned())
}

async fn json(app: &axum::Router, method: &str, uri: &str, body: String) -> Value {
    let (s, text) = send(app, method, uri, body).await;
    assert!(s.is_success(), "{uri}: {s} {text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn kubernetes_manifests_import_as_services_with_their_policies() {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS)
        .await
        .unwrap();
    let id = crate::seed::demo_llm_service(&catalog).await.unwrap();
    let app = build(
        catalog.clone(),
        options(),
        AuthState::new(true, Some(ADMIN.into())),
    );
    let enc = domain::query::encode_component(&id);
    let scaling = format!("/api/v1/services/{enc}/scaling");
    let before = json(&app, "GET", &scaling, String::new()).await["current"].clone();

    // The export of either format imports back to the same policy.
    for format in ["knative", "kserve"] {
        let (s, yaml) = send(
            &app,
            "GET",
            &format!("/api/v1/services/{enc}/manifest?format={format}"),
            String::new(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{yaml}");
        let out = json(&app, "POST", "/api/v1/import/kube", yaml).await;
        assert_eq!(
            out["policies_changed"],
            serde_json::json!([]),
            "{format}: {out}"
        );
        assert_eq!(out["refused"], serde_json::json!([]), "{format}: {out}");
        let now = json(&app, "GET", &scaling, String::new()).await["current"].clone();
        assert_eq!(now["version"], before["version"], "{format}");
    }

    // An edited target is a new policy version.
    let (_, yaml) = send(
        &app,
        "GET",
        &format!("/api/v1/services/{enc}/manifest?format=knative"),
        String::new(),
    )
    .await;
    let target = before["policy"]["target_concurrency"].as_f64().unwrap();
    let edited = yaml.replace(
        &format!("autoscaling.knative.dev/target: '{target}'"),
        "autoscaling.knative.dev/target: '12.5'",
    );
    assert_ne!(
        edited, yaml,
        "the target annotation is in the manifest:\n{yaml}"
    );
    let out = json(&app, "POST", "/api/v1/import/kube", edited).await;
    assert_eq!(out["policies_changed"][0], id.as_str(), "{out}");
    let now = json(&app, "GET", &scaling, String::new()).await["current"].clone();
    assert_eq!(now["policy"]["target_concurrency"], 12.5);
    assert_eq!(now["version"], before["version"].as_u64().unwrap() + 1);

    // A new InferenceService names its model; a Deployment is skipped, and
    // a resource with a bad value is refused while the others import.
    let model = catalog
        .search(&domain::query::SearchQuery {
            kinds: vec![domain::AssetKind::Model],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .items[0]
        .id
        .clone();
    let yaml = format!(
        "apiVersion: v1
kind: List
items:
- apiVersion: serving.kserve.io/v1beta1
  kind: InferenceService
  metadata:
    name: fraud
    namespace: ml
    labels:
      mlgraph.io/model: {model:?}
    annotations:
      autoscaling.knative.dev/target: '4'
  spec:
    predictor:
      minReplicas: 2
      maxReplicas: 40
      sklearn:
        storageUri: gs://models/fraud/3
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    namespace: ml
- apiVersion: serving.knative.dev/v1
  kind: Service
  metadata:
    name: broken
    namespace: ml
  spec:
    template:
      metadata:
        annotations:
          autoscaling.knative.dev/window: 1s
"
    );
    let (s, text) = send(&app, "POST", "/api/v1/import/kube", yaml.clone()).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let out: Value = serde_json::from_str(&text).unwrap();
    let fraud = "service:kubernetes%3A//ml:fraud";
    assert_eq!(out["services_created"], serde_json::json!([fraud]), "{out}");
    assert_eq!(
        out["linked"],
        serde_json::json!([format!("{model} -> {fraud}")]),
        "{out}"
    );
    assert_eq!(
        out["skipped"],
        serde_json::json!(["Deployment ml/web"]),
        "{out}"
    );
    assert_eq!(
        out["refused"][0]["field"],
        "Service ml/broken: metadata.annotations.autoscaling.knative.dev/window",
        "{out}"
    );
    let p = json(
        &app,
        "GET",
        &format!(
            "/api/v1/services/{}/scaling",
            domain::query::encode_component(fraud)
        ),
        String::new(),
    )
    .await;
    assert_eq!(
        (
            p["current"]["policy"]["min_replicas"].as_u64(),
            p["current"]["policy"]["max_replicas"].as_u64()
        ),
        (Some(2), Some(40))
    );
    let asset = json(
        &app,
        "GET",
        &format!("/api/v1/assets/{}", domain::query::encode_component(fraud)),
        String::new(),
    )
    .await;
    assert_eq!(asset["properties"]["storage_uri"], "gs://models/fraud/3");
    // Importing the same YAML again changes nothing.
    let again = json(&app, "POST", "/api/v1/import/kube", yaml).await;
    assert_eq!(
        again["services_unchanged"],
        serde_json::json!([fraud]),
        "{again}"
    );
    assert_eq!(again["policies_changed"], serde_json::json!([]), "{again}");

    // The ingestion page lists each import with what it did and refused.
    let overview = catalog.ingest_overview(Some("kubernetes")).await.unwrap();
    // Newest first: the first import with the refusal is the last listed.
    let refused = overview
        .recent
        .iter()
        .rev()
        .find(|r| !r.ok)
        .expect("the import with a refusal");
    assert!(refused.summary.starts_with("1 created"), "{refused:?}");
    assert_eq!(
        refused.problems[0]["path"],
        "Service ml/broken: metadata.annotations.autoscaling.knative.dev/window"
    );

    // YAML that is not YAML is a 400 naming the document.
    let (s, text) = send(
        &app,
        "POST",
        "/api/v1/import/kube",
        "kind: [unclosed".into(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("document 1"), "{text}");
}
