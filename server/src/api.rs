//! The REST API under `/api/v1`: JSON in and out, NDJSON for import and
//! export. Handlers are thin: parse and validate, call the catalog, map
//! the result. Every error is JSON that names the offending field.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use catalog::{Catalog, CatalogError};
use domain::query::{parse_query_string, SearchQuery};
use domain::record::ExportRecord;
use domain::{AssetInput, EdgeInput, ValidationError};
use serde_json::json;

use crate::auth::Caller;
use crate::router::AppState;
use domain::auth::Action;

/// The largest NDJSON import body accepted, in bytes. It is spooled to a
/// temporary file, not held in memory; 2 GiB holds about 1.9M assets of
/// the demo's shape with their edges.
pub const MAX_IMPORT_BYTES: usize = 2048 * 1024 * 1024;
/// The largest dbt import body (a JSON document parsed in memory).
pub const MAX_DBT_BYTES: usize = 256 * 1024 * 1024;
/// The largest Kubernetes YAML `POST /api/v1/import/kube` takes.
pub const MAX_KUBE_BYTES: usize = 32 * 1024 * 1024;
/// The largest body of any other request.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// An error answer: a status and a field-naming message. Internal failures
/// are logged and answered with a generic 500.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    field: Option<String>,
    message: String,
}

impl ApiError {
    pub fn status(status: StatusCode, field: &str, message: String) -> Self {
        ApiError {
            status,
            field: (!field.is_empty()).then(|| field.to_string()),
            message,
        }
    }

    pub fn invalid(e: ValidationError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            field: Some(e.field),
            message: e.message,
        }
    }
    /// The field the error names, if any.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The answer to a failure inside the server, which is logged by the
    /// caller and never shown.
    pub fn internal() -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            field: None,
            message: "internal error; see the server log".into(),
        }
    }

    pub fn not_found(what: String) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            field: None,
            message: format!("{what} not found"),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Invalid(v) => ApiError::invalid(v),
            CatalogError::NotFound(what) => ApiError::not_found(what),
            CatalogError::Conflict(m) => ApiError {
                status: StatusCode::CONFLICT,
                field: Some("version".into()),
                message: m,
            },
            CatalogError::Refused(v) => ApiError {
                status: StatusCode::CONFLICT,
                field: Some(v.field),
                message: v.message,
            },
            CatalogError::Forbidden(m) => ApiError {
                status: StatusCode::FORBIDDEN,
                field: Some("role".into()),
                message: m,
            },
            other => {
                tracing::error!(error = %other, "catalog failure");
                ApiError::internal()
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    /// `field: message`, as the `error` of the JSON answer says it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) if !field.is_empty() => write!(f, "{field}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let text = self.to_string();
        let body = json!({ "error": text, "field": self.field, "message": self.message, "status": self.status.as_u16() });
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// A non-empty query parameter, if given.
pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Parses a JSON body, naming the field at fault when it does not fit.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if matches!(
            inner.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        ) {
            return ApiError::invalid(ValidationError::new(
                "body",
                format!("is not valid JSON: {message}"),
            ));
        }
        // serde reports unknown and missing fields at the parent's path;
        // the field's own name is in the message.
        let named = message.split('`').nth(1).filter(|_| {
            message.starts_with("unknown field") || message.starts_with("missing field")
        });
        let field = match (path.as_str(), named) {
            (".", Some(n)) => n.to_string(),
            (p, Some(n)) => format!("{p}.{n}"),
            (".", None) => "body".to_string(),
            (p, None) => p.to_string(),
        };
        ApiError::invalid(ValidationError::new(field, message))
    })
}

/// Refuses callers who may not write the catalog before their body is
/// read (see [`crate::auth::before_body`]).
macro_rules! write_first {
    () => {
        axum::middleware::from_fn_with_state(Action::WriteCatalog, crate::auth::before_body)
    };
}
pub(crate) use write_first;

/// `GET /api/v1/lineage/{id}`: the hops walked and the assets listed when
/// the caller names none, and the most they may ask for.
pub const DEFAULT_LINEAGE_DEPTH: u32 = 20;
pub const MAX_LINEAGE_DEPTH: u32 = 100;
pub const DEFAULT_LINEAGE_LIMIT: usize = 1_000;
pub const MAX_LINEAGE_LIMIT: usize = 10_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets", get(search))
        .route(
            "/assets/{id}",
            get(get_asset).put(put_asset).delete(delete_asset),
        )
        .route("/edges", post(post_edge))
        .route("/edges/{id}", delete(delete_edge).get(get_edge))
        .route(
            "/import",
            post(import)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES))
                .layer(write_first!()),
        )
        .route(
            "/import/dbt",
            post(import_dbt)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_DBT_BYTES))
                .layer(write_first!()),
        )
        .route("/import/mlflow", post(import_mlflow))
        .route(
            "/import/kube",
            post(import_kube)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_KUBE_BYTES))
                .layer(write_first!()),
        )
        .route("/export", get(export))
        .route("/lineage/{id}", get(lineage))
        .route("/lineage/{id}/diff", get(crate::history::diff))
        .route("/paths", get(paths))
        .route("/hubs", get(hubs))
        .route("/refresh-plan/{id}", get(refresh_plan))
        .route("/aliases", get(list_aliases).post(post_alias))
        .merge(crate::access::routes())
        .merge(crate::changes::routes())
        .merge(crate::check::routes())
        .merge(crate::report::routes())
        .merge(crate::openlineage::routes())
        .merge(crate::scaling::routes())
        .fallback(|| async {
            ApiError {
                status: StatusCode::NOT_FOUND,
                field: None,
                message: "no such API route".into(),
            }
        })
}

async fn search(
    State(catalog): State<Catalog>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<domain::query::SearchResult>> {
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let as_of = crate::history::as_of_param(raw.as_deref())?;
    let q = SearchQuery::from_pairs(pairs).map_err(ApiError::invalid)?;
    Ok(Json(match as_of {
        None => catalog.search(&q).await?,
        Some(t) => catalog.search_as_of(&q, t).await?,
    }))
}

/// `GET /api/v1/lineage/{id}?direction=upstream|downstream|both&depth=&kinds=&limit=&as_of=`.
async fn lineage(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<domain::query::LineageView>> {
    let id = catalog.canonical_id(&id).await?;
    let bad = |field: &str, msg: String| ApiError::invalid(ValidationError::new(field, msg));
    let (mut direction, mut depth, mut kinds, mut limit) = (None, None, Vec::new(), None);
    let mut as_of = None;
    for (k, v) in parse_query_string(raw.as_deref().unwrap_or("")) {
        match k.as_str() {
            "as_of" => as_of = Some(crate::history::moment("as_of", &v)?),
            "direction" => direction = direction_param(&v)?,
            "depth" => depth = Some(depth_param(&v)?),
            "limit" => limit = Some(limit_param(&v)?),
            "kinds" | "kind" => {
                for k in v.split(',').filter(|k| !k.is_empty()) {
                    kinds.push(
                        k.parse::<domain::AssetKind>()
                            .map_err(|e| bad("kinds", e.message))?,
                    );
                }
            }
            _ => {}
        }
    }
    let depth = depth.unwrap_or(DEFAULT_LINEAGE_DEPTH);
    let limit = limit.unwrap_or(DEFAULT_LINEAGE_LIMIT);
    Ok(Json(match as_of {
        None => catalog.lineage(&id, direction, Some(depth), kinds, Some(limit))?,
        Some(at) => catalog.lineage_as_of(&id, direction, Some(depth), kinds, Some(limit), at)?,
    }))
}

/// The `direction` of a lineage walk: `None` for both ways.
pub(crate) fn direction_param(v: &str) -> ApiResult<Option<domain::lineage::Direction>> {
    use domain::lineage::Direction;
    match v {
        "upstream" => Ok(Some(Direction::Upstream)),
        "downstream" => Ok(Some(Direction::Downstream)),
        "both" | "" => Ok(None),
        _ => Err(ApiError::invalid(ValidationError::new(
            "direction",
            format!("{v:?} is not upstream, downstream or both"),
        ))),
    }
}

/// The `depth` of a lineage walk, 1 to [`MAX_LINEAGE_DEPTH`].
pub(crate) fn depth_param(v: &str) -> ApiResult<u32> {
    v.parse::<u32>()
        .ok()
        .filter(|d| (1..=MAX_LINEAGE_DEPTH).contains(d))
        .ok_or_else(|| {
            ApiError::invalid(ValidationError::new(
                "depth",
                format!("{v:?} is not a whole number from 1 to {MAX_LINEAGE_DEPTH}"),
            ))
        })
}

/// The `limit` of a lineage answer, 1 to [`MAX_LINEAGE_LIMIT`].
pub(crate) fn limit_param(v: &str) -> ApiResult<usize> {
    v.parse::<usize>()
        .ok()
        .filter(|l| (1..=MAX_LINEAGE_LIMIT).contains(l))
        .ok_or_else(|| {
            ApiError::invalid(ValidationError::new(
                "limit",
                format!("{v:?} is not a whole number from 1 to {MAX_LINEAGE_LIMIT}"),
            ))
        })
}

/// Reads one whole-number query parameter, naming it when it is not one.
fn number(pairs: &[(String, String)], key: &str, default: usize, max: usize) -> ApiResult<usize> {
    match pairs.iter().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(ValidationError::new(
                key,
                format!("{v:?} is not a whole number from 1 to {max}"),
            ))),
        },
    }
}

/// `GET /api/v1/paths?from=&to=&limit=&as_of=`.
async fn paths(
    State(catalog): State<Catalog>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<domain::query::PathsView>> {
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid(ValidationError::new(key, "is required")))
    };
    let (from, to) = (get("from")?, get("to")?);
    let limit = number(&pairs, "limit", 20, 1000)?;
    let as_of = crate::history::as_of_param(raw.as_deref())?;
    Ok(Json(catalog.paths_as_of(&from, &to, limit, as_of)?))
}

/// `GET /api/v1/hubs?limit=&as_of=`.
async fn hubs(
    State(catalog): State<Catalog>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let limit = number(&pairs, "limit", 20, 1000)?;
    let items = match crate::history::as_of_param(raw.as_deref())? {
        None => catalog.hubs(limit),
        Some(t) => catalog.hubs_as_of(limit, t)?,
    };
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/v1/refresh-plan/{id}`.
async fn refresh_plan(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> ApiResult<Json<domain::query::RefreshPlanView>> {
    Ok(Json(catalog.refresh_plan(&id)?))
}

/// An asset by its id, or by the id of one of its aliases.
/// `GET /api/v1/assets/{id}[?as_of=]`: the asset now, or as it was then.
async fn get_asset(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<domain::Asset>> {
    let id = catalog.canonical_id(&id).await?;
    let as_of = crate::history::as_of_param(raw.as_deref())?;
    Ok(Json(match as_of {
        None => catalog.get_asset(&id).await?,
        Some(at) => catalog.asset_as_of(&id, at).await?,
    }))
}

/// `GET /api/v1/aliases`: every declared alias.
async fn list_aliases(State(catalog): State<Catalog>) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(
        serde_json::json!({"aliases": catalog.aliases().await?}),
    ))
}

/// `POST /api/v1/aliases` `{"from", "to"}`: merges `from` into `to`.
async fn post_alias(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::WriteCatalog)?;
    let new: domain::alias::NewAlias = parse_json(&body)?;
    let outcome = catalog.add_alias(new, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(outcome)).into_response())
}

/// The version a client says it last saw, from `If-Match`.
fn expected_version(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or_default().trim().trim_matches('"');
    text.parse::<u64>().map(Some).map_err(|_| {
        ApiError::invalid(ValidationError::new(
            "If-Match",
            format!("{text:?} is not a version number"),
        ))
    })
}

async fn put_asset(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::WriteCatalog)?;
    let input: AssetInput = parse_json(&body)?;
    let asset = input.into_asset(Some(&id)).map_err(ApiError::invalid)?;
    let (stored, outcome) = catalog
        .put_asset(asset, expected_version(&headers)?, &who.actor())
        .await?;
    let status = if outcome.assets_created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [(header::ETAG, format!("\"{}\"", stored.version))],
        Json(stored),
    )
        .into_response())
}

async fn delete_asset(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let who = caller.require(Action::WriteCatalog)?;
    catalog.delete_asset(&id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn post_edge(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::WriteCatalog)?;
    let input: EdgeInput = parse_json(&body)?;
    let edge = input.into_edge().map_err(ApiError::invalid)?;
    let (stored, _) = catalog.put_edge(edge, &who.actor()).await?;
    Ok((StatusCode::CREATED, Json(stored)).into_response())
}

async fn get_edge(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> ApiResult<Json<domain::Edge>> {
    catalog
        .get_edge(&id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("edge {id:?}")))
}

async fn delete_edge(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let who = caller.require(Action::WriteCatalog)?;
    catalog.delete_edge(&id, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/import`: NDJSON in the import format. The body is
/// spooled to a temporary file as it arrives, so memory stays flat at any
/// size, and imported as `mlgraph import FILE` does: all or nothing up to
/// 5,000 records, resumable batches beyond (docs/API.md).
async fn import(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: axum::body::Body,
) -> ApiResult<Json<crate::bulk::BulkOutcome>> {
    let who = caller.require(Action::WriteCatalog)?;
    let file = spool(body, MAX_IMPORT_BYTES).await?;
    Ok(Json(
        crate::bulk::import_file(&catalog, file.path(), &who.actor()).await?,
    ))
}

/// Writes a request body to a temporary file (removed when dropped),
/// refusing one of more than `limit` bytes.
async fn spool(body: axum::body::Body, limit: usize) -> ApiResult<tempfile::NamedTempFile> {
    use futures_util::StreamExt;
    use tokio::io::AsyncWriteExt;
    let failed = |e: std::io::Error| {
        tracing::error!(error = %e, "spooling an import");
        ApiError::internal()
    };
    let file = tempfile::NamedTempFile::new().map_err(failed)?;
    let mut out = tokio::fs::File::from_std(file.reopen().map_err(failed)?);
    let mut stream = body.into_data_stream();
    let mut n = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::status(
                StatusCode::BAD_REQUEST,
                "body",
                format!("could not be read: {e}"),
            )
        })?;
        n += chunk.len();
        if n > limit {
            return Err(ApiError::status(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body",
                format!(
                    "is larger than {} MiB; import larger files with `mlgraph import FILE`",
                    limit >> 20
                ),
            ));
        }
        out.write_all(&chunk).await.map_err(failed)?;
    }
    out.flush().await.map_err(failed)?;
    Ok(file)
}

impl From<crate::bulk::BulkError> for ApiError {
    fn from(e: crate::bulk::BulkError) -> Self {
        use crate::bulk::BulkError;
        match e {
            BulkError::Invalid(v) => ApiError::invalid(v),
            BulkError::Store { error, note } => {
                let mut answer = ApiError::from(*error);
                if answer.status.is_client_error() {
                    answer.message = format!("{} {note}", answer.message);
                }
                answer
            }
            BulkError::Read(e) => {
                tracing::error!(error = %e, "reading a spooled import");
                ApiError::internal()
            }
        }
    }
}

/// `POST /api/v1/import/dbt?namespace=&job_namespace=&command=`: a dbt
/// manifest as the body, or `{"manifest": …, "catalog": …}` to add
/// catalog.json's column types. The namespaces are those dbt-ol reports
/// (the warehouse's, and `OPENLINEAGE_NAMESPACE`, default `dbt`); the
/// server cannot read the client's profiles.yml, so `mlgraph import dbt`
/// computes them.
async fn import_dbt(
    State(catalog): State<Catalog>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Json<catalog::DbtOutcome>> {
    let who = caller.require(Action::WriteCatalog)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(ValidationError::new(
            "body",
            format!("is not valid JSON: {e}"),
        ))
    })?;
    let (manifest, cat) = match v.get("manifest") {
        Some(m) => (m.clone(), v.get("catalog").cloned()),
        None => (v, None),
    };
    let naming = domain::dbt::Naming {
        datasets: param(&pairs, "namespace").map(str::to_string),
        jobs: param(&pairs, "job_namespace").map(str::to_string),
        command: match param(&pairs, "command") {
            Some(c) => c.parse().map_err(ApiError::invalid)?,
            None => domain::dbt::DbtCommand::Run,
        },
    };
    let import =
        domain::dbt::parse_manifest(&manifest, cat.as_ref(), &naming).map_err(ApiError::invalid)?;
    Ok(Json(catalog.import_dbt(import, &who.actor()).await?))
}

/// `POST /api/v1/import/kube`: Knative Services and KServe
/// InferenceServices as YAML (`kubectl get ksvc,isvc -A -o yaml`). Creates
/// service assets and sets scaling policies, so it takes an administrator
/// (editors change assets, operators policies).
async fn import_kube(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<crate::kube::KubeOutcome>> {
    caller.require(Action::WriteCatalog)?;
    let who = caller.require(Action::OperateScaling)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid(ValidationError::new("body", "is not UTF-8 text")))?;
    let docs = crate::kube::parse_yaml(text).map_err(ApiError::invalid)?;
    Ok(Json(
        crate::kube::import(&catalog, &docs, &who.actor()).await?,
    ))
}

/// `POST /api/v1/import/mlflow` `{"url", "experiments", "since",
/// "namespace"}`: the server reads that MLflow tracking server and imports
/// what changed. The server fetches a URL the caller names, so only an
/// administrator may.
async fn import_mlflow(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<catalog::MlflowOutcome>> {
    caller.require(Action::WriteCatalog)?;
    let who = caller.require(Action::ManageUsers)?;
    let args: crate::mlflow::MlflowArgs = parse_json(&body)?;
    match crate::mlflow::import(&catalog, &args, &who.actor()).await {
        Ok(out) => Ok(Json(out)),
        Err(crate::mlflow::ImportError::Invalid(v)) => Err(ApiError::invalid(v)),
        Err(crate::mlflow::ImportError::Catalog(e)) => Err(e.into()),
        Err(crate::mlflow::ImportError::Source(m)) => {
            Err(ApiError::status(StatusCode::BAD_GATEWAY, "url", m))
        }
    }
}

/// Records read per query while exporting.
const EXPORT_PAGE: usize = 5_000;

/// Every asset, then every edge, one JSON record per line, a page at a
/// time (keyset paging, so memory stays flat at any size): `sink` takes each
/// page's bytes and answers false to stop early (the reader went away).
pub async fn export_pages<S, Fut>(catalog: &Catalog, mut sink: S) -> anyhow::Result<()>
where
    S: FnMut(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let more = export_table(
        |after| async move { catalog.export_assets(after.as_deref(), EXPORT_PAGE).await },
        |a| (ExportRecord::Asset(a), a.id.as_str()),
        &mut sink,
    )
    .await?;
    if more {
        export_table(
            |after| async move { catalog.export_edges(after.as_deref(), EXPORT_PAGE).await },
            |e| (ExportRecord::Edge(e), e.id.as_str()),
            &mut sink,
        )
        .await?;
    }
    Ok(())
}

/// Sends one table's records a page at a time, each page after the last
/// id of the one before; answers false when the sink stopped it.
async fn export_table<T, F, Fut, S, SFut>(
    mut fetch: F,
    record: fn(&T) -> (ExportRecord<'_>, &str),
    sink: &mut S,
) -> anyhow::Result<bool>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = catalog::Result<Vec<T>>>,
    S: FnMut(Vec<u8>) -> SFut,
    SFut: std::future::Future<Output = bool>,
{
    let mut after: Option<String> = None;
    loop {
        let page = fetch(after.take()).await?;
        let mut buf = Vec::new();
        for item in &page {
            serde_json::to_writer(&mut buf, &record(item).0)?;
            buf.push(b'\n');
        }
        if !buf.is_empty() && !sink(buf).await {
            return Ok(false);
        }
        if page.len() < EXPORT_PAGE {
            return Ok(true);
        }
        after = page.last().map(|item| record(item).1.to_string());
    }
}

/// Writes the whole export to `w`.
pub async fn write_export<W: std::io::Write + Send>(
    catalog: &Catalog,
    w: &mut W,
) -> anyhow::Result<()> {
    let mut failed: Option<std::io::Error> = None;
    export_pages(catalog, |buf| {
        let ok = match w.write_all(&buf) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        };
        std::future::ready(ok)
    })
    .await?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    w.flush()?;
    Ok(())
}

/// `GET /api/v1/export`: the whole catalog as NDJSON, streamed as it is
/// read. The first page goes out as soon as it is read; a reader that
/// disconnects stops the reading. A store error mid-way cuts the body
/// short (the client sees an incomplete transfer) and is logged.
async fn export(State(catalog): State<Catalog>) -> Response {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let pages = tx.clone();
        let sent = export_pages(&catalog, move |buf| {
            let pages = pages.clone();
            async move { pages.send(Ok(Bytes::from(buf))).await.is_ok() }
        })
        .await;
        if let Err(e) = sent {
            tracing::error!(error = %e, "export failed");
            let _ = tx
                .send(Err(std::io::Error::other("the export failed")))
                .await;
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}
