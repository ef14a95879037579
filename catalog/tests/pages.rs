//! An asset page's windowed lists against the real embedded SurrealDB:
//! what the windows list, paged to the end, is the whole answer, and the
//! counts shown are its size, after writes and after a restart.

mod common;

use catalog::Catalog;
use domain::page::{DetailWindow, PageList, MAPPINGS_SHOWN, VERSION_WINDOW, WINDOW};
use domain::query::AssetDetail;
use domain::record::parse_ndjson;

const FEATURES: usize = 60;
const HUB: &str = "dataset:warehouse:hub";

/// A hub dataset with twelve columns; `FEATURES` features derived from it
/// (the first with all twelve columns mapped); a model trained on every
/// third feature.
fn estate() -> String {
    let cols: Vec<String> = (0..12)
        .map(|i| format!(r#"{{"name":"c{i}","type":"string"}}"#))
        .collect();
    let mut lines = vec![format!(
        r#"{{"type":"asset","kind":"dataset","namespace":"warehouse","name":"hub","schema":[{}]}}"#,
        cols.join(",")
    )];
    let fcols: Vec<String> = (0..12)
        .map(|i| format!(r#"{{"name":"v{i}","type":"string"}}"#))
        .collect();
    for f in 0..FEATURES {
        lines.push(format!(
            r#"{{"type":"asset","kind":"feature","namespace":"fs","name":"f{f:03}","schema":[{}]}}"#,
            fcols.join(",")
        ));
        let columns = if f == 0 {
            (0..12)
                .map(|i| format!(r#"{{"from":"c{i}","to":"v{i}"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            String::new()
        };
        lines.push(format!(
            r#"{{"type":"edge","from":"{HUB}","to":"feature:fs:f{f:03}","kind":"derives","columns":[{columns}]}}"#
        ));
        if f % 3 == 0 {
            lines.push(format!(
                r#"{{"type":"asset","kind":"model","namespace":"ml","name":"m{f:03}"}}"#
            ));
            lines.push(format!(
                r#"{{"type":"edge","from":"feature:fs:f{f:03}","to":"model:ml:m{f:03}","kind":"trains"}}"#
            ));
        }
    }
    lines.join("\n")
}

async fn load(c: &Catalog) {
    let batch = parse_ndjson(&estate()).unwrap();
    c.import(batch, vec![], "t").await.unwrap();
}

async fn detail(c: &Catalog, more: &str, offset: usize) -> AssetDetail {
    let w = DetailWindow::parse(more, &offset.to_string()).unwrap();
    c.asset_detail(HUB, w).await.unwrap()
}

/// Pages through one list to its end: every name, in order, and the total
/// each window states.
async fn page_through(c: &Catalog, list: PageList) -> (Vec<String>, Vec<usize>) {
    let (mut names, mut totals, mut offset) = (vec![], vec![], 0);
    loop {
        let d = detail(c, &list.param(), offset).await;
        let (total, items): (usize, Vec<String>) = match list {
            PageList::Downstream => (
                d.downstream.total,
                d.downstream.items.iter().map(|n| n.name.clone()).collect(),
            ),
            PageList::Hop(h) => {
                let hop = d.hops.iter().find(|x| x.depth == h).unwrap();
                (
                    hop.assets.total,
                    hop.assets.items.iter().map(|n| n.name.clone()).collect(),
                )
            }
            other => unreachable!("{other:?}"),
        };
        totals.push(total);
        if items.is_empty() {
            return (names, totals);
        }
        assert!(items.len() <= WINDOW);
        names.extend(items);
        offset += WINDOW;
    }
}

async fn check(c: &Catalog, features: &[String], models: &[String]) {
    let (names, totals) = page_through(c, PageList::Downstream).await;
    assert_eq!(
        names, features,
        "the windows list every neighbour once, by name"
    );
    assert!(totals.iter().all(|&t| t == features.len()), "{totals:?}");
    let (hop1, _) = page_through(c, PageList::Hop(1)).await;
    assert_eq!(hop1, features);
    let (hop2, totals) = page_through(c, PageList::Hop(2)).await;
    assert_eq!(hop2, models);
    assert!(totals.iter().all(|&t| t == models.len()));
    // The first window of every other list is unchanged by paging one.
    let paged = detail(c, "down1", WINDOW).await;
    let first = detail(c, "", 0).await;
    assert_eq!(paged.downstream, first.downstream);
    assert_eq!(
        paged.hops.iter().find(|h| h.depth == 2),
        first.hops.iter().find(|h| h.depth == 2)
    );
}

#[tokio::test]
async fn windows_page_through_every_list_after_writes_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let c = Catalog::connect(&url).await.unwrap();
    load(&c).await;
    let mut features: Vec<String> = (0..FEATURES).map(|f| format!("f{f:03}")).collect();
    let mut models: Vec<String> = (0..FEATURES)
        .step_by(3)
        .map(|f| format!("m{f:03}"))
        .collect();
    check(&c, &features, &models).await;

    // Column mappings: the first window's widest edge lists ten of twelve.
    let d = detail(&c, "", 0).await;
    let wide = &d.downstream.items[0];
    assert_eq!(wide.name, "f000");
    assert_eq!(wide.columns.len(), MAPPINGS_SHOWN);
    assert_eq!(wide.more_columns, 12 - MAPPINGS_SHOWN);
    assert_eq!(wide.columns[0].from, "c0");

    // A write shows at once: a deleted feature leaves both lists and its
    // model, now unreachable, leaves the second hop.
    c.delete_asset("feature:fs:f003", "t").await.unwrap();
    features.retain(|f| f != "f003");
    models.retain(|m| m != "m003");
    check(&c, &features, &models).await;
    drop(c);

    let c = common::open_disk(&url).await;
    check(&c, &features, &models).await;

    // The version history pages too, newest first.
    let mut a = c.get_asset(HUB).await.unwrap();
    for i in 0..VERSION_WINDOW + 5 {
        a.description = format!("edit {i}");
        a = c.put_asset(a, None, "t").await.unwrap().0;
    }
    let first = detail(&c, "", 0).await.versions;
    assert_eq!(first.total, VERSION_WINDOW + 6);
    assert_eq!(first.items.len(), VERSION_WINDOW);
    assert_eq!(first.items[0].version, (VERSION_WINDOW + 6) as u64);
    let rest = detail(&c, "versions", VERSION_WINDOW).await.versions;
    assert_eq!(rest.items.len(), 6);
    assert_eq!(rest.items.last().unwrap().version, 1);
}

#[tokio::test]
async fn window_parameters_beyond_their_limits_are_refused() {
    for (more, offset, field) in [
        ("sideways", "0", "more"),
        ("down0", "0", "more"),
        ("", "1000000000", "offset"),
        ("upstream", "x", "offset"),
    ] {
        let e = DetailWindow::parse(more, offset).unwrap_err();
        assert_eq!(e.field, field, "{more} {offset}");
    }
    let c = Catalog::connect("mem://").await.unwrap();
    load(&c).await;
    // Past the end is an empty window, not an error.
    let d = detail(&c, "downstream", 5_000).await;
    assert!(d.downstream.items.is_empty());
    assert_eq!(d.downstream.total, FEATURES);
}

/// A hub large enough for its first windows to be cached: a write changes
/// them at once.
#[tokio::test]
async fn cached_windows_of_a_large_hub_follow_writes() {
    const N: usize = 2_050;
    let mut lines = vec![
        r#"{"type":"asset","kind":"dataset","namespace":"warehouse","name":"hub"}"#.to_string(),
    ];
    for f in 0..N {
        lines.push(format!(
            r#"{{"type":"asset","kind":"feature","namespace":"fs","name":"f{f:05}"}}"#
        ));
        lines.push(format!(
            r#"{{"type":"edge","from":"{HUB}","to":"feature:fs:f{f:05}","kind":"derives"}}"#
        ));
    }
    let c = Catalog::connect("mem://").await.unwrap();
    c.import(parse_ndjson(&lines.join("\n")).unwrap(), vec![], "t")
        .await
        .unwrap();
    let names = |d: &AssetDetail| -> (Vec<String>, Vec<String>, Vec<String>) {
        (
            d.downstream.items.iter().map(|n| n.name.clone()).collect(),
            d.hops[0]
                .assets
                .items
                .iter()
                .map(|n| n.name.clone())
                .collect(),
            d.reuse.iter().map(|r| r.name.clone()).collect(),
        )
    };
    let before = detail(&c, "", 0).await;
    assert_eq!(before.downstream.total, N);
    assert_eq!(before.hops[0].assets.total, N);
    assert_eq!(names(&before).0[0], "f00000");
    assert_eq!(
        names(&before),
        names(&detail(&c, "", 0).await),
        "a second view agrees"
    );

    // A new first feature, and the old first one gone.
    c.delete_asset("feature:fs:f00000", "t").await.unwrap();
    let batch = parse_ndjson(&format!(
        "{}\n{}",
        r#"{"type":"asset","kind":"feature","namespace":"fs","name":"a_first"}"#,
        format_args!(
            r#"{{"type":"edge","from":"{HUB}","to":"feature:fs:a_first","kind":"derives"}}"#
        )
    ))
    .unwrap();
    c.import(batch, vec![], "t").await.unwrap();
    let after = detail(&c, "", 0).await;
    assert_eq!(after.downstream.total, N);
    let (down, hop, reuse) = names(&after);
    for list in [&down, &hop, &reuse] {
        assert_eq!(list[0], "a_first", "{list:?}");
        assert!(!list.contains(&"f00000".to_string()));
    }
}
