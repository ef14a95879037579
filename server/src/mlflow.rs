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
/// How far before the cursor runs that ended are looked for: a run's times
/// come from the machine that ran it, not from the registry's clock.
const RUN_CLOCK_MARGIN_MS: i64 = 15 * 60 * 1000;

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
    #[serde(default, deserialize_with = "text_or_number")]
    pub since: Option<String>,
    /// The namespace of the assets made from MLflow's models, experiments
    /// and runs (default `mlflow://HOST:PORT` of the URL); on the command
    /// line, `--namespace`.
    #[arg(skip)]
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `since` as JSON text or a number (epoch milliseconds).
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected an RFC 3339 time or epoch milliseconds, not {other}"
            )))
        }
    })
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
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        // It would end up in asset ids and links that anyone can read.
        return Err(ValidationError::new(
            "url",
            "carries credentials; give them as MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, in mlgraph's environment",
        ));
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

    /// Adds the credentials MLflow's own clients take from the
    /// environment: a bearer token, or a user name and password.
    fn authorize(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(token) = var("MLFLOW_TRACKING_TOKEN") {
            req.bearer_auth(token)
        } else if let Some(user) = var("MLFLOW_TRACKING_USERNAME") {
            req.basic_auth(user, var("MLFLOW_TRACKING_PASSWORD"))
        } else {
            req
        }
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
        let resp = Self::authorize(req)
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

    /// The ids of the runs of `experiments` that `filter` selects.
    async fn runs_where(
        &self,
        experiments: &[String],
        filter: &str,
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
                        "filter": filter,
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
    /// Just after the newest time the registry reported.
    pub cursor: Option<i64>,
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
    // Runs whose versions must be read again although the registry did not
    // change: those still running (their state and metrics will change),
    // and those that ended since (with a margin for clocks: a run's times
    // are its client's; reading one again changes nothing).
    let searched: Vec<String> = match &selected {
        Some(s) => s.iter().cloned().collect(),
        None => experiments.keys().cloned().collect(),
    };
    let mut moved: BTreeSet<String> = api
        .runs_where(&searched, "attributes.status = 'RUNNING'")
        .await?;
    if let Some(t) = since {
        let filter = format!("attributes.end_time >= {}", t - RUN_CLOCK_MARGIN_MS);
        moved.extend(api.runs_where(&searched, &filter).await?);
    }
    // The cursor is the registry's clock only.
    let mut cursor: Option<i64> = None;
    let models = api.registered_models().await?;
    let mut listed: Vec<ModelVersion> = Vec::new();
    for m in &models {
        cursor = cursor.max(m.last_updated_timestamp);
        for v in api.versions(&m.name).await? {
            cursor = cursor.max(v.last_updated_timestamp);
            listed.push(v);
        }
    }
    // A version not in the catalog yet is read in full whatever its time
    // (an earlier import may have been limited to other experiments).
    let ids: Vec<String> = listed
        .iter()
        .map(|v| domain::mlflow::model_id(namespace, &v.name, &v.version))
        .collect();
    let missing: BTreeSet<String> = catalog
        .missing_assets(ids.clone())
        .await?
        .into_iter()
        .collect();
    let mut versions = Vec::new();
    let mut runs: HashMap<String, Option<Run>> = HashMap::new();
    for (v, id) in listed.into_iter().zip(ids) {
        let run_id = v.run_id.clone().filter(|r| !r.is_empty());
        let changed = missing.contains(&id)
            || since.is_none_or(|t| v.last_updated_timestamp.unwrap_or(i64::MAX) >= t)
            || run_id.as_ref().is_some_and(|r| moved.contains(r));
        if !changed {
            // Its aliases, stage and tags may still have moved: MLflow
            // sets an alias without a timestamp. With --experiment, only
            // a version an earlier import took (it is stored) is here.
            versions.push(VersionRead {
                version: v,
                changed: false,
                run: None,
                storage_uri: None,
            });
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
    Ok(Read {
        snapshot: Snapshot {
            namespace: namespace.to_string(),
            tracking_url: base.to_string(),
            experiments,
            models,
            versions,
        },
        cursor: cursor.map(|c| c + 1),
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
            Err(e) => match e.downcast::<catalog::CatalogError>() {
                Ok(c) => ImportError::Catalog(c),
                Err(e) => ImportError::Source(e.to_string()),
            },
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
    // Only after the import committed (a failed one is read again), and
    // only for a whole import: one limited to some experiments, or to a
    // time the caller chose, must not hide the rest from the next one.
    if args.experiments.is_empty() && args.since.is_none() {
        if let Some(c) = read.cursor {
            catalog.set_import_cursor(&namespace, c).await?;
        }
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
        assert_eq!(
            base_url(&args("http://u:p@h:5000")).unwrap_err().field,
            "url"
        );
        let v: MlflowArgs =
            serde_json::from_str(r#"{"url": "http://h", "since": 1733400000000}"#).unwrap();
        assert_eq!(v.since.as_deref(), Some("1733400000000"));
        assert_eq!(default_namespace("http://h:5000/ml"), "mlflow://h:5000/ml");
        assert_eq!(parse_since("1733400000000").unwrap(), 1_733_400_000_000);
        assert_eq!(
            parse_since("2024-12-05T12:00:00Z").unwrap(),
            1_733_400_000_000
        );
        assert_eq!(parse_since("yesterday").unwrap_err().field, "since");
    }
}
