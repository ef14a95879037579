//! The schema-change gate's endpoints: `POST /api/v1/check` and
//! `POST /api/v1/change-requests/find`.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use catalog::Catalog;
use domain::auth::Action;
use domain::change_request::ChangeRequest;
use domain::check::{CheckReport, CheckRequest};
use domain::impact::SchemaChange;
use serde::Deserialize;

use crate::api::{parse_json, ApiResult};
use crate::auth::Caller;
use crate::router::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/check", post(check))
        .route("/change-requests/find", post(find))
}

/// `POST /api/v1/check`: proposed schemas in; per dataset its diff against
/// the schema in force, the impact of a diff that may break readers, the
/// change requests with exactly that diff, and whether it passes.
async fn check(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<CheckReport>> {
    caller.require(Action::Read)?;
    let req: CheckRequest = parse_json(&body)?;
    Ok(Json(catalog.check_schemas(&req).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindRequest {
    dataset: String,
    changes: Vec<SchemaChange>,
}

/// `POST /api/v1/change-requests/find`: the change requests on a dataset
/// whose diff is the given one (in any order), newest first.
async fn find(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Json<Vec<ChangeRequest>>> {
    caller.require(Action::Read)?;
    let req: FindRequest = parse_json(&body)?;
    let mut found = catalog
        .find_change_requests(&req.dataset, &req.changes)
        .await?;
    // As a listing: the summary, not every affected asset.
    for cr in &mut found {
        cr.impact.affected.clear();
        cr.impact.refresh_plan.clear();
    }
    Ok(Json(found))
}
