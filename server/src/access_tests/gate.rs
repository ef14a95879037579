//! The schema-change gate end to end: `mlgraph check` against a server on
//! a real port, a change request it opens, approval through the API, and
//! the import that carries the change out.

use super::*;
use crate::check_cli::{check, CheckArgs};
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: CheckArgs,
}

fn args(words: &[&str]) -> CheckArgs {
    let mut all = vec!["mlgraph-check"];
    all.extend_from_slice(words);
    Cli::try_parse_from(all).unwrap().args
}

async fn http(base: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let client = reqwest::Client::new();
    let mut req = client
        .request(method.parse().unwrap(), format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaking_diff_fails_the_check_until_approved_and_an_import_applies_it() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let token = |r: Role| token_of(&tokens, r);
    let editor = token(Role::Editor);

    // The pull request drops a column that a model is trained on, and
    // adds a nullable one to another dataset.
    let (dataset, column) = dataset_and_column();
    let estate = domain::demo::demo();
    let mut dropped = estate
        .assets
        .iter()
        .find(|a| a.id == dataset)
        .unwrap()
        .clone();
    dropped.schema.retain(|f| f.name != column);
    let mut widened = estate
        .assets
        .iter()
        .find(|a| a.kind == domain::AssetKind::Dataset && a.id != dataset && !a.schema.is_empty())
        .unwrap()
        .clone();
    widened
        .schema
        .push(domain::Field::new("added_later", "string", true));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proposed.ndjson");
    let lines: Vec<String> = [&dropped, &widened]
        .iter()
        .map(|a| serde_json::to_string(&domain::record::ExportRecord::Asset(a)).unwrap())
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let path = file.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut w = vec!["ndjson", path, "--server", &base, "--token", &editor];
        if !extra.contains(&"--format") {
            w.extend(["--format", "markdown"]);
        }
        w.extend_from_slice(extra);
        args(&w)
    };

    // 1. Breaking and unapproved: exit 1, the downstream model named.
    let (passes, text) = check(&run(&[])).await.unwrap();
    assert!(!passes, "{text}");
    assert!(text.contains("needs approval"), "{text}");
    // Markdown escapes the underscores of names.
    let escaped = column.replace('_', "\\_");
    assert!(text.contains(&format!("drop {escaped}")), "{text}");
    assert!(
        text.contains("| model |"),
        "a model is listed downstream: {text}"
    );
    assert!(
        text.contains("non-breaking"),
        "the added column passes: {text}"
    );

    // 2. --open files one request, and running it again files no second.
    let url = "https://git.example.com/pulls/7";
    for _ in 0..2 {
        let (passes, text) = check(&run(&["--open", "--url", url])).await.unwrap();
        assert!(!passes);
        assert!(text.contains("change request [#"), "{text}");
    }
    let changes = json!([{"op": "drop", "column": column}]);
    let found = http(
        &base,
        &editor,
        "POST",
        "/api/v1/change-requests/find",
        Some(json!({"dataset": dataset, "changes": changes})),
    )
    .await;
    let found = found.as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["state"], "open");
    assert!(found[0]["description"].as_str().unwrap().contains(url));
    assert_eq!(found[0]["source_url"], url);
    assert!(found[0]["check_report"]
        .as_str()
        .unwrap()
        .contains("needs approval"));
    let id = found[0]["id"].as_u64().unwrap();

    // 3. Approved through the API: the check passes.
    let approver = token(Role::Approver);
    let mut state = String::new();
    for _ in 0..10 {
        let cr = http(
            &base,
            &approver,
            "POST",
            &format!("/api/v1/change-requests/{id}/approve"),
            Some(json!({})),
        )
        .await;
        state = cr["state"].as_str().unwrap().to_string();
        if state == "approved" {
            break;
        }
    }
    assert_eq!(state, "approved");
    let (passes, text) = check(&run(&[])).await.unwrap();
    assert!(passes, "{text}");
    assert!(text.contains("approved"), "{text}");

    // 4. The merged change is imported: the request is applied, and the
    // check has nothing left to say about the dataset.
    let body = std::fs::read_to_string(&file).unwrap();
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/import"))
        .bearer_auth(&editor)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let cr = http(
        &base,
        &editor,
        "GET",
        &format!("/api/v1/change-requests/{id}"),
        None,
    )
    .await;
    assert_eq!(cr["state"], "applied", "{cr}");
    let (passes, text) = check(&run(&["--format", "json"])).await.unwrap();
    assert!(passes, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert!(report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["status"] == "unchanged"));

    // 5. Errors exit 2 with a message: a bad token, a server that is down.
    let bad = args(&["ndjson", path, "--server", &base, "--token", "nope"]);
    let e = check(&bad).await.unwrap_err().to_string();
    assert!(e.contains("401"), "{e}");
    server.abort();
    let _ = server.await;
    let e = check(&run(&[])).await.unwrap_err().to_string();
    assert!(e.contains("cannot reach"), "{e}");
}

#[tokio::test]
async fn a_check_names_the_field_of_bad_input() {
    let (catalog, _) = demo_with_users().await;
    let app = build(catalog, options(), AuthState::new(true, None));
    let (dataset, _) = dataset_and_column();
    let cases = [
        (json!({"datasets": []}), "datasets"),
        (
            json!({"datasets": [{"dataset": "nonsense", "schema": []}]}),
            "datasets[0].dataset",
        ),
        (
            json!({"datasets": [{"dataset": dataset, "schema": [{"name": "a", "type": "int"}], "renames": {"b": "c"}}]}),
            "datasets[0].renames.b",
        ),
        (
            json!({"datasets": [{"dataset": dataset, "schema": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}]}),
            "datasets[0].schema[1].name",
        ),
    ];
    for (body, field) in cases {
        let (s, _, text) = send(
            &app,
            As::Anonymous,
            "POST",
            "/api/v1/check",
            Some(body),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["field"], field, "{text}");
    }
}
