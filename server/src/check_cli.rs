//! `mlgraph check`: the schema-change gate for any CI. It reads the
//! schemas a pull request proposes (a dbt manifest, or NDJSON in the
//! import format), asks a running mlgraph server for their diffs, impact
//! and approvals (`POST /api/v1/check`), prints the report, optionally
//! opens the missing change requests, and exits 0 (passes), 1 (a breaking
//! diff lacks approval) or 2 (an error, with a message naming it).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use domain::check::{render, CheckReport, CheckRequest, CheckStatus, ProposedSchema, ReportFormat};
use domain::record::Record;
use domain::AssetKind;
use serde_json::{json, Value};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A dbt `manifest.json` (schema v7 to v12).
    Dbt,
    /// NDJSON in the import format; its dataset records are checked.
    Ndjson,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Where the proposed schemas come from.
    #[arg(value_enum)]
    source: Source,
    /// The manifest (dbt) or the NDJSON file.
    file: PathBuf,
    /// With dbt: the catalog.json that `dbt docs generate` wrote, for column types.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// With dbt: how tables are named, as for `mlgraph import dbt`.
    #[command(flatten)]
    naming: crate::dbt_cli::NamingArgs,
    /// The mlgraph server, e.g. https://mlgraph.example.com.
    #[arg(long, env = "MLGRAPH_SERVER")]
    server: String,
    /// An API token (`mlgraph token create`, or the account page).
    #[arg(long, env = "MLGRAPH_TOKEN")]
    token: Option<String>,
    /// Markdown (the default under CI or GitHub Actions), text (the default on a terminal) or json.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Open a change request for each breaking diff that has none open or approved.
    #[arg(long)]
    open: bool,
    /// With --open: the requests' title (default: one made from the diff).
    #[arg(long)]
    title: Option<String>,
    /// With --open: a link for the requests' description, e.g. the pull request.
    #[arg(long)]
    url: Option<String>,
}

/// Runs the check and returns the process's exit code; errors are
/// printed, never a backtrace.
pub async fn run(args: CheckArgs) -> i32 {
    match check(&args).await {
        Ok((passes, text)) => {
            print!("{text}");
            if passes {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("mlgraph check: {e:#}");
            2
        }
    }
}

/// The check itself: whether it passes, and the report to print.
pub(crate) async fn check(args: &CheckArgs) -> anyhow::Result<(bool, String)> {
    let (datasets, skipped) = match args.source {
        Source::Dbt => from_dbt(args)?,
        Source::Ndjson => (from_ndjson(args)?, 0),
    };
    if datasets.is_empty() {
        bail!(
            "{} names no dataset with known columns to check",
            args.file.display()
        );
    }
    let client = Client::new(&args.server, args.token.as_deref())?;
    let req = CheckRequest { datasets };
    let mut report: CheckReport = client
        .post("/api/v1/check", &serde_json::to_value(&req)?)
        .await?;
    if args.open {
        let mut opened = false;
        for d in report
            .datasets
            .iter()
            .filter(|d| d.status == CheckStatus::NeedsApproval)
        {
            // A request already open for this diff is the one to approve.
            if !d.change_requests.is_empty() {
                continue;
            }
            let mut description = String::from("Opened by mlgraph check.");
            if let Some(url) = &args.url {
                description.push_str(&format!(" Source: {url}"));
            }
            let own = CheckReport::new(vec![d.clone()]);
            let body = json!({
                "dataset": d.dataset,
                "title": args.title.clone().unwrap_or_default(),
                "description": description,
                "changes": d.diff.changes,
                "source_url": args.url,
                "check_report": cut(render(&own, ReportFormat::Markdown, &args.server), 60_000),
            });
            let _: Value = client.post("/api/v1/change-requests", &body).await?;
            opened = true;
        }
        if opened {
            report = client
                .post("/api/v1/check", &serde_json::to_value(&req)?)
                .await?;
        }
    }
    let format = args.format.unwrap_or_else(|| {
        if std::env::var_os("GITHUB_STEP_SUMMARY").is_some() || std::env::var_os("CI").is_some() {
            Format::Markdown
        } else {
            Format::Text
        }
    });
    let mut text = match format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Markdown => render(&report, ReportFormat::Markdown, &args.server),
        Format::Text => render(&report, ReportFormat::Text, &args.server),
    };
    if skipped > 0 && format != Format::Json {
        text.push_str(&format!(
            "{skipped} datasets of the manifest declare no columns (and catalog.json has none for them), so they were not checked.\n"
        ));
    }
    Ok((report.passes, text))
}

/// `text` cut to at most `max` bytes, at a line if it is cut.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let end = text[..end].rfind('\n').unwrap_or(end);
        text.truncate(end);
        text.push_str("\n… (cut; the whole report is in the CI job's log)\n");
    }
    text
}

/// The datasets of a dbt manifest that have known columns, with renames
/// declared as a column's `meta.renamed_from`; and how many had none.
fn from_dbt(args: &CheckArgs) -> anyhow::Result<(Vec<ProposedSchema>, usize)> {
    let read = |p: &PathBuf| -> anyhow::Result<Value> {
        let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", p.display()))
    };
    let manifest = read(&args.file)?;
    let catalog = args.catalog.as_ref().map(read).transpose()?;
    if let (Some(c), Some(path)) = (&catalog, &args.catalog) {
        if !describes_the_manifest(&manifest, c) {
            bail!(
                "{} describes none of the manifest's models, seeds, snapshots or sources; is it from another project or an older build? Run `dbt docs generate` again",
                path.display()
            );
        }
    }
    let (naming, note) = crate::dbt_cli::resolve(&args.naming, &args.file)?;
    if let Some(note) = note {
        eprintln!("mlgraph check: {note}");
    }
    let import = domain::dbt::parse_manifest(&manifest, catalog.as_ref(), &naming)
        .map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    let mut skipped = 0;
    let mut out = Vec::new();
    for a in import
        .assets
        .into_iter()
        .filter(|a| a.kind == AssetKind::Dataset)
    {
        if a.schema.is_empty() {
            skipped += 1;
            continue;
        }
        let renames = a
            .properties
            .get("dbt.unique_id")
            .and_then(Value::as_str)
            .map(|uid| declared_renames(&manifest, uid))
            .unwrap_or_default();
        out.push(ProposedSchema {
            dataset: a.id,
            schema: a.schema,
            renames,
        });
    }
    Ok((out, skipped))
}

/// Whether a catalog.json speaks of the manifest's project: an empty one
/// does (nothing built yet), otherwise at least one of its nodes or
/// sources is in the manifest.
fn describes_the_manifest(manifest: &Value, catalog: &Value) -> bool {
    let keys = |v: &Value, table: &str| -> Vec<String> {
        v[table]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let described: Vec<String> = ["nodes", "sources"]
        .iter()
        .flat_map(|t| keys(catalog, t))
        .collect();
    described.is_empty()
        || described
            .iter()
            .any(|k| manifest["nodes"].get(k).is_some() || manifest["sources"].get(k).is_some())
}

/// `meta.renamed_from` (or `config.meta.renamed_from`) of a node's or
/// source's columns: new name → old name.
fn declared_renames(manifest: &Value, uid: &str) -> BTreeMap<String, String> {
    let node = manifest["nodes"]
        .get(uid)
        .or_else(|| manifest["sources"].get(uid));
    let Some(columns) = node.and_then(|n| n["columns"].as_object()) else {
        return BTreeMap::new();
    };
    columns
        .iter()
        .filter_map(|(key, c)| {
            let from = c["meta"]["renamed_from"]
                .as_str()
                .or_else(|| c["config"]["meta"]["renamed_from"].as_str())?;
            let name = c["name"].as_str().unwrap_or(key);
            Some((name.to_string(), from.to_string()))
        })
        .collect()
}

/// The dataset records of an NDJSON file in the import format. A record
/// may declare renames as `"renames": {"new": "old"}` beside its fields.
fn from_ndjson(args: &CheckArgs) -> anyhow::Result<Vec<ProposedSchema>> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", args.file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{} line {}", args.file.display(), i + 1);
        let mut v: Value = serde_json::from_str(&line).with_context(at)?;
        let renames: BTreeMap<String, String> =
            match v.as_object_mut().and_then(|o| o.remove("renames")) {
                Some(r) => serde_json::from_value(r)
                    .with_context(|| format!("{}: renames must map new names to old ones", at()))?,
                None => BTreeMap::new(),
            };
        let record: Record = serde_json::from_value(v).with_context(at)?;
        if let Record::Asset(a) = record {
            let asset = a.into_asset(None).map_err(|e| anyhow!("{}: {e}", at()))?;
            if asset.kind == AssetKind::Dataset {
                out.push(ProposedSchema {
                    dataset: asset.id,
                    schema: asset.schema,
                    renames,
                });
            }
        }
    }
    Ok(out)
}

/// The REST client: bearer token, a timeout, and errors that say what the
/// server answered.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    pub fn new(server: &str, token: Option<&str>) -> anyhow::Result<Client> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server must start with http:// or https://, not {server:?}");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Client {
            http,
            base,
            token: token.filter(|t| !t.is_empty()).map(str::to_string),
        })
    }

    pub async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<T> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// POSTs a body that is not JSON (YAML, say).
    pub async fn post_text<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: String,
        content_type: &str,
    ) -> anyhow::Result<T> {
        self.send_raw(
            reqwest::Method::POST,
            path,
            Some((body.into_bytes(), content_type)),
        )
        .await
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<T> {
        let body = body
            .map(|b| serde_json::to_vec(b).map(|v| (v, "application/json")))
            .transpose()?;
        self.send_raw(method, path, body).await
    }

    async fn send_raw<T: serde::de::DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> anyhow::Result<T> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some((bytes, content_type)) = body {
            req = req.header("content-type", content_type).body(bytes);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let res = req
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach the mlgraph server at {}: {e}", self.base))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| text.chars().take(300).collect());
            let hint = match status.as_u16() {
                401 => " (give an API token with --token or MLGRAPH_TOKEN)",
                403 => " (the token's user lacks the role; opening change requests needs editor)",
                _ => "",
            };
            bail!("{path} answered {status}: {message}{hint}");
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{path} answered something that is not the expected JSON"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catalog_of_another_project_is_refused_and_renames_are_read() {
        let manifest = json!({"nodes": {"model.p.a": {"columns": {
            "mail": {"name": "mail", "meta": {"renamed_from": "email"}},
            "id": {"name": "id", "config": {"meta": {"renamed_from": "key"}}},
            "x": {"name": "x"}
        }}}, "sources": {}});
        assert!(describes_the_manifest(
            &manifest,
            &json!({"nodes": {"model.p.a": {}}})
        ));
        assert!(describes_the_manifest(
            &manifest,
            &json!({"nodes": {}, "sources": {}})
        ));
        assert!(!describes_the_manifest(
            &manifest,
            &json!({"nodes": {"model.q.b": {}}})
        ));
        let renames = declared_renames(&manifest, "model.p.a");
        assert_eq!(
            renames,
            BTreeMap::from([
                ("id".to_string(), "key".to_string()),
                ("mail".to_string(), "email".to_string())
            ])
        );
        assert_eq!(
            cut("ab\ncd\nef".to_string(), 5),
            "ab\n… (cut; the whole report is in the CI job's log)\n"
        );
    }
}
