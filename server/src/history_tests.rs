//! The graph as it was, over the REST API: `as_of` and the lineage diff.

use axum::http::StatusCode;
use serde_json::json;

use crate::router_tests::{call, empty_app, enc, json};

fn moment_now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    domain::time::from_millis(ms)
}

async fn pause() {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

#[tokio::test]
async fn lineage_as_of_a_past_moment_and_the_diff_since() {
    let app = empty_app().await;
    for name in ["a", "b"] {
        let (s, text) = call(
            &app,
            "PUT",
            &format!("/api/v1/assets/dataset:hist:{name}"),
            Some(json!({"kind": "dataset", "namespace": "hist", "name": name}).to_string()),
        )
        .await;
        assert!(s.is_success(), "{text}");
    }
    let (s, text) = call(
        &app,
        "POST",
        "/api/v1/edges",
        Some(
            json!({"from": "dataset:hist:a", "to": "dataset:hist:b", "kind": "derives"})
                .to_string(),
        ),
    )
    .await;
    assert!(s.is_success(), "{text}");
    let edge = json(&text)["id"].as_str().unwrap().to_string();
    pause().await;
    let linked = moment_now();
    pause().await;
    let (s, text) = call(
        &app,
        "DELETE",
        &format!("/api/v1/edges/{}", enc(&edge)),
        None,
    )
    .await;
    assert!(s.is_success(), "{text}");

    let a = enc("dataset:hist:a");
    let lineage = |q: String| format!("/api/v1/lineage/{a}?direction=downstream{q}");
    let (s, text) = call(&app, "GET", &lineage(String::new()), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        json(&text)["nodes"].as_array().unwrap().len(),
        1,
        "now: a alone"
    );
    let (s, text) = call(&app, "GET", &lineage(format!("&as_of={linked}")), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let then = json(&text);
    assert_eq!(then["nodes"].as_array().unwrap().len(), 2, "{then}");
    assert_eq!(then["nodes"][1]["id"], "dataset:hist:b");
    assert_eq!(
        then["edges"].as_array().unwrap().len(),
        1,
        "the ended edge is drawn"
    );

    // Bad moments are refused, naming the parameter; one before anything
    // existed is answered with why there is nothing.
    for bad in ["yesterday", "2999-01-01T00:00:00Z"] {
        let (s, text) = call(&app, "GET", &lineage(format!("&as_of={bad}")), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(json(&text)["field"], "as_of");
    }
    let (s, text) = call(
        &app,
        "GET",
        &lineage("&as_of=2001-01-01T00:00:00Z".into()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{text}");
    assert!(text.contains("did not exist then"), "{text}");

    // The diff from the linked moment to now.
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/lineage/{a}/diff?from={linked}&direction=downstream"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let d = json(&text);
    assert_eq!(d["disappeared"][0]["id"], "dataset:hist:b", "{d}");
    assert_eq!(d["edges_disappeared"].as_array().unwrap().len(), 1);
    assert!(d["appeared"].as_array().unwrap().is_empty());
    // The asset as it was: b's description before it changed, and b
    // not found before it existed.
    let (s, text) = call(
        &app,
        "PUT",
        "/api/v1/assets/dataset:hist:b",
        Some(
            json!({"kind": "dataset", "namespace": "hist", "name": "b", "description": "Later."})
                .to_string(),
        ),
    )
    .await;
    assert!(s.is_success(), "{text}");
    let b = enc("dataset:hist:b");
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/assets/{b}?as_of={linked}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(json(&text)["description"], "", "{text}");
    assert_eq!(json(&text)["version"], 1);
    let (s, text) = call(&app, "GET", &format!("/api/v1/assets/{b}"), None).await;
    assert_eq!(json(&text)["description"], "Later.", "{s} {text}");
    let (s, _) = call(
        &app,
        "GET",
        &format!("/api/v1/assets/{b}?as_of=2001-01-01T00:00:00Z"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (q, field) in [
        (String::new(), "from"),
        (format!("from={linked}&to=2001-01-01T00:00:00Z"), "to"),
        (format!("from={linked}&depth=0"), "depth"),
    ] {
        let (s, text) = call(&app, "GET", &format!("/api/v1/lineage/{a}/diff?{q}"), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(json(&text)["field"], field);
    }
}
