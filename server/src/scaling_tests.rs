//! Scaling over the router and the real embedded SurrealDB: versioned
//! policies with conflicts and diffs, observed metrics, the simulator
//! endpoint and its limits, and the Knative and KServe manifests parsed
//! back as YAML.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::auth::AuthState;
use crate::router::build;
use crate::router_tests::{options, ADMIN};

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(
            req.body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
                .unwrap(),
        )
        .await
        .unwrap();
    let s = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (s, String::from_utf8_lossy(&bytes).into_owned())
}

async fn app_with_service() -> (axum::Router, String) {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS)
        .await
        .unwrap();
    let id = crate::seed::demo_llm_service(&catalog).await.unwrap();
    let app = build(catalog, options(), AuthState::new(true, Some(ADMIN.into())));
    (app, domain::query::encode_component(&id))
}

#[tokio::test]
async fn policies_are_versioned_with_diffs_and_conflicts() {
    let (app, id) = app_with_service().await;
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/services/{id}/scaling"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["current"]["version"], 1);
    assert_eq!(v["current"]["policy"]["load_balancer"], "round-robin");
    let mut policy = v["current"]["policy"].clone();
    policy["load_balancer"] = json!("power-of-two");
    let (s, text) = call(
        &app,
        "PUT",
        &format!("/api/v1/services/{id}/scaling"),
        Some(json!({"policy": policy, "version": 1, "note": "p2c"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 2);
    assert_eq!(
        v["changes"],
        json!([["load_balancer", "round-robin", "power-of-two"]])
    );
    // The same base version again is a conflict; the same policy is refused.
    policy["min_replicas"] = json!(3);
    let (s, text) = call(
        &app,
        "PUT",
        &format!("/api/v1/services/{id}/scaling"),
        Some(json!({"policy": policy, "version": 1})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{text}");
    let (s, text) = call(
        &app,
        "PUT",
        &format!("/api/v1/services/{id}/scaling"),
        Some(json!({"policy": v["policy"], "version": 2})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    // A bad policy names its field.
    let mut bad = v["policy"].clone();
    bad["target_utilization"] = json!(1.5);
    let (s, text) = call(
        &app,
        "PUT",
        &format!("/api/v1/services/{id}/scaling"),
        Some(json!({"policy": bad})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("target_utilization"), "{text}");
    // Metrics feed what the autoscaler would do.
    let (s, text) = call(
        &app,
        "POST",
        &format!("/api/v1/services/{id}/metrics"),
        Some(json!({"concurrency": 40.0, "qps": 150000.0, "p99_ms": 800.0, "pods": 100})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(v["autoscaler"]["desired"].as_u64().unwrap() > 0, "{v}");
    let (s, text) = call(
        &app,
        "POST",
        &format!("/api/v1/services/{id}/metrics"),
        Some(json!({"concurrency": -1.0, "qps": 1.0, "p99_ms": 1.0})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("concurrency"), "{text}");
    let (_, text) = call(
        &app,
        "GET",
        &format!("/api/v1/services/{id}/scaling"),
        None,
        &[],
    )
    .await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["history"].as_array().unwrap().len(), 2);
    assert_eq!(v["metrics"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn manifests_parse_as_yaml_with_every_field() {
    let (app, id) = app_with_service().await;
    let (_, text) = call(
        &app,
        "GET",
        &format!("/api/v1/services/{id}/scaling"),
        None,
        &[],
    )
    .await;
    let p: domain::scaling::ScalingPolicy = serde_json::from_value(
        serde_json::from_str::<Value>(&text).unwrap()["current"]["policy"].clone(),
    )
    .unwrap();
    let (s, yaml) = call(
        &app,
        "GET",
        &format!("/api/v1/services/{id}/manifest?format=knative"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{yaml}");
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    let ksvc = &docs[0];
    assert_eq!(ksvc["apiVersion"].as_str(), Some("serving.knative.dev/v1"));
    assert_eq!(ksvc["kind"].as_str(), Some("Service"));
    assert_eq!(
        ksvc["metadata"]["name"].as_str(),
        Some("assistant-llm-endpoint")
    );
    let ann = &ksvc["spec"]["template"]["metadata"]["annotations"];
    let a = |k: &str| {
        ann[format!("autoscaling.knative.dev/{k}").as_str()]
            .as_str()
            .map(str::to_string)
    };
    assert_eq!(a("class").as_deref(), Some("kpa.autoscaling.knative.dev"));
    assert_eq!(a("metric").as_deref(), Some("concurrency"));
    assert_eq!(a("target"), Some(format!("{}", p.target_concurrency)));
    assert_eq!(
        a("target-utilization-percentage"),
        Some(format!(
            "{}",
            domain::scaling::manifest::percent(p.target_utilization)
        ))
    );
    assert_eq!(a("min-scale"), Some(p.min_replicas.to_string()));
    assert_eq!(a("max-scale"), Some(p.max_replicas.to_string()));
    assert_eq!(a("window"), Some(format!("{}s", p.stable_window_s)));
    assert_eq!(
        a("panic-window-percentage"),
        Some(format!("{}", p.panic_window_pct))
    );
    assert_eq!(
        a("panic-threshold-percentage"),
        Some(format!("{}", p.panic_threshold_pct))
    );
    assert_eq!(
        a("scale-down-delay"),
        Some(format!("{}s", p.scale_down_delay_s))
    );
    let cm = &docs[1];
    assert_eq!(cm["metadata"]["name"].as_str(), Some("config-autoscaler"));
    assert_eq!(
        cm["data"]["max-scale-up-rate"].as_str(),
        Some(format!("{}", p.max_scale_up_rate).as_str())
    );
    assert_eq!(
        cm["data"]["max-scale-down-rate"].as_str(),
        Some(format!("{}", p.max_scale_down_rate).as_str())
    );

    let (s, yaml) = call(
        &app,
        "GET",
        &format!("/api/v1/services/{id}/manifest?format=kserve"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{yaml}");
    let isvc: serde_yaml::Value = serde_yaml::Deserializer::from_str(&yaml)
        .next()
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .unwrap();
    assert_eq!(
        isvc["apiVersion"].as_str(),
        Some("serving.kserve.io/v1beta1")
    );
    assert_eq!(isvc["kind"].as_str(), Some("InferenceService"));
    let pred = &isvc["spec"]["predictor"];
    assert_eq!(
        pred["minReplicas"].as_u64(),
        Some(u64::from(p.min_replicas))
    );
    assert_eq!(
        pred["maxReplicas"].as_u64(),
        Some(u64::from(p.max_replicas))
    );
    assert_eq!(pred["scaleMetric"].as_str(), Some("concurrency"));
    assert_eq!(
        pred["scaleTarget"].as_u64(),
        Some(p.target_concurrency.round() as u64)
    );
    assert_eq!(
        isvc["metadata"]["annotations"]["autoscaling.knative.dev/target-utilization-percentage"]
            .as_str(),
        Some(
            format!(
                "{}",
                domain::scaling::manifest::percent(p.target_utilization)
            )
            .as_str()
        )
    );
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/services/{id}/manifest?format=helm"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("\"field\":\"format\""));
}

#[tokio::test]
async fn the_simulator_answers_and_refuses_oversized_runs() {
    let (app, id) = app_with_service().await;
    let policy = domain::scaling::ScalingPolicy {
        max_replicas: 20,
        ..Default::default()
    };
    let body = json!({"policy": policy, "traffic": {"kind": "constant", "qps": 2000.0}, "duration_s": 10.0, "seed": 3});
    let (s, text) = call(&app, "POST", "/api/v1/simulate", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let r: Value = serde_json::from_str(&text).unwrap();
    assert!(
        r["requests"].as_u64().unwrap() > 10_000,
        "{}",
        r["requests"]
    );
    assert!(!r["series"].as_array().unwrap().is_empty());
    let service = domain::query::decode_component(&id, false);
    let body = json!({"service": service, "traffic": {"kind": "constant", "qps": 1.0e7}, "duration_s": 60.0});
    let (s, text) = call(&app, "POST", "/api/v1/simulate", Some(body), &[]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"field\":\"traffic\""), "{text}");
    let (s, text) = call(
        &app,
        "POST",
        "/api/v1/simulate",
        Some(json!({"traffic": {"kind": "constant", "qps": 1.0}})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
}

/// A burst of simulations never runs more than `sim::CONCURRENT` at once
/// (the rest wait their turn), and every one finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simulations_run_at_most_two_at_a_time() {
    let cfg = domain::scaling::SimConfig::new(
        domain::scaling::reference_policy(),
        domain::scaling::Traffic::Constant { qps: 200_000.0 },
        40.0,
        1,
    );
    // Eight callers, so that the per-caller limit does not refuse any.
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let cfg = cfg.clone();
            tokio::spawn(
                async move { app::api::scaling::sim::run(cfg, &format!("test:{i}")).await },
            )
        })
        .collect();
    for r in runs {
        assert!(r.await.unwrap().unwrap().completed > 0);
    }
    let peak = app::api::scaling::sim::peak_concurrency();
    assert_eq!(app::api::scaling::sim::CONCURRENT, 2);
    assert!((1..=2).contains(&peak), "{peak} ran at once");
}
