//! The mapping of what an MLflow server answers, on answers shaped as
//! MLflow 3's REST API writes them.

use serde_json::json;

use super::wire::*;
use super::*;

fn run_json() -> serde_json::Value {
    json!({
        "info": {
            "run_id": "8a1c0ffee0000000000000000000beef", "run_uuid": "8a1c0ffee0000000000000000000beef",
            "run_name": "bold-cat-42", "experiment_id": "1", "user_id": "ana",
            "status": "FINISHED", "start_time": 1733400000000i64, "end_time": 1733400065500i64,
            "artifact_uri": "mlflow-artifacts:/1/8a1c/artifacts", "lifecycle_stage": "active"
        },
        "data": {
            "metrics": [
                {"key": "rmse", "value": 0.25, "timestamp": 1733400060000i64, "step": 3},
                {"key": "r2", "value": "NaN", "timestamp": 1733400060000i64, "step": 0}
            ],
            "params": [{"key": "alpha", "value": "0.5"}],
            "tags": [{"key": "mlflow.user", "value": "ana"}]
        },
        "inputs": {"dataset_inputs": [
            {"tags": [{"key": "mlflow.data.context", "value": "training"}],
             "dataset": {"name": "wine", "digest": "d1", "source_type": "s3",
                         "source": "{\"uri\": \"s3a://lake/wine/train.parquet\"}",
                         "schema": "{\"mlflow_colspec\": [{\"type\": \"double\", \"name\": \"acidity\", \"required\": true}, {\"type\": \"long\", \"name\": \"quality\"}]}",
                         "profile": "{\"num_rows\": 100, \"num_elements\": 200}"}},
            {"tags": [{"key": "mlflow.data.context", "value": "eval"}],
             "dataset": {"name": "dataset", "digest": "e2", "source_type": "code",
                         "source": "{\"tags\": {}}"}}
        ]}
    })
}

fn snapshot() -> Snapshot {
    let run: Run = serde_json::from_value(run_json()).unwrap();
    let model: RegisteredModel = serde_json::from_value(json!({
        "name": "wine-quality", "creation_timestamp": 1733400070000i64,
        "description": "Predicts wine quality",
        "tags": [{"key": "team", "value": "sommeliers"}],
        "aliases": [{"alias": "champion", "version": "2"}, {"alias": "challenger", "version": "1"}]
    }))
    .unwrap();
    let version = |v: &str, tags: serde_json::Value| -> ModelVersion {
        serde_json::from_value(json!({
            "name": "wine-quality", "version": v, "creation_timestamp": 1733400070000i64,
            "current_stage": if v == "2" { "Production" } else { "None" },
            "source": "models:/m-0123", "run_id": "8a1c0ffee0000000000000000000beef",
            "status": "READY", "tags": tags
        }))
        .unwrap()
    };
    Snapshot {
        namespace: "mlflow://tracking:5000".into(),
        tracking_url: "http://tracking:5000/".into(),
        experiments: BTreeMap::from([(
            "1".to_string(),
            serde_json::from_value(json!({"experiment_id": "1", "name": "wine", "artifact_location": "mlflow-artifacts:/1"}))
                .unwrap(),
        )]),
        models: vec![model],
        versions: vec![
            VersionRead {
                version: version("1", json!([])),
                changed: true,
                run: Some(run.clone()),
                storage_uri: Some("s3://models/1/m-0123/artifacts".into()),
            },
            VersionRead {
                version: version("2", json!([{"key": "mlgraph.service", "value": "wine-api"}])),
                changed: false,
                run: None,
                storage_uri: None,
            },
        ],
    }
}

fn asset<'a>(p: &'a MlflowImport, id: &str) -> &'a Asset {
    p.assets.iter().find(|a| a.id == id).unwrap_or_else(|| {
        panic!(
            "no asset {id} in {:?}",
            p.assets.iter().map(|a| &a.id).collect::<Vec<_>>()
        )
    })
}

fn has_edge(p: &MlflowImport, from: &str, kind: EdgeKind, to: &str) -> bool {
    p.edges
        .iter()
        .any(|e| e.from == from && e.kind == kind && e.to == to && e.id == edge_id(from, kind, to))
}

#[test]
fn versions_runs_datasets_and_metrics_become_one_lineage() {
    let p = plan(&snapshot());
    let ns = "mlflow://tracking:5000";
    let v1 = model_id(ns, "wine-quality", "1");
    let v2 = model_id(ns, "wine-quality", "2");
    let wf = asset_id(AssetKind::Workflow, ns, "wine");
    let eval = asset_id(
        AssetKind::Evaluation,
        ns,
        "wine/8a1c0ffee0000000000000000000beef",
    );
    // The training data is named as OpenLineage names the object.
    let train = asset_id(AssetKind::Dataset, "s3://lake", "wine/train.parquet");
    let held_out = asset_id(AssetKind::Dataset, ns, "dataset@e2");

    let m1 = asset(&p, &v1);
    assert_eq!(m1.tags, vec!["challenger"]);
    assert_eq!(m1.description, "Predicts wine quality");
    assert_eq!(m1.owners, vec!["ana"]);
    assert_eq!(m1.properties["param.alpha"], json!("0.5"));
    assert_eq!(m1.properties["mlflow.version"], json!(1));
    assert_eq!(m1.properties["mlflow.stage"], json!("None"));
    assert_eq!(
        m1.properties["storage_uri"],
        json!("s3://models/1/m-0123/artifacts")
    );
    assert_eq!(
        m1.properties["mlflow.run_link"],
        json!("http://tracking:5000/#/experiments/1/runs/8a1c0ffee0000000000000000000beef")
    );
    let m2 = asset(&p, &v2);
    assert_eq!(m2.tags, vec!["champion", "production"]);
    assert_eq!(m2.properties["mlflow.stage"], json!("Production"));
    assert_eq!(
        m2.properties["mlflow.model_tags"],
        json!({"team": "sommeliers"})
    );

    let d = asset(&p, &train);
    assert_eq!(d.schema.len(), 2);
    assert_eq!(d.schema[0].name, "acidity");
    assert!(!d.schema[0].nullable);
    assert!(d.schema[1].nullable);
    assert_eq!(d.properties["mlflow.profile"]["num_rows"], json!(100));

    let e = asset(&p, &eval);
    assert_eq!(e.properties["metric.rmse"], json!(0.25));
    assert_eq!(e.properties["metric.r2"], json!("NaN"));

    assert!(has_edge(&p, &train, EdgeKind::Trains, &v1));
    assert!(has_edge(&p, &train, EdgeKind::Reads, &wf));
    assert!(has_edge(&p, &held_out, EdgeKind::Evaluates, &eval));
    assert!(has_edge(&p, &held_out, EdgeKind::Reads, &wf));
    assert!(has_edge(&p, &wf, EdgeKind::Writes, &v1));
    assert!(has_edge(&p, &wf, EdgeKind::Writes, &eval));
    assert!(has_edge(&p, &v1, EdgeKind::Evaluates, &eval));
    // The version read without its run gets no lineage of its own.
    assert!(!p.edges.iter().any(|e| e.to == v2 || e.from == v2));
    assert_eq!(p.edges.len(), 7);
    for e in &p.edges {
        let from = p.assets.iter().find(|a| a.id == e.from).unwrap();
        let to = p.assets.iter().find(|a| a.id == e.to).unwrap();
        assert!(e.kind.allows(from.kind, to.kind), "{e:?}");
    }
    for a in &p.assets {
        a.validate().unwrap();
    }
    assert_eq!(p.deploys, vec![(v2.clone(), "wine-api".to_string())]);

    let w = asset(&p, &wf);
    assert_eq!(
        w.properties["mlflow.latest_run_params"],
        json!({"alpha": "0.5"})
    );
    assert_eq!(
        w.properties["mlflow.latest_run_id"],
        json!("8a1c0ffee0000000000000000000beef")
    );

    let r = &p.runs[0];
    assert_eq!(r.job, wf);
    assert_eq!(r.state, "COMPLETE");
    assert_eq!(r.started_at.as_deref(), Some("2024-12-05T12:00:00.000Z"));
    assert_eq!(r.ended_at.as_deref(), Some("2024-12-05T12:01:05.500Z"));
    assert_eq!(r.duration_ms(), Some(65_500));
    assert_eq!(r.facets["mlflow_params"], json!({"alpha": "0.5"}));
    assert_eq!(r.facets["mlflow_metrics"]["rmse"]["step"], json!(3));
}

#[test]
fn planning_twice_gives_the_same_import() {
    let a = serde_json::to_value(plan(&snapshot())).unwrap();
    let b = serde_json::to_value(plan(&snapshot())).unwrap();
    assert_eq!(a, b);
}

#[test]
fn sources_are_named_as_openlineage_names_them() {
    let cases = [
        ("s3://bucket/a/b.csv", Some(("s3://bucket", "a/b.csv"))),
        ("s3a://bucket/a", Some(("s3://bucket", "a"))),
        ("gcs://b/x/y", Some(("gs://b", "x/y"))),
        (
            "hdfs://nn:8020/warehouse/t",
            Some(("hdfs://nn:8020", "/warehouse/t")),
        ),
        ("/data/wine.csv", Some(("file", "/data/wine.csv"))),
        (
            "dbfs:/mnt/wine.parquet",
            Some(("dbfs", "/mnt/wine.parquet")),
        ),
        ("file:///data/wine.csv", Some(("file", "/data/wine.csv"))),
        ("https://example.com/wine.csv", None),
        ("mlflow-artifacts:/1/x", None),
        ("s3://bucket", None),
        ("wine.csv", None),
    ];
    for (uri, want) in cases {
        let got = source::located(uri);
        assert_eq!(
            got,
            want.map(|(a, b)| (a.to_string(), b.to_string())),
            "{uri}"
        );
    }
    let d = |source: &str, digest: &str| Dataset {
        name: "wine".into(),
        digest: digest.into(),
        source_type: String::new(),
        source: source.into(),
        schema: None,
        profile: None,
    };
    let ns = "mlflow://h:5000";
    assert_eq!(
        source::dataset_name(&d(r#"{"path": "/tmp/t.delta"}"#, "x"), ns),
        ("file".into(), "/tmp/t.delta".into())
    );
    assert_eq!(
        source::dataset_name(&d(r#"{"table_name": "db.t"}"#, "x"), ns),
        (ns.into(), "wine@x".into())
    );
    assert_eq!(
        source::dataset_name(&d("not json", ""), ns),
        (ns.into(), "wine".into())
    );
}

#[test]
fn a_moved_alias_leaves_the_old_version_and_other_tags_stay() {
    let p = plan(&snapshot());
    let mut stored = asset(&p, &model_id("mlflow://tracking:5000", "wine-quality", "1")).clone();
    stored.tags = vec!["challenger".into(), "reviewed".into()];
    stored.version = 4;
    stored.properties.insert("owner.note".into(), json!("kept"));
    let mut next = stored.clone();
    next.tags = vec![];
    next.properties.insert(OWN_TAGS.into(), json!([]));
    next.properties.remove("owner.note");
    next.version = 0;
    let merged = merge(Some(&stored), next);
    assert_eq!(merged.tags, vec!["reviewed"]);
    assert_eq!(merged.properties["owner.note"], json!("kept"));
    assert_eq!(merged.version, 4);

    // A dataset's tags and columns come from elsewhere: they stay.
    let mut table = asset(
        &p,
        &asset_id(AssetKind::Dataset, "s3://lake", "wine/train.parquet"),
    )
    .clone();
    table.tags = vec!["gold".into()];
    let mut next = table.clone();
    next.tags = vec![];
    next.schema = vec![];
    next.schema = vec![crate::asset::Field::new("acidity", "double", true)];
    let merged = merge(Some(&table), next);
    assert_eq!(merged.tags, vec!["gold"]);
    // The stored columns win over MLflow's.
    assert_eq!(merged.schema, table.schema);
}

#[test]
fn a_runs_edges_begin_when_the_run_started() {
    let p = plan(&snapshot());
    assert!(!p.edges.is_empty());
    for e in &p.edges {
        assert_eq!(
            e.first_seen.as_deref(),
            Some("2024-12-05T12:00:00.000Z"),
            "{}",
            e.id
        );
    }
}
