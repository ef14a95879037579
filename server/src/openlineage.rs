//! The OpenLineage receiver and the Marquez-compatible reads, so that an
//! OpenLineage client (or tooling written for Marquez) pointed at mlgraph
//! just works.
//!
//! Events are validated and mapped in `domain::openlineage`; accepted ones
//! go through one writer task that combines whatever has queued up into a
//! single transaction (up to `BATCH` events). A request is answered only
//! after its batch committed, so every acknowledged event is stored; if a
//! batch fails, its events are retried one by one so that one bad event
//! cannot sink the others.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Read;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use catalog::{Catalog, IngestItem};
use domain::auth::Action;
use domain::lineage::{At, Direction};
use domain::openlineage::{parse_event, plan, EventKind, ParsedEvent};
use domain::query::parse_query_string;
use domain::{AssetKind, ValidationError};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use crate::api::{param, ApiError, ApiResult};
use crate::auth::Caller;
use crate::router::AppState;

/// The largest event accepted, compressed or not.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;
/// The most events one transaction carries.
const BATCH: usize = 256;

/// A refusal the client can act on (bad input, a conflict) or an internal
/// failure, which is logged and answered with a generic message.
#[derive(Debug, Clone)]
enum Failure {
    Client(String),
    Internal(String),
}

impl From<catalog::CatalogError> for Failure {
    fn from(e: catalog::CatalogError) -> Self {
        use catalog::CatalogError::*;
        match e {
            Invalid(_) | Refused(_) | Conflict(_) | NotFound(_) => Failure::Client(e.to_string()),
            other => Failure::Internal(other.to_string()),
        }
    }
}

type Reply = oneshot::Sender<Result<(), Failure>>;

/// The handle request handlers send accepted events to.
#[derive(Clone)]
pub struct Ingestor {
    tx: mpsc::Sender<(IngestItem, String, Reply)>,
}

impl Ingestor {
    /// Starts the writer task for `catalog`.
    pub fn start(catalog: Catalog) -> Ingestor {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(write_batches(catalog, rx));
        Ingestor { tx }
    }

    async fn submit(&self, item: IngestItem, actor: String) -> Result<(), Failure> {
        let stopped = || Failure::Internal("the ingestion writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((item, actor, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_batches(catalog: Catalog, mut rx: mpsc::Receiver<(IngestItem, String, Reply)>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let items: Vec<IngestItem> = batch.iter().map(|(i, _, _)| i.clone()).collect();
        let mut actors: Vec<&str> = batch.iter().map(|(_, a, _)| a.as_str()).collect();
        actors.sort_unstable();
        actors.dedup();
        let by = actors.join(", ");
        match catalog.ingest(&items, &by).await {
            Ok(()) => {
                for (_, _, reply) in batch {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(_) if batch.len() > 1 => {
                for (item, actor, reply) in batch {
                    let r = catalog
                        .ingest(std::slice::from_ref(&item), &actor)
                        .await
                        .map_err(Failure::from);
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                let f = Failure::from(e);
                for (_, _, reply) in batch {
                    let _ = reply.send(Err(f.clone()));
                }
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/lineage",
            post(receive)
                .layer(crate::api::write_first!())
                .get(marquez_lineage)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_EVENT_BYTES)),
        )
        .route("/column-lineage", get(column_lineage))
        .route("/namespaces", get(namespaces))
        .route("/namespaces/{ns}/datasets", get(datasets))
        .route("/namespaces/{ns}/jobs", get(jobs))
        .route("/namespaces/{ns}/datasets/{name}", get(dataset))
        .route("/namespaces/{ns}/jobs/{name}", get(job))
        .route("/namespaces/{ns}/jobs/{name}/runs", get(job_runs))
        .route("/jobs/runs/{id}", get(run))
}

/// The body as JSON, inflating gzip, with a cap on the inflated size.
fn body_json(headers: &HeaderMap, body: &[u8]) -> ApiResult<Value> {
    let gzip = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let inflated;
    let bytes = if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(MAX_EVENT_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                ApiError::invalid(ValidationError::new(
                    "body",
                    format!("is not valid gzip: {e}"),
                ))
            })?;
        if out.len() > MAX_EVENT_BYTES {
            return Err(ApiError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
                format!("inflates to more than {MAX_EVENT_BYTES} bytes"),
            ));
        }
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid(ValidationError::new(
            "body",
            format!("is not valid JSON: {e}"),
        ))
    })
}

/// A log line for an event: its job and datasets.
fn summary(e: &ParsedEvent) -> String {
    let mut parts = Vec::new();
    if let Some((ns, name, _)) = &e.job {
        parts.push(format!("job {ns}/{name}"));
    }
    for d in e.inputs.iter().chain(&e.outputs).chain(e.dataset.iter()) {
        parts.push(format!("{}/{}", d.namespace, d.name));
    }
    let mut s = parts.join(", ");
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// `POST /api/v1/lineage`: one OpenLineage event (RunEvent, DatasetEvent
/// or JobEvent). 201 once it is stored; 400 with every problem's path.
async fn receive(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::WriteCatalog)?;
    let v = body_json(&headers, &body)?;
    let event = match parse_event(&v) {
        Ok(e) => e,
        Err(problems) => {
            let source = v
                .get("producer")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_string();
            let listed = serde_json::to_value(&problems).unwrap_or_default();
            if let Err(e) = state
                .catalog
                .log_rejected(&source, "rejected", listed.clone())
                .await
            {
                tracing::warn!(error = %e, "logging a rejected event");
            }
            // A problem with the event as a whole has an empty path: it is
            // the body's.
            let field = |path: &str| {
                if path.is_empty() {
                    "body".to_string()
                } else {
                    path.to_string()
                }
            };
            let first = problems
                .first()
                .map(|p| format!("{}: {}", field(&p.path), p.message))
                .unwrap_or_default();
            return Ok((
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": first,
                    "field": problems.first().map(|p| field(&p.path)),
                    "message": format!("the event has {} problem(s)", problems.len()),
                    "problems": listed,
                    "status": 400,
                })),
            )
                .into_response());
        }
    };
    let kind = match (event.kind, &event.event_type) {
        (EventKind::Run, Some(t)) => format!("run {t}"),
        (EventKind::Run, None) => "run".to_string(),
        (EventKind::Dataset, _) => "dataset".to_string(),
        (EventKind::Job, _) => "job".to_string(),
    };
    let plan = plan(&event);
    check_names(&v, &plan)?;
    let item = IngestItem {
        plan,
        source: event.producer.clone(),
        kind,
        summary: summary(&event),
    };
    state
        .ingestor
        .submit(item, who.actor())
        .await
        .map_err(|f| match f {
            Failure::Client(m) => ApiError::invalid(ValidationError::new("body", m)),
            Failure::Internal(m) => {
                tracing::error!(error = %m, "an event could not be stored");
                ApiError::internal()
            }
        })?;
    Ok(StatusCode::CREATED.into_response())
}

/// Finds the asset a Marquez node id names: `dataset:NS:NAME` or
/// `job:NS:NAME`. Namespaces hold colons (`postgres://host:5432`), so each
/// split is tried until one names a known asset.
fn node_asset(catalog: &Catalog, node: &str, at: At) -> ApiResult<(String, AssetKind)> {
    let bad = || {
        ApiError::invalid(ValidationError::new(
            "nodeId",
            format!("{node:?} is not dataset:NAMESPACE:NAME or job:NAMESPACE:NAME"),
        ))
    };
    let (kind, rest) = node.split_once(':').ok_or_else(bad)?;
    let kind = match kind {
        "dataset" => AssetKind::Dataset,
        "job" => AssetKind::Workflow,
        _ => return Err(bad()),
    };
    let g = catalog.graph();
    for (i, _) in rest.match_indices(':') {
        let id = domain::asset::asset_id(kind, &rest[..i], &rest[i + 1..]);
        let there = match at {
            At::Now => g.id_of(&id),
            At::Moment(t) => g.node_at(&id, t),
        };
        if there.is_some() {
            return Ok((id, kind));
        }
    }
    Err(ApiError::not_found(match at {
        At::Now => format!("node {node:?}"),
        At::Moment(t) => format!(
            "node {node:?} as of {}: it did not exist then",
            domain::time::from_millis(t)
        ),
    }))
}

fn marquez_id(a: &domain::Asset) -> String {
    let t = if a.kind == AssetKind::Workflow {
        "job"
    } else {
        "dataset"
    };
    format!("{t}:{}:{}", a.namespace, a.name)
}

fn timestamps(a: &domain::Asset) -> (Value, Value) {
    (
        json!(a.created_at.clone().unwrap_or_default()),
        json!(a.updated_at.clone().unwrap_or_default()),
    )
}

/// Marquez's dataset shape.
fn dataset_json(a: &domain::Asset) -> Value {
    let (created, updated) = timestamps(a);
    json!({
        "id": {"namespace": a.namespace, "name": a.name},
        "type": "DB_TABLE",
        "name": a.name,
        "physicalName": a.name,
        "namespace": a.namespace,
        "sourceName": a.namespace,
        "fields": a.schema.iter().map(|f| json!({"name": f.name, "type": f.data_type, "tags": [], "description": f.description})).collect::<Vec<_>>(),
        "tags": a.tags,
        "description": a.description,
        "facets": a.properties.get("openlineage").cloned().unwrap_or_else(|| json!({})),
        "createdAt": created,
        "updatedAt": updated,
        "lastModifiedAt": updated,
        "currentVersion": a.properties.get("datasetVersion").cloned().unwrap_or(Value::Null),
    })
}

/// Marquez's job shape, with inputs and outputs from the graph.
fn job_json(
    catalog: &Catalog,
    a: &domain::Asset,
    latest: Option<&domain::openlineage::RunRecord>,
) -> Value {
    let g = catalog.graph();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    if let Some(n) = g.id_of(&a.id) {
        for (m, _) in g.upstream_of(n) {
            if let Ok((_, ns, name)) = domain::asset::parse_asset_id(g.asset_id(m)) {
                inputs.push(json!({"namespace": ns, "name": name}));
            }
        }
        for (m, _) in g.downstream_of(n) {
            if let Ok((_, ns, name)) = domain::asset::parse_asset_id(g.asset_id(m)) {
                outputs.push(json!({"namespace": ns, "name": name}));
            }
        }
    }
    let (created, updated) = timestamps(a);
    json!({
        "id": {"namespace": a.namespace, "name": a.name},
        "type": "BATCH",
        "name": a.name,
        "namespace": a.namespace,
        "inputs": inputs,
        "outputs": outputs,
        "description": a.description,
        "facets": a.properties.get("openlineage").cloned().unwrap_or_else(|| json!({})),
        "createdAt": created,
        "updatedAt": updated,
        "latestRun": latest.map(run_json),
    })
}

/// Marquez's run shape. Dataset versions per run are not recorded, so the
/// run names no `jobVersion` or input and output dataset versions.
fn run_json(r: &domain::openlineage::RunRecord) -> Value {
    let (nominal_start, nominal_end) = r.nominal_times();
    json!({
        "id": r.run_id,
        "createdAt": r.events.first().map(|e| &e.1),
        "updatedAt": r.events.last().map(|e| &e.1),
        "nominalStartTime": nominal_start,
        "nominalEndTime": nominal_end,
        "state": r.marquez_state(),
        "startedAt": r.started_at,
        "endedAt": r.ended_at,
        "durationMs": r.duration_ms(),
        "args": {},
        "facets": r.facets,
    })
}

/// The asset of one kind a Marquez path names by namespace and name.
async fn named_asset(
    catalog: &Catalog,
    caller: &Caller,
    kind: AssetKind,
    ns: &str,
    name: &str,
    at: At,
) -> ApiResult<domain::Asset> {
    caller.require(Action::Read)?;
    let id = domain::asset::asset_id(kind, ns, name);
    if let At::Moment(t) = at {
        return Ok(catalog.asset_as_of(&id, t).await?);
    }
    if catalog.graph().id_of(&id).is_none() {
        let what = if kind == AssetKind::Workflow {
            "job"
        } else {
            "dataset"
        };
        return Err(ApiError::not_found(format!(
            "{what} {name:?} in namespace {ns:?}"
        )));
    }
    Ok(catalog.get_asset(&id).await?)
}

/// The graph a Marquez read looks at: now, or as of its `as_of` (an
/// mlgraph extension).
fn at_param(raw: Option<&str>) -> ApiResult<At> {
    Ok(crate::history::as_of_param(raw)?.map_or(At::Now, At::Moment))
}

/// `GET /api/v1/lineage?nodeId=&depth=&as_of=`: Marquez's lineage graph
/// of datasets and jobs around one node, now or as it was at `as_of`
/// (an mlgraph extension).
async fn marquez_lineage(
    State(catalog): State<Catalog>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Action::Read)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let (node, depth) = node_and_depth(&pairs)?;
    let at = at_param(raw.as_deref())?;
    let as_of = match at {
        At::Now => None,
        At::Moment(t) => {
            catalog.check_kept("as_of", t)?;
            Some(t)
        }
    };
    let (start, _) = node_asset(&catalog, node, at)?;
    // A walk both ways over datasets and jobs only.
    let (ids, links) = {
        let g = catalog.graph();
        let keep = |k: AssetKind| matches!(k, AssetKind::Dataset | AssetKind::Workflow);
        let s = match at {
            At::Now => g.id_of(&start),
            At::Moment(t) => g.node_at(&start, t),
        }
        .expect("found above");
        let mut seen: HashMap<u32, u32> = HashMap::from([(s, 0)]);
        let mut queue = VecDeque::from([s]);
        let mut links: BTreeSet<(String, String)> = BTreeSet::new();
        while let Some(n) = queue.pop_front() {
            let d = seen[&n];
            for (m, up) in g
                .links(n, Direction::Upstream, at)
                .map(|(m, _)| (m, true))
                .chain(
                    g.links(n, Direction::Downstream, at)
                        .map(|(m, _)| (m, false)),
                )
            {
                if !keep(g.kind(m)) {
                    continue;
                }
                let (f, t) = if up { (m, n) } else { (n, m) };
                // A node joins while there is room; links join only between
                // nodes that are in.
                if d < depth && !seen.contains_key(&m) && seen.len() < MAX_MARQUEZ_NODES {
                    seen.insert(m, d + 1);
                    queue.push_back(m);
                }
                if seen.contains_key(&m) {
                    links.insert((g.asset_id(f).to_string(), g.asset_id(t).to_string()));
                }
            }
        }
        let mut ids: Vec<String> = seen.keys().map(|n| g.asset_id(*n).to_string()).collect();
        ids.sort();
        (ids, links)
    };
    let assets = match as_of {
        None => catalog.assets_by_id(ids.clone()).await?,
        Some(t) => {
            let mut then = HashMap::new();
            for id in &ids {
                then.insert(id.clone(), catalog.asset_as_of(id, t).await?);
            }
            then
        }
    };
    // Each node's links, found by its id rather than by a scan of all.
    let mut ins: HashMap<&str, Vec<&(String, String)>> = HashMap::new();
    let mut outs: HashMap<&str, Vec<&(String, String)>> = HashMap::new();
    for l in &links {
        outs.entry(l.0.as_str()).or_default().push(l);
        ins.entry(l.1.as_str()).or_default().push(l);
    }
    let mut graph = Vec::new();
    for id in &ids {
        let Some(a) = assets.get(id) else { continue };
        let me = marquez_id(a);
        let edge = |(f, t): &&(String, String)| json!({"origin": assets.get(f).map(marquez_id), "destination": assets.get(t).map(marquez_id)});
        let in_edges: Vec<Value> = ins
            .get(id.as_str())
            .into_iter()
            .flatten()
            .map(edge)
            .collect();
        let out_edges: Vec<Value> = outs
            .get(id.as_str())
            .into_iter()
            .flatten()
            .map(edge)
            .collect();
        let (kind, data) = if a.kind == AssetKind::Workflow {
            let latest = catalog.runs_of(id, 1).await?.into_iter().next();
            ("JOB", job_json(&catalog, a, latest.as_ref()))
        } else {
            ("DATASET", dataset_json(a))
        };
        graph.push(json!({"id": me, "type": kind, "data": data, "inEdges": in_edges, "outEdges": out_edges}));
    }
    Ok(Json(json!({ "graph": graph })))
}

/// Refuses an event whose datasets or job have names that no other write
/// path would accept (over 512 bytes, control characters, several lines),
/// naming where in the event the name is.
fn check_names(v: &Value, plan: &domain::openlineage::IngestPlan) -> ApiResult<()> {
    let place = |ns: &str, name: &str| -> String {
        for list in ["inputs", "outputs"] {
            if let Some(items) = v.get(list).and_then(Value::as_array) {
                if let Some(i) = items.iter().position(|d| {
                    d.get("namespace").and_then(Value::as_str) == Some(ns)
                        && d.get("name").and_then(Value::as_str) == Some(name)
                }) {
                    return format!("{list}[{i}]");
                }
            }
        }
        for one in ["job", "dataset"] {
            if v.get(one)
                .and_then(|d| d.get("name"))
                .and_then(Value::as_str)
                == Some(name)
            {
                return one.to_string();
            }
        }
        "body".to_string()
    };
    for a in &plan.assets {
        let at = || place(&a.namespace, &a.name);
        domain::asset::check_name("name", &a.name)
            .and_then(|()| domain::asset::check_name("namespace", &a.namespace))
            .map_err(|e| ApiError::invalid(e.within(&at())))?;
    }
    Ok(())
}

/// The most nodes a Marquez lineage answer holds; the walk stops adding
/// nodes at this many (nearest first).
const MAX_MARQUEZ_NODES: usize = 2_000;

/// The `nodeId` and `depth` (default 20) of a Marquez lineage query.
fn node_and_depth(pairs: &[(String, String)]) -> ApiResult<(&str, u32)> {
    let node = param(pairs, "nodeId")
        .ok_or_else(|| ApiError::invalid(ValidationError::new("nodeId", "is required")))?;
    Ok((node, depth_param(pairs)?))
}

fn depth_param(pairs: &[(String, String)]) -> ApiResult<u32> {
    match param(pairs, "depth") {
        None => Ok(20),
        Some(d) => d.parse::<u32>().ok().filter(|d| *d <= 100).ok_or_else(|| {
            ApiError::invalid(ValidationError::new(
                "depth",
                format!("{d:?} is not a whole number from 0 to 100"),
            ))
        }),
    }
}

/// `GET /api/v1/column-lineage?nodeId=datasetField:NS:NAME:FIELD&depth=&withDownstream=`:
/// the fields a field is computed from (and, with `withDownstream=true`,
/// those computed from it), from the edges' column mappings.
async fn column_lineage(
    State(catalog): State<Catalog>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Action::Read)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let (node, depth) = node_and_depth(&pairs)?;
    let downstream = param(&pairs, "withDownstream") == Some("true");
    let rest = node.strip_prefix("datasetField:").ok_or_else(|| {
        ApiError::invalid(ValidationError::new(
            "nodeId",
            format!("{node:?} is not datasetField:NAMESPACE:NAME:FIELD"),
        ))
    })?;
    let (dataset_part, field) = rest
        .rsplit_once(':')
        .ok_or_else(|| ApiError::invalid(ValidationError::new("nodeId", "names no field")))?;
    let (start, _) = node_asset(&catalog, &format!("dataset:{dataset_part}"), At::Now)?;
    // Walk (dataset, field) pairs along mapped edges.
    type Field = (String, String);
    let mut seen: BTreeMap<Field, u32> = BTreeMap::from([((start.clone(), field.to_string()), 0)]);
    let mut links: BTreeSet<(Field, Field, Option<String>)> = BTreeSet::new();
    let mut queue = VecDeque::from([(start.clone(), field.to_string())]);
    let mut cache: HashMap<String, (Vec<domain::Edge>, Vec<domain::Edge>)> = HashMap::new();
    while let Some((ds, f)) = queue.pop_front() {
        let d = seen[&(ds.clone(), f.clone())];
        if d >= depth {
            continue;
        }
        if !cache.contains_key(&ds) {
            cache.insert(ds.clone(), catalog.edges_touching(&ds).await?);
        }
        let (ins, outs) = cache[&ds].clone();
        let mut next: Vec<(Field, Field, Option<String>, Field)> = Vec::new();
        for e in &ins {
            for m in e.columns.iter().filter(|m| m.to == f) {
                let from = (e.from.clone(), m.from.clone());
                next.push((
                    from.clone(),
                    (ds.clone(), f.clone()),
                    m.transform.clone(),
                    from,
                ));
            }
        }
        if downstream {
            for e in &outs {
                for m in e.columns.iter().filter(|m| m.from == f) {
                    let to = (e.to.clone(), m.to.clone());
                    next.push(((ds.clone(), f.clone()), to.clone(), m.transform.clone(), to));
                }
            }
        }
        for (a, b, t, reached) in next {
            links.insert((a, b, t));
            if !seen.contains_key(&reached) {
                seen.insert(reached.clone(), d + 1);
                queue.push_back(reached);
            }
        }
    }
    let ids: Vec<String> = seen
        .keys()
        .map(|(d, _)| d.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let assets = catalog.assets_by_id(ids).await?;
    let name = |(ds, f): &Field| -> Value {
        match assets.get(ds) {
            Some(a) => json!(format!("datasetField:{}:{}:{f}", a.namespace, a.name)),
            None => json!(format!("datasetField:{ds}:{f}")),
        }
    };
    let split = |t: &Option<String>| -> (Value, Value) {
        match t.as_deref().map(|t| t.split_once('/').unwrap_or((t, ""))) {
            Some((ty, desc)) => (json!(ty), json!(desc)),
            None => (Value::Null, Value::Null),
        }
    };
    let mut graph = Vec::new();
    for key in seen.keys() {
        let (ds, f) = key;
        let Some(a) = assets.get(ds) else { continue };
        let inputs: Vec<Value> = links
            .iter()
            .filter(|(_, to, _)| to == key)
            .map(|(from, _, t)| {
                let (ty, desc) = split(t);
                let src = assets.get(&from.0);
                json!({
                    "namespace": src.map(|s| s.namespace.clone()),
                    "dataset": src.map(|s| s.name.clone()),
                    "field": from.1,
                    "transformationType": ty,
                    "transformationDescription": desc,
                })
            })
            .collect();
        let field_type = a.column(f).map(|c| c.data_type.clone());
        graph.push(json!({
            "id": name(key),
            "type": "DATASET_FIELD",
            "data": {"namespace": a.namespace, "dataset": a.name, "field": f, "fieldType": field_type, "inputFields": inputs},
            "inEdges": links.iter().filter(|(_, to, _)| to == key).map(|(from, to, _)| json!({"origin": name(from), "destination": name(to)})).collect::<Vec<_>>(),
            "outEdges": links.iter().filter(|(from, _, _)| from == key).map(|(from, to, _)| json!({"origin": name(from), "destination": name(to)})).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(json!({ "graph": graph })))
}

/// The deepest a Marquez listing pages.
const MAX_OFFSET: usize = 1_000_000;

fn paging(pairs: &[(String, String)]) -> ApiResult<(usize, usize)> {
    let num = |k: &str, default: usize| -> ApiResult<usize> {
        match param(pairs, k) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError::invalid(ValidationError::new(
                    k,
                    format!("{v:?} is not a whole number"),
                ))
            }),
        }
    };
    let offset = num("offset", 0)?;
    if offset > MAX_OFFSET {
        return Err(ApiError::invalid(ValidationError::new(
            "offset",
            format!("must be at most {MAX_OFFSET}"),
        )));
    }
    Ok((num("limit", 100)?.min(1000), offset))
}

/// `GET /api/v1/namespaces`.
async fn namespaces(State(catalog): State<Catalog>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.require(Action::Read)?;
    let list: Vec<Value> = catalog
        .namespaces()
        .await?
        .into_iter()
        .map(|(ns, _)| json!({"name": ns, "ownerName": "", "description": null, "createdAt": null, "updatedAt": null, "isHidden": false}))
        .collect();
    Ok(Json(json!({ "namespaces": list })))
}

/// One page of a namespace's assets of one kind, as `?limit=&offset=` ask.
async fn namespace_page(
    catalog: &Catalog,
    caller: &Caller,
    ns: &str,
    kind: AssetKind,
    raw: Option<&str>,
) -> ApiResult<(Vec<domain::Asset>, u64)> {
    caller.require(Action::Read)?;
    let (limit, offset) = paging(&parse_query_string(raw.unwrap_or("")))?;
    Ok(catalog.assets_in_namespace(ns, kind, limit, offset).await?)
}

/// `GET /api/v1/namespaces/{ns}/datasets?limit=&offset=`.
async fn datasets(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(ns): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (items, total) =
        namespace_page(&catalog, &caller, &ns, AssetKind::Dataset, raw.as_deref()).await?;
    Ok(Json(json!({
        "totalCount": total,
        "datasets": items.iter().map(dataset_json).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/namespaces/{ns}/jobs?limit=&offset=`.
async fn jobs(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(ns): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (items, total) =
        namespace_page(&catalog, &caller, &ns, AssetKind::Workflow, raw.as_deref()).await?;
    let mut jobs = Vec::with_capacity(items.len());
    for a in &items {
        let latest = catalog.runs_of(&a.id, 1).await?.into_iter().next();
        jobs.push(job_json(&catalog, a, latest.as_ref()));
    }
    Ok(Json(json!({ "totalCount": total, "jobs": jobs })))
}

/// `GET /api/v1/namespaces/{ns}/datasets/{name}`.
async fn dataset(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let at = at_param(raw.as_deref())?;
    let a = named_asset(&catalog, &caller, AssetKind::Dataset, &ns, &name, at).await?;
    Ok(Json(dataset_json(&a)))
}

/// `GET /api/v1/namespaces/{ns}/jobs/{name}`.
async fn job(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let at = at_param(raw.as_deref())?;
    let a = named_asset(&catalog, &caller, AssetKind::Workflow, &ns, &name, at).await?;
    let latest = catalog.runs_of(&a.id, 1).await?.into_iter().next();
    Ok(Json(job_json(&catalog, &a, latest.as_ref())))
}

/// `GET /api/v1/namespaces/{ns}/jobs/{name}/runs?limit=&offset=`: newest
/// first.
async fn job_runs(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path((ns, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = paging(&parse_query_string(raw.as_deref().unwrap_or("")))?;
    let a = named_asset(&catalog, &caller, AssetKind::Workflow, &ns, &name, At::Now).await?;
    let (runs, total) = catalog.runs_page(&a.id, limit, offset).await?;
    Ok(Json(json!({
        "totalCount": total,
        "runs": runs.iter().map(run_json).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/jobs/runs/{id}`.
async fn run(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Action::Read)?;
    Ok(Json(run_json(&catalog.run(&id).await?)))
}
