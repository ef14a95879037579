//! Durability: the real `mlgraph` binary on SurrealKV is killed with
//! SIGKILL while four clients post OpenLineage events to it, ten times
//! over. After the last restart every event the server acknowledged (201)
//! is in the catalog, and the lineage index the server rebuilt answers
//! exactly what the store holds.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "durability-admin-token";
const CYCLES: usize = 10;
const WRITERS: usize = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mlgraph"))
        .arg("serve")
        .env("MLGRAPH_DB", db)
        .env("MLGRAPH_DEMO", "0")
        .env("MLGRAPH_ADMIN_TOKEN", TOKEN)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", std::env::temp_dir())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the mlgraph binary starts")
}

async fn wait_ready(client: &reqwest::Client, base: &str, child: &mut Child) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client
            .get(format!("{base}/api/v1/assets?limit=1"))
            .send()
            .await
        {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited while starting"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the server did not start in 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the server on `db` at a free port and waits until it answers.
async fn serve(client: &reqwest::Client, db: &str) -> (Child, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(db, port);
    wait_ready(client, &base, &mut child).await;
    (child, base)
}

async fn get_text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

fn event(job: &str, output: &str) -> String {
    serde_json::json!({
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://example.com/durability",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190c9b2-6f6e-7cd1-a1f5-3c0b4f9c2a11"},
        "job": {"namespace": "durability", "name": job},
        "inputs": [{"namespace": "durability", "name": "source"}],
        "outputs": [{"namespace": "durability", "name": output}]
    })
    .to_string()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill_and_the_index_matches_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("surrealkv://{}/db", dir.path().display());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    for cycle in 0..CYCLES {
        let (mut child, base) = serve(&client, &db).await;
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (client, base, acknowledged) =
                    (client.clone(), base.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    let job = format!("job_{cycle}_{w}");
                    for n in 0.. {
                        let output = format!("out_{cycle}_{w}_{n}");
                        let r = client
                            .post(format!("{base}/api/v1/lineage"))
                            .header("authorization", format!("Bearer {TOKEN}"))
                            .header("content-type", "application/json")
                            .body(event(&job, &output))
                            .send()
                            .await;
                        match r {
                            Ok(r) if r.status().as_u16() == 201 => {
                                acknowledged.lock().unwrap().push((job.clone(), output));
                            }
                            // The server is gone: stop.
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        // Kill at a different moment each cycle, mid-ingestion.
        tokio::time::sleep(Duration::from_millis(400 + 150 * (cycle as u64 % 7))).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for w in writers {
            w.await.unwrap();
        }
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    eprintln!(
        "{} events acknowledged across {CYCLES} kills",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() > CYCLES * WRITERS,
        "only {} events went in",
        acknowledged.len()
    );

    let (mut child, base) = serve(&client, &db).await;
    // Every acknowledged event is in the store.
    let export = get_text(&client, format!("{base}/api/v1/export")).await;
    let mut assets = BTreeSet::new();
    let mut store_edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in export.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str() {
            Some("asset") => {
                assets.insert(v["id"].as_str().unwrap().to_string());
            }
            Some("edge") => {
                store_edges
                    .entry(v["from"].as_str().unwrap().to_string())
                    .or_default()
                    .insert(v["to"].as_str().unwrap().to_string());
            }
            _ => {}
        }
    }
    let mut lost = Vec::new();
    for (job, output) in &acknowledged {
        let (j, o) = (
            format!("workflow:durability:{job}"),
            format!("dataset:durability:{output}"),
        );
        if !assets.contains(&o) || !store_edges.get(&j).is_some_and(|t| t.contains(&o)) {
            lost.push(output.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events lost: {:?}",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(10)]
    );
    // The lineage index the restarted server holds answers what the store
    // holds: every asset's direct downstream neighbours.
    for id in &assets {
        let text = get_text(
            &client,
            format!(
                "{base}/api/v1/lineage/{}?direction=downstream&depth=1&limit=10000",
                enc(id)
            ),
        )
        .await;
        let r: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("lineage of {id}: {e}: {text}"));
        let index: BTreeSet<String> = r["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["depth"] == 1)
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect();
        let store = store_edges.get(id).cloned().unwrap_or_default();
        assert_eq!(index, store, "downstream of {id}: index and store differ");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
