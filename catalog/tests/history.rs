//! The lineage index keeps what ended, and one rebuilt from the store
//! agrees with it about every past moment.

mod common;

use std::collections::BTreeSet;

use catalog::Catalog;
use common::edge;
use domain::lineage::{Direction, Filter, LineageGraph, Millis};

fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as Millis
}

/// A moment strictly after the last write and before the next one.
async fn moment() -> Millis {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let t = now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    t
}

fn asset(name: &str) -> domain::Asset {
    domain::AssetInput {
        kind: Some("dataset".into()),
        namespace: Some("wh".into()),
        name: Some(name.into()),
        ..Default::default()
    }
    .into_asset(None)
    .unwrap()
}

/// What a walk from `id` in `dir` reaches as of `t`, by asset id.
fn reach(g: &LineageGraph, id: &str, dir: Direction, t: Millis) -> Option<BTreeSet<String>> {
    let n = g.node_at(id, t)?;
    Some(
        g.closure_at(n, dir, &Filter::default(), t)
            .into_iter()
            .map(|(m, _)| g.asset_id(m).to_string())
            .collect(),
    )
}

fn names(ids: &[&str]) -> Option<BTreeSet<String>> {
    Some(ids.iter().map(|s| s.to_string()).collect())
}

/// Runs `check` on the live index and on one rebuilt from the store, and
/// checks that both know the same moments of change.
async fn live_and_rebuilt(c: &Catalog, check: impl Fn(&LineageGraph)) {
    let rebuilt = c.as_another_process().await.unwrap();
    let live = c.graph();
    let scanned = rebuilt.graph();
    for g in [&*live, &*scanned] {
        check(g);
    }
    assert_eq!(live.change_times(), scanned.change_times());
}

/// Three datasets in a row, a -> b -> m: the assets and the two edges.
async fn a_b_m(
    c: &Catalog,
) -> (
    domain::Asset,
    domain::Asset,
    domain::Asset,
    domain::Edge,
    domain::Edge,
) {
    let (a, b, m) = (asset("a"), asset("b"), asset("m"));
    for x in [&a, &b, &m] {
        c.put_asset(x.clone(), None, "t").await.unwrap();
    }
    let ab = edge(&a.id, &b.id, "derives");
    let bm = edge(&b.id, &m.id, "derives");
    c.put_edge(ab.clone(), "t").await.unwrap();
    c.put_edge(bm.clone(), "t").await.unwrap();
    (a, b, m, ab, bm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_edges_and_deleted_assets_stay_in_the_past() {
    let c = Catalog::connect("mem://").await.unwrap();
    let before = moment().await;
    let (a, b, m, ab, _) = a_b_m(&c).await;
    let both = moment().await;
    c.delete_edge(&ab.id, "t").await.unwrap();
    let one = moment().await;
    c.delete_asset(&m.id, "t").await.unwrap();
    let none = moment().await;
    // Created again: a new asset under the same id, with no edges.
    c.put_asset(m.clone(), None, "t").await.unwrap();
    let again = moment().await;
    assert_eq!(
        c.get_asset(&m.id).await.unwrap().version,
        3,
        "created, deleted, created again: one history"
    );

    let down = Direction::Downstream;
    live_and_rebuilt(&c, |g| {
        assert_eq!(reach(g, &a.id, down, before), None, "nothing before");
        assert_eq!(reach(g, &a.id, down, both), names(&[&b.id, &m.id]));
        assert_eq!(reach(g, &a.id, down, one), names(&[]), "the edge ended");
        assert_eq!(reach(g, &b.id, down, one), names(&[&m.id]));
        assert_eq!(reach(g, &b.id, down, none), names(&[]), "gone with m");
        assert_eq!(reach(g, &m.id, down, none), None, "m was deleted");
        assert_eq!(reach(g, &m.id, Direction::Upstream, again), names(&[]));
        assert_eq!(
            reach(g, &m.id, Direction::Upstream, one),
            names(&[&b.id]),
            "the deleted m's past"
        );
    })
    .await;

    // The diff of a's lineage across the end of its edge.
    let d = c
        .lineage_diff(&a.id, both, one, Some(down), None, None)
        .await
        .unwrap();
    let ids = |nodes: &[domain::query::LineageNode]| {
        nodes.iter().map(|n| n.id.clone()).collect::<BTreeSet<_>>()
    };
    assert_eq!(ids(&d.disappeared), names(&[&b.id, &m.id]).unwrap());
    assert!(d.appeared.is_empty());
    assert_eq!(d.edges_disappeared.len(), 2);
    assert_eq!(d.unchanged, 1, "a itself");

    // b changes; its lineage's diff says what changed, and that m went.
    let mut b2 = c.get_asset(&b.id).await.unwrap();
    b2.description = "Cleaned.".into();
    c.put_asset(b2, Some(1), "t").await.unwrap();
    let later = moment().await;
    let d = c
        .lineage_diff(&b.id, one, later, None, None, None)
        .await
        .unwrap();
    assert_eq!(d.changed.len(), 1);
    let changed = &d.changed[0];
    assert_eq!(changed.id, b.id);
    assert_eq!((changed.from_version, changed.to_version), (1, 2));
    assert_eq!(changed.fields, vec!["description".to_string()]);
    assert_eq!(ids(&d.disappeared), names(&[&m.id]).unwrap());
    assert_eq!(d.edges_disappeared.len(), 1);
    assert!(
        c.lineage_diff(&m.id, before, before, None, None, None)
            .await
            .is_err(),
        "m did not exist at either moment"
    );
}

/// An OpenLineage event's `eventTime` is when its edges began, for the
/// live index and one rebuilt from the store alike, and an edge seen
/// before its assets were recorded makes them exist from then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_time_is_when_its_edges_began() {
    let c = Catalog::connect("mem://").await.unwrap();
    let event = serde_json::json!({
        "eventType": "COMPLETE",
        "eventTime": "2020-06-01T12:00:00Z",
        "producer": "https://example.com/history",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0190c9b2-6f6e-7cd1-a1f5-000000000001"},
        "job": {"namespace": "hist", "name": "nightly"},
        "inputs": [{"namespace": "hist", "name": "raw"}],
        "outputs": [{"namespace": "hist", "name": "clean"}],
    });
    let parsed = domain::openlineage::parse_event(&event).unwrap();
    let item = catalog::IngestItem {
        plan: domain::openlineage::plan(&parsed),
        source: "test".into(),
        kind: "run COMPLETE".into(),
        summary: String::new(),
    };
    c.ingest(&[item], "t").await.unwrap();
    let job = domain::asset::asset_id(domain::AssetKind::Workflow, "hist", "nightly");
    let raw = domain::asset::asset_id(domain::AssetKind::Dataset, "hist", "raw");
    let (early, mid) = (
        domain::time::to_millis("2020-01-01T00:00:00Z").unwrap(),
        domain::time::to_millis("2021-01-01T00:00:00Z").unwrap(),
    );
    let rebuilt = c.as_another_process().await.unwrap();
    for g in [&*c.graph(), &*rebuilt.graph()] {
        assert_eq!(reach(g, &job, Direction::Upstream, early), None);
        let up = reach(g, &job, Direction::Upstream, mid).expect("the job existed in 2021");
        assert!(up.contains(&raw), "{up:?}");
    }
    // The stored edge says so too.
    let e = c
        .get_edge(&domain::edge::edge_id(&raw, domain::EdgeKind::Reads, &job))
        .await
        .unwrap()
        .unwrap();
    assert!(
        e.first_seen.unwrap().starts_with("2020-06-01T12:00:00"),
        "first_seen is the event's time"
    );
}

/// Pruning forgets what ended before the cutoff, in the store and in the
/// live index alike, and keeps every answer about a moment since; with
/// days kept, a moment before them is refused, naming the parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_history_is_forgotten_alike_in_the_store_and_the_index() {
    let c = Catalog::connect("mem://").await.unwrap();
    let (a, b, m, ab, _) = a_b_m(&c).await;
    let both = moment().await;
    c.delete_edge(&ab.id, "t").await.unwrap();
    let cut = moment().await;
    c.delete_asset(&m.id, "t").await.unwrap();
    let none = moment().await;

    assert_eq!(c.prune_history().await.unwrap(), 0, "everything is kept");
    assert_eq!(c.prune_history_before(cut).await.unwrap(), 1, "a -> b");
    let down = Direction::Downstream;
    live_and_rebuilt(&c, |g| {
        assert_eq!(reach(g, &a.id, down, both), names(&[]), "forgotten");
        assert_eq!(reach(g, &b.id, down, cut), names(&[&m.id]), "kept");
        assert_eq!(reach(g, &b.id, down, none), names(&[]));
    })
    .await;
    assert_eq!(
        c.prune_history_before(none).await.unwrap(),
        2,
        "m and b -> m"
    );
    assert!(c.graph().node_at(&m.id, cut).is_none());

    c.set_history_days(1);
    let two_days_ago = now_ms() - 2 * 86_400_000;
    let err = c
        .lineage_as_of(&a.id, None, None, vec![], None, two_days_ago)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("as_of") && err.contains("MLGRAPH_HISTORY_DAYS=1"),
        "{err}"
    );
    let err = c
        .lineage_diff(&a.id, two_days_ago, none, None, None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("from"), "{err}");
    assert!(c
        .lineage_as_of(&a.id, None, None, vec![], None, none)
        .is_ok());
    assert_eq!(c.prune_history().await.unwrap(), 0, "nothing is a day old");
}

/// Two moments compared: the window holds what either had, and says what
/// appeared and what ended; an asset at neither moment is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparing_two_moments_marks_what_appeared_and_what_ended() {
    let c = Catalog::connect("mem://").await.unwrap();
    let before = moment().await;
    let (a, b, m, ab, bm) = a_b_m(&c).await;
    let both = moment().await;
    c.delete_edge(&ab.id, "t").await.unwrap();
    let one = moment().await;
    let key = |e: &domain::Edge| format!("{}|derives|{}", e.from, e.to);
    let v = c.graph_compare(&a.id, 3, 3, 100, (one, both)).unwrap();
    assert_eq!(v.nodes.len(), 3, "a, and b and m from the earlier moment");
    assert_eq!(v.edges.len(), 2);
    assert!(v.appeared.is_empty());
    let mut ended = vec![b.id.clone(), m.id.clone(), key(&ab), key(&bm)];
    ended.sort();
    assert_eq!(v.ended, ended);
    // From b, later: nothing ended; before a -> b, a was not upstream.
    let v = c.graph_compare(&b.id, 3, 3, 100, (both, one)).unwrap();
    assert_eq!(v.ended, vec![a.id.clone(), key(&ab)]);
    let err = c
        .graph_compare(&a.id, 3, 3, 100, (before, before))
        .unwrap_err();
    assert!(err.to_string().contains("neither moment"), "{err}");
}
