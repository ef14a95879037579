//! Server functions for impact previews and change requests. Each checks
//! the caller the way the REST API does: the role a step needs, then the
//! request's own rules (who proposed it, who owns what it affects).

use domain::auth::Principal;
use domain::change_request::{ApproverStatus, ChangeRequest, Step};
use domain::impact::{ImpactReport, SchemaChange};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

/// A change request with what the page needs around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRequestPage {
    pub cr: ChangeRequest,
    pub approvers: Vec<ApproverStatus>,
    /// The steps the caller could take now.
    pub steps: Vec<Step>,
    pub me: Option<Principal>,
}

/// The impact of a schema diff, for the live preview while proposing.
#[server(prefix = "/rpc", endpoint = "impact", input = Json)]
pub async fn preview_impact(
    dataset: String,
    changes: Vec<SchemaChange>,
) -> Result<ImpactReport, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    // The page lists a few hundred rows; the rest of a large report
    // would only travel to be left out (the CSV export has them all).
    let limits = domain::impact::Limits {
        per_hop: crate::impact_view::ROWS_SHOWN,
        rows: crate::impact_view::ROWS_SHOWN,
    };
    catalog
        .impact_limited(&dataset, &changes, Some(limits))
        .await
        .map_err(super::server::public)
}

/// Opens a change request (or saves a draft); answers its number.
#[server(prefix = "/rpc", endpoint = "propose", input = Json)]
pub async fn propose_change(
    dataset: String,
    title: String,
    description: String,
    changes: Vec<SchemaChange>,
    draft: bool,
) -> Result<u64, ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::ProposeChange))?;
    let catalog = expect_context::<catalog::Catalog>();
    let new = domain::change_request::NewChangeRequest {
        dataset,
        title,
        description,
        changes,
        draft,
        source_url: None,
        check_report: None,
    };
    catalog
        .open_change_request(new, &who)
        .await
        .map(|cr| cr.id)
        .map_err(super::server::public)
}

#[server(prefix = "/rpc", endpoint = "change_request")]
pub async fn load_change_request(id: u64) -> Result<ChangeRequestPage, ServerFnError> {
    let who = super::server::caller();
    let catalog = expect_context::<catalog::Catalog>();
    let cr = catalog
        .get_change_request(id)
        .await
        .map_err(super::server::public)?;
    Ok(ChangeRequestPage {
        approvers: cr.approver_status(),
        steps: cr.possible_steps(&who),
        me: (!who.is_anonymous()).then_some(who),
        cr,
    })
}

/// Takes one step on a change request; `version` is the version the page
/// showed, so a decision on an outdated page is refused.
#[server(prefix = "/rpc", endpoint = "change_request_step")]
pub async fn take_step(
    id: u64,
    step: String,
    text: String,
    version: u64,
) -> Result<(), ServerFnError> {
    let Some(step) = Step::parse(&step) else {
        return Err(super::server::refused(
            http::StatusCode::BAD_REQUEST,
            format!("unknown step {step:?}"),
        ));
    };
    let who = super::server::require(step.required_action())?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .change_request_step(id, step, &who, &text, Some(version))
        .await
        .map(|_| ())
        .map_err(super::server::public)
}

/// Change requests, newest first, in one state ("" for all) or on one
/// dataset ("" for all).
#[server(prefix = "/rpc", endpoint = "change_requests")]
pub async fn list_change_requests(
    state: String,
    dataset: String,
) -> Result<Vec<ChangeRequest>, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    let state = if state.is_empty() {
        None
    } else {
        Some(
            domain::change_request::CrState::parse(&state)
                .map_err(|e| super::server::refused(http::StatusCode::BAD_REQUEST, e))?,
        )
    };
    let dataset = dataset.trim();
    catalog
        .list_change_requests(state, (!dataset.is_empty()).then_some(dataset))
        .await
        .map_err(super::server::public)
}

/// Open requests waiting for the caller's decision.
#[server(prefix = "/rpc", endpoint = "inbox")]
pub async fn my_inbox() -> Result<Vec<ChangeRequest>, ServerFnError> {
    let who = super::server::require(None)?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog.inbox(&who).await.map_err(super::server::public)
}
