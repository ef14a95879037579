//! MLflow: what a tracking server and model registry know, as catalog
//! assets and edges. The reading (REST paging, what changed since the last
//! import) is the server's; this module maps what was read:
//!
//! - a registered model version → a `model` asset `NAME/VERSION` with its
//!   stage, aliases (also as tags), tags, source, run link and the
//!   parameters it was trained with;
//! - the experiment of the run that produced it → a `workflow` asset, and
//!   the run → a run record in that workflow's history (its state, times,
//!   params and metrics);
//! - the run's `mlflow.log_input` datasets → `dataset` assets, named as
//!   OpenLineage names the same place where the source allows
//!   ([`source`]), with their columns. Training datasets get `trains`
//!   edges to the version and evaluation datasets `evaluates` edges to the
//!   run's evaluation; both are read by the workflow;
//! - the run's metrics → an `evaluation` asset (the version `evaluates` it)
//!   whose properties hold them;
//! - a version tagged `mlgraph.service` or `serving_endpoint` → a
//!   `deploys` edge to that service, resolved by the catalog.

pub mod source;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::asset::{asset_id, Asset, AssetKind};
use crate::edge::{edge_id, Edge, EdgeKind};
use crate::openlineage::RunRecord;
use crate::time::from_millis;
use wire::{Experiment, ModelVersion, RegisteredModel, Run};

/// Version tags that name the service a version is deployed to.
pub const DEPLOY_TAGS: [&str; 2] = ["mlgraph.service", "serving_endpoint"];

/// The property listing the tags an import gave an asset (aliases, the
/// stage), so that the next import can take back those that moved.
pub const OWN_TAGS: &str = "mlflow.own_tags";

/// The `mlflow.data.context` values that mean evaluation; any other value,
/// or none, means training.
const EVAL_CONTEXTS: [&str; 7] = [
    "eval",
    "evaluation",
    "validation",
    "val",
    "test",
    "testing",
    "holdout",
];

/// What the server read: every registered model, and the versions to
/// import with, for each, the run that produced it when it was read.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The namespace of the assets made from MLflow's own entities.
    pub namespace: String,
    /// The tracking server's address, for links to runs.
    pub tracking_url: String,
    /// By id.
    pub experiments: BTreeMap<String, Experiment>,
    pub models: Vec<RegisteredModel>,
    pub versions: Vec<VersionRead>,
}

#[derive(Debug, Clone)]
pub struct VersionRead {
    pub version: ModelVersion,
    /// Whether it (or its run) changed since the last import, so that its
    /// run was read; an unchanged version is mapped from the registry's
    /// metadata only (its aliases, stage and tags, which MLflow changes
    /// without a timestamp), and what is stored of it is kept.
    pub changed: bool,
    /// The run that produced it; `None` when it has none, or when only the
    /// version's own metadata changed.
    pub run: Option<Run>,
    /// Where the registry serves the version's files from
    /// (`get-download-uri`): what a serving manifest's storage URI names.
    pub storage_uri: Option<String>,
}

/// Everything an MLflow import asks of the catalog.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MlflowImport {
    pub namespace: String,
    /// Sorted by id.
    pub assets: Vec<Asset>,
    /// Sorted by id.
    pub edges: Vec<Edge>,
    pub runs: Vec<RunRecord>,
    /// (model asset id, the service a deploy tag names), for the catalog
    /// to resolve to a service asset.
    pub deploys: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub models: usize,
    /// Versions that changed, read with their runs.
    pub versions: usize,
    /// Every version looked at.
    pub versions_checked: usize,
}

/// The id of the model asset of version `version` of `name`.
pub fn model_id(namespace: &str, name: &str, version: &str) -> String {
    asset_id(AssetKind::Model, namespace, &format!("{name}/{version}"))
}

/// Maps what was read.
pub fn plan(s: &Snapshot) -> MlflowImport {
    let mut b = Builder::default();
    let models: BTreeMap<&str, &RegisteredModel> =
        s.models.iter().map(|m| (m.name.as_str(), m)).collect();
    for v in &s.versions {
        let registered = models.get(v.version.name.as_str()).copied();
        let model = model_asset(s, registered, v);
        let model_key = model.id.clone();
        b.asset(model);
        for t in &v.version.tags {
            if DEPLOY_TAGS.contains(&t.key.as_str()) && !t.value.trim().is_empty() {
                b.deploys
                    .insert((model_key.clone(), t.value.trim().to_string()));
            }
        }
        if let Some(run) = &v.run {
            b.run(s, run, &model_key);
            b.started = None;
        }
    }
    let mut runs: Vec<RunRecord> = b.runs.into_values().collect();
    runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    MlflowImport {
        namespace: s.namespace.clone(),
        assets: b.assets.into_values().collect(),
        edges: b.edges.into_values().collect(),
        runs,
        deploys: b.deploys.into_iter().collect(),
        warnings: b.warnings.into_iter().collect(),
        models: s.models.len(),
        versions: s.versions.iter().filter(|v| v.changed).count(),
        versions_checked: s.versions.len(),
    }
}

#[derive(Default)]
struct Builder {
    assets: BTreeMap<String, Asset>,
    edges: BTreeMap<String, Edge>,
    runs: BTreeMap<String, RunRecord>,
    deploys: BTreeSet<(String, String)>,
    warnings: BTreeSet<String>,
    /// Per workflow, the (start time, id) of its latest run read.
    latest: BTreeMap<String, (i64, String)>,
    /// When the run being read started: when its edges were first seen.
    started: Option<i64>,
}

impl Builder {
    /// Adds an asset; a second sighting of one merges its properties.
    fn asset(&mut self, a: Asset) {
        match self.assets.get_mut(&a.id) {
            Some(old) => old.properties.extend(a.properties),
            None => {
                self.assets.insert(a.id.clone(), a);
            }
        }
    }

    /// Adds an edge, seen first when the earliest run that shows it
    /// started.
    fn edge(&mut self, from: &str, kind: EdgeKind, to: &str) {
        let id = edge_id(from, kind, to);
        let e = self
            .edges
            .entry(id)
            .or_insert_with(|| Edge::between(from, kind, to));
        if let Some(t) = self.started {
            let known = e.first_seen.as_deref().and_then(crate::time::to_millis);
            if known.is_none_or(|k| t < k) {
                e.first_seen = Some(from_millis(t));
            }
        }
    }

    /// The workflow, run record, evaluation and datasets of the run that
    /// produced the version `model`.
    fn run(&mut self, s: &Snapshot, run: &Run, model: &str) {
        let info = &run.info;
        self.started = info.start_time;
        let experiment = s.experiments.get(&info.experiment_id);
        let exp_name = experiment
            .map(|e| e.name.clone())
            .unwrap_or_else(|| format!("experiment {}", info.experiment_id));
        let workflow = bare(AssetKind::Workflow, &s.namespace, &exp_name);
        let wf = workflow.id.clone();
        let mut workflow = workflow;
        workflow.description = format!("MLflow experiment {exp_name}");
        workflow
            .properties
            .insert("mlflow.experiment_id".into(), json!(info.experiment_id));
        if let Some(e) = experiment {
            if let Some(loc) = &e.artifact_location {
                workflow
                    .properties
                    .insert("mlflow.artifact_location".into(), json!(loc));
            }
            workflow
                .properties
                .insert("mlflow.tags".into(), pairs(&e.tags));
        }
        self.asset(workflow);
        self.edge(&wf, EdgeKind::Writes, model);
        // The workflow shows the parameters of its latest run read (each
        // run's own are in its history, and on the versions it produced).
        let key = (info.start_time.unwrap_or(i64::MIN), info.run_id.clone());
        if self.latest.get(&wf).is_none_or(|k| *k < key) {
            self.latest.insert(wf.clone(), key);
            if let Some(w) = self.assets.get_mut(&wf) {
                w.properties
                    .insert("mlflow.latest_run_id".into(), json!(info.run_id));
                w.properties
                    .insert("mlflow.latest_run_params".into(), pairs(&run.data.params));
            }
        }

        let run_name = info.run_name.clone().unwrap_or_default();
        self.runs
            .insert(info.run_id.clone(), run_record(s, run, &wf, &exp_name));

        // The evaluation holds the run's metrics; the version evaluates it.
        let metrics: Map<String, Value> = run
            .data
            .metrics
            .iter()
            .map(|m| (format!("metric.{}", m.key), metric_value(&m.value)))
            .collect();
        let eval_inputs: Vec<_> = run
            .inputs
            .dataset_inputs
            .iter()
            .filter(|d| is_eval(d))
            .collect();
        let evaluation = if metrics.is_empty() && eval_inputs.is_empty() {
            None
        } else {
            let mut e = bare(
                AssetKind::Evaluation,
                &s.namespace,
                &format!("{exp_name}/{}", info.run_id),
            );
            e.description = if run_name.is_empty() {
                format!("Metrics of MLflow run {}", info.run_id)
            } else {
                format!("Metrics of MLflow run {run_name} ({})", info.run_id)
            };
            e.owners = owner(info.user_id.as_deref());
            e.properties.extend(metrics);
            e.properties
                .insert("mlflow.run_id".into(), json!(info.run_id));
            if !run_name.is_empty() {
                e.properties
                    .insert("mlflow.run_name".into(), json!(run_name));
            }
            e.properties
                .insert("mlflow.run_link".into(), json!(run_link(s, run)));
            let id = e.id.clone();
            self.asset(e);
            self.edge(model, EdgeKind::Evaluates, &id);
            self.edge(&wf, EdgeKind::Writes, &id);
            Some(id)
        };

        for input in &run.inputs.dataset_inputs {
            let d = &input.dataset;
            let (ns, name) = source::dataset_name(d, &s.namespace);
            let mut a = bare(AssetKind::Dataset, &ns, &name);
            a.schema = source::columns(d.schema.as_deref());
            a.properties.insert("mlflow.name".into(), json!(d.name));
            if !d.digest.is_empty() {
                a.properties.insert("mlflow.digest".into(), json!(d.digest));
            }
            if !d.source_type.is_empty() {
                a.properties
                    .insert("mlflow.source_type".into(), json!(d.source_type));
            }
            if let Ok(v) = serde_json::from_str::<Value>(&d.source) {
                a.properties.insert("mlflow.source".into(), v);
            }
            if let Some(p) = d
                .profile
                .as_deref()
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
            {
                a.properties.insert("mlflow.profile".into(), p);
            }
            let id = a.id.clone();
            self.asset(a);
            self.edge(&id, EdgeKind::Reads, &wf);
            match (&evaluation, is_eval(input)) {
                (Some(eval), true) => self.edge(&id, EdgeKind::Evaluates, eval),
                _ => self.edge(&id, EdgeKind::Trains, model),
            }
        }
    }
}

fn bare(kind: AssetKind, namespace: &str, name: &str) -> Asset {
    Asset::bare(
        asset_id(kind, namespace, name),
        kind,
        namespace.to_string(),
        name.to_string(),
    )
}

fn owner(user: Option<&str>) -> Vec<String> {
    user.map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| vec![u.to_string()])
        .unwrap_or_default()
}

fn pairs(kv: &[wire::KeyValue]) -> Value {
    Value::Object(kv.iter().map(|t| (t.key.clone(), json!(t.value))).collect())
}

/// A metric's value as a JSON number, or its text when it is not finite.
fn metric_value(v: &Value) -> Value {
    match v {
        Value::Number(_) => v.clone(),
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map_or_else(|| json!(s), |f| json!(f)),
        _ => Value::Null,
    }
}

fn is_eval(d: &wire::DatasetInput) -> bool {
    d.tags.iter().any(|t| {
        t.key == "mlflow.data.context"
            && EVAL_CONTEXTS.contains(&t.value.trim().to_ascii_lowercase().as_str())
    })
}

fn run_link(s: &Snapshot, run: &Run) -> String {
    format!(
        "{}/#/experiments/{}/runs/{}",
        s.tracking_url.trim_end_matches('/'),
        run.info.experiment_id,
        run.info.run_id
    )
}

/// The run as the workflow's history shows it: MLflow's status in
/// OpenLineage's terms, its times, and its params, metrics and tags as
/// facets.
fn run_record(s: &Snapshot, run: &Run, workflow: &str, experiment: &str) -> RunRecord {
    let info = &run.info;
    let state = match info.status.as_deref().unwrap_or("") {
        "FINISHED" => "COMPLETE",
        "FAILED" => "FAIL",
        "KILLED" => "ABORT",
        "RUNNING" => "RUNNING",
        "SCHEDULED" => "START",
        _ => "OTHER",
    };
    let started_at = info.start_time.map(from_millis);
    let terminal = matches!(state, "COMPLETE" | "FAIL" | "ABORT");
    let ended_at = info.end_time.filter(|_| terminal).map(from_millis);
    let mut events = Vec::new();
    if let Some(t) = &started_at {
        events.push(("START".to_string(), t.clone()));
    }
    if let Some(t) = &ended_at {
        events.push((state.to_string(), t.clone()));
    }
    let metrics: Map<String, Value> = run
        .data
        .metrics
        .iter()
        .map(|m| {
            (
                m.key.clone(),
                json!({"value": metric_value(&m.value), "step": m.step, "timestamp": m.timestamp}),
            )
        })
        .collect();
    let mut facets = Map::new();
    facets.insert(
        "mlflow_run".into(),
        json!({
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment": experiment,
            "experiment_id": info.experiment_id,
            "user_id": info.user_id,
            "status": info.status,
            "artifact_uri": info.artifact_uri,
            "link": run_link(s, run),
        }),
    );
    if !run.data.params.is_empty() {
        facets.insert("mlflow_params".into(), pairs(&run.data.params));
    }
    if !metrics.is_empty() {
        facets.insert("mlflow_metrics".into(), Value::Object(metrics));
    }
    let tags: Vec<_> = run
        .data
        .tags
        .iter()
        .filter(|t| !t.key.starts_with("mlflow.log-model.history"))
        .cloned()
        .collect();
    if !tags.is_empty() {
        facets.insert("mlflow_tags".into(), pairs(&tags));
    }
    RunRecord {
        run_id: info.run_id.clone(),
        job: workflow.to_string(),
        state: state.to_string(),
        started_at,
        ended_at,
        events,
        facets,
        facet_sources: BTreeMap::new(),
    }
}

/// The model asset of one version.
fn model_asset(s: &Snapshot, registered: Option<&RegisteredModel>, v: &VersionRead) -> Asset {
    let mv = &v.version;
    let mut a = bare(
        AssetKind::Model,
        &s.namespace,
        &format!("{}/{}", mv.name, mv.version),
    );
    a.description = mv
        .description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .or_else(|| registered.and_then(|r| r.description.clone()))
        .unwrap_or_default();
    a.owners = owner(mv.user_id.as_deref())
        .into_iter()
        .chain(owner(
            v.run.as_ref().and_then(|r| r.info.user_id.as_deref()),
        ))
        .take(1)
        .collect();
    let aliases: Vec<String> = registered
        .map(|r| {
            r.aliases
                .iter()
                .filter(|al| al.version == mv.version)
                .map(|al| al.alias.clone())
                .collect()
        })
        .unwrap_or_default();
    let stage = mv
        .current_stage
        .clone()
        .filter(|st| !st.is_empty() && st != "None");
    // MLflow's own word for no stage, so that a stage taken back shows.
    let stage_text = stage.clone().unwrap_or_else(|| "None".to_string());
    let mut own: Vec<String> = aliases.clone();
    if let Some(st) = &stage {
        own.push(st.to_ascii_lowercase());
    }
    own.sort();
    own.dedup();
    a.tags = own.clone();
    let p = &mut a.properties;
    p.insert("mlflow.registered_model".into(), json!(mv.name));
    p.insert(
        "mlflow.version".into(),
        mv.version
            .parse::<u64>()
            .map_or_else(|_| json!(mv.version), |n| json!(n)),
    );
    p.insert(
        "mlflow.uri".into(),
        json!(format!("models:/{}/{}", mv.name, mv.version)),
    );
    p.insert("mlflow.aliases".into(), json!(aliases));
    p.insert("mlflow.stage".into(), json!(stage_text));
    p.insert("mlflow.tags".into(), pairs(&mv.tags));
    // Written even when empty, so that a removed tag goes.
    p.insert(
        "mlflow.model_tags".into(),
        pairs(registered.map_or(&[][..], |r| &r.tags)),
    );
    p.insert(OWN_TAGS.into(), json!(own));
    for (key, value) in [
        ("mlflow.source", mv.source.as_ref()),
        ("mlflow.status", mv.status.as_ref()),
        (
            "mlflow.run_id",
            mv.run_id.as_ref().filter(|r| !r.is_empty()),
        ),
    ] {
        if let Some(value) = value {
            p.insert(key.into(), json!(value));
        }
    }
    if let Some(t) = mv.creation_timestamp {
        p.insert("mlflow.created_at".into(), json!(from_millis(t)));
    }
    if let Some(uri) = &v.storage_uri {
        p.insert("storage_uri".into(), json!(uri));
    }
    if let Some(run) = &v.run {
        p.insert("mlflow.run_link".into(), json!(run_link(s, run)));
        for kv in &run.data.params {
            p.insert(format!("param.{}", kv.key), json!(kv.value));
        }
    } else if let Some(link) = mv.run_link.as_ref().filter(|l| !l.is_empty()) {
        p.insert("mlflow.run_link".into(), json!(link));
    }
    a
}

/// `next` over what is stored: properties that other sources (or earlier
/// reads of the run) added are kept, the import's own keys win; the tags
/// an earlier import gave (its aliases and stage) are replaced by this
/// import's, and others' tags stay; owners and description are kept where
/// the import has none, and stored columns always.
pub fn merge(stored: Option<&Asset>, mut next: Asset) -> Asset {
    let Some(old) = stored else {
        return next;
    };
    let mut props = old.properties.clone();
    let previous: BTreeSet<String> = old
        .properties
        .get(OWN_TAGS)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    // Only a model version's tags come from MLflow (its aliases and
    // stage); on other assets the stored tags all stay.
    let owns_tags = next.properties.contains_key(OWN_TAGS);
    props.extend(std::mem::take(&mut next.properties));
    next.properties = props;
    let mut tags: Vec<String> = old
        .tags
        .iter()
        .filter(|t| !(owns_tags && previous.contains(*t)))
        .cloned()
        .collect();
    for t in &next.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
        }
    }
    next.tags = tags;
    if next.owners.is_empty() {
        next.owners = old.owners.clone();
    }
    if next.description.is_empty() {
        next.description = old.description.clone();
    }
    if !old.schema.is_empty() {
        // Columns another source gave (types in the warehouse's words,
        // descriptions) stay; MLflow's fill only a dataset without any.
        next.schema = old.schema.clone();
    }
    if next.domain.is_none() {
        next.domain = old.domain.clone();
    }
    next.version = old.version;
    next
}

#[cfg(test)]
mod tests;
