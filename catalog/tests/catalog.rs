//! The catalog against the real embedded SurrealDB, in memory and on disk.

mod common;

use catalog::{Catalog, CatalogError};
use common::{edge, open_disk};
use domain::query::SearchQuery;
use domain::record::parse_ndjson;
use domain::{AssetInput, AssetKind, Field};

async fn mem() -> Catalog {
    Catalog::connect("mem://").await.expect("in-memory catalog")
}

/// Every list of an asset page at its first window.
fn first() -> domain::page::DetailWindow {
    domain::page::DetailWindow::default()
}

fn dataset(name: &str, cols: &[&str]) -> domain::Asset {
    AssetInput {
        kind: Some("dataset".into()),
        namespace: Some("warehouse".into()),
        name: Some(name.into()),
        description: Some(format!("The {name} table.")),
        owners: vec!["data-eng".into()],
        tags: vec!["gold".into()],
        schema: cols.iter().map(|c| Field::new(c, "string", true)).collect(),
        ..Default::default()
    }
    .into_asset(None)
    .unwrap()
}

fn feature(name: &str, owner: &str) -> domain::Asset {
    AssetInput {
        kind: Some("feature".into()),
        namespace: Some("fs".into()),
        name: Some(name.into()),
        owners: vec![owner.into()],
        tags: vec!["online".into()],
        schema: vec![Field::new("value", "double", true)],
        ..Default::default()
    }
    .into_asset(None)
    .unwrap()
}

#[tokio::test]
async fn assets_are_versioned_on_every_change() {
    let c = mem().await;
    let a = dataset("playback_events", &["member_id", "title_id"]);
    let (stored, out) = c.put_asset(a.clone(), None, "test").await.unwrap();
    assert_eq!(out.assets_created, 1);
    assert_eq!(stored.version, 1);
    assert!(stored.created_at.is_some());

    let (again, out) = c.put_asset(a.clone(), None, "test").await.unwrap();
    assert_eq!(
        out.assets_unchanged, 1,
        "an identical put is not a new version"
    );
    assert_eq!(again.version, 1);

    let mut changed = a.clone();
    changed.tags.push("pii".into());
    changed.schema.push(Field::new("country", "string", true));
    let (v2, _) = c.put_asset(changed, Some(1), "ann").await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(
        v2.created_at, stored.created_at,
        "creation time survives updates"
    );

    let detail = c.asset_detail(&a.id, first()).await.unwrap();
    let versions = &detail.versions.items;
    assert_eq!(detail.versions.total, 2);
    assert_eq!(versions[0].version, 2);
    assert_eq!(versions[0].by, "ann");
    assert_eq!(versions[0].changes, vec!["tags", "schema"]);
    assert_eq!(versions[1].changes, vec!["created"]);
    assert_eq!(c.graph_version().await.unwrap(), 2);
}

#[tokio::test]
async fn stale_versions_conflict_and_write_nothing() {
    let c = mem().await;
    let a = dataset("t", &["x"]);
    c.put_asset(a.clone(), None, "t").await.unwrap();
    let mut b = a.clone();
    b.description = "new".into();
    let err = c.put_asset(b, Some(7), "t").await.unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err}");
    assert_eq!(
        c.get_asset(&a.id).await.unwrap().description,
        "The t table."
    );
}

#[tokio::test]
async fn search_ranks_text_and_counts_facets() {
    let c = mem().await;
    c.put_asset(
        dataset("playback_events", &["member_id", "watch_seconds"]),
        None,
        "t",
    )
    .await
    .unwrap();
    c.put_asset(dataset("title_metadata", &["title_id", "genre"]), None, "t")
        .await
        .unwrap();
    c.put_asset(feature("member_watch_time_7d", "ranking-team"), None, "t")
        .await
        .unwrap();
    c.put_asset(feature("title_popularity_28d", "content-team"), None, "t")
        .await
        .unwrap();

    let all = c
        .search(&SearchQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.total, 4);
    assert_eq!(all.facets.kind["dataset"], 2);
    assert_eq!(all.facets.kind["feature"], 2);
    assert_eq!(all.facets.tag["online"], 2);

    // A column name, a prefix of a word in a name, and a tag are all found.
    let by_column = c
        .search(&SearchQuery {
            q: "genre".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_column
            .items
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        vec!["title_metadata"]
    );
    let by_prefix = c
        .search(&SearchQuery {
            q: "watc".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_prefix.total, 2, "{:?}", by_prefix.items);

    let narrowed = c
        .search(&SearchQuery {
            q: "watch".into(),
            kinds: vec![AssetKind::Feature],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(narrowed.total, 1);
    assert_eq!(narrowed.items[0].name, "member_watch_time_7d");
    // The kind facet ignores the kind filter, so the other kinds stay visible.
    assert_eq!(narrowed.facets.kind.get("dataset"), Some(&1));

    let by_owner = c
        .search(&SearchQuery {
            owners: vec!["content-team".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_owner.total, 1);
    let paged = c
        .search(&SearchQuery {
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((paged.total, paged.items.len()), (4, 1));
    assert_eq!(
        paged.items[0].name, "playback_events",
        "pages are ordered by name"
    );

    let hostile = c
        .search(&SearchQuery {
            q: "'; DELETE asset; --".into(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hostile.total, 0);
    assert_eq!(
        c.count_assets().await.unwrap(),
        4,
        "search text is bound, never executed"
    );
}

#[tokio::test]
async fn edges_link_neighbours_and_reject_bad_ends() {
    let c = mem().await;
    let d = dataset("events", &["member_id", "seconds"]);
    let f1 = feature("watch_7d", "a");
    let f2 = feature("watch_28d", "b");
    for a in [&d, &f1, &f2] {
        c.put_asset(a.clone(), None, "t").await.unwrap();
    }
    let mut e = edge(&d.id, &f1.id, "derives");
    e.columns = vec![domain::ColumnMapping {
        from: "seconds".into(),
        to: "value".into(),
        transform: Some("sum".into()),
    }];
    let (stored, _) = c.put_edge(e.clone(), "t").await.unwrap();
    assert_eq!(stored.columns, e.columns);
    assert!(stored.first_seen.is_some());
    c.put_edge(edge(&d.id, &f2.id, "derives"), "t")
        .await
        .unwrap();
    // Posting the same edge again names the same record.
    c.put_edge(e.clone(), "t").await.unwrap();
    assert_eq!(c.count_edges().await.unwrap(), 2);

    let detail = c.asset_detail(&f1.id, first()).await.unwrap();
    assert_eq!(detail.upstream.total, 1);
    assert_eq!(detail.upstream.items[0].id, d.id);
    assert_eq!(detail.upstream.items[0].columns[0].from, "seconds");
    assert_eq!(
        detail
            .reuse
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        vec![f2.id.as_str()]
    );
    let up = c.asset_detail(&d.id, first()).await.unwrap();
    assert_eq!(up.downstream.total, 2);

    let missing = edge(&d.id, "feature:fs:nope", "derives");
    let err = c.put_edge(missing, "t").await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::Invalid(v) if v.field == "to"),
        "{err}"
    );
    let wrong = edge(&f1.id, &d.id, "trains");
    assert!(
        matches!(c.put_edge(wrong, "t").await.unwrap_err(), CatalogError::Invalid(v) if v.field == "kind")
    );

    c.delete_edge(&e.id, "t").await.unwrap();
    assert!(matches!(
        c.delete_edge(&e.id, "t").await.unwrap_err(),
        CatalogError::NotFound(_)
    ));
    c.delete_asset(&d.id, "t").await.unwrap();
    assert_eq!(
        c.count_edges().await.unwrap(),
        0,
        "deleting an asset removes its edges"
    );
    assert!(matches!(
        c.get_asset(&d.id).await.unwrap_err(),
        CatalogError::NotFound(_)
    ));
}

#[tokio::test]
async fn imports_are_all_or_nothing() {
    let c = mem().await;
    let good = r#"{"type":"asset","kind":"dataset","name":"a","schema":[{"name":"x","type":"int"}]}
{"type":"asset","kind":"feature","name":"b","schema":[{"name":"y","type":"double"}]}
{"type":"edge","from":"dataset:default:a","to":"feature:default:b","kind":"derives","columns":[{"from":"x","to":"y"}]}"#;
    let bad = format!(
        "{good}\n{}",
        r#"{"type":"edge","from":"dataset:default:a","to":"feature:default:b","kind":"derives","columns":[{"from":"nope","to":"y"}]}"#
    );
    let batch = parse_ndjson(&bad).unwrap();
    let err = c
        .import(batch, vec!["line 3".into(), "line 4".into()], "t")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::Invalid(v) if v.field == "line 4.columns[0].from"),
        "{err}"
    );
    assert_eq!(
        c.count_assets().await.unwrap(),
        0,
        "a failed import writes nothing"
    );

    let out = c
        .import(parse_ndjson(good).unwrap(), vec![], "t")
        .await
        .unwrap();
    assert_eq!((out.assets_created, out.edges_written), (2, 1));
    let assets = c.export_assets(None, 100).await.unwrap();
    let edges = c.export_edges(None, 100).await.unwrap();
    assert_eq!((assets.len(), edges.len()), (2, 1));
    assert_eq!(edges[0].columns[0].from, "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surrealkv_catalog_keeps_its_data_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let estate = domain::demo::demo();
    {
        let c = open_disk(&url).await;
        assert!(c.is_empty().await.unwrap());
        let batch = domain::record::ImportBatch {
            assets: estate.assets.clone(),
            edges: estate.edges.clone(),
        };
        c.import(batch, vec![], "seed").await.unwrap();
    }
    let c = open_disk(&url).await;
    assert_eq!(
        c.count_assets().await.unwrap() as usize,
        estate.assets.len()
    );
    assert_eq!(c.count_edges().await.unwrap() as usize, estate.edges.len());
    let hit = c
        .search(&SearchQuery {
            q: "playback_events".into(),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        hit.items[0].name, "playback_events",
        "an exact name match ranks first"
    );
    let hit = c
        .search(&SearchQuery {
            q: "title_metadata".into(),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hit.items[0].name, "title_metadata");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_with_a_small_block_cache_holds_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let too_small = catalog::StoreOptions {
        cache_mb: catalog::MIN_STORE_CACHE_MB - 1,
        ..Default::default()
    };
    match Catalog::connect_with(&url, too_small).await {
        Err(CatalogError::Invalid(e)) => assert_eq!(e.field, "store_cache_mb"),
        Err(e) => panic!("expected a validation error, got {e}"),
        Ok(_) => panic!("a 15 MiB block cache was accepted"),
    }
    let tiny_memtable = catalog::StoreOptions {
        memtable_mb: catalog::MIN_STORE_MEMTABLE_MB - 1,
        ..Default::default()
    };
    match Catalog::connect_with(&url, tiny_memtable).await {
        Err(CatalogError::Invalid(e)) => assert_eq!(e.field, "store_memtable_mb"),
        Err(e) => panic!("expected a validation error, got {e}"),
        Ok(_) => panic!("a 63 MiB memtable was accepted"),
    }
    let estate = domain::demo::demo();
    {
        let small = catalog::StoreOptions {
            cache_mb: catalog::MIN_STORE_CACHE_MB,
            memtable_mb: catalog::MIN_STORE_MEMTABLE_MB,
        };
        let c = Catalog::connect_with(&url, small).await.unwrap();
        let batch = domain::record::ImportBatch {
            assets: estate.assets.clone(),
            edges: estate.edges.clone(),
        };
        c.import(batch, vec![], "seed").await.unwrap();
        assert_eq!(
            c.count_assets().await.unwrap() as usize,
            estate.assets.len()
        );
    }
    let c = open_disk(&url).await;
    assert_eq!(
        c.count_assets().await.unwrap() as usize,
        estate.assets.len()
    );
    assert_eq!(c.count_edges().await.unwrap() as usize, estate.edges.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lineage_follows_committed_writes_and_survives_reopen() {
    use domain::lineage::Direction;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let estate = domain::demo::demo();
    let ranker = domain::asset::asset_id(AssetKind::Model, "model-registry", "home_ranker");
    let before = {
        let c = open_disk(&url).await;
        let batch = domain::record::ImportBatch {
            assets: estate.assets.clone(),
            edges: estate.edges.clone(),
        };
        c.import(batch, vec![], "seed").await.unwrap();
        let up = c
            .lineage(&ranker, Some(Direction::Upstream), None, vec![], None)
            .unwrap();
        assert!(
            up.nodes
                .iter()
                .any(|n| n.name == "playback_events" && n.depth < -1),
            "the model's lineage reaches raw events"
        );
        assert!(up.nodes.iter().all(|n| n.depth <= 0));
        let datasets = c
            .lineage(
                &ranker,
                Some(Direction::Upstream),
                None,
                vec![AssetKind::Dataset],
                None,
            )
            .unwrap();
        assert!(datasets.nodes[1..]
            .iter()
            .all(|n| n.kind == AssetKind::Dataset));
        let near = c.lineage(&ranker, None, Some(1), vec![], Some(3)).unwrap();
        assert_eq!(near.nodes.len(), 4);
        assert!(near.truncated.omitted > 0);
        c.lineage(&ranker, None, None, vec![], None).unwrap()
    };
    let c = open_disk(&url).await;
    let after = c.lineage(&ranker, None, None, vec![], None).unwrap();
    let ids = |v: &domain::query::LineageView| {
        v.nodes
            .iter()
            .map(|n| (n.id.clone(), n.depth))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        ids(&after),
        ids(&before),
        "a restart rebuilds the same graph"
    );

    // Deleting an asset takes it out of the lineage at once.
    let eval = domain::asset::asset_id(
        AssetKind::Evaluation,
        "experiments",
        "home_ranker_offline_eval",
    );
    c.delete_asset(&eval, "t").await.unwrap();
    let down = c
        .lineage(&ranker, Some(Direction::Downstream), None, vec![], None)
        .unwrap();
    assert!(!down.nodes.iter().any(|n| n.id == eval));
    assert!(matches!(
        c.lineage("model:x:nope", None, None, vec![], None),
        Err(CatalogError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lineage_image_is_used_only_when_it_matches_the_store() {
    use domain::lineage::Direction;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let url = format!("surrealkv://{}", db.display());
    let image = dir.path().join("db.lineage");
    let estate = domain::demo::demo();
    let ranker = domain::asset::asset_id(AssetKind::Model, "model-registry", "home_ranker");
    let all = |c: &Catalog| {
        c.lineage(&ranker, None, None, vec![], None)
            .unwrap()
            .nodes
            .into_iter()
            .map(|n| (n.id, n.depth))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let before = {
        let c = open_disk(&url).await;
        let batch = domain::record::ImportBatch {
            assets: estate.assets.clone(),
            edges: estate.edges.clone(),
        };
        c.import(batch, vec![], "seed").await.unwrap();
        c.save_lineage_image().await.unwrap();
        all(&c)
    };
    let saved = std::fs::read(&image).unwrap();
    // A start from the image answers as the scan did, and leaves the image as it was.
    let c = open_disk(&url).await;
    assert_eq!(all(&c), before);
    assert_eq!(
        std::fs::read(&image).unwrap(),
        saved,
        "the image was read, not rewritten"
    );
    // A write the image has not seen makes it stale: the next start scans.
    let eval = domain::asset::asset_id(
        AssetKind::Evaluation,
        "experiments",
        "home_ranker_offline_eval",
    );
    c.delete_asset(&eval, "t").await.unwrap();
    drop(c);
    let c = open_disk(&url).await;
    let down = c
        .lineage(&ranker, Some(Direction::Downstream), None, vec![], None)
        .unwrap();
    assert!(
        !down.nodes.iter().any(|n| n.id == eval),
        "the stale image was ignored"
    );
    assert_ne!(
        std::fs::read(&image).unwrap(),
        saved,
        "the scan wrote a fresh image"
    );
    let current = all(&c);
    drop(c);
    // A damaged image is ignored too.
    let mut bytes = std::fs::read(&image).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&image, &bytes).unwrap();
    let c = open_disk(&url).await;
    assert_eq!(all(&c), current);
}

/// Two server processes on one store: each keeps its own in-memory graph,
/// and one sees the other's writes once it syncs. Its own writes do not
/// make it rebuild.
#[tokio::test]
async fn another_process_follows_writes_to_a_shared_store() {
    let a = mem().await;
    a.put_asset(dataset("orders", &["id"]), None, "a")
        .await
        .unwrap();
    let b = a.as_another_process().await.unwrap();
    assert!(!b.sync_graph().await.unwrap(), "nothing new yet");
    assert_eq!(b.graph().node_count(), 1);

    a.put_asset(feature("order_count", "growth"), None, "a")
        .await
        .unwrap();
    let derives = edge(
        "dataset:warehouse:orders",
        "feature:fs:order_count",
        "derives",
    );
    a.put_edge(derives.clone(), "a").await.unwrap();
    assert_eq!(b.graph().edge_count(), 0, "not seen before a sync");
    assert!(
        b.sync_graph().await.unwrap(),
        "the other's writes were seen"
    );
    assert_eq!((b.graph().node_count(), b.graph().edge_count()), (2, 1));

    // B's own writes are already in its graph: no rebuild for them.
    b.put_asset(dataset("payments", &["id"]), None, "b")
        .await
        .unwrap();
    assert!(!b.sync_graph().await.unwrap());
    assert_eq!(b.graph().node_count(), 3);

    // A deletes the edge; B drops it when it syncs, and A saw B's asset.
    a.delete_edge(&derives.id, "a").await.unwrap();
    assert!(b.sync_graph().await.unwrap());
    assert_eq!(b.graph().edge_count(), 0);
    assert!(a.sync_graph().await.unwrap(), "A catches up with B's asset");
    assert_eq!(a.graph().node_count(), 3);
    assert!(!a.sync_graph().await.unwrap(), "and then rests");
}
