use super::*;
use crate::asset::{asset_id, AssetKind, Field};
use serde_json::json;
use std::collections::BTreeMap;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/dbt/");

fn named(datasets: &str) -> Naming {
    Naming {
        datasets: Some(datasets.to_string()),
        ..Naming::default()
    }
}

fn load(name: &str) -> Value {
    let path = format!("{DATA}{name}.manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn parse(name: &str) -> DbtImport {
    parse_manifest(&load(name), None, &Naming::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn asset<'a>(import: &'a DbtImport, kind: AssetKind, name: &str) -> &'a Asset {
    let namespace = match kind {
        AssetKind::Dataset => &import.namespace,
        _ => &import.job_namespace,
    };
    let id = asset_id(kind, namespace, name);
    import
        .assets
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("no {id} among {:#?}", ids(import)))
}

fn ids(import: &DbtImport) -> Vec<&str> {
    import.assets.iter().map(|a| a.id.as_str()).collect()
}

fn count(import: &DbtImport, kind: AssetKind) -> usize {
    import.assets.iter().filter(|a| a.kind == kind).count()
}

fn has_edge(import: &DbtImport, from: &str, kind: EdgeKind, to: &str) -> bool {
    import
        .edges
        .iter()
        .any(|e| e.from == from && e.kind == kind && e.to == to)
}

/// Every asset is valid, every edge joins two assets of the import and
/// fits them, and both lists are sorted without duplicates.
fn assert_consistent(import: &DbtImport) {
    let by_id: BTreeMap<&str, &Asset> = import.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    assert_eq!(by_id.len(), import.assets.len(), "duplicate asset ids");
    assert!(import.assets.windows(2).all(|w| w[0].id < w[1].id));
    assert!(import.edges.windows(2).all(|w| w[0].id < w[1].id));
    for a in &import.assets {
        a.validate().unwrap();
        let namespace = match a.kind {
            AssetKind::Dataset => &import.namespace,
            _ => &import.job_namespace,
        };
        assert_eq!(&a.namespace, namespace);
        assert_eq!((a.version, a.created_at.as_deref()), (0, None));
    }
    for e in &import.edges {
        assert_eq!(e.id, edge_id(&e.from, e.kind, &e.to));
        let (from, to) = (by_id[e.from.as_str()], by_id[e.to.as_str()]);
        e.check_ends(from, to)
            .unwrap_or_else(|err| panic!("{} -{}-> {}: {err}", e.from, e.kind, e.to));
    }
}

/// (file, datasets, workflows, edges) counted by hand with python from
/// the v7 to v12 files: models, seeds and snapshots plus sources; one
/// run per built node; one write per run plus one read per dependency
/// present in the manifest.
const SUPPORTED: [(&str, usize, usize, usize); 5] = [
    ("compiled_code", 2, 2, 3),
    ("postgres", 8, 8, 16),
    ("singular_test", 0, 0, 0),
    ("no_test_metadata", 8, 8, 16),
    ("duckdb", 5, 5, 5),
];

const REFUSED: [(&str, u32); 12] = [
    ("alias", 2),
    ("catalog", 2),
    ("env_vars", 2),
    ("fail", 2),
    ("large", 2),
    ("profiles", 2),
    ("small", 2),
    ("test", 2),
    ("build", 3),
    ("snapshot", 4),
    ("spark-odbc", 4),
    ("spark-thrift", 4),
];

#[test]
fn every_supported_manifest_parses_with_the_counted_assets_and_edges() {
    for (name, datasets, workflows, edges) in SUPPORTED {
        let import = parse(name);
        assert_consistent(&import);
        assert_eq!(count(&import, AssetKind::Dataset), datasets, "{name}");
        assert_eq!(count(&import, AssetKind::Workflow), workflows, "{name}");
        assert_eq!(import.assets.len(), datasets + workflows, "{name}");
        assert_eq!(import.edges.len(), edges, "{name}");
    }
    let versions: Vec<u32> = SUPPORTED
        .iter()
        .map(|(n, ..)| parse(n).schema_version)
        .collect();
    assert_eq!(versions, [7, 7, 11, 12, 12]);
}

#[test]
fn the_data_folder_holds_only_files_these_tests_know() {
    let mut known: BTreeSet<String> = SUPPORTED.iter().map(|(n, ..)| n.to_string()).collect();
    known.extend(REFUSED.iter().map(|(n, _)| n.to_string()));
    let found: BTreeSet<String> = std::fs::read_dir(DATA)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".manifest.json").map(str::to_string)
        })
        .collect();
    assert_eq!(found, known);
}

#[test]
fn manifests_before_v7_are_refused_naming_their_version() {
    for (name, version) in REFUSED {
        let err = parse_manifest(&load(name), None, &Naming::default()).unwrap_err();
        assert_eq!(err.field, "metadata.dbt_schema_version", "{name}");
        assert_eq!(
            err.message,
            format!("dbt manifest schema v{version} is not supported; mlgraph reads v7 to v12 (dbt 1.3 and later)"),
            "{name}"
        );
    }
    let mut newer = load("duckdb");
    newer["metadata"]["dbt_schema_version"] =
        json!("https://schemas.getdbt.com/dbt/manifest/v13.json");
    let err = parse_manifest(&newer, None, &Naming::default()).unwrap_err();
    assert!(
        err.message
            .starts_with("dbt manifest schema v13 is not supported"),
        "{}",
        err.message
    );
}

#[test]
fn a_manifest_without_a_schema_version_is_refused() {
    let mut unversioned = load("postgres");
    unversioned["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("dbt_schema_version");
    for manifest in [
        unversioned,
        json!({"nodes": {}}),
        json!({"metadata": {"dbt_schema_version": 7}}),
    ] {
        let err = parse_manifest(&manifest, None, &Naming::default()).unwrap_err();
        assert_eq!(err.field, "metadata.dbt_schema_version");
        assert!(err.message.starts_with("is missing"), "{}", err.message);
    }
    let run_results = json!({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v5.json"}});
    let err = parse_manifest(&run_results, None, &Naming::default()).unwrap_err();
    assert_eq!(err.field, "metadata.dbt_schema_version");
    assert!(
        err.message.contains("no dbt manifest schema"),
        "{}",
        err.message
    );
    assert_eq!(
        parse_manifest(&json!([]), None, &Naming::default())
            .unwrap_err()
            .field,
        "manifest"
    );
}

#[test]
fn runs_read_their_inputs_and_write_their_table() {
    let import = parse("postgres");
    // v7 has no project_name, so the package of the first model names
    // the project; the adapter names the namespace.
    assert_eq!(import.project, "jaffle_shop");
    assert_eq!(import.namespace, "dbt://postgres");
    let customers = asset(&import, AssetKind::Dataset, "postgres.public.customers");
    assert_eq!(customers.tags, ["dbt-model"]);
    assert_eq!(
        customers.properties["dbt.unique_id"],
        "model.jaffle_shop.customers"
    );
    assert_eq!(customers.properties["dbt.resource_type"], "model");
    assert_eq!(customers.properties["dbt.materialized"], "table");
    assert_eq!(customers.properties["dbt.package"], "jaffle_shop");
    assert_eq!(customers.properties["dbt.path"], "models/customers.sql");
    assert_eq!(customers.schema.len(), 9);
    let id = customers.column("customer_id").unwrap();
    assert_eq!((id.data_type.as_str(), id.nullable), ("unknown", true));
    assert_eq!(id.description, "This is a unique identifier for a customer");
    let stg = asset(&import, AssetKind::Dataset, "postgres.public.stg_customers");
    assert_eq!(stg.tags, ["dbt-model", "postgres", "test"]);
    assert_eq!(stg.properties["dbt.materialized"], "view");
    let seed = asset(&import, AssetKind::Dataset, "postgres.public.raw_customers");
    assert_eq!(seed.tags, ["dbt-seed"]);

    let run = asset(
        &import,
        AssetKind::Workflow,
        "postgres.public.jaffle_shop.customers",
    );
    assert_eq!(run.tags, ["dbt"]);
    assert!(has_edge(&import, &run.id, EdgeKind::Writes, &customers.id));
    for input in ["stg_customers", "stg_orders", "stg_payments"] {
        let input = asset(
            &import,
            AssetKind::Dataset,
            &format!("postgres.public.{input}"),
        );
        assert!(
            has_edge(&import, &input.id, EdgeKind::Reads, &run.id),
            "{}",
            input.id
        );
    }
    let reads = import.edges.iter().filter(|e| e.to == run.id).count();
    assert_eq!(reads, 3);
    // Seeds are loaded by a run too, but read nothing.
    let load = asset(
        &import,
        AssetKind::Workflow,
        "postgres.public.jaffle_shop.raw_customers.seed",
    );
    assert_eq!(load.properties["dbt.command"], "seed");
    assert!(!import.edges.iter().any(|e| e.to == load.id));
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
}

#[test]
fn tests_are_kept_on_the_dataset_they_test() {
    let import = parse("postgres");
    let orders = asset(&import, AssetKind::Dataset, "postgres.public.orders");
    let tests = orders.properties["dbt.tests"].as_array().unwrap();
    assert_eq!(tests.len(), 10);
    assert!(tests.contains(&json!({
        "name": "not_null_orders_amount",
        "test": "not_null",
        "column": "amount",
        "severity": "ERROR",
    })));
    let names: Vec<&str> = tests.iter().map(|t| t["name"].as_str().unwrap()).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(names, sorted_names);
    // Without attached_node (before v10) a relationships test sits on
    // both tables it depends on.
    let customers = asset(&import, AssetKind::Dataset, "postgres.public.customers");
    let on_customers: Vec<&str> = customers.properties["dbt.tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        on_customers,
        [
            "not_null_customers_customer_id",
            "relationships_orders_customer_id__customer_id__ref_customers_",
            "unique_customers_customer_id"
        ]
    );
    let seed = asset(&import, AssetKind::Dataset, "postgres.public.raw_orders");
    assert!(!seed.properties.contains_key("dbt.tests"));
    // Tests never become assets.
    assert!(!import.assets.iter().any(|a| a.name.contains("not_null")));

    // v12 names the tested node in attached_node.
    let duck = parse("duckdb");
    let customers = asset(&duck, AssetKind::Dataset, "jaffle_shop.main.customers");
    assert_eq!(
        customers.properties["dbt.tests"],
        json!([
            {"name": "not_null_customers_customer_id", "test": "not_null", "column": "customer_id", "severity": "ERROR"},
            {"name": "unique_customers_customer_id", "test": "unique", "column": "customer_id", "severity": "ERROR"},
        ])
    );
}

#[test]
fn attached_node_wins_over_depends_on() {
    let mut manifest = load("duckdb");
    let test = &mut manifest["nodes"]["test.jaffle_shop.not_null_orders_customer_id.c5f02694af"];
    test["depends_on"]["nodes"] =
        json!(["model.jaffle_shop.orders", "model.jaffle_shop.customers"]);
    let import = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    let on = |name: &str| {
        asset(&import, AssetKind::Dataset, name).properties["dbt.tests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "not_null_orders_customer_id")
    };
    assert!(on("jaffle_shop.main.orders"));
    assert!(!on("jaffle_shop.main.customers"));
}

#[test]
fn singular_tests_on_nothing_are_reported() {
    let import = parse("singular_test");
    assert_eq!(import.schema_version, 11);
    assert_eq!(import.project, "dbt");
    assert_eq!(import.namespace, "dbt://postgres");
    assert!(import.assets.is_empty());
    assert_eq!(
        import.warnings,
        [
            "test.my_project.assert_positive_amounts tests no model, seed, snapshot or source of this manifest, so it is kept nowhere.",
            "test.my_project.assert_row_count_within_range tests no model, seed, snapshot or source of this manifest, so it is kept nowhere.",
        ]
    );
}

#[test]
fn a_singular_test_on_a_model_is_kept_as_singular() {
    let mut manifest = load("duckdb");
    manifest["nodes"]["test.jaffle_shop.assert_orders_positive"] = json!({
        "name": "assert_orders_positive",
        "resource_type": "test",
        "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
        "config": {"severity": "warn"},
    });
    let import = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    assert_eq!(
        orders.properties["dbt.tests"][0],
        json!({"name": "assert_orders_positive", "test": "singular", "column": null, "severity": "warn"})
    );
}

#[test]
fn missing_inputs_warn_and_macros_do_not() {
    let import = parse("duckdb");
    assert_eq!(import.project, "jaffle_shop");
    assert_eq!(import.namespace, "dbt://duckdb");
    // customers reads three staging models and orders two, none of
    // which this manifest holds.
    assert_eq!(import.warnings.len(), 5, "{:#?}", import.warnings);
    assert!(import.warnings.contains(
        &"model.jaffle_shop.customers depends on model.jaffle_shop.stg_payments, which is not in the manifest; that input is left out.".to_string()
    ));
    assert!(!import.warnings.iter().any(|w| w.contains("macro.")));
}

#[test]
fn owners_come_from_meta_or_config_meta() {
    let import = parse("duckdb");
    let customers = asset(&import, AssetKind::Dataset, "jaffle_shop.main.customers");
    assert_eq!(customers.owners, ["data-team"]);
    let run = asset(
        &import,
        AssetKind::Workflow,
        "jaffle_shop.main.jaffle_shop.customers",
    );
    assert_eq!(run.owners, ["data-team"]);

    let mut manifest = load("duckdb");
    let orders = &mut manifest["nodes"]["model.jaffle_shop.orders"];
    orders["config"]["meta"]["owner"] = json!(["sales-analytics", "ann@example.com", ""]);
    orders["meta"]["owner"] = json!("ann@example.com");
    let import = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    assert_eq!(orders.owners, ["ann@example.com", "sales-analytics"]);
}

/// The duckdb manifest with a source, a snapshot, an ephemeral model, a
/// metric and two exposures added.
fn extended() -> Value {
    let mut m = load("duckdb");
    m["sources"]["source.jaffle_shop.shop.raw_refunds"] = json!({
        "resource_type": "source",
        "name": "raw_refunds",
        "identifier": "refunds_2024",
        "database": "jaffle_shop",
        "schema": "raw",
        "source_description": "Raw exports of the shop.",
        "description": "",
        "meta": {},
        "source_meta": {"owner": "shop-team"},
        "tags": ["raw"],
        "package_name": "jaffle_shop",
        "original_file_path": "models/sources.yml",
        "config": {"enabled": true},
        "columns": {"refund_id": {"name": "refund_id", "description": "", "data_type": "integer"}},
    });
    m["nodes"]["model.jaffle_shop.refunds_clean"] = json!({
        "resource_type": "model",
        "name": "refunds_clean",
        "alias": "refunds_clean",
        "database": "jaffle_shop",
        "schema": "main",
        "config": {"materialized": "ephemeral"},
        "depends_on": {"nodes": ["source.jaffle_shop.shop.raw_refunds"]},
    });
    m["nodes"]["snapshot.jaffle_shop.orders_snapshot"] = json!({
        "resource_type": "snapshot",
        "name": "orders_snapshot",
        "alias": "orders_history",
        "database": "jaffle_shop",
        "schema": "snapshots",
        "config": {"materialized": "snapshot", "tags": ["history"]},
        "tags": ["history"],
        "depends_on": {"nodes": ["model.jaffle_shop.orders", "model.jaffle_shop.refunds_clean"]},
    });
    m["metrics"]["metric.jaffle_shop.revenue"] = json!({
        "name": "revenue",
        "depends_on": {"nodes": ["semantic_model.jaffle_shop.orders"]},
    });
    m["semantic_models"]["semantic_model.jaffle_shop.orders"] = json!({
        "name": "orders",
        "depends_on": {"nodes": ["model.jaffle_shop.orders"]},
    });
    m["exposures"]["exposure.jaffle_shop.weekly_kpis"] = json!({
        "name": "weekly_kpis",
        "type": "dashboard",
        "url": "https://bi.example.com/d/42",
        "description": "Weekly KPIs.\r\nFor the board.",
        "owner": {"name": null, "email": "bi@example.com"},
        "tags": ["board"],
        "depends_on": {"nodes": ["model.jaffle_shop.customers", "metric.jaffle_shop.revenue", "model.jaffle_shop.gone"], "macros": []},
    });
    m["exposures"]["exposure.jaffle_shop.churn_app"] = json!({
        "name": "churn_app",
        "type": "application",
        "owner": {"name": "Growth", "email": "growth@example.com"},
        "depends_on": {"nodes": ["model.jaffle_shop.customers"]},
    });
    m
}

#[test]
fn exposures_become_applications_that_read_tables() {
    let import = parse_manifest(&extended(), None, &Naming::default()).unwrap();
    assert_consistent(&import);
    let kpis = asset(&import, AssetKind::Application, "weekly_kpis");
    assert_eq!(kpis.owners, ["bi@example.com"]);
    assert_eq!(kpis.tags, ["board", "dbt-exposure"]);
    assert_eq!(kpis.description, "Weekly KPIs.\nFor the board.");
    assert_eq!(
        kpis.properties["dbt.unique_id"],
        "exposure.jaffle_shop.weekly_kpis"
    );
    assert_eq!(kpis.properties["dbt.exposure_type"], "dashboard");
    assert_eq!(kpis.properties["dbt.url"], "https://bi.example.com/d/42");
    let customers = asset(&import, AssetKind::Dataset, "jaffle_shop.main.customers");
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    // The metric stands for the orders table behind its semantic model.
    let read: Vec<&str> = import
        .edges
        .iter()
        .filter(|e| e.to == kpis.id)
        .inspect(|e| assert_eq!(e.kind, EdgeKind::Reads))
        .map(|e| e.from.as_str())
        .collect();
    assert_eq!(read, {
        let mut v = vec![customers.id.as_str(), orders.id.as_str()];
        v.sort_by_key(|id| edge_id(id, EdgeKind::Reads, &kpis.id));
        v
    });
    assert!(import.warnings.contains(
        &"exposure.jaffle_shop.weekly_kpis depends on model.jaffle_shop.gone, which is not in the manifest; that input is left out.".to_string()
    ));
    let app = asset(&import, AssetKind::Application, "churn_app");
    assert_eq!(app.owners, ["Growth"]);
    assert!(!app.properties.contains_key("dbt.url"));
    assert!(has_edge(&import, &customers.id, EdgeKind::Reads, &app.id));
}

#[test]
fn sources_snapshots_and_ephemeral_models() {
    let import = parse_manifest(&extended(), None, &Naming::default()).unwrap();
    // Named by its name, as dbt-ol names it; the relation stays known.
    let source = asset(&import, AssetKind::Dataset, "jaffle_shop.raw.raw_refunds");
    assert_eq!(
        source.properties["dbt.relation"],
        "jaffle_shop.raw.refunds_2024"
    );
    assert_eq!(source.description, "Raw exports of the shop.");
    assert_eq!(source.owners, ["shop-team"]);
    assert_eq!(source.tags, ["dbt-source", "raw"]);
    assert_eq!(source.properties["dbt.resource_type"], "source");
    assert!(!source.properties.contains_key("dbt.materialized"));
    assert_eq!(source.schema, [Field::new("refund_id", "integer", true)]);
    // Sources are loaded outside dbt, so no run writes them.
    assert!(!import.edges.iter().any(|e| e.to == source.id));

    let snapshot = asset(
        &import,
        AssetKind::Dataset,
        "jaffle_shop.snapshots.orders_history",
    );
    assert_eq!(snapshot.tags, ["dbt-snapshot", "history"]);
    let run = asset(
        &import,
        AssetKind::Workflow,
        "jaffle_shop.snapshots.jaffle_shop.orders_snapshot.snapshot",
    );
    assert_eq!(run.properties["dbt.command"], "snapshot");
    assert!(has_edge(&import, &run.id, EdgeKind::Writes, &snapshot.id));
    // The ephemeral model is inlined, so the snapshot reads its source.
    assert!(has_edge(&import, &source.id, EdgeKind::Reads, &run.id));
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    assert!(has_edge(&import, &orders.id, EdgeKind::Reads, &run.id));
    assert!(!import
        .assets
        .iter()
        .any(|a| a.name.contains("refunds_clean")));
    assert!(import.warnings.contains(
        &"Not catalogued, as they are no tables: 1 ephemeral model, 1 metric, 1 semantic model."
            .to_string()
    ));
}

#[test]
fn disabled_nodes_are_ignored() {
    let mut manifest = load("duckdb");
    manifest["disabled"] = json!({"model.jaffle_shop.stg_orders": [{"resource_type": "model"}]});
    manifest["nodes"]["model.jaffle_shop.orders"]["config"]["enabled"] = json!(false);
    let import = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    assert!(!import.assets.iter().any(|a| a.name.ends_with(".orders")));
    assert_eq!(count(&import, AssetKind::Dataset), 4);
    // customers still misses stg_customers and stg_payments, but the
    // disabled stg_orders is no loss.
    let missing: Vec<&String> = import
        .warnings
        .iter()
        .filter(|w| w.contains("not in the manifest"))
        .collect();
    assert_eq!(missing.len(), 2, "{missing:?}");
    assert!(!missing.iter().any(|w| w.contains("stg_orders")));
    // The tests of the disabled model are attached nowhere and said so.
    assert!(import
        .warnings
        .iter()
        .any(|w| w.starts_with("test.jaffle_shop.unique_orders_order_id")));
}

#[test]
fn a_catalog_overrides_types_and_order_and_adds_columns() {
    let catalog = json!({
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/catalog/v1.json"},
        "nodes": {
            "model.jaffle_shop.customers": {
                "metadata": {"type": "BASE TABLE", "name": "customers"},
                "columns": {
                    "NUMBER_OF_ORDERS": {"type": "BIGINT", "index": 2, "name": "NUMBER_OF_ORDERS", "comment": null},
                    "customer_id": {"type": "INTEGER", "index": 1, "name": "customer_id", "comment": null},
                    "loyalty_tier": {"type": "VARCHAR", "index": 3, "name": "loyalty_tier", "comment": "Tier from the loyalty system."},
                },
            },
        },
        "sources": {},
    });
    let import = parse_manifest(&load("duckdb"), Some(&catalog), &Naming::default()).unwrap();
    let customers = asset(&import, AssetKind::Dataset, "jaffle_shop.main.customers");
    let names: Vec<&str> = customers.schema.iter().map(|f| f.name.as_str()).collect();
    // Catalog columns first in warehouse order, then the documented
    // columns the catalog lacks.
    assert_eq!(
        &names[..3],
        ["customer_id", "NUMBER_OF_ORDERS", "loyalty_tier"]
    );
    assert_eq!(customers.schema.len(), 3 + 5);
    assert!(!names.contains(&"number_of_orders"));
    let id = &customers.schema[0];
    assert_eq!(id.data_type, "INTEGER");
    assert_eq!(id.description, "This is a unique identifier for a customer");
    assert_eq!(customers.schema[1].data_type, "BIGINT");
    assert_eq!(
        customers.schema[1].description,
        "Count of the number of orders a customer has placed"
    );
    assert_eq!(
        customers.schema[2].description,
        "Tier from the loyalty system."
    );
    assert_eq!(customers.column("first_name").unwrap().data_type, "unknown");
    // Nodes the catalog does not cover keep the manifest's columns.
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    assert!(orders.schema.iter().all(|f| f.data_type == "unknown"));

    let manifest_as_catalog = load("duckdb");
    let err = parse_manifest(
        &load("duckdb"),
        Some(&manifest_as_catalog),
        &Naming::default(),
    )
    .unwrap_err();
    assert_eq!(err.field, "catalog");
}

#[test]
fn a_catalog_type_wins_over_a_declared_data_type() {
    let mut manifest = load("duckdb");
    manifest["nodes"]["model.jaffle_shop.orders"]["columns"]["amount"]["data_type"] =
        json!("numeric");
    manifest["nodes"]["model.jaffle_shop.orders"]["columns"]["status"]["data_type"] = json!("text");
    let catalog = json!({"nodes": {"model.jaffle_shop.orders": {"columns": {
        "amount": {"type": "DECIMAL(18,3)", "index": 1, "name": "amount", "comment": null},
    }}}});
    let import = parse_manifest(&manifest, Some(&catalog), &Naming::default()).unwrap();
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    assert_eq!(orders.column("amount").unwrap().data_type, "DECIMAL(18,3)");
    assert_eq!(orders.column("status").unwrap().data_type, "text");
    assert_eq!(orders.schema[0].name, "amount");
}

#[test]
fn every_edge_fits_its_end_assets() {
    for (name, ..) in SUPPORTED {
        assert_consistent(&parse(name));
    }
    assert_consistent(&parse_manifest(&extended(), None, &Naming::default()).unwrap());
}

#[test]
fn parsing_again_gives_the_same_import() {
    let manifest = extended();
    let first = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    assert_eq!(
        first,
        parse_manifest(&manifest, None, &Naming::default()).unwrap()
    );
    // A round trip through text, which may reorder keys, changes nothing.
    let again: Value = serde_json::from_str(&manifest.to_string()).unwrap();
    assert_eq!(
        first,
        parse_manifest(&again, None, &Naming::default()).unwrap()
    );
}

#[test]
fn the_namespace_can_be_given_or_falls_back_to_the_project() {
    let import = parse_manifest(&load("duckdb"), None, &named("warehouse://prod")).unwrap();
    assert_eq!(import.namespace, "warehouse://prod");
    assert_eq!(import.job_namespace, "dbt");
    for a in &import.assets {
        let want = if a.kind == AssetKind::Dataset {
            "warehouse://prod"
        } else {
            "dbt"
        };
        assert_eq!(a.namespace, want, "{}", a.id);
    }
    assert!(import.assets[0].id.contains("warehouse%3A//prod"));

    let naming = Naming {
        datasets: Some("duckdb:///srv/shop.duckdb".into()),
        jobs: Some("shop".into()),
        command: DbtCommand::Build,
    };
    let import = parse_manifest(&load("duckdb"), None, &naming).unwrap();
    assert_consistent(&import);
    let run = asset(
        &import,
        AssetKind::Workflow,
        "jaffle_shop.main.jaffle_shop.customers.build.run",
    );
    assert_eq!(run.namespace, "shop");
    let err = parse_manifest(
        &load("duckdb"),
        None,
        &Naming {
            jobs: Some(" ".into()),
            ..naming
        },
    )
    .unwrap_err();
    assert_eq!(err.field, "job_namespace");

    let mut manifest = load("duckdb");
    manifest["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("adapter_type");
    let import = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    assert_eq!(import.namespace, "dbt://jaffle_shop");

    let err = parse_manifest(&load("duckdb"), None, &named("  ")).unwrap_err();
    assert_eq!(err.field, "namespace");
}

#[test]
fn two_nodes_on_one_relation_are_one_dataset() {
    let mut manifest = load("duckdb");
    manifest["sources"]["source.jaffle_shop.main.orders"] = json!({
        "resource_type": "source",
        "name": "orders",
        "database": "jaffle_shop",
        "schema": "main",
        "description": "Declared again as a source.",
    });
    let import = parse_manifest(&manifest, None, &Naming::default()).unwrap();
    assert_consistent(&import);
    assert_eq!(count(&import, AssetKind::Dataset), 5);
    let orders = asset(&import, AssetKind::Dataset, "jaffle_shop.main.orders");
    assert_eq!(
        orders.properties["dbt.unique_id"],
        "model.jaffle_shop.orders"
    );
    assert!(import.warnings.iter().any(|w| w.starts_with(
        "source.jaffle_shop.main.orders is the same dataset as model.jaffle_shop.orders"
    )));
}

#[test]
fn edges_begin_when_dbt_wrote_the_manifest() {
    let import = parse("duckdb");
    assert!(!import.edges.is_empty());
    for e in &import.edges {
        assert_eq!(e.first_seen.as_deref(), Some("2024-11-27T23:49:46.955735Z"));
    }
    // A manifest that says nothing of when leaves it to the import.
    let mut undated = load("duckdb");
    undated["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("generated_at");
    let import = parse_manifest(&undated, None, &Naming::default()).unwrap();
    assert!(import.edges.iter().all(|e| e.first_seen.is_none()));
}
