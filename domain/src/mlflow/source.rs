//! Where an MLflow dataset lives, as OpenLineage names it, so that a
//! dataset a run logged with `mlflow.log_input` and the same table or file
//! reported by Spark, Airflow or dbt through OpenLineage are one asset.
//!
//! OpenLineage's naming for files and object stores: the namespace is
//! `SCHEME://AUTHORITY` (`s3://bucket`, `gs://bucket`,
//! `hdfs://namenode:8020`, `abfss://container@account…`) and the name the
//! path, without its leading `/` for object stores; local files are
//! namespace `file` and the absolute path. Sources that name no place
//! (a DataFrame built in code, a table in an unnamed metastore, a Hugging
//! Face dataset) have no OpenLineage name, so they are named in the MLflow
//! namespace by MLflow's own identity of a dataset: its name and digest.

use serde_json::Value;

use crate::asset::Field;

use super::wire::Dataset;

/// The (namespace, name) of a dataset's asset; `fallback_ns` is the MLflow
/// server's namespace.
pub fn dataset_name(d: &Dataset, fallback_ns: &str) -> (String, String) {
    let source: Value = serde_json::from_str(&d.source).unwrap_or(Value::Null);
    let place = ["uri", "path", "url"]
        .iter()
        .find_map(|k| source.get(*k).and_then(Value::as_str))
        .and_then(located);
    match place {
        Some(p) => p,
        None if d.digest.is_empty() => (fallback_ns.to_string(), d.name.clone()),
        None => (fallback_ns.to_string(), format!("{}@{}", d.name, d.digest)),
    }
}

/// The OpenLineage (namespace, name) of a file or object URI, or of an
/// absolute local path; `None` for anything else.
pub fn located(uri: &str) -> Option<(String, String)> {
    let uri = uri.trim();
    if uri.starts_with('/') {
        return Some(("file".to_string(), uri.to_string()));
    }
    if let Some(path) = uri.strip_prefix("dbfs:/").filter(|p| !p.starts_with('/')) {
        // Databricks' short form, dbfs:/path.
        return Some(("dbfs".to_string(), format!("/{path}")));
    }
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "file" {
        // file:///abs/path, or file://host/abs/path.
        let path = &rest[rest.find('/')?..];
        return Some(("file".to_string(), path.to_string()));
    }
    let scheme = match scheme.as_str() {
        "s3a" | "s3n" => "s3",
        "gcs" => "gs",
        // Web addresses and MLflow's own artifact store name no table.
        "http" | "https" | "mlflow-artifacts" | "runs" | "models" => return None,
        s => s,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.is_empty() || path.trim_matches('/').is_empty() {
        return None;
    }
    let keeps_root = matches!(scheme, "hdfs" | "dbfs");
    let name = if keeps_root {
        path.to_string()
    } else {
        path.trim_start_matches('/').to_string()
    };
    Some((format!("{scheme}://{authority}"), name))
}

/// The columns of a tabular dataset's schema (`mlflow_colspec`); other
/// schemas (tensors) have none the catalog can show.
pub fn columns(schema: Option<&str>) -> Vec<Field> {
    let Some(v) = schema.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return Vec::new();
    };
    v.get("mlflow_colspec")
        .and_then(Value::as_array)
        .map(|cols| {
            cols.iter()
                .filter_map(|c| {
                    let name = c.get("name")?.as_str()?;
                    let ty = match c.get("type") {
                        Some(Value::String(t)) => t.clone(),
                        Some(other) if !other.is_null() => other.to_string(),
                        _ => "unknown".to_string(),
                    };
                    let required = c.get("required").and_then(Value::as_bool).unwrap_or(false);
                    Some(Field::new(name, &ty, !required))
                })
                .collect()
        })
        .unwrap_or_default()
}
