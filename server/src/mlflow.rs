//! MLflow: `mlgraph import mlflow --url http://HOST:5000 [--experiment
//! NAME…] [--since TIME]` and `POST /api/v1/import/mlflow` read a tracking
//! server and model registry through MLflow's REST API, page through every
//! list, and import what changed (`domain::mlflow` maps it).
//!
//! What changed: every registered model and its versions are listed (they
//! are small), and a version is imported when it, its registered model
//! (aliases, tags) or its run (ended since) changed at or after the cursor:
//! `--since`, or where the last import from the same server left off, by
//! the server's own clock. The first import takes everything. Re-importing
//! what was already imported changes nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use catalog::{Catalog, MlflowOutcome};
use domain::mlflow::wire::{Experiment, ModelVersion, RegisteredModel, Run};
use domain::mlflow::{Snapshot, VersionRead};
use domain::ValidationError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Items per page asked of MLflow (its limit for registered models).
const PAGE: u32 = 1000;
/// Experiments per `runs/search` call.
const EXPERIMENTS_PER_SEARCH: usize = 100;

/// What to import, from the CLI or `POST /api/v1/import/mlflow`.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct MlflowArgs {
    /// The MLflow tracking server, e.g. http://127.0.0.1:5000.
    #[arg(long = "url", value_name = "URL")]
    pub url: Option<String>,
    /// Only runs of these experiments, and the versions they produced
    /// (repeat the flag for several).
    #[arg(long = "experiment", value_name = "NAME")]
    #[serde(default)]
    pub experiments: Vec<String>,
    /// Only what changed at or after this time (RFC 3339, or epoch
    /// milliseconds); by default, since the last import from this server.
    #[arg(long)]
    #[serde(default)]
    pub since: Option<String>,
    /// The namespace of the assets made from MLflow's models, experiments
    /// and runs (default `mlflow://HOST:PORT` of the URL); on the command
    /// line, `--namespace`.
    #[arg(skip)]
    #[serde(default)]
    pub namespace: Option<String>,
}

/// The tracking URL, checked, without a trailing slash.
fn base_url(args: &MlflowArgs) -> Result<String, ValidationError> {
    let url = args
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ValidationError::new("url", "is required: the MLflow tracking server"))?;
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| ValidationError::new("url", "must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(ValidationError::new("url", "names no host"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// `mlflow://HOST:PORT[/PATH]` for a tracking URL.
fn default_namespace(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    format!("mlflow://{rest}")
}

/// `--since`: RFC 3339 or epoch milliseconds.
fn parse_since(s: &str) -> Result<i64, ValidationError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    domain::time::to_millis(s).ok_or_else(|| {
        ValidationError::new(
            "since",
            format!(
                "{s:?} is neither an RFC 3339 time (2026-12-01T00:00:00Z) nor epoch milliseconds"
            ),
        )
    })
}

/// A client of one MLflow server's REST API.
struct Mlflow {
    http: reqwest::Client,
    base: String,
}

impl Mlflow {
    fn new(base: &str) -> anyhow::Result<Mlflow> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Mlflow {
            http,
            base: base.to_string(),
        })
    }

    /// Calls `/api/2.0/mlflow/{path}`; a 404 is `None`, any other error
    /// names MLflow's error code and message.
    async fn call(
        &self,
        get: bool,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> anyhow::Result<Option<Value>> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let req = if get {
            self.http.get(&url).query(query)
        } else {
            let body = serde_json::to_vec(&body.unwrap_or_else(|| json!({})))?;
            self.http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
        };
        let resp = req
            .send()
            .await
            .with_context(|| format!("MLflow at {} did not answer {path}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let v: Value = serde_json::from_str(&text).map_err(|_| {
            anyhow!(
                "MLflow at {} answered {path} with {status} and no JSON: {}",
                self.base,
                text.chars().take(200).collect::<String>()
            )
        })?;
        if !status.is_success() {
            bail!(
                "MLflow at {} refused {path} ({status}): {} {}",
                self.base,
                v["error_code"].as_str().unwrap_or(""),
                v["message"].as_str().unwrap_or("")
            );
        }
        Ok(Some(v))
    }

    /// Every item of a paged list: `key` of each page, following
    /// `next_page_token` until there is none (or it repeats).
    async fn all<T: serde::de::DeserializeOwned>(
        &self,
        get: bool,
        path: &str,
        key: &str,
        query: &[(&str, String)],
        body: Value,
    ) -> anyhow::Result<Vec<T>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = BTreeSet::new();
        loop {
            let v = if get {
                let mut q = query.to_vec();
                q.push(("max_results", PAGE.to_string()));
                if let Some(t) = &token {
                    q.push(("page_token", t.clone()));
                }
                self.call(true, path, &q, None).await?
            } else {
                let mut b = body.clone();
                b["max_results"] = json!(PAGE);
                if let Some(t) = &token {
                    b["page_token"] = json!(t);
                }
                self.call(false, path, &[], Some(b)).await?
            }
            .ok_or_else(|| {
                anyhow!(
                    "MLflow at {} has no {path}: is it an MLflow tracking server?",
                    self.base
                )
            })?;
            if let Some(items) = v.get(key) {
                let page: Vec<T> = serde_json::from_value(items.clone())
                    .with_context(|| format!("reading MLflow's {path} answer"))?;
                out.extend(page);
            }
            match v.get("next_page_token").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && seen.insert(t.to_string()) => {
                    token = Some(t.to_string())
                }
                _ => return Ok(out),
            }
        }
    }

    async fn experiments(&self) -> anyhow::Result<Vec<Experiment>> {
        self.all(
            false,
            "experiments/search",
            "experiments",
            &[],
            json!({"view_type": "ALL"}),
        )
        .await
    }

    async fn registered_models(&self) -> anyhow::Result<Vec<RegisteredModel>> {
        self.all(
            true,
            "registered-models/search",
            "registered_models",
            &[],
            Value::Null,
        )
        .await
    }

    async fn versions(&self, model: &str) -> anyhow::Result<Vec<ModelVersion>> {
        // MLflow's filter strings quote with either quote; a name holding
        // one is quoted with the other.
        let filter = if model.contains('\'') {
            format!("name=\"{model}\"")
        } else {
            format!("name='{model}'")
        };
        self.all(
            true,
            "model-versions/search",
            "model_versions",
            &[("filter", filter)],
            Value::Null,
        )
        .await
    }

    async fn run(&self, run_id: &str) -> anyhow::Result<Option<Run>> {
        let v = self
            .call(true, "runs/get", &[("run_id", run_id.to_string())], None)
            .await?;
        v.map(|v| {
            serde_json::from_value(v["run"].clone()).context("reading MLflow's runs/get answer")
        })
        .transpose()
    }

    async fn download_uri(&self, name: &str, version: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .call(
                true,
                "model-versions/get-download-uri",
                &[("name", name.to_string()), ("version", version.to_string())],
                None,
            )
            .await?;
        Ok(v.and_then(|v| v["artifact_uri"].as_str().map(str::to_string)))
    }

    /// The runs of `experiments` that ended at or after `since`.
    async fn ended_since(
        &self,
        experiments: &[String],
        since: i64,
    ) -> anyhow::Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        for chunk in experiments.chunks(EXPERIMENTS_PER_SEARCH) {
            let runs: Vec<Run> = self
                .all(
                    false,
                    "runs/search",
                    "runs",
                    &[],
                    json!({
                        "experiment_ids": chunk,
                        "filter": format!("attributes.end_time >= {since}"),
                        "run_view_type": "ALL",
                    }),
                )
                .await?;
            out.extend(runs.into_iter().map(|r| r.info.run_id));
        }
        Ok(out)
    }
}

/// What was read, and where the next import starts.
pub struct Read {
    pub snapshot: Snapshot,
    /// Just after the newest time MLflow reported among what was read.
    pub cursor: Option<i64>,
    pub since: Option<i64>,
}

/// Reads what changed since `since` (everything when `None`).
async fn read(
    catalog: &Catalog,
    args: &MlflowArgs,
    base: &str,
    namespace: &str,
    since: Option<i64>,
) -> anyhow::Result<Read> {
    let api = Mlflow::new(base)?;
    let experiments: BTreeMap<String, Experiment> = api
        .experiments()
        .await?
        .into_iter()
        .map(|e| (e.experiment_id.clone(), e))
        .collect();
    let selected: Option<BTreeSet<String>> = if args.experiments.is_empty() {
        None
    } else {
        let mut ids = BTreeSet::new();
        for name in &args.experiments {
            let id = experiments
                .values()
                .find(|e| &e.name == name)
                .map(|e| e.experiment_id.clone())
                .ok_or_else(|| {
                    ValidationError::new(
                        "experiment",
                        format!("{name:?} is no experiment of {base}"),
                    )
                })?;
            ids.insert(id);
        }
        Some(ids)
    };
    let mut cursor: Option<i64> = None;
    let mut bump = |t: Option<i64>| {
        if let Some(t) = t {
            cursor = Some(cursor.map_or(t, |c: i64| c.max(t)));
        }
    };
    let ended: BTreeSet<String> = match since {
        Some(t) => {
            let ids: Vec<String> = match &selected {
                Some(s) => s.iter().cloned().collect(),
                None => experiments.keys().cloned().collect(),
            };
            api.ended_since(&ids, t).await?
        }
        None => BTreeSet::new(),
    };
    let models = api.registered_models().await?;
    let mut versions = Vec::new();
    let mut light: Vec<ModelVersion> = Vec::new();
    let mut runs: HashMap<String, Option<Run>> = HashMap::new();
    for m in &models {
        bump(m.last_updated_timestamp);
        let model_changed = since.is_none_or(|t| m.last_updated_timestamp.unwrap_or(i64::MAX) >= t);
        for v in api.versions(&m.name).await? {
            bump(v.last_updated_timestamp);
            let run_id = v.run_id.clone().filter(|r| !r.is_empty());
            let changed = model_changed
                || since.is_none_or(|t| v.last_updated_timestamp.unwrap_or(i64::MAX) >= t)
                || run_id.as_ref().is_some_and(|r| ended.contains(r));
            if !changed {
                // Its aliases, stage and tags may still have moved: MLflow
                // sets an alias without a timestamp.
                light.push(v);
                continue;
            }
            let run = match &run_id {
                Some(id) => {
                    if !runs.contains_key(id) {
                        let r = api.run(id).await?;
                        runs.insert(id.clone(), r);
                    }
                    runs[id].clone()
                }
                None => None,
            };
            if let Some(sel) = &selected {
                if !run
                    .as_ref()
                    .is_some_and(|r| sel.contains(&r.info.experiment_id))
                {
                    continue;
                }
            }
            if let Some(r) = &run {
                bump(r.info.end_time);
            }
            let storage_uri = if v.status.as_deref().is_none_or(|s| s == "READY") {
                api.download_uri(&v.name, &v.version).await?
            } else {
                None
            };
            versions.push(VersionRead {
                version: v,
                changed: true,
                run,
                storage_uri,
            });
        }
    }
    // With --experiment, an unchanged version is brought up to date only
    // if an earlier import took it (its run's experiment is not read).
    let keep: BTreeSet<String> = if selected.is_some() {
        let ids: Vec<String> = light
            .iter()
            .map(|v| domain::mlflow::model_id(namespace, &v.name, &v.version))
            .collect();
        let missing: BTreeSet<String> = catalog
            .missing_assets(ids.clone())
            .await?
            .into_iter()
            .collect();
        ids.into_iter().filter(|id| !missing.contains(id)).collect()
    } else {
        BTreeSet::new()
    };
    for v in light {
        if selected.is_none()
            || keep.contains(&domain::mlflow::model_id(namespace, &v.name, &v.version))
        {
            versions.push(VersionRead {
                version: v,
                changed: false,
                run: None,
                storage_uri: None,
            });
        }
    }
    Ok(Read {
        snapshot: Snapshot {
            namespace: namespace.to_string(),
            tracking_url: base.to_string(),
            experiments,
            models,
            versions,
        },
        cursor: cursor.map(|c| c + 1),
        since,
    })
}

/// Reads and imports; what the CLI and the API share.
pub async fn import(
    catalog: &Catalog,
    args: &MlflowArgs,
    by: &str,
) -> Result<MlflowOutcome, ImportError> {
    let base = base_url(args)?;
    let namespace = match args.namespace.as_deref().map(str::trim) {
        Some(ns) if !ns.is_empty() => ns.to_string(),
        Some(_) => return Err(ValidationError::new("namespace", "is empty").into()),
        None => default_namespace(&base),
    };
    let source = format!("mlflow: {base}");
    let since = match &args.since {
        Some(s) => Some(parse_since(s)?),
        None => catalog.import_cursor(&namespace).await?,
    };
    let started = match since {
        Some(t) => format!(
            "reading what changed since {}",
            domain::time::from_millis(t)
        ),
        None => "reading everything".to_string(),
    };
    if let Err(e) = catalog
        .log_ingest(&source, "mlflow import started", &started, json!([]))
        .await
    {
        tracing::warn!(error = %e, "logging an MLflow import");
    }
    let read = read(catalog, args, &base, &namespace, since)
        .await
        .map_err(|e| match e.downcast::<ValidationError>() {
            Ok(v) => ImportError::Invalid(v),
            Err(e) => ImportError::Source(e.to_string()),
        });
    let read = match read {
        Ok(r) => r,
        Err(e) => {
            let problem = json!([{"message": e.to_string()}]);
            let _ = catalog
                .log_ingest(
                    &source,
                    "mlflow import failed",
                    "nothing was imported",
                    problem,
                )
                .await;
            return Err(e);
        }
    };
    let plan = domain::mlflow::plan(&read.snapshot);
    let out = catalog.import_mlflow(plan, &source, by).await?;
    // Only after the import committed: a failed one is read again.
    if let Some(c) = read.cursor.max(read.since) {
        catalog.set_import_cursor(&namespace, c).await?;
    }
    Ok(out)
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The MLflow server could not be read.
    #[error("{0}")]
    Source(String),
    #[error(transparent)]
    Catalog(#[from] catalog::CatalogError),
}

/// `mlgraph import mlflow --url …`: into the store, or with `remote`
/// through a running server (which then reads MLflow itself).
pub async fn import_cli(
    args: &MlflowArgs,
    remote: Option<(&str, Option<&str>)>,
    db: &crate::config::DbArgs,
) -> anyhow::Result<()> {
    base_url(args).map_err(|e| anyhow!("{e}"))?;
    let out: Value = match remote {
        Some((server, token)) => {
            let client = crate::check_cli::Client::new(server, token)?;
            let body = json!({
                "url": args.url,
                "experiments": args.experiments,
                "since": args.since,
                "namespace": args.namespace,
            });
            client.post("/api/v1/import/mlflow", &body).await?
        }
        None => {
            let store = crate::config::open(db).await?;
            let out = import(&store, args, "cli")
                .await
                .map_err(|e| anyhow!("{e}"))?;
            store.flush_search().map_err(|e| anyhow!("{e}"))?;
            serde_json::to_value(out)?
        }
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_times_are_checked_naming_the_field() {
        let args = |url: &str| MlflowArgs {
            url: Some(url.into()),
            ..Default::default()
        };
        assert_eq!(base_url(&args("http://h:5000/")).unwrap(), "http://h:5000");
        assert_eq!(base_url(&MlflowArgs::default()).unwrap_err().field, "url");
        assert_eq!(base_url(&args("ftp://h")).unwrap_err().field, "url");
        assert_eq!(base_url(&args("http://")).unwrap_err().field, "url");
        assert_eq!(default_namespace("http://h:5000/ml"), "mlflow://h:5000/ml");
        assert_eq!(parse_since("1733400000000").unwrap(), 1_733_400_000_000);
        assert_eq!(
            parse_since("2024-12-05T12:00:00Z").unwrap(),
            1_733_400_000_000
        );
        assert_eq!(parse_since("yesterday").unwrap_err().field, "since");
    }
}
