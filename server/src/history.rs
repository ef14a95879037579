//! The graph as it was: `as_of` moments and
//! `GET /api/v1/lineage/{id}/diff`.

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use catalog::Catalog;
use domain::lineage::Millis;
use domain::query::parse_query_string;
use domain::ValidationError;

use crate::api::{depth_param, direction_param, limit_param, ApiError, ApiResult};
use crate::api::{DEFAULT_LINEAGE_DEPTH, DEFAULT_LINEAGE_LIMIT};

/// How far ahead of this server's clock a moment may be: other clocks
/// drift.
const CLOCK_SLACK_MS: Millis = 60_000;

/// A moment named by the query parameter `field`: an RFC 3339 date-time,
/// not in the future. One before anything was recorded is accepted: the
/// catalog was empty then, and answers say the asset did not exist.
pub fn moment(field: &str, v: &str) -> ApiResult<Millis> {
    let bad = |msg: String| ApiError::invalid(ValidationError::new(field, msg));
    let t = domain::time::to_millis(v).ok_or_else(|| {
        bad(format!(
            "{v:?} is not an RFC 3339 date-time such as 2026-12-01T09:30:00Z"
        ))
    })?;
    if t > now() + CLOCK_SLACK_MS {
        return Err(bad(format!(
            "{v} is in the future; the catalog knows only the past and the present"
        )));
    }
    Ok(t)
}

/// This server's clock, in milliseconds since the Unix epoch.
pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The `as_of` of a raw query string, if given (see [`moment`]).
pub fn as_of_param(raw: Option<&str>) -> ApiResult<Option<Millis>> {
    parse_query_string(raw.unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == "as_of")
        .map(|(_, v)| moment("as_of", &v))
        .transpose()
}

/// `GET /api/v1/lineage/{id}/diff?from=T1&to=T2&direction=&depth=&limit=`:
/// what appeared, disappeared and changed in `id`'s lineage between two
/// moments (`to` defaults to now).
pub async fn diff(
    State(catalog): State<Catalog>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<domain::query::LineageDiff>> {
    let id = catalog.canonical_id(&id).await?;
    let bad = |field: &str, msg: String| ApiError::invalid(ValidationError::new(field, msg));
    let (mut from, mut to, mut direction) = (None, None, None);
    let (mut depth, mut limit) = (DEFAULT_LINEAGE_DEPTH, DEFAULT_LINEAGE_LIMIT);
    for (k, v) in parse_query_string(raw.as_deref().unwrap_or("")) {
        match k.as_str() {
            "from" => from = Some(moment("from", &v)?),
            "to" => to = Some(moment("to", &v)?),
            "direction" => direction = direction_param(&v)?,
            "depth" => depth = depth_param(&v)?,
            "limit" => limit = limit_param(&v)?,
            _ => {}
        }
    }
    let from = from.ok_or_else(|| bad("from", "the earlier moment is required".into()))?;
    let to = match to {
        Some(t) => t,
        None => now(),
    };
    if to < from {
        return Err(bad("to", "the later moment comes before `from`".into()));
    }
    Ok(Json(
        catalog
            .lineage_diff(&id, from, to, direction, Some(depth), Some(limit))
            .await?,
    ))
}
