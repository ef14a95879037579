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
use domain::record::{ExportRecord, ImportBatch, Record};
use domain::{AssetInput, EdgeInput, ValidationError};
use serde_json::json;

use crate::auth::Caller;
use crate::router::AppState;
use domain::auth::Action;

/// The largest import body accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 256 * 1024 * 1024;
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
                ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    field: None,
                    message: "internal error; see the server log".into(),
                }
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
            post(import).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route(
            "/import/dbt",
            post(import_dbt).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
        .route("/export", get(export))
        .route("/lineage/{id}", get(lineage))
        .route("/paths", get(paths))
        .route("/hubs", get(hubs))
        .route("/refresh-plan/{id}", get(refresh_plan))
        .merge(crate::access::routes())
        .merge(crate::changes::routes())
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
    let q = SearchQuery::from_pairs(parse_query_string(raw.as_deref().unwrap_or("")))
        .map_err(ApiError::invalid)?;
    Ok(Json(catalog.search(&q).await?))
}

/// `GET /api/v1/lineage/{id}?direction=upstream|downstream|both&depth=&kinds=&limit=`.
async fn lineage(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<domain::query::LineageView>> {
    use domain::lineage::Direction;
    let bad = |field: &str, msg: String| ApiError::invalid(ValidationError::new(field, msg));
    let (mut direction, mut depth, mut kinds, mut limit) = (None, None, Vec::new(), None);
    for (k, v) in parse_query_string(raw.as_deref().unwrap_or("")) {
        match k.as_str() {
            "direction" => {
                direction = match v.as_str() {
                    "upstream" => Some(Direction::Upstream),
                    "downstream" => Some(Direction::Downstream),
                    "both" | "" => None,
                    _ => {
                        return Err(bad(
                            "direction",
                            format!("{v:?} is not upstream, downstream or both"),
                        ))
                    }
                }
            }
            "depth" => {
                depth = Some(
                    v.parse::<u32>()
                        .map_err(|_| bad("depth", format!("{v:?} is not a whole number")))?,
                )
            }
            "limit" => {
                limit = Some(
                    v.parse::<usize>()
                        .map_err(|_| bad("limit", format!("{v:?} is not a whole number")))?,
                )
            }
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
    Ok(Json(catalog.lineage(&id, direction, depth, kinds, limit)?))
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

/// `GET /api/v1/paths?from=&to=&limit=`.
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
    Ok(Json(catalog.paths(&from, &to, limit)?))
}

/// `GET /api/v1/hubs?limit=`.
async fn hubs(
    State(catalog): State<Catalog>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let limit = number(&pairs, "limit", 20, 1000)?;
    Ok(Json(json!({ "items": catalog.hubs(limit) })))
}

/// `GET /api/v1/refresh-plan/{id}`.
async fn refresh_plan(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> ApiResult<Json<domain::query::RefreshPlanView>> {
    Ok(Json(catalog.refresh_plan(&id)?))
}

async fn get_asset(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
) -> ApiResult<Json<domain::Asset>> {
    Ok(Json(catalog.get_asset(&id).await?))
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

/// Parses an NDJSON import, keeping each edge's line for error messages.
pub fn parse_import(text: &str) -> Result<(ImportBatch, Vec<String>), ValidationError> {
    let mut batch = ImportBatch::default();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let de = &mut serde_json::Deserializer::from_str(line);
        let record: Record = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                at.clone()
            } else {
                format!("{at}.{path}")
            };
            ValidationError::new(field, e.into_inner().to_string())
        })?;
        match record {
            Record::Asset(a) => batch
                .assets
                .push(a.into_asset(None).map_err(|e| e.within(&at))?),
            Record::Edge(e) => {
                batch.edges.push(e.into_edge().map_err(|e| e.within(&at))?);
                labels.push(at);
            }
        }
    }
    Ok((batch, labels))
}

async fn import(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<catalog::WriteOutcome>> {
    let who = caller.require(Action::WriteCatalog)?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::invalid(ValidationError::new("body", format!("is not UTF-8: {e}")))
    })?;
    let (batch, labels) = parse_import(text).map_err(ApiError::invalid)?;
    Ok(Json(catalog.import(batch, labels, &who.actor()).await?))
}

/// `POST /api/v1/import/dbt?namespace=`: a dbt manifest as the body, or
/// `{"manifest": …, "catalog": …}` to add catalog.json's column types.
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
    let import = domain::dbt::parse_manifest(&manifest, cat.as_ref(), param(&pairs, "namespace"))
        .map_err(ApiError::invalid)?;
    Ok(Json(catalog.import_dbt(import, &who.actor()).await?))
}

/// Writes every asset, then every edge, one JSON record per line.
pub async fn write_export<W: std::io::Write + Send>(
    catalog: &Catalog,
    w: &mut W,
) -> anyhow::Result<()> {
    write_pages(
        w,
        |start| catalog.export_assets(start, EXPORT_PAGE),
        |a| ExportRecord::Asset(a),
    )
    .await?;
    write_pages(
        w,
        |start| catalog.export_edges(start, EXPORT_PAGE),
        |e| ExportRecord::Edge(e),
    )
    .await?;
    w.flush()?;
    Ok(())
}

/// Records read per query while exporting.
const EXPORT_PAGE: usize = 5_000;

/// Reads pages until a short one and writes each item as a line.
async fn write_pages<W, T, F, Fut>(
    w: &mut W,
    mut fetch: F,
    record: fn(&T) -> ExportRecord<'_>,
) -> anyhow::Result<()>
where
    W: std::io::Write + Send,
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = catalog::Result<Vec<T>>>,
{
    let mut start = 0;
    loop {
        let page = fetch(start).await?;
        for item in &page {
            serde_json::to_writer(&mut *w, &record(item))?;
            w.write_all(b"\n")?;
        }
        if page.len() < EXPORT_PAGE {
            return Ok(());
        }
        start += EXPORT_PAGE;
    }
}

async fn export(State(catalog): State<Catalog>) -> ApiResult<Response> {
    let mut out = Vec::new();
    write_export(&catalog, &mut out).await.map_err(|e| {
        tracing::error!(error = %e, "export failed");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            field: None,
            message: "internal error; see the server log".into(),
        }
    })?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response())
}
