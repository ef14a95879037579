//! Server functions about the caller: who they are, their notifications,
//! and (for admins) the audit log.

use domain::auth::{AuditRecord, Principal};
use domain::query::Notification;
use leptos::prelude::*;

/// The signed-in user, or `None` for an anonymous visitor.
#[server(prefix = "/rpc", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Principal>, ServerFnError> {
    let who = super::server::caller();
    Ok((!who.is_anonymous()).then_some(who))
}

/// The caller's notifications, newest first.
#[server(prefix = "/rpc", endpoint = "notifications")]
pub async fn my_notifications() -> Result<Vec<Notification>, ServerFnError> {
    let who = super::server::require(None)?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .notifications(&who, 200)
        .await
        .map_err(super::server::public)
}

/// Marks all of the caller's notifications as read.
#[server(prefix = "/rpc", endpoint = "mark_read")]
pub async fn mark_read() -> Result<(), ServerFnError> {
    let who = super::server::require(None)?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .mark_notifications_read(&who)
        .await
        .map_err(super::server::public)
}

/// The newest audit records, optionally of one actor (admins only).
#[server(prefix = "/rpc", endpoint = "audit")]
pub async fn audit_log(actor: String) -> Result<Vec<AuditRecord>, ServerFnError> {
    super::server::require(Some(domain::auth::Action::ReadAudit))?;
    let catalog = expect_context::<catalog::Catalog>();
    let actor = actor.trim();
    catalog
        .audit_log((!actor.is_empty()).then_some(actor), None, 500)
        .await
        .map_err(super::server::public)
}

/// The ingestion page: counts, sources, recent and rejected events.
#[server(prefix = "/rpc", endpoint = "ingestion")]
pub async fn ingestion_overview() -> Result<domain::query::IngestOverview, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .ingest_overview()
        .await
        .map_err(super::server::public)
}

/// A workflow's runs, newest first.
#[server(prefix = "/rpc", endpoint = "runs")]
pub async fn workflow_runs(
    id: String,
) -> Result<Vec<domain::openlineage::RunRecord>, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .runs_of(&id, 100)
        .await
        .map_err(super::server::public)
}
