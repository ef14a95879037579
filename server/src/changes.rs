//! The impact and change-request endpoints of the REST API.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use catalog::Catalog;
use domain::auth::Action;
use domain::change_request::{ChangeRequest, CrState, NewChangeRequest, Step};
use domain::impact::{ImpactReport, Limits, SchemaChange};
use domain::query::parse_query_string;
use domain::ValidationError;
use serde::Deserialize;
use serde_json::json;

use crate::api::{param, parse_json, ApiError, ApiResult};
use crate::auth::Caller;
use crate::router::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/impact", post(impact))
        .route(
            "/change-requests",
            post(open_change_request).get(list_change_requests),
        )
        .route("/change-requests/{id}", get(get_change_request))
        .route("/change-requests/{id}/impact", get(change_request_impact))
        .route("/change-requests/{id}/{step}", post(step))
        .route("/inbox", get(inbox))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpactRequest {
    dataset: String,
    changes: Vec<SchemaChange>,
}

fn wants_csv(raw: Option<&str>) -> ApiResult<bool> {
    let pairs = parse_query_string(raw.unwrap_or(""));
    match pairs
        .iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.as_str())
    {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::invalid(ValidationError::new(
            "format",
            format!("{other:?} is not json or csv"),
        ))),
    }
}

fn report_response(report: ImpactReport, csv: bool, name: &str) -> Response {
    if csv {
        let chunks = CsvChunks {
            report,
            next: 0,
            header: false,
        };
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.csv\""),
                ),
            ],
            axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
        )
            .into_response()
    } else {
        Json(report).into_response()
    }
}

/// About how many bytes of CSV go out at a time.
const CSV_CHUNK: usize = 64 * 1024;

/// A report's CSV, written a chunk at a time as the client reads it: the
/// whole answer for a hub of a million-asset catalog lists hundreds of
/// thousands of rows, and is never held as one string.
struct CsvChunks {
    report: ImpactReport,
    next: usize,
    header: bool,
}

impl Iterator for CsvChunks {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut out = String::new();
        if !self.header {
            self.header = true;
            out.push_str(domain::impact::CSV_HEADER);
        }
        while out.len() < CSV_CHUNK {
            let Some(a) = self.report.affected.get(self.next) else {
                break;
            };
            a.write_csv_row(&mut out);
            self.next += 1;
        }
        (!out.is_empty()).then(|| Ok(Bytes::from(out)))
    }
}

/// The most rows per hop an impact answer may be asked to list.
const MAX_IMPACT_LIMIT: usize = 10_000;

/// Rows per hop of a JSON impact answer that names no `limit`.
const DEFAULT_IMPACT_LIMIT: usize = 1_000;

/// `limit`: rows per hop of a bounded impact answer.
fn impact_limit(raw: Option<&str>) -> ApiResult<Option<usize>> {
    let pairs = parse_query_string(raw.unwrap_or(""));
    let Some((_, v)) = pairs.iter().find(|(k, _)| k == "limit") else {
        return Ok(None);
    };
    match v.parse::<usize>() {
        Ok(n) if (1..=MAX_IMPACT_LIMIT).contains(&n) => Ok(Some(n)),
        _ => Err(ApiError::invalid(ValidationError::new(
            "limit",
            format!("must be a whole number from 1 to {MAX_IMPACT_LIMIT}"),
        ))),
    }
}

/// `POST /api/v1/impact[?format=csv][&limit=N][&as_of=T]`: what a schema diff would
/// reach; at most N affected assets per hop (and N services and refresh
/// steps; 1,000 without `limit`), with every list's full size in `bounded`
/// when something was cut. The CSV lists every affected asset.
async fn impact(
    State(catalog): State<Catalog>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(Action::Read)?;
    let csv = wants_csv(raw.as_deref())?;
    let input: ImpactRequest = parse_json(&body)?;
    if input.changes.is_empty() {
        return Err(ApiError::invalid(ValidationError::new(
            "changes",
            "name at least one change",
        )));
    }
    let limit = impact_limit(raw.as_deref())?;
    // The CSV lists everything, streamed; the JSON lists the first rows
    // per hop, so that no answer grows with the estate.
    let limits = (!csv).then(|| {
        let n = limit.unwrap_or(DEFAULT_IMPACT_LIMIT);
        Limits {
            per_hop: n,
            rows: n,
        }
    });
    let as_of = crate::history::as_of_param(raw.as_deref())?;
    let dataset = catalog.canonical_id(&input.dataset).await?;
    let report = catalog
        .impact_at(&dataset, &input.changes, limits, as_of)
        .await?;
    let report = if limit.is_none() {
        report.whole_if_complete()
    } else {
        report
    };
    Ok(report_response(report, csv, "impact"))
}

/// A change request with where each required approver stands.
fn with_status(cr: ChangeRequest) -> serde_json::Value {
    let status = cr.approver_status();
    let mut v = serde_json::to_value(&cr).unwrap_or_default();
    v["approver_status"] = json!(status);
    v
}

async fn open_change_request(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::ProposeChange)?;
    let input: NewChangeRequest = parse_json(&body)?;
    let cr = catalog.open_change_request(input, who).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/change-requests/{}", cr.id),
        )],
        Json(with_status(cr)),
    )
        .into_response())
}

async fn list_change_requests(
    State(catalog): State<Catalog>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Action::Read)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let get = |k: &str| param(&pairs, k);
    let state = get("state")
        .map(CrState::parse)
        .transpose()
        .map_err(ApiError::invalid)?;
    let items = catalog.list_change_requests(state, get("dataset")).await?;
    Ok(Json(json!({ "items": items })))
}

pub(crate) fn parse_id(id: &str) -> ApiResult<u64> {
    id.parse().map_err(|_| {
        ApiError::invalid(ValidationError::new(
            "id",
            format!("{id:?} is not a change request number"),
        ))
    })
}

async fn get_change_request(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Action::Read)?;
    Ok(Json(with_status(
        catalog.get_change_request(parse_id(&id)?).await?,
    )))
}

/// `GET /api/v1/change-requests/{id}/impact[?format=csv]`: the snapshot.
async fn change_request_impact(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    caller.require(Action::Read)?;
    let csv = wants_csv(raw.as_deref())?;
    let cr = catalog.get_change_request(parse_id(&id)?).await?;
    Ok(report_response(
        cr.impact,
        csv,
        &format!("change-request-{}-impact", cr.id),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StepBody {
    /// The comment, or a note with a decision.
    #[serde(default, alias = "comment")]
    text: String,
    /// The version the caller last saw; `If-Match` works too.
    #[serde(default)]
    version: Option<u64>,
}

/// `POST /api/v1/change-requests/{id}/approve|reject|apply|comment|withdraw|submit|recompute`.
async fn step(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path((id, step)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    let Some(step) = Step::parse(&step) else {
        return Err(ApiError::not_found(format!("change request step {step:?}")));
    };
    let who = match step.required_action() {
        None => caller.signed_in()?,
        Some(action) => caller.require(action)?,
    };
    let input: StepBody = if body.iter().all(u8::is_ascii_whitespace) {
        StepBody::default()
    } else {
        parse_json(&body)?
    };
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_matches('"'))
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                ApiError::invalid(ValidationError::new(
                    "If-Match",
                    format!("{v:?} is not a version number"),
                ))
            })
        })
        .transpose()?;
    let cr = catalog
        .change_request_step(
            parse_id(&id)?,
            step,
            who,
            &input.text,
            input.version.or(if_match),
        )
        .await?;
    Ok(Json(with_status(cr)))
}

/// `GET /api/v1/inbox`: open requests waiting for the caller's decision.
async fn inbox(
    State(catalog): State<Catalog>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    let who = caller.signed_in()?;
    Ok(Json(json!({ "items": catalog.inbox(who).await? })))
}
