//! Server functions about the caller: who they are, their notifications,
//! and (for admins) the audit log.

use domain::auth::{AuditRecord, Principal, TokenInfo, User};
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
pub async fn ingestion_overview(
    source: String,
) -> Result<domain::query::IngestOverview, ServerFnError> {
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .ingest_overview((!source.is_empty()).then_some(source.as_str()))
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

/// The caller's live API tokens.
#[server(prefix = "/rpc", endpoint = "my_tokens")]
pub async fn my_tokens() -> Result<Vec<TokenInfo>, ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::CreateOwnToken))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .list_tokens(&who.user)
        .await
        .map_err(super::server::public)
}

/// A new token for the caller: its secret, shown this once.
#[server(prefix = "/rpc", endpoint = "create_my_token")]
pub async fn create_my_token(name: String) -> Result<String, ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::CreateOwnToken))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .create_token(&who.user, &name, &who.actor())
        .await
        .map(|(secret, _)| secret)
        .map_err(super::server::public)
}

/// Revokes one of the caller's tokens by its prefix.
#[server(prefix = "/rpc", endpoint = "revoke_my_token")]
pub async fn revoke_my_token(prefix: String) -> Result<(), ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::CreateOwnToken))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog
        .revoke_token(&who.user, &prefix, &who.actor())
        .await
        .map_err(super::server::public)
}

/// Every user (admins only).
#[server(prefix = "/rpc", endpoint = "users")]
pub async fn list_users() -> Result<Vec<User>, ServerFnError> {
    super::server::require(Some(domain::auth::Action::ManageUsers))?;
    let catalog = expect_context::<catalog::Catalog>();
    catalog.list_users().await.map_err(super::server::public)
}

/// Adds a user (admins only). `roles` and `teams` are comma-separated.
#[server(prefix = "/rpc", endpoint = "add_user")]
pub async fn add_user(
    username: String,
    display_name: String,
    password: String,
    roles: String,
    teams: String,
) -> Result<(), ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::ManageUsers))?;
    let catalog = expect_context::<catalog::Catalog>();
    let roles = domain::auth::parse_roles(&roles)
        .map_err(|e| super::server::refused(http::StatusCode::BAD_REQUEST, e))?;
    let new = catalog::NewUser {
        username: username.trim().to_string(),
        display_name,
        password,
        roles,
        teams: split_list(&teams),
    };
    catalog
        .add_user(new, &who.actor())
        .await
        .map(|_| ())
        .map_err(super::server::public)
}

/// Changes a user's roles and teams (comma-separated) and whether they
/// are disabled (admins only).
#[server(prefix = "/rpc", endpoint = "change_user")]
pub async fn change_user(
    username: String,
    roles: String,
    teams: String,
    disabled: bool,
) -> Result<(), ServerFnError> {
    let who = super::server::require(Some(domain::auth::Action::ManageUsers))?;
    let catalog = expect_context::<catalog::Catalog>();
    let roles = domain::auth::parse_roles(&roles)
        .map_err(|e| super::server::refused(http::StatusCode::BAD_REQUEST, e))?;
    let change = catalog::UserChange {
        roles: Some(roles),
        teams: Some(split_list(&teams)),
        disabled: Some(disabled),
        ..catalog::UserChange::default()
    };
    catalog
        .change_user(&username, change, &who.actor())
        .await
        .map(|_| ())
        .map_err(super::server::public)
}

/// The non-empty, trimmed items of a comma-separated list.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}
