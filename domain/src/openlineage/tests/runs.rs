//! Run records, asset patches and plans.

use proptest::prelude::*;
use serde_json::json;

use super::*;

fn update(event_type: &str, time: &str, facets: Value) -> RunUpdate {
    RunUpdate {
        run_id: "d46e465b-d358-4d32-83d4-df660ff614dd".into(),
        job: job_asset_id("airflow", "daily.load"),
        event_type: event_type.into(),
        event_time: time.into(),
        facets: facets.as_object().unwrap().clone(),
    }
}

fn fold(updates: &[&RunUpdate]) -> RunRecord {
    updates
        .iter()
        .fold(None, |r, u| Some(merge_run(r, u)))
        .unwrap()
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first.clone());
            out.push(p);
        }
    }
    out
}

#[test]
fn runs_merge_in_any_order() {
    let start = update(
        "START",
        "2024-05-01T12:00:00Z",
        json!({"nominalTime": {"nominalStartTime": "2024-05-01T00:00:00Z"}, "spark": {"v": 1}}),
    );
    let running = update(
        "RUNNING",
        "2024-05-01T12:05:00Z",
        json!({"spark": {"v": 2}}),
    );
    // Written with an offset: later than RUNNING as an instant, though
    // its text sorts first.
    let complete = update(
        "COMPLETE",
        "2024-05-01T14:10:00+02:00",
        json!({"spark": {"v": 3}}),
    );
    let other = update("OTHER", "2024-05-01T13:00:00Z", json!({"extra": true}));
    let all = [&start, &running, &complete, &other, &start];
    let want = fold(&all);
    assert_eq!(want.state, "COMPLETE");
    assert_eq!(want.started_at.as_deref(), Some("2024-05-01T12:00:00Z"));
    assert_eq!(want.ended_at.as_deref(), Some("2024-05-01T14:10:00+02:00"));
    assert_eq!(
        want.events,
        vec![
            ("START".to_string(), "2024-05-01T12:00:00Z".to_string()),
            ("RUNNING".to_string(), "2024-05-01T12:05:00Z".to_string()),
            (
                "COMPLETE".to_string(),
                "2024-05-01T14:10:00+02:00".to_string()
            ),
            ("OTHER".to_string(), "2024-05-01T13:00:00Z".to_string()),
        ]
    );
    assert_eq!(want.facets["spark"], json!({"v": 3}));
    assert_eq!(want.facets["extra"], json!(true));
    assert!(want.facets.contains_key("nominalTime"));
    let perms = permutations(&all);
    assert_eq!(perms.len(), 120);
    for order in perms {
        assert_eq!(
            fold(&order),
            want,
            "{:?}",
            order.iter().map(|u| &u.event_type).collect::<Vec<_>>()
        );
    }
    // Applying an update again changes nothing.
    assert_eq!(merge_run(Some(want.clone()), &complete), want);
    assert_eq!(merge_run(Some(want.clone()), &running), want);
}

#[test]
fn run_state_follows_precedence() {
    let start = update("START", "2024-05-01T12:00:00Z", json!({}));
    let running = update("RUNNING", "2024-05-01T12:05:00Z", json!({}));
    let r = fold(&[&running, &start]);
    assert_eq!((r.state.as_str(), r.ended_at.as_deref()), ("RUNNING", None));
    // A terminal state beats a later RUNNING.
    let fail = update(
        "FAIL",
        "2024-05-01T12:01:00Z",
        json!({"errorMessage": {"message": "boom"}}),
    );
    let r = fold(&[&fail, &running, &start]);
    assert_eq!(r.state, "FAIL");
    assert_eq!(r.ended_at.as_deref(), Some("2024-05-01T12:01:00Z"));
    assert_eq!(r.facets["errorMessage"]["message"], "boom");
    // Among terminal states the latest wins.
    let abort = update("ABORT", "2024-05-01T12:02:00Z", json!({}));
    assert_eq!(fold(&[&abort, &fail]).state, "ABORT");
    assert_eq!(fold(&[&fail, &abort]).state, "ABORT");
    // OTHER carries facets but is a state only when nothing else is.
    let other = update("OTHER", "2024-05-01T13:00:00Z", json!({}));
    assert_eq!(fold(&[&start, &other]).state, "START");
    assert_eq!(fold(&[&other]).state, "OTHER");
    assert_eq!(fold(&[&other]).started_at, None);
}

proptest! {
    #[test]
    fn run_merging_is_order_independent(
        picks in proptest::collection::vec((0usize..6, 0u32..4, 0u8..3), 1..8),
        seed in any::<u64>(),
    ) {
        let updates: Vec<RunUpdate> = picks
            .iter()
            .map(|&(t, minute, v)| update(
                EVENT_TYPES[t],
                &format!("2024-05-01T12:0{minute}:00Z"),
                json!({"f": v, format!("g{t}"): minute}),
            ))
            .collect();
        let forward: Vec<&RunUpdate> = updates.iter().collect();
        let mut shuffled = forward.clone();
        // A seeded Fisher-Yates shuffle, to try arbitrary orders.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let a = fold(&forward);
        prop_assert_eq!(&a, &fold(&shuffled));
        let mut twice = forward.clone();
        twice.extend(forward.iter().copied());
        prop_assert_eq!(&a, &fold(&twice));
    }
}

fn stored_asset() -> Asset {
    let mut a =
        AssetPatch::bare(AssetKind::Dataset, "postgres://db:5432", "public.dst").apply(None);
    a.description = "kept".into();
    a.owners = vec!["team:data".into()];
    a.schema = vec![Field::new("id", "bigint", false)];
    a.tags = vec!["gold".into()];
    a.version = 7;
    a.created_at = Some("2024-01-01T00:00:00Z".into());
    a.properties.insert(
        "openlineage".into(),
        json!({"storage": {"fileFormat": "parquet"}, "dataSource": {"uri": "x"}}),
    );
    a
}

#[test]
fn patches_without_values_keep_what_is_stored() {
    let old = stored_asset();
    let p = AssetPatch::bare(AssetKind::Dataset, "postgres://db:5432", "public.dst");
    assert_eq!(p.apply(Some(&old)), old);
    let new = p.apply(None);
    assert_eq!(
        (new.description.as_str(), new.owners.len(), new.schema.len()),
        ("", 0, 0)
    );
    assert_eq!(new.id, dataset_asset_id("postgres://db:5432", "public.dst"));
    assert!(new.properties.is_empty());
}

#[test]
fn patches_with_values_replace_and_merge_facets() {
    let old = stored_asset();
    let mut p = AssetPatch::bare(AssetKind::Dataset, "postgres://db:5432", "public.dst");
    p.description = Some("new".into());
    p.owners = Some(vec!["user:ann".into()]);
    p.schema = Some(vec![Field::new("id", "int", true)]);
    p.dataset_version = Some("42".into());
    p.facets
        .insert("storage".into(), json!({"fileFormat": "delta"}));
    p.facets
        .insert("dataSource".into(), json!({"_deleted": true}));
    p.facets
        .insert("output:outputStatistics".into(), json!({"rowCount": 3}));
    let a = p.apply(Some(&old));
    assert_eq!(a.description, "new");
    assert_eq!(a.owners, ["user:ann"]);
    assert_eq!(a.schema, [Field::new("id", "int", true)]);
    assert_eq!(a.properties["datasetVersion"], "42");
    assert_eq!(
        a.properties["openlineage"],
        json!({"storage": {"fileFormat": "delta"}, "output:outputStatistics": {"rowCount": 3}})
    );
    assert_eq!(
        (a.version, a.created_at.as_deref(), a.tags.clone()),
        (7, Some("2024-01-01T00:00:00Z"), vec!["gold".to_string()])
    );
    assert_eq!(
        a.changed_fields(&old),
        ["description", "owners", "schema", "properties"]
    );
}

#[test]
fn facets_fill_the_catalog_fields() {
    let mut e = minimal_run();
    e["outputs"][0]["facets"] = json!({
        "documentation": {"description": "Daily totals"},
        "ownership": {"owners": [{"name": "team:data"}, {"name": "team:data"}, {"name": "user:ann", "type": "MAINTAINER"}]},
        "version": {"datasetVersion": "17"},
        "custom_thing": {"anything": [1, 2]}
    });
    e["job"]["facets"] =
        json!({"documentation": {"description": "Loads daily"}, "ownership": {"owners": []}});
    let p = plan_of(&e);
    let dst = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"));
    assert_eq!(dst.description.as_deref(), Some("Daily totals"));
    assert_eq!(
        dst.owners,
        Some(vec!["team:data".to_string(), "user:ann".to_string()])
    );
    assert_eq!(dst.dataset_version.as_deref(), Some("17"));
    assert_eq!(dst.facets["custom_thing"], json!({"anything": [1, 2]}));
    let job = patch(&p, &job_asset_id("airflow", "daily.load"));
    assert_eq!(job.kind, AssetKind::Workflow);
    assert_eq!(job.description.as_deref(), Some("Loads daily"));
    assert_eq!(job.owners, Some(vec![]));
    assert_eq!(job.schema, None);
}

#[test]
fn plans_are_sorted_and_shaped_by_event_kind() {
    let e = data("events/proxy/fluentd/events/event_simple.json");
    let p = plan_of(&e);
    let ids: Vec<&str> = p.assets.iter().map(|a| a.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 4);
    let job = job_asset_id("my-scheduler-namespace", "myjob");
    let in1 = dataset_asset_id("my-datasource-namespace", "instance.schema.input-1");
    let out = dataset_asset_id("my-datasource-namespace", "instance.schema.output-1");
    assert_eq!(job, "workflow:my-scheduler-namespace:myjob");
    let edge_ids: Vec<&str> = p.edges.iter().map(|e| e.id.as_str()).collect();
    let mut sorted = edge_ids.clone();
    sorted.sort();
    assert_eq!(edge_ids, sorted);
    assert_eq!(p.edges.len(), 3);
    assert!(p
        .edges
        .iter()
        .any(|e| e.id == edge_id(&in1, EdgeKind::Reads, &job) && e.from == in1));
    assert!(p
        .edges
        .iter()
        .any(|e| e.id == edge_id(&job, EdgeKind::Writes, &out) && e.to == out));
    // Edges were seen when the event says.
    let when = p.run.as_ref().unwrap().event_time.clone();
    assert!(p
        .edges
        .iter()
        .all(|e| e.first_seen.as_ref() == Some(&when) && e.last_seen == e.first_seen));
    let run = p.run.unwrap();
    assert_eq!(
        (
            run.run_id.as_str(),
            run.job.as_str(),
            run.event_type.as_str()
        ),
        (
            "41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7",
            job.as_str(),
            "COMPLETE"
        )
    );
    assert_eq!(plan_of(&e), plan_of(&e));

    // A dataset event: its dataset only.
    let p = plan_of(&data(
        "events/client/python/tests/serde_example_dataset_event.json",
    ));
    assert_eq!(p.assets.len(), 1);
    assert_eq!(p.assets[0].id, dataset_asset_id("openlineage", "name"));
    assert_eq!(p.assets[0].schema.as_ref().unwrap().len(), 2);
    assert!(p.edges.is_empty() && p.run.is_none());

    // A job event: job and edges, no run.
    let p = plan_of(&data(
        "events/client/python/tests/serde_example_job_event.json",
    ));
    assert_eq!(p.assets.len(), 3);
    assert_eq!(p.edges.len(), 2);
    assert!(p.run.is_none());

    // A run event without eventType updates its run as OTHER.
    let mut e = minimal_run();
    e.as_object_mut().unwrap().remove("eventType");
    assert_eq!(plan_of(&e).run.unwrap().event_type, "OTHER");
}

#[test]
fn a_dataset_both_read_and_written_gets_one_patch() {
    let p = plan_of(&data("events/proxy/fluentd/events/event_full.json"));
    let t = dataset_asset_id("my-datasource-namespace", "instance.schema.table");
    assert_eq!(p.assets.iter().filter(|a| a.id == t).count(), 1);
    let t = patch(&p, &t);
    assert!(t.facets.contains_key("input:dataQualityMetrics"));
    assert!(t.facets.contains_key("output:outputStatistics"));
    assert_eq!(t.facets["additionalProp1"]["additionalProp1"], json!({}));
    assert_eq!(
        t.description.as_deref(),
        Some("canonical representation of entity Foo")
    );
    // Read and written, but no derives edge onto itself.
    assert_eq!(p.edges.len(), 2);
}
