//! A fuzz corpus run through the whole router (real embedded SurrealDB):
//! over 10,000 requests made by mutating valid seeds, for the OpenLineage
//! parser, NDJSON import, dbt import, schema diffs (impact), simulate
//! bodies and every query parameter of the read endpoints. The property:
//! no request panics the server or gets a 5xx, and every 400 names the
//! field at fault. The mutations are seeded, so a failure reproduces; the
//! failing case is printed.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::router_tests::{app_with_demo, ADMIN};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// SplitMix64: small, seeded, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// Values that break parsers: wrong types, extremes, hostile text.
fn nasty(rng: &mut Rng) -> Value {
    let long = "x".repeat(10_000);
    let choices = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(4_000_000_000u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-1e308),
        json!(0.000_001),
        json!(""),
        json!(" "),
        json!("\u{0}"),
        json!("a\nb"),
        json!("</title><script>window.__x=1</script>"),
        json!("../../etc/passwd"),
        json!("%00%ff"),
        json!("NaN"),
        json!("1e999"),
        json!("😀"),
        json!(long),
        json!([]),
        json!([1, "a", null]),
        json!({}),
        json!({"a": {"b": {"c": []}}}),
    ];
    rng.pick(&choices).clone()
}

/// One random change somewhere in a JSON value: replace, remove or add a
/// member, or replace an element.
fn mutate(v: &mut Value, rng: &mut Rng, depth: u32) {
    match v {
        Value::Object(map) if !map.is_empty() && depth < 6 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = rng.pick(&keys).clone();
            match rng.below(6) {
                0 => {
                    map.remove(&k);
                }
                1 => {
                    map.insert(k, nasty(rng));
                }
                2 => {
                    map.insert(format!("unknown_{}", rng.below(100)), nasty(rng));
                }
                _ => mutate(map.get_mut(&k).unwrap(), rng, depth + 1),
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 6 => {
            let i = rng.below(items.len());
            match rng.below(5) {
                0 => {
                    items.remove(i);
                }
                1 => items[i] = nasty(rng),
                2 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                _ => mutate(&mut items[i], rng, depth + 1),
            }
        }
        _ => *v = nasty(rng),
    }
}

/// A body as text: usually the mutated JSON, sometimes cut short or with
/// a byte flipped, so the JSON parsers see broken text too.
fn text_of(v: &Value, rng: &mut Rng) -> String {
    let mut s = v.to_string();
    match rng.below(10) {
        0 if !s.is_empty() => {
            let mut cut = rng.below(s.len());
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
        }
        1 => s.insert(rng.below(s.len() + 1).min(s.len()), '\u{1}'),
        _ => {}
    }
    if !s.is_char_boundary(s.len()) {
        s.clear();
    }
    s
}

fn files(dir: &str, ext: &str, max_bytes: u64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut todo = vec![std::path::PathBuf::from(DATA).join(dir)];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().ends_with(ext)
                && e.metadata().is_ok_and(|m| m.len() <= max_bytes)
            {
                if let Ok(v) =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_default())
                {
                    out.push(v);
                }
            }
        }
    }
    out
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: String,
    ctype: &str,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", ctype)
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_hostile_requests_get_no_5xx_and_every_400_names_its_field() {
    let app = app_with_demo().await;
    let mut rng = Rng(0x006d_6c67_7261_7068);
    let demo = domain::demo::demo();
    let dataset = demo
        .assets
        .iter()
        .find(|a| a.kind == domain::AssetKind::Dataset && !a.schema.is_empty())
        .unwrap()
        .clone();
    let ds = domain::query::encode_component(&dataset.id);

    let mut events = files("openlineage/events", ".json", 64 * 1024);
    events.push(json!({
        "eventType": "COMPLETE", "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://example.com/fuzz", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190c9b2-6f6e-7cd1-a1f5-3c0b4f9c2a11"},
        "job": {"namespace": "fuzz", "name": "job"},
        "inputs": [{"namespace": "fuzz", "name": "in", "facets": {"schema": {"_producer": "p", "_schemaURL": "s", "fields": [{"name": "a", "type": "int"}]}}}],
        "outputs": [{"namespace": "fuzz", "name": "out"}]
    }));
    let manifests = files("dbt", ".manifest.json", 64 * 1024);
    let import = json!({"type": "asset", "kind": "dataset", "namespace": "fuzz", "name": "t", "schema": [{"name": "a", "type": "int"}], "owners": ["o"], "tags": ["t"]});
    let edge = json!({"type": "edge", "from": "dataset:fuzz:t", "to": dataset.id, "kind": "derives", "columns": [{"from": "a", "to": dataset.schema[0].name}]});
    let impact = json!({"dataset": dataset.id, "changes": [{"op": "drop", "column": dataset.schema[0].name}, {"op": "rename", "column": dataset.schema[0].name, "to": "b"}, {"op": "retype", "column": dataset.schema[0].name, "to": "string"}]});
    let simulate = json!({
        "policy": domain::scaling::reference_policy(),
        "traffic": {"kind": "constant", "qps": 100.0},
        "duration_s": 4.0, "seed": 1
    });
    let reads: Vec<(&str, Vec<&str>)> = vec![
        (
            "/api/v1/assets",
            vec!["q", "kind", "owner", "tag", "limit", "offset"],
        ),
        (
            "/api/v1/lineage/DS",
            vec!["direction", "depth", "kinds", "limit"],
        ),
        ("/api/v1/paths", vec!["from", "to", "limit"]),
        ("/api/v1/hubs", vec!["limit"]),
        ("/api/v1/lineage", vec!["nodeId", "depth"]),
        (
            "/api/v1/column-lineage",
            vec!["nodeId", "depth", "withDownstream"],
        ),
        ("/api/v1/namespaces/fuzz/datasets", vec!["limit", "offset"]),
        (
            "/api/v1/namespaces/fuzz/jobs/job/runs",
            vec!["limit", "offset"],
        ),
        ("/api/v1/audit", vec!["actor", "target", "limit"]),
        (
            "/api/v1/assets/DS/report",
            vec!["format", "direction", "depth"],
        ),
        ("/api/v1/ingestion", vec!["source", "limit"]),
    ];
    let param_values = [
        "",
        "-1",
        "0",
        "1",
        "20",
        "101",
        "1001",
        "10001",
        "18446744073709551615",
        "99999999999999999999",
        "1e9",
        "abc",
        "%00",
        "%FF%FE",
        "%3C%2Ftitle%3E",
        "upstream",
        "both",
        "dataset,model",
        "DS",
        "x%2Cx%2Cx",
        "csv",
        "html",
        "json",
        "svg",
        "true",
    ];

    let mut failures = Vec::new();
    let mut cases = 0;
    let mut check = |what: String, status: StatusCode, text: &str| {
        cases += 1;
        let named = serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| {
                v.get("field")
                    .and_then(Value::as_str)
                    .map(|f| !f.is_empty())
            })
            .unwrap_or(false);
        if status.is_server_error() || (status == StatusCode::BAD_REQUEST && !named) {
            failures.push(format!(
                "{status} for {what}: {}",
                text.chars().take(300).collect::<String>()
            ));
        }
    };
    for i in 0..10_200 {
        let kind = i % 7;
        let (method, uri, body, ctype) = match kind {
            0 => {
                let mut v = rng.pick(&events).clone();
                mutate(&mut v, &mut rng, 0);
                (
                    "POST",
                    "/api/v1/lineage".to_string(),
                    text_of(&v, &mut rng),
                    "application/json",
                )
            }
            1 => {
                let mut lines = Vec::new();
                for _ in 0..1 + rng.below(3) {
                    let mut v = if rng.below(2) == 0 {
                        import.clone()
                    } else {
                        edge.clone()
                    };
                    if let Some(o) = v.as_object_mut() {
                        o.insert("name".into(), json!(format!("t{}", rng.below(50))));
                    }
                    mutate(&mut v, &mut rng, 0);
                    lines.push(text_of(&v, &mut rng));
                }
                (
                    "POST",
                    "/api/v1/import".to_string(),
                    lines.join("\n"),
                    "application/x-ndjson",
                )
            }
            2 if !manifests.is_empty() => {
                let mut v = rng.pick(&manifests).clone();
                mutate(&mut v, &mut rng, 0);
                (
                    "POST",
                    "/api/v1/import/dbt".to_string(),
                    text_of(&v, &mut rng),
                    "application/json",
                )
            }
            3 => {
                let mut v = impact.clone();
                mutate(&mut v, &mut rng, 0);
                (
                    "POST",
                    "/api/v1/impact".to_string(),
                    text_of(&v, &mut rng),
                    "application/json",
                )
            }
            4 if i % 35 == 4 => {
                // Simulations run for real, so fewer of them.
                let mut v = simulate.clone();
                mutate(&mut v, &mut rng, 0);
                (
                    "POST",
                    "/api/v1/simulate".to_string(),
                    text_of(&v, &mut rng),
                    "application/json",
                )
            }
            _ => {
                let (path, params) = rng.pick(&reads);
                let mut query = Vec::new();
                for _ in 0..1 + rng.below(4) {
                    let key = if rng.below(8) == 0 {
                        "zz"
                    } else {
                        *rng.pick(params)
                    };
                    let value = rng.pick(&param_values).replace("DS", &ds);
                    query.push(format!("{key}={value}"));
                }
                let uri = format!("{}?{}", path.replace("DS", &ds), query.join("&"));
                ("GET", uri, String::new(), "application/json")
            }
        };
        let (status, text) = send(&app, method, &uri, body.clone(), ctype).await;
        check(
            format!(
                "{method} {uri} {}",
                body.chars().take(200).collect::<String>()
            ),
            status,
            &text,
        );
    }
    assert!(cases >= 10_000, "{cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
