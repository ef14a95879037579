//! Parsing events and reading their facets, against the spec's examples.

use serde_json::json;

use super::*;
use std::cmp::Ordering;
use std::collections::BTreeSet;

#[test]
fn example_events_parse_except_the_invalid_ones() {
    let files = files_under(&Path::new(DATA).join("events"));
    assert_eq!(files.len(), 15);
    let mut rejected = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_str().unwrap().to_string();
        match parse_event(&read(f)) {
            Ok(e) => {
                // Every accepted event must also map onto assets that the
                // catalog's own validation accepts.
                let p = plan(&e);
                for a in &p.assets {
                    a.apply(None)
                        .validate()
                        .unwrap_or_else(|err| panic!("{name}: {err}"));
                }
                for edge in &p.edges {
                    edge.to_input()
                        .into_edge()
                        .unwrap_or_else(|err| panic!("{name}: {err}"));
                }
            }
            Err(problems) => rejected.push((name, problems)),
        }
    }
    let names: Vec<&str> = rejected.iter().map(|(n, _)| n.as_str()).collect();
    // event_no_run_id.json is the fluentd proxy's one invalid event;
    // nominal_time_without_end.json is a NominalTimeRunFacet, not an
    // event. The event_invalid_*_facet files break only their facets'
    // own schemas, which the core spec does not impose, so they pass.
    assert_eq!(
        names,
        ["nominal_time_without_end.json", "event_no_run_id.json"]
    );
    assert_eq!(
        rejected[1].1,
        vec![Problem::new("run.runId", "is required")]
    );
    let facet_paths: Vec<&str> = rejected[0].1.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(facet_paths, ["eventTime", "producer", "schemaURL", ""]);
}

#[test]
fn parsed_events_carry_their_parts() {
    let e = parse_event(&data("events/client/python/tests/example_full_event.json")).unwrap();
    assert_eq!(e.kind, EventKind::Run);
    assert_eq!(e.event_type.as_deref(), Some("COMPLETE"));
    assert_eq!(e.event_time, "2020-12-28T19:51:01.641Z");
    assert_eq!(
        e.run_id.as_deref(),
        Some("ea041791-68bc-4ae1-bd89-4c8106a157e4")
    );
    assert_eq!(
        e.run_facets.keys().collect::<Vec<_>>(),
        ["nominalTime", "parent", "tags"]
    );
    let (ns, name, facets) = e.job.as_ref().unwrap();
    assert_eq!(
        (ns.as_str(), name.as_str()),
        ("my-scheduler-namespace", "myjob.mytask")
    );
    assert!(facets.contains_key("documentation"));
    assert_eq!(e.inputs.len(), 1);
    assert!(e.inputs[0].io_facets.contains_key("dataQualityAssertions"));
    assert!(e.outputs[0].io_facets.contains_key("outputStatistics"));

    let d = parse_event(&data(
        "events/client/python/tests/serde_example_dataset_event.json",
    ))
    .unwrap();
    assert_eq!(d.kind, EventKind::Dataset);
    assert_eq!((d.event_type, d.run_id, d.job), (None, None, None));
    assert_eq!(d.dataset.unwrap().name, "name");

    let j = parse_event(&data(
        "events/client/python/tests/serde_example_job_event.json",
    ))
    .unwrap();
    assert_eq!(j.kind, EventKind::Job);
    assert_eq!(j.event_type, None);
    assert_eq!(j.inputs[0].name, "dataset_a");
    assert_eq!(j.outputs[0].name, "dataset_b");
}

#[test]
fn facets_that_break_their_own_schema_are_kept() {
    let dir = "events/proxy/fluentd/events/";
    let p = plan_of(&data(&format!("{dir}event_invalid_dataset_facet.json")));
    let out = patch(
        &p,
        &dataset_asset_id("my-datasource-namespace", "instance.schema.output-1"),
    );
    assert_eq!(
        out.facets["ownership"]["owners"],
        json!([{"no-name": "no-name-owner"}])
    );
    // Owners without names say nothing rather than "no owners".
    assert_eq!(out.owners, None);

    let p = plan_of(&data(&format!("{dir}event_invalid_run_facet.json")));
    let run = p.run.unwrap();
    assert_eq!(
        run.facets["parent"]["run"],
        json!({"noRunId": "invalid run id"})
    );

    let p = plan_of(&data(&format!(
        "{dir}event_invalid_output_dataset_facet.json"
    )));
    let out = patch(
        &p,
        &dataset_asset_id("my-datasource-namespace", "instance.schema.output-1"),
    );
    assert_eq!(out.facets["output:outputStatistics"]["rowCount"], "wrong");

    let p = plan_of(&data(&format!(
        "{dir}event_invalid_input_dataset_facet.json"
    )));
    let input = patch(
        &p,
        &dataset_asset_id("my-datasource-namespace", "instance.schema.input-1"),
    );
    assert_eq!(input.facets["input:dataQualityMetrics"]["noRowCount"], 1000);

    let p = plan_of(&data(&format!("{dir}event_invalid_job_facet.json")));
    let job = patch(&p, &job_asset_id("my-scheduler-namespace", "myjob"));
    assert!(job.facets["ownership"].is_object());
}

/// Where a facet example goes in an event, from its folder's name:
/// "run", "job", "dataset", "input" or "output".
fn placement(folder: &str, facet: &Value) -> &'static str {
    if folder == "LineageFacet" {
        // This folder holds both the job and the dataset variant; the
        // schema URL says which.
        let url = facet["_schemaURL"].as_str().unwrap();
        return if url.ends_with("LineageDatasetFacet") {
            "dataset"
        } else {
            "job"
        };
    }
    for (suffix, place) in [
        ("InputDatasetFacet", "input"),
        ("OutputDatasetFacet", "output"),
        ("DatasetFacet", "dataset"),
        ("JobFacet", "job"),
        ("RunFacet", "run"),
    ] {
        if folder.ends_with(suffix) {
            return place;
        }
    }
    panic!("no placement for facet folder {folder}");
}

#[test]
fn every_facet_example_is_accepted_and_kept_verbatim() {
    let root = Path::new(DATA).join("spec/tests");
    let mut seen = BTreeSet::new();
    for file in files_under(&root) {
        let rel = file.strip_prefix(&root).unwrap();
        let Some(folder) = rel
            .parent()
            .and_then(Path::to_str)
            .filter(|f| !f.is_empty())
        else {
            continue; // example_full_event.json, an event; see below.
        };
        let example = read(&file);
        let (name, facet) = example.as_object().unwrap().iter().next().unwrap();
        let place = placement(folder, facet);
        seen.insert(place);
        let mut event = minimal_run();
        let facet_map = json!({ name.as_str(): facet });
        match place {
            "run" => event["run"]["facets"] = facet_map,
            "job" => event["job"]["facets"] = facet_map,
            "dataset" => event["outputs"][0]["facets"] = facet_map,
            "input" => event["inputs"][0]["inputFacets"] = facet_map,
            _ => event["outputs"][0]["outputFacets"] = facet_map,
        }
        let p = plan_of(&event);
        let dst = dataset_asset_id("postgres://db:5432", "public.dst");
        let src = dataset_asset_id("postgres://db:5432", "public.src");
        let kept = match place {
            "run" => p.run.as_ref().unwrap().facets.get(name),
            "job" => patch(&p, &job_asset_id("airflow", "daily.load"))
                .facets
                .get(name),
            "dataset" => patch(&p, &dst).facets.get(name),
            "input" => patch(&p, &src).facets.get(&format!("input:{name}")),
            _ => patch(&p, &dst).facets.get(&format!("output:{name}")),
        };
        assert_eq!(kept, Some(facet), "{}", rel.display());
        // And the stored asset keeps it too.
        if matches!(place, "dataset" | "output") {
            let key = if place == "dataset" {
                name.clone()
            } else {
                format!("output:{name}")
            };
            let asset = patch(&p, &dst).apply(None);
            assert_eq!(
                &asset.properties["openlineage"][&key],
                facet,
                "{}",
                rel.display()
            );
            asset.validate().unwrap();
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    plan_of(&data("spec/tests/example_full_event.json"));
}

#[test]
fn schema_facet_example_gives_flattened_fields() {
    let mut event = minimal_run();
    event["outputs"][0]["facets"] = data("spec/tests/SchemaDatasetFacet/1.json");
    let p = plan_of(&event);
    let schema = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"))
        .schema
        .clone()
        .unwrap();
    let names: Vec<&str> = schema.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "user_id",
            "counterparty_id",
            "currency",
            "amount",
            "phones",
            "phones._element",
            "addresses",
            "addresses.type",
            "addresses.country",
            "addresses.zip",
            "addresses.state",
            "addresses.street",
            "custom_properties",
            "custom_properties.key",
            "custom_properties.value",
            "custom_properties.value._0",
            "custom_properties.value._1",
        ]
    );
    assert_eq!(schema[0], Field::new("user_id", "int64", true));
    assert_eq!(schema[5].data_type, "string");
    assert_eq!(schema[5].description, "Phone number");
    assert_eq!(schema[6].data_type, "struct");
}

#[test]
fn schema_fields_without_a_type_get_unknown() {
    let mut event = minimal_run();
    event["outputs"][0]["facets"] = json!({"schema": {"fields": [{"name": "location_id"}, {"name": "location_id"}, {"type": "int"}]}});
    let p = plan_of(&event);
    let schema = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"))
        .schema
        .clone();
    assert_eq!(
        schema,
        Some(vec![Field::new("location_id", "unknown", true)])
    );
}

#[test]
fn column_lineage_example_gives_derives_edges() {
    let mut event = minimal_run();
    event["outputs"][0]["facets"] = data("spec/tests/ColumnLineageDatasetFacet/1.json");
    let p = plan_of(&event);
    let dst = dataset_asset_id("postgres://db:5432", "public.dst");
    let customers = dataset_asset_id("SnowflakeOpenLineage", "CUSTOMERS");
    let discounts = dataset_asset_id("SnowflakeOpenLineage", "DISCOUNTS");
    let e = derives(&p, &customers, &dst);
    assert_eq!(e.id, edge_id(&customers, EdgeKind::Derives, &dst));
    // By hand from the file: NAME reads CUSTOMERS.NAME directly and
    // CUSTOMERS.ID through the join, and every output column joins on
    // CUSTOMERS.ID.
    assert_eq!(
        e.columns,
        vec![
            mapping("ID", "AMOUNT_OFF", Some("INDIRECT/JOIN")),
            mapping("ID", "ENDS_AT", Some("INDIRECT/JOIN")),
            mapping("ID", "NAME", Some("INDIRECT/JOIN")),
            mapping("ID", "STARTS_AT", Some("INDIRECT/JOIN")),
            mapping("NAME", "NAME", Some("DIRECT/IDENTITY")),
        ]
    );
    let e = derives(&p, &discounts, &dst);
    assert!(e.columns.contains(&mapping(
        "AMOUNT_OFF",
        "AMOUNT_OFF",
        Some("DIRECT/IDENTITY")
    )));
    assert!(e
        .columns
        .contains(&mapping("CUSTOMERS_ID", "NAME", Some("INDIRECT/JOIN"))));
    assert_eq!(e.columns.len(), 7);
    // Inputs named only by the facet still get a bare patch.
    let bare = patch(&p, &customers);
    assert_eq!(
        (bare.kind, bare.namespace.as_str(), bare.name.as_str()),
        (AssetKind::Dataset, "SnowflakeOpenLineage", "CUSTOMERS")
    );
    assert!(bare.facets.is_empty() && bare.schema.is_none());
    assert_eq!(
        p.edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Derives)
            .count(),
        2
    );

    let mut event = minimal_run();
    event["outputs"][0]["facets"] = data("spec/tests/ColumnLineageDatasetFacet/2.json");
    let p = plan_of(&event);
    let people = dataset_asset_id(
        "s3://test-bucket",
        "/iceberg_warehouse/some-database/people",
    );
    assert_eq!(
        derives(&p, &people, &dst).columns,
        vec![
            mapping("age", "ageNextYear", Some("DIRECT/TRANSFORMATION")),
            mapping("first_name", "firstName", Some("DIRECT/IDENTITY")),
            mapping("id", "id", Some("DIRECT/IDENTITY")),
            mapping("last_name", "lastName", Some("DIRECT/IDENTITY")),
        ]
    );
}

#[test]
fn legacy_transformation_type_is_the_fallback() {
    let mut event = minimal_run();
    event["outputs"][0]["facets"] = json!({"columnLineage": {"fields": {
        "total": {
            "inputFields": [
                {"namespace": "postgres://db:5432", "name": "public.src", "field": "amount", "transformations": []},
                {"namespace": "postgres://db:5432", "name": "public.src", "field": "amount"}
            ],
            "transformationType": "IDENTITY",
            "transformationDescription": "SELECT amount"
        },
        "other": {"inputFields": [{"namespace": "postgres://db:5432", "name": "public.src", "field": "x"}]},
        "self": {"inputFields": [{"namespace": "postgres://db:5432", "name": "public.dst", "field": "x"}]}
    }}});
    let p = plan_of(&event);
    let src = dataset_asset_id("postgres://db:5432", "public.src");
    let dst = dataset_asset_id("postgres://db:5432", "public.dst");
    // The two inputs give the same mapping, which is kept once.
    assert_eq!(
        derives(&p, &src, &dst).columns,
        vec![
            mapping("amount", "total", Some("IDENTITY/SELECT amount")),
            mapping("x", "other", None),
        ]
    );
    // A dataset feeding itself gives no edge.
    assert!(!p.edges.iter().any(|e| e.from == e.to));
}

#[test]
fn hive_integration_outputs_give_derives_edges() {
    let dir = Path::new(DATA).join(
        "column-lineage-shapes/integration/hive/hive-openlineage-hook/integrations/container",
    );
    let files = files_under(&dir);
    assert_eq!(files.len(), 11);
    for f in &files {
        let p = plan_of(&completed(read(f)));
        let e = parse_event(&completed(read(f))).unwrap();
        for out in &e.outputs {
            let Some(fields) = out.facets["columnLineage"]["fields"].as_object() else {
                continue;
            };
            let to = dataset_asset_id(&out.namespace, &out.name);
            let mapped: BTreeSet<&str> = p
                .edges
                .iter()
                .filter(|e| e.kind == EdgeKind::Derives && e.to == to)
                .flat_map(|e| e.columns.iter().map(|m| m.to.as_str()))
                .collect();
            let want: BTreeSet<&str> = fields
                .iter()
                .filter(|(_, s)| s["inputFields"].as_array().is_some_and(|a| !a.is_empty()))
                .map(|(k, _)| k.as_str())
                .collect();
            assert_eq!(mapped, want, "{}", f.display());
        }
        for edge in &p.edges {
            let from = p.assets.iter().find(|a| a.id == edge.from).unwrap();
            let to = p.assets.iter().find(|a| a.id == edge.to).unwrap();
            assert!(edge.kind.allows(from.kind, to.kind), "{}", f.display());
        }
    }

    let p = plan_of(&completed(read(
        &dir.join("cllSimpleInsertFromTableComplete.json"),
    )));
    let t1 = dataset_asset_id("hive://localhost:9083", "test.t1");
    let t2 = dataset_asset_id("hive://localhost:9083", "test.t2");
    assert_eq!(
        derives(&p, &t2, &t1).columns,
        vec![
            mapping("a", "a", Some("DIRECT/IDENTITY")),
            mapping("b", "b", Some("DIRECT/TRANSFORMATION")),
        ]
    );
    let job = job_asset_id("default", "query.test.t1");
    assert_eq!(
        p.edges
            .iter()
            .map(|e| (e.from.as_str(), e.kind, e.to.as_str()))
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            (t2.as_str(), EdgeKind::Reads, job.as_str()),
            (job.as_str(), EdgeKind::Writes, t1.as_str()),
            (t2.as_str(), EdgeKind::Derives, t1.as_str()),
        ])
    );

    // Dataset-level lineage (the join keys) adds no column mappings.
    let p = plan_of(&completed(read(&dir.join("cllCtasWithJoinsComplete.json"))));
    let xxx = dataset_asset_id("hive://localhost:9083", "test.xxx");
    let t1 = dataset_asset_id("hive://localhost:9083", "test.t1");
    assert_eq!(
        derives(&p, &t1, &xxx).columns,
        vec![mapping("id", "id", Some("DIRECT/TRANSFORMATION"))]
    );
    assert_eq!(
        derives(&p, &t2, &xxx).columns,
        vec![mapping("name", "name", Some("DIRECT/IDENTITY"))]
    );
}

#[test]
fn dbt_integration_events_give_derives_edges_without_transforms() {
    let events = data(
        "column-lineage-shapes/integration/common/tests/dbt/structured_logs/bigquery/run/results/successful_run_ol_events.json",
    );
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 4);
    let plans: Vec<IngestPlan> = events
        .iter()
        .map(|e| plan_of(&completed(e.clone())))
        .collect();
    let raw = dataset_asset_id("bigquery", "example-bigquery-project.raw.raw_stores");
    let stg = dataset_asset_id(
        "bigquery",
        "example-bigquery-project.jaffle_shop.stg_locations",
    );
    assert_eq!(
        derives(&plans[2], &raw, &stg).columns,
        vec![
            mapping("id", "location_id", None),
            mapping("name", "location_name", None),
            mapping("tax_rate", "tax_rate", None),
        ]
    );
    assert!(plans[1].edges.iter().all(|e| e.kind != EdgeKind::Derives));
    assert_eq!(
        patch(&plans[2], &stg).schema,
        Some(vec![Field::new("location_id", "unknown", true)])
    );
    assert_eq!(plans[3].run.as_ref().unwrap().event_type, "COMPLETE");
}

#[test]
fn malformed_events_are_rejected_at_precise_paths() {
    type Breakage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Breakage)> = vec![
        (
            "run.runId",
            Box::new(|e| {
                e["run"].as_object_mut().unwrap().remove("runId");
            }),
        ),
        (
            "run.runId",
            Box::new(|e| e["run"]["runId"] = json!("run-1")),
        ),
        (
            "eventTime",
            Box::new(|e| e["eventTime"] = json!("yesterday")),
        ),
        (
            "eventTime",
            Box::new(|e| e["eventTime"] = json!(1714564800)),
        ),
        (
            "eventTime",
            Box::new(|e| e["eventTime"] = json!("2024-02-30T12:00:00Z")),
        ),
        ("producer", Box::new(|e| e["producer"] = json!(42))),
        ("producer", Box::new(|e| e["producer"] = json!("not a uri"))),
        (
            "schemaURL",
            Box::new(|e| {
                e.as_object_mut().unwrap().remove("schemaURL");
            }),
        ),
        (
            "inputs",
            Box::new(|e| e["inputs"] = json!({"namespace": "a", "name": "b"})),
        ),
        (
            "inputs[0].name",
            Box::new(|e| {
                e["inputs"][0].as_object_mut().unwrap().remove("name");
            }),
        ),
        (
            "outputs[0].namespace",
            Box::new(|e| e["outputs"][0]["namespace"] = json!(7)),
        ),
        (
            "outputs[0]",
            Box::new(|e| e["outputs"][0] = json!("public.dst")),
        ),
        ("eventType", Box::new(|e| e["eventType"] = json!("DONE"))),
        (
            "job",
            Box::new(|e| {
                e.as_object_mut().unwrap().remove("job");
            }),
        ),
        ("job.name", Box::new(|e| e["job"]["name"] = json!(""))),
        ("job.facets", Box::new(|e| e["job"]["facets"] = json!([]))),
        (
            "run.facets.nominalTime",
            Box::new(|e| e["run"]["facets"] = json!({"nominalTime": "2024-05-01"})),
        ),
        (
            "inputs[0].inputFacets.stats",
            Box::new(|e| e["inputs"][0]["inputFacets"] = json!({"stats": 3})),
        ),
        (
            "outputs[0].facets.schema._deleted",
            Box::new(|e| e["outputs"][0]["facets"] = json!({"schema": {"_deleted": "yes"}})),
        ),
    ];
    for (path, break_it) in cases {
        let mut e = minimal_run();
        break_it(&mut e);
        assert_eq!(problem_paths(&e), [path], "{e}");
    }
    assert_eq!(problem_paths(&json!([1])), [""]);
    assert_eq!(
        problem_paths(
            &json!({"eventTime": "2024-05-01T12:00:00Z", "producer": "urn:p", "schemaURL": "urn:s", "job": {"namespace": "a", "name": "b"}, "dataset": {"namespace": "a", "name": "b"}})
        ),
        ["dataset"]
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let mut e = minimal_run();
    e["eventTime"] = json!("yesterday");
    e["producer"] = json!(42);
    let problems = parse_event(&e).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].path, "eventTime");
    assert!(
        problems[0].message.contains("yesterday"),
        "{}",
        problems[0].message
    );
    assert_eq!(
        problems[1],
        Problem::new("producer", "must be a string, not a number")
    );

    let mut e = minimal_run();
    e["run"] = json!({});
    e["inputs"][0] = json!({"namespace": 1});
    e["eventType"] = json!("DONE");
    assert_eq!(
        problem_paths(&e),
        [
            "eventType",
            "inputs[0].name",
            "inputs[0].namespace",
            "run.runId"
        ]
    );
}

#[test]
fn empty_facets_and_empty_schema_fields_are_accepted() {
    // As the official Python client sends them.
    let mut e = minimal_run();
    e["run"]["facets"] = json!({});
    e["job"]["facets"] = json!({});
    e["inputs"][0]["facets"] = json!({});
    e["inputs"][0]["inputFacets"] = json!({});
    e["outputs"][0]["facets"] = json!({"schema": {
        "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": []
    }});
    let p = plan_of(&e);
    let dst = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"));
    // An empty schema says nothing, so it cannot wipe a known one.
    assert_eq!(dst.schema, None);
    assert!(dst.facets["schema"]["fields"]
        .as_array()
        .unwrap()
        .is_empty());

    // Nested `fields: []` of a column is no child.
    let p = plan_of(&data("events/client/python/tests/example_full_event.json"));
    let t = patch(
        &p,
        &dataset_asset_id("my-datasource-namespace", "instance.schema.table"),
    );
    assert_eq!(
        t.schema,
        Some(vec![Field {
            description: "string".into(),
            ..Field::new("column1", "VARCHAR", true)
        }])
    );
}

#[test]
fn times_parse_as_instants() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some((0, 0)));
    assert_eq!(
        parse_time("1970-01-01T01:00:00.5+01:00"),
        Some((0, 500_000_000))
    );
    assert_eq!(parse_time("2000-03-01T00:00:00z"), Some((951_868_800, 0)));
    assert_eq!(
        parse_time("2024-02-29T00:00:00-00:30"),
        Some((1_709_166_600, 0))
    );
    // Offset-less, as the Python client writes naive datetimes: UTC.
    assert_eq!(
        parse_time("2021-11-03T10:53:52.427343"),
        parse_time("2021-11-03T10:53:52.427343Z")
    );
    assert_eq!(
        parse_time("2021-11-03T10:53:52.1234567891Z").unwrap().1,
        123_456_789
    );
    for bad in [
        "yesterday",
        "2020-12-28",
        "2023-02-29T00:00:00Z",
        "2020-12-28T24:00:00Z",
        "2020-12-28 19:52:00Z",
        "2020-12-28T19:52:00.Z",
        "2020-12-28T19:52:00+1000",
        "2020-12-28T19:52:00Zjunk",
        "2020-13-01T00:00:00Z",
    ] {
        assert_eq!(parse_time(bad), None, "{bad}");
    }
    assert_eq!(
        time_cmp("2020-12-28T19:52:00+10:00", "2020-12-28T10:00:00Z"),
        Ordering::Less
    );
}
