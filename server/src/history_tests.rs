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
    // The report as of the linked moment draws the edge and lists b as
    // downstream; with `since`, it says what changed from then.
    let report = |q: String| format!("/api/v1/assets/{a}/report?{q}");
    let (s, text) = call(
        &app,
        "GET",
        &report(format!("format=json&as_of={linked}")),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let r = json(&text);
    assert_eq!(r["as_of"].as_str().unwrap(), linked, "{r}");
    assert_eq!(r["lineage"]["edges"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["downstream"][0]["id"], "dataset:hist:b", "{r}");
    let (s, text) = call(&app, "GET", &report("format=json".into()), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(json(&text)["downstream"].as_array().unwrap().is_empty());
    assert!(json(&text).get("as_of").is_none());
    let (s, html) = call(&app, "GET", &report(format!("since={linked}")), None).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("What changed from"), "{html}");
    assert!(html.contains("Edges that ended (1)"), "{html}");
    assert!(html.contains("Assets that disappeared (1)"), "{html}");
    // Search as of the linked moment: b as it was then.
    let search = |q: &str| format!("/api/v1/assets?as_of={linked}&{q}");
    let (s, text) = call(&app, "GET", &search("q=hist%20b"), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let found = json(&text);
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["items"][0]["id"], "dataset:hist:b");
    assert_eq!(found["items"][0]["description"], "", "as it was: {found}");
    let (s, text) = call(&app, "GET", &search("q=hist&kind=model"), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(
        (
            json(&text)["total"].as_u64(),
            json(&text)["facets"]["kind"]["dataset"].as_u64()
        ),
        (Some(0), Some(2)),
        "{text}"
    );
    let (s, text) = call(&app, "GET", &search("owner=ana"), None).await;
    assert_eq!(
        (s, json(&text)["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("as_of")),
        "{text}"
    );
    // Paths and hubs as of the linked moment follow the ended edge.
    let b_id = enc("dataset:hist:b");
    let paths = |q: &str| format!("/api/v1/paths?from={a}&to={b_id}{q}");
    let (s, text) = call(&app, "GET", &paths(&format!("&as_of={linked}")), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(json(&text)["paths"].as_array().unwrap().len(), 1, "{text}");
    let (s, text) = call(&app, "GET", &paths(""), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(
        json(&text)["paths"].as_array().unwrap().is_empty(),
        "{text}"
    );
    let (s, text) = call(&app, "GET", &paths("&as_of=later"), None).await;
    assert_eq!(
        (s, json(&text)["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("as_of"))
    );
    let (s, text) = call(
        &app,
        "GET",
        &format!("/api/v1/hubs?limit=1&as_of={linked}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let top = &json(&text)["items"][0];
    assert_eq!(
        (top["id"].as_str(), top["downstream"].as_u64()),
        (Some("dataset:hist:a"), Some(1)),
        "{text}"
    );
    // Marquez's lineage read, now and as of the linked moment.
    let marquez = |q: &str| format!("/api/v1/lineage?nodeId=dataset:hist:a{q}");
    let (s, text) = call(&app, "GET", &marquez(""), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(json(&text)["graph"].as_array().unwrap().len(), 1, "{text}");
    let (s, text) = call(&app, "GET", &marquez(&format!("&as_of={linked}")), None).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let graph = json(&text)["graph"].clone();
    assert_eq!(graph.as_array().unwrap().len(), 2, "{text}");
    assert_eq!(
        graph[0]["outEdges"][0]["destination"], "dataset:hist:b",
        "{text}"
    );
    let (s, text) = call(&app, "GET", &marquez("&as_of=2001-01-01T00:00:00Z"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{text}");
    let marquez_b = |q: &str| format!("/api/v1/namespaces/hist/datasets/b{q}");
    let (s, text) = call(&app, "GET", &marquez_b(&format!("?as_of={linked}")), None).await;
    assert_eq!(
        (s, json(&text)["description"].as_str()),
        (StatusCode::OK, Some("")),
        "{text}"
    );
    let (s, text) = call(&app, "GET", &marquez_b(""), None).await;
    assert_eq!(
        (s, json(&text)["description"].as_str()),
        (StatusCode::OK, Some("Later.")),
        "{text}"
    );
    for q in ["as_of=soon", "since=2999-01-01T00:00:00Z"] {
        let (s, text) = call(&app, "GET", &report(q.into()), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(json(&text)["field"], q.split('=').next().unwrap());
    }
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

/// The impact of a schema change as of a moment reaches what was
/// downstream then, and that moment's schema is the one changed.
#[tokio::test]
async fn impact_as_of_a_past_moment_reaches_what_was_downstream_then() {
    let app = empty_app().await;
    for (name, schema) in [
        ("src", json!([{"name": "id", "type": "int"}])),
        ("dst", json!([])),
    ] {
        let body = json!({"kind": "dataset", "namespace": "imp", "name": name, "schema": schema});
        let (s, text) = call(
            &app,
            "PUT",
            &format!("/api/v1/assets/dataset:imp:{name}"),
            Some(body.to_string()),
        )
        .await;
        assert!(s.is_success(), "{text}");
    }
    let edge = json!({"from": "dataset:imp:src", "to": "dataset:imp:dst", "kind": "derives"});
    let (s, text) = call(&app, "POST", "/api/v1/edges", Some(edge.to_string())).await;
    assert!(s.is_success(), "{text}");
    let id = json(&text)["id"].as_str().unwrap().to_string();
    pause().await;
    let linked = moment_now();
    pause().await;
    let (s, text) = call(&app, "DELETE", &format!("/api/v1/edges/{}", enc(&id)), None).await;
    assert!(s.is_success(), "{text}");
    let change = json!({"dataset": "dataset:imp:src", "changes": [{"op": "drop", "column": "id"}]})
        .to_string();
    let affected = |text: &str| -> Vec<String> {
        json(text)["affected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, text) = call(&app, "POST", "/api/v1/impact", Some(change.clone())).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(
        !affected(&text).contains(&"dataset:imp:dst".to_string()),
        "now: {text}"
    );
    let (s, text) = call(
        &app,
        "POST",
        &format!("/api/v1/impact?as_of={linked}"),
        Some(change.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(
        affected(&text).contains(&"dataset:imp:dst".to_string()),
        "then: {text}"
    );
    let (s, text) = call(
        &app,
        "POST",
        "/api/v1/impact?as_of=2001-01-01T00:00:00Z",
        Some(change),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json(&text)["field"], "dataset", "{text}");
}
