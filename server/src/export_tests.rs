//! Tests of the static site and the reports: reproducible files, small
//! pages, escaping of hostile names, relative links, and the report
//! endpoints over the real embedded SurrealDB.

use std::collections::BTreeMap;
use std::path::Path;

use domain::{Asset, Edge};

use crate::export::write_site;

fn estate() -> (Vec<Asset>, Vec<Edge>) {
    let e = domain::demo::demo();
    let mut assets = e.assets;
    let mut hostile = assets
        .iter()
        .find(|a| a.kind == domain::AssetKind::Dataset)
        .unwrap()
        .clone();
    hostile.name = "pwned </script><script>alert(1)</script> \"q' & <b>".into();
    hostile.id = domain::asset::asset_id(hostile.kind, "evil", &hostile.name);
    hostile.description = "<img src=x onerror=alert(2)>".into();
    hostile.owners = vec!["<i>o</i>".into()];
    assets.push(hostile);
    (assets, e.edges)
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_same_catalog_gives_byte_identical_sites() {
    let (assets, edges) = estate();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let site = Path::new("no-compiled-site");
    let stats = write_site(&assets, &edges, one.path(), site).unwrap();
    // Input order does not matter either.
    let (mut a2, mut e2) = (assets.clone(), edges.clone());
    a2.reverse();
    e2.reverse();
    write_site(&a2, &e2, two.path(), site).unwrap();
    let (f1, f2) = (files(one.path()), files(two.path()));
    assert_eq!(f1.len(), f2.len());
    assert_eq!(f1.keys().collect::<Vec<_>>(), f2.keys().collect::<Vec<_>>());
    for (k, v) in &f1 {
        assert!(v == &f2[k], "{k} differs between two exports");
    }
    assert_eq!(stats.assets, assets.len());
    assert_eq!(
        f1.keys().filter(|k| k.starts_with("a/")).count(),
        assets.len(),
        "one page per asset"
    );
    assert!(f1.contains_key("index.html") && f1.contains_key("search/manifest.json"));
    // Re-exporting into the same folder leaves nothing stale behind.
    write_site(&assets[..10], &[], one.path(), site).unwrap();
    assert_eq!(
        files(one.path())
            .keys()
            .filter(|k| k.starts_with("a/"))
            .count(),
        10
    );
}

#[test]
fn pages_are_small_escaped_and_linked_relatively() {
    let (assets, edges) = estate();
    let dir = tempfile::tempdir().unwrap();
    let stats = write_site(&assets, &edges, dir.path(), Path::new("none")).unwrap();
    assert!(stats.largest_page < 200_000, "{stats:?}");
    assert!(stats.first_load < 1_000_000, "{stats:?}");
    let all = files(dir.path());
    let hostile = assets.last().unwrap();
    let page = format!("a/{}.html", domain::site::page_name(&hostile.id));
    let html = String::from_utf8(all[&page].clone()).unwrap();
    assert!(!html.contains("<script>alert(1)"), "the name is escaped");
    assert!(!html.contains("</script><script>"));
    assert!(!html.contains("<img src=x"), "the description is escaped");
    assert!(!html.contains("<i>o</i>"), "owners are escaped");
    assert!(html.contains(
        "pwned &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &quot;q&#39; &amp; &lt;b&gt;"
    ));
    // No absolute links: everything works under a sub-path.
    for (name, bytes) in &all {
        if name.ends_with(".html") {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains("href=\"/"),
                "{name} links to an absolute path"
            );
            assert!(
                !text.contains("src=\"/"),
                "{name} loads from an absolute path"
            );
            assert!(!text.contains("/api/"), "{name} mentions the API");
        }
    }
    // JSON files carry the name as data, which the pages insert as text.
    let shard = format!(
        "g/{}.json",
        domain::site::graph_shard(&domain::site::page_name(&hostile.id))
    );
    let records: BTreeMap<String, domain::site::GraphRecord> =
        serde_json::from_slice(&all[&shard]).unwrap();
    assert!(records.values().any(|r| r.name == hostile.name));
}

#[tokio::test]
async fn reports_come_as_html_svg_and_json() {
    use crate::router_tests::{app_with_demo, options};
    let _ = options();
    let app = app_with_demo().await;
    let e = domain::demo::demo();
    let model = e
        .assets
        .iter()
        .find(|a| a.kind == domain::AssetKind::Model)
        .unwrap();
    let get = |uri: String| {
        let app = app.clone();
        async move {
            use http_body_util::BodyExt;
            use tower::ServiceExt;
            let res = app
                .oneshot(
                    axum::http::Request::builder()
                        .uri(uri)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            let status = res.status();
            let ct = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, ct, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let id = domain::query::encode_component(&model.id);
    let (s, ct, html) = get(format!("/api/v1/assets/{id}/report")).await;
    assert_eq!(s, 200, "{html}");
    assert!(ct.starts_with("text/html"));
    assert!(html.contains("<svg") && html.contains(&model.name));
    assert!(!html.contains("<script"), "a report runs no script");
    assert!(html.contains("Upstream") && html.contains("Hubs it depends on"));
    let (s, ct, svg) = get(format!(
        "/api/v1/assets/{id}/report?format=svg&direction=upstream&depth=2"
    ))
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("image/svg+xml") && svg.starts_with("<svg"));
    let (s, _, json) = get(format!("/api/v1/assets/{id}/report?format=json")).await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["asset"]["id"], model.id);
    assert!(v["lineage"]["nodes"].as_array().unwrap().len() > 3);
    let (s, _, text) = get(format!("/api/v1/assets/{id}/report?format=pdf")).await;
    assert_eq!(s, 400, "{text}");
    assert!(text.contains("\"field\":\"format\""));
}

#[tokio::test]
async fn a_report_can_carry_an_impact_and_a_change_request_trail() {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS)
        .await
        .unwrap();
    // A dataset column that a derived asset maps, found from the demo.
    let e = domain::demo::demo();
    let (dataset, column) = e
        .edges
        .iter()
        .filter(|x| x.kind == domain::EdgeKind::Derives && x.from.starts_with("dataset:"))
        .find_map(|x| x.columns.first().map(|m| (x.from.clone(), m.from.clone())))
        .unwrap();
    let change = domain::impact::SchemaChange {
        op: domain::impact::ChangeOp::Drop,
        column: column.clone(),
        new_name: None,
        data_type: None,
        nullable: None,
    };
    let impact = catalog
        .impact(&dataset, std::slice::from_ref(&change))
        .await
        .unwrap();
    let first = impact.affected[1].name.clone();
    let data = crate::report::build(
        &catalog,
        &dataset,
        "downstream",
        Some(3),
        Some(impact),
        None,
        crate::report::Moments::default(),
    )
    .await
    .unwrap();
    let html = crate::report::html(&data);
    assert!(html.contains("Impact of the change"));
    assert!(html.contains(&format!("drop {column}")));
    assert!(html.contains(&first), "the affected assets are listed");

    let who = domain::auth::Principal {
        user: "ana".into(),
        display_name: "Ana".into(),
        roles: vec![domain::auth::Role::Editor],
        teams: vec![],
        via: domain::auth::Via::Session,
    };
    let cr = catalog
        .open_change_request(
            domain::change_request::NewChangeRequest {
                dataset: dataset.clone(),
                title: "drop it".into(),
                description: String::new(),
                changes: vec![change],
                draft: false,
                source_url: None,
                check_report: None,
            },
            &who,
        )
        .await
        .unwrap();
    catalog
        .change_request_step(
            cr.id,
            domain::change_request::Step::Comment,
            &who,
            "<b>why</b>",
            None,
        )
        .await
        .unwrap();
    let cr = catalog.get_change_request(cr.id).await.unwrap();
    let data = crate::report::change_request_data(&catalog, cr)
        .await
        .unwrap();
    let html = crate::report::html(&data);
    assert!(html.contains("Approval trail") && html.contains("waiting"));
    assert!(
        html.contains("&lt;b&gt;why&lt;/b&gt;"),
        "comments are escaped"
    );
    assert!(html.contains("Impact of the change"));
}

#[test]
fn crowded_search_shards_are_split_and_still_find_every_asset() {
    let e = domain::demo::generate(7, 12_000);
    let dir = tempfile::tempdir().unwrap();
    write_site(&e.assets, &e.edges, dir.path(), Path::new("none")).unwrap();
    let read = |p: &str| std::fs::read(dir.path().join(p)).unwrap();
    let manifest: domain::site::SiteManifest =
        serde_json::from_slice(&read("search/manifest.json")).unwrap();
    assert!(
        !manifest.split.is_empty(),
        "a 12k catalog has crowded prefixes"
    );
    let split: std::collections::BTreeSet<String> = manifest.split.iter().cloned().collect();
    let shards = read_shards(dir.path(), &manifest);
    // Every page of every shard is small.
    for (k, pages) in &shards {
        for v in pages {
            assert!(v.len() <= 3_000, "{k}: {}", v.len());
        }
    }
    let shards: BTreeMap<String, Vec<domain::site::SearchEntry>> = shards
        .into_iter()
        .map(|(k, pages)| (k, pages.concat()))
        .collect();
    // Every asset is in the shard its first word leads to, for every word.
    for a in e.assets.iter().step_by(97) {
        for t in domain::site::search_tokens(&a.name) {
            if t.chars().count() < 2 {
                continue;
            }
            let leaf = domain::site::leaf_key(&t, &split);
            let page = domain::site::page_name(&a.id);
            assert!(
                shards
                    .get(&leaf)
                    .is_some_and(|s| s.iter().any(|x| x.p == page)),
                "{} is not in shard {leaf} of its word {t}",
                a.name
            );
        }
    }
}

/// Every search shard of an exported site, page by page.
fn read_shards(
    dir: &Path,
    manifest: &domain::site::SiteManifest,
) -> BTreeMap<String, Vec<Vec<domain::site::SearchEntry>>> {
    let pages: BTreeMap<&str, usize> = manifest
        .pages
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    manifest
        .shards
        .iter()
        .map(|key| {
            let n = pages.get(key.as_str()).copied().unwrap_or(1);
            let pages = (1..=n)
                .map(|p| {
                    let file = match p {
                        1 => format!("search/{key}.json"),
                        p => format!("search/{key}.{p}.json"),
                    };
                    serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap()
                })
                .collect();
            (key.clone(), pages)
        })
        .collect()
}

#[test]
fn a_word_too_common_to_split_is_searched_in_pages() {
    let assets: Vec<Asset> = (0..7_500)
        .map(|i| {
            let name = format!("member_{}", "x".repeat(i % 7) + &i.to_string());
            let id = domain::asset::asset_id(domain::AssetKind::Dataset, "ns", &name);
            Asset::bare(id, domain::AssetKind::Dataset, "ns".into(), name)
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let stats = write_site(&assets, &[], dir.path(), Path::new("none")).unwrap();
    let manifest: domain::site::SiteManifest =
        serde_json::from_slice(&std::fs::read(dir.path().join("search/manifest.json")).unwrap())
            .unwrap();
    let member = manifest
        .pages
        .iter()
        .find(|(k, _)| k.starts_with("membe"))
        .expect("the member shard is paged");
    assert_eq!(member.1, 3, "7,500 names in pages of 3,000");
    let shards = read_shards(dir.path(), &manifest);
    let pages = &shards[&member.0];
    assert!(pages.iter().all(|p| p.len() <= 3_000));
    // Every name once, shortest first across the pages.
    let all: Vec<&domain::site::SearchEntry> = pages.iter().flatten().collect();
    assert_eq!(all.len(), assets.len());
    let seen: std::collections::HashSet<&str> = all.iter().map(|e| e.p.as_str()).collect();
    assert_eq!(seen.len(), assets.len());
    assert!(all
        .windows(2)
        .all(|w| (w[0].n.len(), &w[0].n) <= (w[1].n.len(), &w[1].n)));
    assert!(stats.largest_search_shard < 400_000, "{stats:?}");
}

#[tokio::test]
async fn a_catalog_export_streamed_from_the_store_equals_one_from_memory() {
    let catalog = catalog::Catalog::connect("mem://").await.unwrap();
    crate::seed::load(&catalog, domain::demo::DEMO_SEED, domain::demo::DEMO_ASSETS)
        .await
        .unwrap();
    let assets = catalog.export_assets(None, 100_000).await.unwrap();
    let edges = catalog.export_edges(None, 100_000).await.unwrap();
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let site = Path::new("no-compiled-site");
    let mem = write_site(&assets, &edges, one.path(), site).unwrap();
    // Pages of 7 assets, so the stream takes many steps.
    let streamed = crate::export::write_catalog(&catalog, two.path(), site, 7, 3_000)
        .await
        .unwrap();
    assert_eq!(mem.assets, streamed.assets);
    assert_eq!(mem.files, streamed.files);
    let (f1, f2) = (files(one.path()), files(two.path()));
    assert_eq!(f1.keys().collect::<Vec<_>>(), f2.keys().collect::<Vec<_>>());
    for (k, v) in &f1 {
        if v != &f2[k] {
            let (a, b) = (String::from_utf8_lossy(v), String::from_utf8_lossy(&f2[k]));
            let i = a
                .bytes()
                .zip(b.bytes())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let lo = i.saturating_sub(300);
            panic!(
                "{k} differs:\n{}\n----\n{}",
                &a[lo..(i + 300).min(a.len())],
                &b[lo..(i + 300).min(b.len())]
            );
        }
    }
}
