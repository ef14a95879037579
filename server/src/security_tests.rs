//! Proofs for the security findings of issue 14 that run in CI: the page
//! title escapes what it shows, every page carries a Content-Security-Policy
//! whose nonce is the one on its scripts, and the simulator refuses the
//! inputs that exhausted memory or a core.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::router_tests::{app_with_demo, ADMIN};

/// A GET as an anonymous caller: status, CSP header and body.
async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Option<String>, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let csp = res
        .headers()
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, csp, String::from_utf8_lossy(&bytes).into_owned())
}

/// A JSON POST, anonymous or as the admin token: status and JSON answer.
async fn post(app: &axum::Router, uri: &str, body: Value) -> (StatusCode, Value) {
    post_as(app, None, uri, body).await
}

async fn post_as(
    app: &axum::Router,
    token: Option<&str>,
    uri: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = Request::post(uri).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The text of the document's `<title>` element as the HTML has it.
fn title_of(html: &str) -> &str {
    let start = html.find("<title>").expect("a <title>") + "<title>".len();
    let end = html[start..].find("</title>").expect("a </title>") + start;
    &html[start..end]
}

/// Checks that the page's CSP allows scripts only by nonce or from this
/// site, and that the nonce is the one every inline script carries.
fn assert_policy_matches_scripts(csp: Option<&str>, html: &str) {
    let csp = csp.expect("a Content-Security-Policy header");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    assert!(nonce.len() >= 16, "a nonce of 128 bits: {nonce}");
    assert!(
        !csp.contains("'unsafe-inline' 'nonce") && !csp.contains("script-src 'unsafe-inline'"),
        "{csp}"
    );
    let mut inline = 0;
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        if tag.contains(" src=") {
            continue;
        }
        inline += 1;
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "an inline script without the page's nonce: {tag}"
        );
    }
    assert!(inline > 0, "the hydration script is inline");
}

const HOSTILE: &str = "</title><img src=x onerror=\"window.__x=1\">";

#[tokio::test]
async fn a_reflected_title_is_escaped_and_the_page_has_a_nonce_policy() {
    let app = app_with_demo().await;
    let q = domain::query::encode_component(HOSTILE);
    let (s, csp, html) = get(&app, &format!("/?q={q}")).await;
    assert_eq!(s, StatusCode::OK);
    let title = title_of(&html);
    assert!(title.contains("&lt;/title&gt;&lt;img src=x"), "{title}");
    assert!(
        !html.contains("<img src=x"),
        "the markup went into the page"
    );
    assert_policy_matches_scripts(csp.as_deref(), &html);
    // A second response has a nonce of its own.
    let (_, csp2, _) = get(&app, &format!("/?q={q}")).await;
    assert_ne!(csp, csp2);
}

#[tokio::test]
async fn a_stored_title_is_escaped_on_every_page_that_shows_it() {
    let app = app_with_demo().await;
    let name = format!("n_{HOSTILE}");
    let id = domain::asset::asset_id(domain::AssetKind::Dataset, "evil", &name);
    let res = app
        .clone()
        .oneshot(
            Request::put(format!(
                "/api/v1/assets/{}",
                domain::query::encode_component(&id)
            ))
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .body(Body::from(
                json!({"kind": "dataset", "namespace": "evil", "name": name}).to_string(),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = domain::query::encode_component(&id);
    for page in [
        format!("/asset?id={id}"),
        format!("/asset?id={id}&tab=lineage"),
        format!("/graph?id={id}"),
    ] {
        let (s, csp, html) = get(&app, &page).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(
            title_of(&html).contains("n_&lt;/title&gt;"),
            "{page}: {}",
            title_of(&html)
        );
        assert!(
            !html.contains("<img src=x"),
            "{page}: the markup went into the page"
        );
        assert_policy_matches_scripts(csp.as_deref(), &html);
    }
}

#[tokio::test]
async fn answers_that_are_not_pages_run_no_script() {
    let app = app_with_demo().await;
    let (s, csp, _) = get(&app, "/api/v1/assets?limit=1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(csp.as_deref(), Some(crate::csp::STRICT));
}

/// The simulator's bombs: each is refused before it allocates, naming the
/// field, through the REST API as an anonymous caller.
#[tokio::test]
async fn simulate_bombs_are_refused_naming_the_field() {
    let app = app_with_demo().await;
    let mut policy = serde_json::to_value(domain::scaling::reference_policy()).unwrap();
    let traffic = json!({"kind": "constant", "qps": 200000.0});
    let cases = [
        (
            json!({"policy": policy, "traffic": traffic, "initial_replicas": 4_000_000_000u64}),
            "initial_replicas",
        ),
        (
            json!({"policy": policy, "traffic": traffic, "initial_replicas": 10_000_000}),
            "initial_replicas",
        ),
        (
            {
                policy["max_replicas"] = json!(4_000_000_000u64);
                policy["min_replicas"] = json!(4_000_000_000u64);
                json!({"policy": policy, "traffic": traffic})
            },
            "policy.max_replicas",
        ),
        (
            {
                policy = serde_json::to_value(domain::scaling::reference_policy()).unwrap();
                policy["perf"]["step_a_ms"] = json!(0.000001);
                policy["perf"]["max_batch"] = json!(1);
                json!({"policy": policy, "traffic": traffic, "initial_replicas": 5000})
            },
            "policy.perf.step_a_ms",
        ),
        (
            {
                policy = serde_json::to_value(domain::scaling::reference_policy()).unwrap();
                policy["perf"]["output_tokens"] = json!(100_000);
                policy["max_replicas"] = json!(10_000);
                json!({"policy": policy, "traffic": traffic})
            },
            "policy.max_replicas",
        ),
    ];
    for (body, field) in cases {
        let (s, v) = post(&app, "/api/v1/simulate", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
}

/// The Scaling tab's preview refuses bad input with 400 and the reason,
/// as the REST API does, not with a server error.
#[tokio::test]
async fn a_preview_of_bad_input_is_a_400_naming_what_is_wrong() {
    let app = app_with_demo().await;
    let service = crate::router_tests::demo_service();
    let good = serde_json::to_value(domain::scaling::reference_policy()).unwrap();
    let mut bomb = good.clone();
    bomb["max_replicas"] = json!(4_000_000_000u64);
    let cases = [
        (good.clone(), "nowhere", "", "unknown scenario"),
        (bomb, "quarter", "", "max_replicas"),
        (good.clone(), "trace", "seconds,qps\nx,1", "trace"),
    ];
    for (policy, scenario, trace, says) in cases {
        let body = json!({"id": service, "proposed": policy, "scenario": scenario, "duration_s": 5.0, "trace_csv": trace});
        let (s, v) = post(&app, "/rpc/preview_scaling", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{scenario}: {v}");
        assert!(v.to_string().contains(says), "{scenario}: {v}");
    }
    let body = json!({"id": service, "proposed": good, "scenario": "quarter", "duration_s": 5.0, "trace_csv": ""});
    let (s, v) = post(&app, "/rpc/preview_scaling", body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// One caller may have two simulations under way; a third is refused with
/// 429, and runs whose requests went away stop and free their slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_caller_is_limited_and_abandoned_simulations_stop() {
    use app::api::scaling::sim;
    let mut policy = domain::scaling::reference_policy();
    policy.perf.step_a_ms = 0.1;
    policy.perf.max_batch = 1;
    policy.min_replicas = 5000;
    policy.max_replicas = 5000;
    // Far more work than the event budget allows: it runs until stopped.
    let cfg = domain::scaling::SimConfig::new(
        policy,
        domain::scaling::Traffic::Constant { qps: 200_000.0 },
        120.0,
        1,
    );
    let who = "test:abandoned";
    let a = tokio::spawn(sim::run(cfg.clone(), who));
    let b = tokio::spawn(sim::run(cfg.clone(), who));
    while sim::in_flight_of(who) < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        sim::run(cfg.clone(), who).await.unwrap_err(),
        sim::RunError::Busy
    );
    a.abort();
    b.abort();
    // Aborting the requests cancels the runs; without the cancel flag they
    // would hold their slots (and the server's permits) until the budget.
    let mut waited = 0;
    while sim::in_flight_of(who) > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
        assert!(
            waited < 1200,
            "abandoned simulations are still running after a minute"
        );
    }
}

/// The export streams page by page (5,000 records a page) and still lists
/// every record exactly once, assets then edges, each in id order.
#[tokio::test]
async fn the_export_streams_every_record_once_in_id_order() {
    let app = crate::router::build(
        catalog::Catalog::connect("mem://").await.unwrap(),
        crate::router_tests::options(),
        crate::auth::AuthState::new(true, Some(ADMIN.into())),
    );
    let n = 5_050;
    let mut ndjson = String::new();
    for i in (0..n).rev() {
        ndjson.push_str(&format!(
            "{{\"type\":\"asset\",\"kind\":\"dataset\",\"namespace\":\"s\",\"name\":\"t{i:05}\"}}\n"
        ));
    }
    for i in 0..40 {
        ndjson.push_str(&format!(
            "{{\"type\":\"edge\",\"from\":\"dataset:s:t{i:05}\",\"to\":\"dataset:s:t{:05}\",\"kind\":\"derives\"}}\n",
            i + 1
        ));
    }
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/v1/import")
                .header("authorization", format!("Bearer {ADMIN}"))
                .body(Body::from(ndjson))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (s, _, text) = get(&app, "/api/v1/export").await;
    assert_eq!(s, StatusCode::OK);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), n + 40);
    let ids = |kind: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["type"] == kind)
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (assets, edges) = (ids("asset"), ids("edge"));
    assert_eq!((assets.len(), edges.len()), (n, 40));
    assert!(
        assets.windows(2).all(|w| w[0] < w[1]),
        "assets in id order, each once"
    );
    assert!(
        edges.windows(2).all(|w| w[0] < w[1]),
        "edges in id order, each once"
    );
    assert!(
        lines[..n].iter().all(|l| l["type"] == "asset"),
        "assets first"
    );
}

/// An anonymous upload is refused before its body is read: the answer
/// comes although the body never ends.
#[tokio::test]
async fn anonymous_uploads_are_refused_before_the_body_is_read() {
    let app = app_with_demo().await;
    for path in ["/api/v1/import", "/api/v1/import/dbt", "/api/v1/lineage"] {
        // A body that never finishes: reading it would hang the test.
        let endless = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            app.clone().oneshot(
                Request::post(path)
                    .header("content-type", "application/json")
                    .body(Body::from_stream(endless))
                    .unwrap(),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("{path}: the body was read before the caller was checked"))
        .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

/// An OpenLineage event with 5,000 inputs is stored whole, in one write.
/// (It used to take a minute: SurrealDB's UPSERT of a new record grows
/// with the transaction's size, so new assets are now CREATEd.)
#[tokio::test]
async fn an_event_with_five_thousand_inputs_is_stored_whole() {
    let app = app_with_demo().await;
    let inputs: Vec<Value> = (0..5_000)
        .map(|i| json!({"namespace": "wide", "name": format!("in_{i}")}))
        .collect();
    let event = json!({
        "eventType": "COMPLETE", "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190c9b2-6f6e-7cd1-a1f5-3c0b4f9c2a11"},
        "job": {"namespace": "wide", "name": "job"},
        "inputs": inputs, "outputs": [{"namespace": "wide", "name": "out"}]
    });
    let (s, v) = post_as(&app, Some(ADMIN), "/api/v1/lineage", event).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let job = domain::query::encode_component("workflow:wide:job");
    let (s, _, text) = get(
        &app,
        &format!("/api/v1/lineage/{job}?direction=upstream&depth=1&limit=10000"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&text).unwrap();
    let upstream = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["depth"] == -1)
        .count();
    assert_eq!(upstream, 5_000);
}

/// Repeated facet values count once (8,000 repeats answer like one), and
/// the limits on values, words and offsets answer 400 naming the field.
#[tokio::test]
async fn facet_repeats_count_once_and_search_limits_name_their_field() {
    let app = app_with_demo().await;
    // Issue 14's request: 8,000 repeats, a 16 KB URL, once answered 772 MB.
    let repeated = vec!["x"; 8_000].join(",");
    let (s, _, once) = get(&app, "/?owner=x").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, many) = get(&app, &format!("/?owner={repeated}")).await;
    assert_eq!(s, StatusCode::OK);
    // The same page but for the echoed query; not 8,000 times larger.
    assert!(
        many.len() < once.len() * 2,
        "{} bytes against {}",
        many.len(),
        once.len()
    );
    let (s, _, text) = get(&app, &format!("/api/v1/assets?owner={repeated}&limit=1")).await;
    assert_eq!(s, StatusCode::OK, "{text}");

    let distinct: Vec<String> = (0..51).map(|i| format!("o{i}")).collect();
    let words = vec!["w"; 33].join("%20");
    for (query, field) in [
        (format!("owner={}", distinct.join(",")), "owner"),
        (format!("tag={}", "t".repeat(201)), "tag"),
        (format!("q={}", "q".repeat(501)), "q"),
        (format!("q={words}"), "q"),
        ("offset=1000000000".to_string(), "offset"),
        ("offset=18446744073709551615".to_string(), "offset"),
        ("limit=1001".to_string(), "limit"),
    ] {
        let (s, _, text) = get(&app, &format!("/api/v1/assets?{query}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["field"], field, "{query}: {text}");
    }
}

/// OpenLineage names meet the limits every other write path has: at most
/// 512 bytes, one line, no control characters; the 400 says where.
#[tokio::test]
async fn openlineage_names_meet_the_write_paths_limits() {
    let app = app_with_demo().await;
    let event = |input: &str, output: &str, job: &str| {
        json!({
            "eventType": "COMPLETE", "eventTime": "2024-05-01T12:00:00Z",
            "producer": "https://example.com/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": "0190c9b2-6f6e-7cd1-a1f5-3c0b4f9c2a11"},
            "job": {"namespace": "names", "name": job},
            "inputs": [{"namespace": "names", "name": input}],
            "outputs": [{"namespace": "names", "name": output}]
        })
    };
    let long = "n".repeat(600);
    for (body, field) in [
        (event(&long, "out", "job"), "inputs[0].name"),
        (event("in", "out\u{0}x", "job"), "outputs[0].name"),
        (event("in", "out", "job\u{7}"), "job.name"),
        (event("in", "two\nlines", "job"), "outputs[0].name"),
    ] {
        let (status, v) = post_as(&app, Some(ADMIN), "/api/v1/lineage", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {v}");
        assert_eq!(v["field"], field, "{v}");
    }
    // Nothing of them was stored.
    let (_, _, text) = get(&app, "/api/v1/assets?q=names&limit=100").await;
    let v: Value = serde_json::from_str(&text).unwrap();
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["namespace"] != "names"),
        "{text}"
    );
}
