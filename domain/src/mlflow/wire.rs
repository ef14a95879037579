//! MLflow's REST API as it answers (`/api/2.0/mlflow/…`, MLflow 2.x and
//! 3.x): snake_case fields, int64 as JSON numbers, unset fields and empty
//! lists left out. Only what the import reads is declared; the rest is
//! ignored, so later MLflow versions that add fields still parse.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A `{key, value}` pair: tags and params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    #[serde(default)]
    pub artifact_location: Option<String>,
    #[serde(default)]
    pub lifecycle_stage: Option<String>,
    #[serde(default)]
    pub last_update_time: Option<i64>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// An alias of a registered model: `champion` → version `3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelAlias {
    pub alias: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub creation_timestamp: Option<i64>,
    #[serde(default)]
    pub last_updated_timestamp: Option<i64>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// Filled in search results (unlike a version's own `aliases`).
    #[serde(default)]
    pub aliases: Vec<ModelAlias>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub creation_timestamp: Option<i64>,
    #[serde(default)]
    pub last_updated_timestamp: Option<i64>,
    /// `None`, `Staging`, `Production` or `Archived` (deprecated since 2.9,
    /// still answered).
    #[serde(default)]
    pub current_stage: Option<String>,
    /// Where the version was registered from: `models:/m-…` (MLflow 3),
    /// `runs:/…`, or an artifact URI.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub run_link: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
    #[serde(default)]
    pub inputs: RunInputs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    #[serde(default)]
    pub run_name: Option<String>,
    pub experiment_id: String,
    #[serde(default)]
    pub user_id: Option<String>,
    /// `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED` or `KILLED`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub artifact_uri: Option<String>,
    #[serde(default)]
    pub lifecycle_stage: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// The latest value of each metric.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub key: String,
    /// A number, or `"NaN"`/`"Infinity"` as protobuf's JSON writes them.
    pub value: Value,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub step: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInputs {
    #[serde(default)]
    pub dataset_inputs: Vec<DatasetInput>,
}

/// A dataset a run logged with `mlflow.log_input`; its tag
/// `mlflow.data.context` says what for (`training`, `eval`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    pub dataset: Dataset,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    #[serde(default)]
    pub digest: String,
    /// `s3`, `local`, `http`, `delta_table`, `spark`, `hugging_face`,
    /// `code`, …
    #[serde(default)]
    pub source_type: String,
    /// JSON text: `{"uri": …}`, `{"url": …}`, `{"path": …}`,
    /// `{"table_name": …}`, …
    #[serde(default)]
    pub source: String,
    /// JSON text: `{"mlflow_colspec": [{"name", "type", …}]}` for tabular
    /// datasets.
    #[serde(default)]
    pub schema: Option<String>,
    /// JSON text, e.g. `{"num_rows": …, "num_elements": …}`.
    #[serde(default)]
    pub profile: Option<String>,
}
