//! A store written by an earlier mlgraph, with SCHEMAFULL assets, a
//! relation table of edges, indexes on keys and version rows with random
//! ids, opens, reads and takes writes as before.

mod common;

use common::{edge, open_disk};

/// The definitions and rows of a store from before 5 December 2026, as
/// that version's schema and writes made them.
const OLD_STORE: &str = r#"
DEFINE TABLE asset SCHEMAFULL;
DEFINE FIELD key ON asset TYPE string;
DEFINE FIELD kind ON asset TYPE string;
DEFINE FIELD namespace ON asset TYPE string;
DEFINE FIELD name ON asset TYPE string;
DEFINE FIELD description ON asset TYPE string DEFAULT '';
DEFINE FIELD owners ON asset TYPE array<string> DEFAULT [];
DEFINE FIELD tags ON asset TYPE array<string> DEFAULT [];
DEFINE FIELD domain ON asset TYPE option<string>;
DEFINE FIELD schema ON asset TYPE array<object> FLEXIBLE DEFAULT [];
DEFINE FIELD properties ON asset TYPE object FLEXIBLE DEFAULT {};
DEFINE FIELD version ON asset TYPE int;
DEFINE FIELD created_at ON asset TYPE datetime VALUE $before ?? time::now();
DEFINE FIELD updated_at ON asset TYPE datetime VALUE time::now();
DEFINE INDEX asset_key ON asset FIELDS key UNIQUE;
DEFINE INDEX asset_kind ON asset FIELDS kind;
DEFINE TABLE edge TYPE RELATION IN asset OUT asset ENFORCED SCHEMAFULL;
DEFINE FIELD key ON edge TYPE string;
DEFINE FIELD kind ON edge TYPE string;
DEFINE FIELD columns ON edge TYPE array<object> FLEXIBLE DEFAULT [];
DEFINE FIELD first_seen ON edge TYPE datetime DEFAULT time::now();
DEFINE FIELD last_seen ON edge TYPE datetime VALUE time::now();
DEFINE INDEX edge_in ON edge FIELDS in;
DEFINE INDEX edge_out ON edge FIELDS out;
DEFINE INDEX edge_key ON edge FIELDS key UNIQUE;
DEFINE TABLE asset_version SCHEMAFULL;
DEFINE FIELD asset ON asset_version TYPE string;
DEFINE FIELD version ON asset_version TYPE int;
DEFINE FIELD at ON asset_version TYPE datetime DEFAULT time::now();
DEFINE FIELD by ON asset_version TYPE string;
DEFINE FIELD changes ON asset_version TYPE array<string>;
DEFINE FIELD snapshot ON asset_version TYPE object FLEXIBLE;
DEFINE INDEX asset_version_key ON asset_version FIELDS asset, version UNIQUE;
CREATE asset:⟨dataset:warehouse:events⟩ CONTENT { key: 'dataset:warehouse:events', kind: 'dataset', namespace: 'warehouse', name: 'events', owners: ['data'], schema: [{ name: 'member_id', type: 'string', nullable: false }], version: 1 };
CREATE asset:⟨feature:fs:watch_7d⟩ CONTENT { key: 'feature:fs:watch_7d', kind: 'feature', namespace: 'fs', name: 'watch_7d', version: 1 };
CREATE asset_version CONTENT { asset: 'dataset:warehouse:events', version: 1, by: 'old', changes: ['created'], snapshot: {} };
CREATE asset_version CONTENT { asset: 'feature:fs:watch_7d', version: 1, by: 'old', changes: ['created'], snapshot: {} };
CREATE asset:⟨dataset:warehouse:busy⟩ CONTENT { key: 'dataset:warehouse:busy', kind: 'dataset', namespace: 'warehouse', name: 'busy', version: 2500 };
FOR $v IN 1..2501 { CREATE asset_version CONTENT { asset: 'dataset:warehouse:busy', version: $v, by: 'old', changes: ['description'], snapshot: {} }; };
RELATE asset:⟨dataset:warehouse:events⟩->edge:⟨old1⟩->asset:⟨feature:fs:watch_7d⟩ CONTENT { key: 'old1', kind: 'derives', columns: [] };
-- Rows from before times were kept: no creation time, no first sighting.
REMOVE FIELD created_at ON asset;
UPDATE asset:⟨dataset:warehouse:busy⟩ UNSET created_at;
REMOVE FIELD first_seen ON edge;
UPDATE edge:⟨old1⟩ UNSET first_seen;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_from_before_schemaless_tables_opens_and_takes_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    {
        let db = surrealdb::engine::any::connect(&url).await.unwrap();
        db.use_ns("mlgraph").use_db("catalog").await.unwrap();
        db.query(OLD_STORE).await.unwrap().check().unwrap();
    }
    let c = open_disk(&url).await;
    let events = "dataset:warehouse:events";
    let watch = "feature:fs:watch_7d";
    let old = c.get_asset(events).await.unwrap();
    assert_eq!(old.owners, vec!["data".to_string()]);
    let created = old.created_at.clone().expect("the old row's creation time");
    assert_eq!(c.count_edges().await.unwrap(), 1);
    assert_eq!(
        c.graph().edge_count(),
        1,
        "the old edge is in the lineage index"
    );

    // Old versions read as before, more of them than one migration batch.
    let busy = c
        .asset_detail(
            "dataset:warehouse:busy",
            domain::page::DetailWindow::default(),
        )
        .await
        .unwrap();
    assert_eq!(busy.versions.total, 2500);
    assert_eq!(busy.versions.items[0].version, 2500, "newest first");

    // The old asset takes an update, and keeps its creation time.
    let mut changed = old.clone();
    changed.description = "Every play event.".into();
    let (stored, _) = c.put_asset(changed, Some(1), "t").await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.created_at.as_deref(), Some(created.as_str()));
    assert!(stored.updated_at.is_some());
    let history = c
        .asset_detail(events, domain::page::DetailWindow::default())
        .await
        .unwrap()
        .versions;
    let versions: Vec<(u64, &str)> = history
        .items
        .iter()
        .map(|v| (v.version, v.by.as_str()))
        .collect();
    assert_eq!(versions, vec![(2, "t"), (1, "old")]);

    // A new asset and an edge from an old one are written beside them.
    let model = domain::AssetInput {
        kind: Some("model".into()),
        namespace: Some("mlflow".into()),
        name: Some("churn".into()),
        ..Default::default()
    }
    .into_asset(None)
    .unwrap();
    c.put_asset(model.clone(), None, "t").await.unwrap();
    let (new_edge, _) = c
        .put_edge(edge(watch, &model.id, "trains"), "t")
        .await
        .unwrap();
    assert!(new_edge.first_seen.is_some());
    assert_eq!(c.count_edges().await.unwrap(), 2);
    let detail = c
        .asset_detail(watch, domain::page::DetailWindow::default())
        .await
        .unwrap();
    assert_eq!(detail.upstream.total, 1, "the old edge reads as before");
    assert_eq!(
        detail.downstream.total, 1,
        "the new edge reads like the old"
    );

    // Deleting an asset removes old and new edges alike.
    c.delete_asset(watch, "t").await.unwrap();
    assert_eq!(c.count_edges().await.unwrap(), 0);
    drop(c);
    let c = open_disk(&url).await;
    assert_eq!(c.count_assets().await.unwrap(), 3);
    assert_eq!(
        c.graph().edge_count(),
        0,
        "the index rebuilt from the store agrees"
    );
}
