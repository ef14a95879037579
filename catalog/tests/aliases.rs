//! Aliases against the real embedded SurrealDB: two names of one table are
//! merged, and writes under the old name land on the target.

mod common;

use catalog::{Catalog, CatalogError};
use common::edge;
use domain::alias::NewAlias;
use domain::lineage::Direction;
use domain::query::SearchQuery;
use domain::record::ImportBatch;
use domain::{Asset, AssetInput, AssetKind};

fn asset(kind: &str, ns: &str, name: &str, owner: &str) -> Asset {
    AssetInput {
        kind: Some(kind.into()),
        namespace: Some(ns.into()),
        name: Some(name.into()),
        owners: vec![owner.into()],
        ..Default::default()
    }
    .into_asset(None)
    .unwrap()
}

fn alias(from: &str, to: &str) -> NewAlias {
    NewAlias {
        from: from.into(),
        to: to.into(),
    }
}

async fn import(c: &Catalog, assets: Vec<Asset>, edges: Vec<domain::Edge>) {
    c.import(ImportBatch { assets, edges }, vec![], "t")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_alias_merges_two_names_and_later_writes_land_on_the_target() {
    let c = Catalog::connect("mem://").await.unwrap();
    let mut old = asset("dataset", "dbt://postgres", "shop.orders", "ben");
    old.properties
        .insert("dbt.unique_id".into(), "model.shop.orders".into());
    old.description = "Orders, one row each.".into();
    let target = asset("dataset", "postgres://db:5432", "shop.orders", "ana");
    let build = asset("workflow", "dbt", "build_orders", "ben");
    let report = asset("workflow", "etl", "report", "ana");
    import(
        &c,
        vec![old.clone(), target.clone(), build.clone(), report.clone()],
        vec![
            edge(&build.id, &old.id, "writes"),
            edge(&old.id, &report.id, "reads"),
        ],
    )
    .await;

    let out = c.add_alias(alias(&old.id, &target.id), "t").await.unwrap();
    assert!(out.merged);
    assert_eq!(out.edges_moved, 2);

    // One asset: the old one is gone, its name answers the target.
    assert!(matches!(
        c.get_asset(&old.id).await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(c.canonical_id(&old.id).await.unwrap(), target.id);
    let merged = c.get_asset(&target.id).await.unwrap();
    assert_eq!(merged.owners, ["ana", "ben"]);
    assert_eq!(merged.description, "Orders, one row each.");
    assert_eq!(merged.properties["dbt.unique_id"], "model.shop.orders");
    assert_eq!(
        merged.version,
        target.version + 2,
        "a new version of the target"
    );
    assert_eq!(c.count_assets().await.unwrap(), 3);
    assert_eq!(c.count_edges().await.unwrap(), 2);
    let up = c
        .lineage(&target.id, Some(Direction::Upstream), None, vec![], None)
        .unwrap();
    assert!(up.nodes.iter().any(|n| n.id == build.id), "{up:?}");
    let down = c
        .lineage(&target.id, Some(Direction::Downstream), None, vec![], None)
        .unwrap();
    assert!(down.nodes.iter().any(|n| n.id == report.id), "{down:?}");
    assert!(c.lineage(&old.id, None, None, vec![], None).is_err());
    c.flush_search().unwrap();
    let found = c
        .search(&SearchQuery {
            q: "orders".into(),
            kinds: vec![AssetKind::Dataset],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = found.items.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [target.id.as_str()]);

    // A source that still uses the old name lands on the target.
    let late = asset("workflow", "dbt", "backfill_orders", "ben");
    let mut again = old.clone();
    again.owners = vec!["ben".into()];
    import(
        &c,
        vec![late.clone(), again],
        vec![edge(&late.id, &old.id, "writes")],
    )
    .await;
    assert!(matches!(
        c.get_asset(&old.id).await,
        Err(CatalogError::NotFound(_))
    ));
    let up = c
        .lineage(&target.id, Some(Direction::Upstream), None, vec![], None)
        .unwrap();
    assert!(up.nodes.iter().any(|n| n.id == late.id), "{up:?}");
    assert_eq!(c.get_asset(&target.id).await.unwrap().name, "shop.orders");

    // No chains: an alias of the target follows it when it is merged on.
    let newer = asset("dataset", "postgres://db2:5432", "shop.orders", "ana");
    import(&c, vec![newer.clone()], vec![]).await;
    c.add_alias(alias(&target.id, &newer.id), "t")
        .await
        .unwrap();
    let list = c.aliases().await.unwrap();
    let pairs: Vec<(&str, &str)> = list
        .iter()
        .map(|a| (a.from.as_str(), a.to.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            (old.id.as_str(), newer.id.as_str()),
            (target.id.as_str(), newer.id.as_str())
        ]
    );
    assert_eq!(c.canonical_id(&old.id).await.unwrap(), newer.id);
}

#[tokio::test]
async fn aliases_that_cannot_hold_are_refused_by_field() {
    let c = Catalog::connect("mem://").await.unwrap();
    let a = asset("dataset", "pg", "a", "ana");
    let b = asset("dataset", "pg", "b", "ana");
    let m = asset("model", "ml", "m", "ana");
    import(&c, vec![a.clone(), b.clone(), m.clone()], vec![]).await;
    let field = |e: CatalogError| match e {
        CatalogError::Invalid(v) | CatalogError::Refused(v) => v.field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(c.add_alias(alias(&a.id, &m.id), "t").await.unwrap_err()),
        "to"
    );
    assert_eq!(
        field(c.add_alias(alias(&a.id, &a.id), "t").await.unwrap_err()),
        "to"
    );
    assert!(matches!(
        c.add_alias(alias(&a.id, "dataset:pg:missing"), "t").await,
        Err(CatalogError::NotFound(_))
    ));
    // An id no source used yet may be declared ahead of it.
    let out = c
        .add_alias(alias("dataset:dbt:a", &a.id), "t")
        .await
        .unwrap();
    assert!(!out.merged);
    assert_eq!(
        field(
            c.add_alias(alias("dataset:dbt:a", &b.id), "t")
                .await
                .unwrap_err()
        ),
        "from"
    );
    assert_eq!(
        field(
            c.add_alias(alias(&b.id, "dataset:dbt:a"), "t")
                .await
                .unwrap_err()
        ),
        "to"
    );
    assert_eq!(c.count_assets().await.unwrap(), 3, "nothing was lost");
}
