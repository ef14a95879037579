//! The search index against a naive reference: over random catalogs, every
//! search's results and facet counts are what a scan of the assets says,
//! after imports, changes and deletes, after a restart, and after a crash
//! that lost the index's last commit.

use std::collections::{BTreeMap, BTreeSet};

mod common;

use catalog::{Catalog, CatalogError};
use common::open_disk;
use domain::query::{SearchQuery, SearchResult};
use domain::record::ImportBatch;
use domain::{Asset, AssetInput, AssetKind, Field};

/// A small deterministic generator (xorshift), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
    fn some(&mut self, from: &[&str], most: usize) -> Vec<String> {
        let n = self.below(most + 1);
        let mut out: Vec<String> = (0..n).map(|_| self.pick(from).to_string()).collect();
        out.sort();
        out.dedup();
        out
    }
}

const WORDS: &[&str] = &[
    "member", "members", "watch", "time", "title", "play", "playback", "rank", "ranker", "genre",
    "7d", "x", "eval", "Café",
];
const OWNERS: &[&str] = &["ana", "bo", "data-eng", "ml/platform"];
const TAGS: &[&str] = &["pii", "gold", "tier-1", "online"];
const KINDS: &[&str] = &["dataset", "feature", "model", "service"];

fn random_asset(r: &mut Rng) -> Asset {
    let n = 1 + r.below(3);
    let name = (0..n).map(|_| r.pick(WORDS)).collect::<Vec<_>>().join("_");
    let kind = r.pick(KINDS);
    let cols = if kind == "service" {
        vec![]
    } else {
        r.some(WORDS, 2)
    };
    AssetInput {
        kind: Some(kind.into()),
        namespace: Some(r.pick(&["w", "fs"]).into()),
        name: Some(name),
        description: Some(r.some(WORDS, 3).join(" ")),
        owners: r.some(OWNERS, 2),
        tags: r.some(TAGS, 2),
        schema: cols
            .iter()
            .map(|c| Field::new(&c.to_lowercase(), "string", true))
            .collect(),
        ..Default::default()
    }
    .into_asset(None)
    .unwrap()
}

/// The words of a text as search sees them (the vocabulary is ASCII but
/// for one word, folded here by hand).
fn words(text: &str) -> Vec<String> {
    text.replace('é', "e")
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// What a scan of `assets` answers for `q`: the matching ids and the
/// facet counts, each facet without its own filter.
fn reference(
    assets: &BTreeMap<String, Asset>,
    q: &SearchQuery,
) -> (BTreeSet<String>, [BTreeMap<String, u64>; 3]) {
    let qwords: Vec<String> = words(&q.q)
        .into_iter()
        .filter(|w| w.chars().count() >= 2)
        .collect();
    let text_ok = |a: &Asset| {
        let doc = words(&a.search_text());
        qwords
            .iter()
            .all(|w| doc.iter().any(|d| d.starts_with(w.as_str())))
    };
    let kind_ok = |a: &Asset| q.kinds.is_empty() || q.kinds.contains(&a.kind);
    let owner_ok = |a: &Asset| q.owners.is_empty() || a.owners.iter().any(|o| q.owners.contains(o));
    let tag_ok = |a: &Asset| q.tags.is_empty() || a.tags.iter().any(|t| q.tags.contains(t));
    let mut ids = BTreeSet::new();
    let mut facets: [BTreeMap<String, u64>; 3] = Default::default();
    for a in assets.values().filter(|a| text_ok(a)) {
        let (k, o, t) = (kind_ok(a), owner_ok(a), tag_ok(a));
        if k && o && t {
            ids.insert(a.id.clone());
        }
        if o && t {
            *facets[0].entry(a.kind.as_str().to_string()).or_default() += 1;
        }
        if k && t {
            for v in a.owners.iter().collect::<BTreeSet<_>>() {
                *facets[1].entry(v.clone()).or_default() += 1;
            }
        }
        if k && o {
            for v in a.tags.iter().collect::<BTreeSet<_>>() {
                *facets[2].entry(v.clone()).or_default() += 1;
            }
        }
    }
    (ids, facets)
}

fn random_query(r: &mut Rng, assets: &BTreeMap<String, Asset>) -> SearchQuery {
    let q = match r.below(4) {
        0 => String::new(),
        // An exact name.
        1 if !assets.is_empty() => {
            let i = r.below(assets.len());
            assets.values().nth(i).unwrap().name.clone()
        }
        _ => {
            let w = r.pick(WORDS);
            let cut = 1 + r.below(w.chars().count());
            let mut q: String = w.chars().take(cut).collect();
            if r.below(3) == 0 {
                q.push(' ');
                q.push_str(r.pick(WORDS));
            }
            q
        }
    };
    let kinds = r
        .some(KINDS, 2)
        .iter()
        .map(|k| k.parse::<AssetKind>().unwrap())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    SearchQuery {
        q,
        kinds,
        owners: if r.below(3) == 0 {
            r.some(OWNERS, 2)
        } else {
            vec![]
        },
        tags: if r.below(3) == 0 {
            r.some(TAGS, 2)
        } else {
            vec![]
        },
        limit: 1000,
        ..Default::default()
    }
}

async fn check(c: &Catalog, assets: &BTreeMap<String, Asset>, r: &mut Rng, rounds: usize) {
    for _ in 0..rounds {
        let q = random_query(r, assets);
        let got = c.search(&q).await.unwrap();
        let (ids, facets) = reference(assets, &q);
        let got_ids: BTreeSet<String> = got.items.iter().map(|a| a.id.clone()).collect();
        assert_eq!(got.total as usize, ids.len(), "{q:?}");
        assert_eq!(got_ids, ids, "{q:?}");
        assert_eq!(got.facets.kind, facets[0], "kind facet of {q:?}");
        assert_eq!(got.facets.owner, facets[1], "owner facet of {q:?}");
        assert_eq!(got.facets.tag, facets[2], "tag facet of {q:?}");
        check_order(&q, &got);
    }
}

/// Exact names first; a listing without words in name order.
fn check_order(q: &SearchQuery, got: &SearchResult) {
    let exact = q.q.trim().to_lowercase();
    let has_words = words(&q.q).iter().any(|w| w.chars().count() >= 2);
    if has_words {
        let first_other = got
            .items
            .iter()
            .position(|a| a.name.to_lowercase() != exact)
            .unwrap_or(got.items.len());
        assert!(
            got.items[first_other..]
                .iter()
                .all(|a| a.name.to_lowercase() != exact),
            "exact names come first for {q:?}"
        );
    } else {
        let keys: Vec<(&str, &str)> = got
            .items
            .iter()
            .map(|a| (a.name.as_str(), a.id.as_str()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "listing order of {q:?}");
    }
}

/// A search for everything, up to 1,000 assets.
async fn everything(c: &Catalog) -> SearchResult {
    c.search(&SearchQuery {
        limit: 1000,
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn import(c: &Catalog, assets: Vec<Asset>) {
    let batch = ImportBatch {
        assets,
        edges: vec![],
    };
    c.import(batch, vec![], "t").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_a_scan_through_writes_restarts_and_a_lost_commit() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut assets: BTreeMap<String, Asset> = BTreeMap::new();
    {
        let c = open_disk(&url).await;
        // An import.
        let batch: Vec<Asset> = (0..60).map(|_| random_asset(&mut r)).collect();
        for a in &batch {
            assets.insert(a.id.clone(), a.clone());
        }
        import(&c, batch).await;
        check(&c, &assets, &mut r, 60).await;
        // Changes and deletes, one at a time, each followed by searches.
        for step in 0..30 {
            if step % 3 == 0 && !assets.is_empty() {
                let i = r.below(assets.len());
                let id = assets.keys().nth(i).unwrap().clone();
                c.delete_asset(&id, "t").await.unwrap();
                assets.remove(&id);
            } else {
                let mut a = random_asset(&mut r);
                if step % 3 == 1 && !assets.is_empty() {
                    // A change to a stored asset: same id, new text and facets.
                    let i = r.below(assets.len());
                    let old = assets.values().nth(i).unwrap();
                    a.id = old.id.clone();
                    a.kind = old.kind;
                    a.namespace = old.namespace.clone();
                    a.name = old.name.clone();
                }
                let (stored, _) = c.put_asset(a, None, "t").await.unwrap();
                assets.insert(stored.id.clone(), stored);
            }
            check(&c, &assets, &mut r, 5).await;
        }
        c.flush_search().unwrap();
    }
    // A restart reads the index from disk and answers the same.
    {
        let c = open_disk(&url).await;
        check(&c, &assets, &mut r, 40).await;
        // A write whose index commit is lost in a crash ...
        let a = random_asset(&mut r);
        let (stored, _) = c.put_asset(a, None, "t").await.unwrap();
        assets.insert(stored.id.clone(), stored);
        // (dropped without the flush that the server's shutdown does)
    }
    // ... is in the index after the next start, which finds the index
    // behind the store and rebuilds it.
    let c = open_disk(&url).await;
    let all = everything(&c).await;
    assert_eq!(all.total as usize, assets.len());
    let found: BTreeSet<String> = all.items.into_iter().map(|a| a.id).collect();
    assert_eq!(found, assets.keys().cloned().collect::<BTreeSet<_>>());
    check(&c, &assets, &mut r, 40).await;
}

#[tokio::test]
async fn listings_page_by_cursor_and_facets_are_capped() {
    let c = Catalog::connect("mem://").await.unwrap();
    let mut batch = Vec::new();
    for i in 0..130 {
        let mut a = AssetInput {
            kind: Some("dataset".into()),
            namespace: Some("w".into()),
            name: Some(format!("t{:03}", 129 - i)),
            owners: vec![format!("owner{i:03}")],
            ..Default::default()
        }
        .into_asset(None)
        .unwrap();
        a.tags = vec!["common".into()];
        batch.push(a);
    }
    import(&c, batch).await;
    let mut q = SearchQuery {
        limit: 50,
        ..Default::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = c.search(&q).await.unwrap();
        assert_eq!(page.total, 130);
        seen.extend(page.items.iter().map(|a| a.name.clone()));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..130).map(|i| format!("t{i:03}")).collect();
    assert_eq!(seen, expected, "every asset once, in name order");

    let first = c
        .search(&SearchQuery {
            limit: 1,
            owners: vec!["owner100".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    // 130 owners: the 50 most frequent are listed (and the selected one).
    assert_eq!(first.facets.owner.len(), 51);
    assert!(first.facets.owner.contains_key("owner100"));
    assert_eq!(first.facets.more.get("owner"), Some(&79));
    assert_eq!(first.facets.more.get("tag"), None);
    // The facet's values are searchable.
    let narrowed = c
        .search(&SearchQuery {
            limit: 1,
            fq: "R12".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        narrowed.facets.owner.keys().collect::<Vec<_>>(),
        vec![
            "owner120", "owner121", "owner122", "owner123", "owner124", "owner125", "owner126",
            "owner127", "owner128", "owner129"
        ]
    );
    // A cursor with words is refused, naming the field.
    let err = c
        .search(&SearchQuery {
            q: "t00".into(),
            after: Some(domain::query::cursor_after("dataset:w:t001")),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::Invalid(ref v) if v.field == "after"),
        "{err:?}"
    );
}

/// A bulk import whose batches commit side by side leaves the graph
/// version alone until it ends. Should the process die before that, a
/// search index and lineage image saved during the import carry the
/// current version, yet lack the later batches: the next start must not
/// trust them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cut_short_is_rebuilt_from_the_store_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("surrealkv://{}", dir.path().join("db").display());
    let table = |i: usize| {
        AssetInput {
            kind: Some("dataset".into()),
            namespace: Some("bulk".into()),
            name: Some(format!("table_{i:03}")),
            ..Default::default()
        }
        .into_asset(None)
        .unwrap()
    };
    let first: Vec<Asset> = (0..20).map(table).collect();
    let later: Vec<Asset> = (20..40).map(table).collect();
    let chain = |a: &Asset, b: &Asset| domain::Edge {
        id: domain::edge::edge_id(&a.id, domain::EdgeKind::Derives, &b.id),
        from: a.id.clone(),
        to: b.id.clone(),
        kind: domain::EdgeKind::Derives,
        columns: vec![],
        first_seen: None,
        last_seen: None,
    };
    let part = |assets: Vec<Asset>, edges: Vec<domain::Edge>| ImportBatch { assets, edges };
    {
        let c = open_disk(&url).await;
        let at = c.begin_import().await.unwrap();
        c.import_part(part(first.clone(), vec![]), vec![], "t", at)
            .await
            .unwrap();
        // What a running server does every few seconds, and at shutdown.
        c.flush_search().unwrap();
        c.save_lineage_image().await.unwrap();
        let edge = chain(&first[0], &later[0]);
        c.import_part(part(later.clone(), vec![]), vec![], "t", at)
            .await
            .unwrap();
        c.import_part(part(vec![], vec![edge]), vec!["line 41".into()], "t", at)
            .await
            .unwrap();
        // The process dies here: no finish_import, no flush.
    }
    let c = open_disk(&url).await;
    let all = everything(&c).await;
    assert_eq!(all.total, 40, "the later batch is searchable");
    let down = c
        .lineage(
            &first[0].id,
            Some(domain::lineage::Direction::Downstream),
            None,
            vec![],
            None,
        )
        .unwrap();
    assert!(
        down.nodes.iter().any(|n| n.id == later[0].id),
        "the later batch's edge is in the lineage graph"
    );
    // The rebuild settled it: the start after this one trusts the index.
    c.flush_search().unwrap();
    c.save_lineage_image().await.unwrap();
    drop(c);
    let c = open_disk(&url).await;
    let all = everything(&c).await;
    assert_eq!(all.total, 40);
    // A finished import writes its one audit record.
    let at = c.begin_import().await.unwrap();
    let more: Vec<Asset> = (40..45).map(table).collect();
    c.import_part(part(more, vec![]), vec![], "bulk", at)
        .await
        .unwrap();
    c.finish_import("bulk", serde_json::json!({"assets_created": 5}))
        .await
        .unwrap();
    let audit = c.audit_log(Some("bulk"), None, 10).await.unwrap();
    assert_eq!(audit.len(), 1);
}
