//! Loading generated estates: the demo at first start, and large synthetic
//! catalogs for benchmarks.

use std::io::Write;

use domain::demo::Estate;
use domain::record::{ExportRecord, ImportBatch};

/// Records per transaction when loading a large estate. The demo fits in one.
const CHUNK: usize = 5_000;

/// Generates a demo estate of `assets` assets and loads it.
pub async fn load(
    catalog: &catalog::Catalog,
    seed: u64,
    assets: usize,
) -> anyhow::Result<(usize, usize)> {
    load_estate(catalog, domain::demo::generate(seed, assets)).await
}

/// Loads an estate: in one transaction when it is small, else through the
/// bulk import (assets first, so every edge's ends exist).
pub async fn load_estate(
    catalog: &catalog::Catalog,
    estate: Estate,
) -> anyhow::Result<(usize, usize)> {
    let Estate { assets, edges } = estate;
    let counts = (assets.len(), edges.len());
    if assets.len() + edges.len() <= 2 * CHUNK {
        let batch = ImportBatch { assets, edges };
        catalog
            .import(batch, vec![], "seed-demo")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(counts);
    }
    // Larger estates go through the bulk import: written to a temporary
    // NDJSON file and dropped from memory first, then loaded in parallel
    // batches with one audit record.
    let estate = Estate { assets, edges };
    let mut file = tempfile::NamedTempFile::new()?;
    {
        let mut w = std::io::BufWriter::new(file.as_file_mut());
        write_ndjson(&estate, &mut w)?;
    }
    drop(estate);
    crate::bulk::import_file(catalog, file.path(), "seed-demo").await?;
    Ok(counts)
}

pub fn write_ndjson(estate: &Estate, w: &mut dyn Write) -> anyhow::Result<()> {
    for a in &estate.assets {
        serde_json::to_writer(&mut *w, &ExportRecord::Asset(a))?;
        w.write_all(b"\n")?;
    }
    for e in &estate.edges {
        serde_json::to_writer(&mut *w, &ExportRecord::Edge(e))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// The demo's users: one per role, with teams that own demo assets.
const DEMO_USERS: &[(&str, &str, &str, &[&str])] = &[
    ("admin", "Demo Admin", "admin", &[]),
    ("ana.silva", "Ana Silva", "editor", &["playback-data"]),
    ("ben.okafor", "Ben Okafor", "approver", &["ml-platform"]),
    ("olu.ops", "Olu Operator", "operator", &["ml-platform"]),
    ("val.viewer", "Val Viewer", "viewer", &[]),
];

/// Creates the demo users in a catalog that has none, when the demo is on,
/// and prints their passwords once: `password` for all of them, or a
/// random one each.
pub async fn demo_users(
    catalog: &catalog::Catalog,
    demo: bool,
    password: Option<&str>,
) -> anyhow::Result<()> {
    let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
    if !demo || catalog.count_users().await.map_err(e)? > 0 {
        return Ok(());
    }
    let mut lines = Vec::new();
    for (name, display, role, teams) in DEMO_USERS {
        let pw = password
            .map(str::to_string)
            .unwrap_or_else(catalog::random_password);
        catalog
            .add_user(
                catalog::NewUser {
                    username: name.to_string(),
                    display_name: display.to_string(),
                    password: pw.clone(),
                    roles: domain::auth::parse_roles(role).map_err(|e| anyhow::anyhow!("{e}"))?,
                    teams: teams.iter().map(|t| t.to_string()).collect(),
                },
                "seed-demo",
            )
            .await
            .map_err(e)?;
        lines.push(format!("  {name:<12} {role:<9} {pw}"));
    }
    println!(
        "Demo users (shown once; sign in at /signin):\n  {:<12} {:<9} password\n{}",
        "user",
        "role",
        lines.join("\n")
    );
    Ok(())
}

/// The demo's LLM serving endpoint, configured like the reference case
/// (200k QPS, 50 tokens in and out, P99 under 1 s) but still balanced
/// round-robin, so that the Scaling tab has something to improve.
pub async fn demo_llm_service(catalog: &catalog::Catalog) -> anyhow::Result<String> {
    use domain::{AssetInput, EdgeInput};
    let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
    let model = AssetInput {
        kind: Some("model".into()),
        namespace: Some("model-registry".into()),
        name: Some("assistant_llm".into()),
        description: Some("Custom LLM behind the in-app assistant.".into()),
        owners: vec!["ml-platform".into()],
        tags: vec!["production".into(), "llm".into()],
        ..Default::default()
    }
    .into_asset(None)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let service = AssetInput {
        kind: Some("service".into()),
        namespace: Some("serving-prod".into()),
        name: Some("assistant_llm_endpoint".into()),
        description: Some(
            "Production LLM endpoint: over 200,000 queries per second, about 50 input and 50 output tokens each, P99 under 1 s end to end."
                .into(),
        ),
        owners: vec!["ml-platform".into()],
        tags: vec!["production".into(), "tier-1".into(), "llm".into()],
        ..Default::default()
    }
    .into_asset(None)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let edge = EdgeInput {
        id: None,
        from: model.id.clone(),
        to: service.id.clone(),
        kind: "deploys".into(),
        columns: vec![],
        first_seen: None,
        last_seen: None,
    }
    .into_edge()
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let id = service.id.clone();
    catalog
        .import(
            domain::record::ImportBatch {
                assets: vec![model, service],
                edges: vec![edge],
            },
            vec![],
            "seed-demo",
        )
        .await
        .map_err(e)?;
    let mut policy = domain::scaling::reference_policy();
    policy.load_balancer = domain::scaling::LbPolicy::RoundRobin;
    catalog
        .put_scaling(
            &id,
            policy,
            0,
            "seed-demo",
            "the reference case, balanced round-robin",
        )
        .await
        .map_err(e)?;
    Ok(id)
}
