//! Impact analysis from the in-memory index equals impact analysis from
//! the rows in the store, on generated estates, after random writes and
//! after a restart (when the index comes back from its image); and a
//! report bounded while it is built equals the whole one cut.

mod common;

use catalog::Catalog;
use domain::demo::{generate, Rng};
use domain::impact::{ChangeOp, Limits, SchemaChange};
use domain::record::ImportBatch;
use domain::{AssetKind, ColumnMapping};

/// Drops of random columns of random datasets: the two analyses must agree
/// on every one.
async fn agree(c: &Catalog, rng: &mut Rng, rounds: usize) {
    let datasets: Vec<domain::Asset> = c
        .export_assets(None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == AssetKind::Dataset && !a.schema.is_empty())
        .collect();
    assert!(!datasets.is_empty());
    let mut reached = 0;
    for _ in 0..rounds {
        let d = rng.pick(&datasets);
        let column = rng.pick(&d.schema).name.clone();
        let changes = vec![SchemaChange {
            op: ChangeOp::Drop,
            column,
            new_name: None,
            data_type: None,
            nullable: None,
        }];
        let memory = c.impact(&d.id, &changes).await.unwrap();
        let store = c.impact_from_store(&d.id, &changes).await.unwrap();
        assert_eq!(
            memory, store,
            "dropping {:?} of {}",
            changes[0].column, d.id
        );
        let limits = Limits {
            per_hop: 3,
            rows: 2,
        };
        let bounded = c.impact_limited(&d.id, &changes, Some(limits)).await;
        assert_eq!(bounded.unwrap(), store.bounded(3, 2));
        reached += memory.affected.len();
    }
    assert!(reached > rounds, "the drops reach something ({reached})");
}

/// Random writes that change what impact reads: owners, production tags,
/// column mappings, deleted assets and edges.
async fn scribble(c: &Catalog, rng: &mut Rng, writes: usize) {
    let estate = c.export_assets(None, 100_000).await.unwrap();
    let edges = c.export_edges(None, 100_000).await.unwrap();
    for i in 0..writes {
        match rng.below(4) {
            0 => {
                let mut a = rng.pick(&estate).clone();
                let Ok(mut stored) = c.get_asset(&a.id).await else {
                    continue;
                };
                stored.owners = vec![format!("team-{}", rng.below(5))];
                if rng.chance(50) {
                    stored.tags.push("production".into());
                } else {
                    stored.tags.retain(|t| t != "production");
                }
                a = stored;
                c.put_asset(a, None, "t").await.unwrap();
            }
            1 => {
                let e = rng.pick(&edges);
                let (Ok(from), Ok(to)) = (c.get_asset(&e.from).await, c.get_asset(&e.to).await)
                else {
                    continue;
                };
                if from.schema.is_empty() || to.schema.is_empty() {
                    continue;
                }
                let mut e = e.clone();
                e.columns = vec![ColumnMapping {
                    from: rng.pick(&from.schema).name.clone(),
                    to: rng.pick(&to.schema).name.clone(),
                    transform: None,
                }];
                c.put_edge(e, "t").await.unwrap();
            }
            2 if i % 3 == 0 => {
                let a = rng.pick(&estate);
                let _ = c.delete_asset(&a.id, "t").await;
            }
            _ => {
                let e = rng.pick(&edges);
                let _ = c.delete_edge(&e.id, "t").await;
            }
        }
    }
}

#[tokio::test]
async fn impact_from_memory_equals_impact_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let mut rng = Rng::new(7);
    for seed in [1u64, 2] {
        let c = common::open_disk(&url).await;
        if seed == 1 {
            let estate = generate(seed, 400);
            c.import(
                ImportBatch {
                    assets: estate.assets,
                    edges: estate.edges,
                },
                vec![],
                "t",
            )
            .await
            .unwrap();
        }
        agree(&c, &mut rng, 25).await;
        scribble(&c, &mut rng, 60).await;
        agree(&c, &mut rng, 25).await;
        // Saved as the server does at shutdown; the next round starts
        // from this image.
        c.save_lineage_image().await.unwrap();
    }
}
