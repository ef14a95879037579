//! The access endpoints of the REST API: signing in and out, API tokens,
//! users, the audit log and a user's notifications.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use catalog::Catalog;
use domain::auth::{Action, Role};
use domain::query::parse_query_string;
use domain::ValidationError;
use serde::Deserialize;
use serde_json::json;

use crate::api::{param, parse_json, ApiError, ApiResult};
use crate::auth::{cleared_cookie, cookie, session_cookie, Caller, SESSION_COOKIE};
use crate::router::AppState;

/// The largest sign-in body.
const MAX_SIGN_IN_BYTES: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/session",
            post(sign_in)
                .get(whoami)
                .delete(sign_out)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_SIGN_IN_BYTES)),
        )
        .route(
            "/session/password",
            post(change_password).layer(axum::extract::DefaultBodyLimit::max(MAX_SIGN_IN_BYTES)),
        )
        .route("/tokens", post(create_token).get(list_tokens))
        .route("/tokens/{prefix}", axum::routing::delete(revoke_token))
        .route("/users", post(add_user).get(list_users))
        .route("/users/{name}", axum::routing::patch(change_user))
        .route("/audit", get(audit))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(mark_read))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    username: String,
    password: String,
    /// Where a form sign-in goes next.
    #[serde(default)]
    next: Option<String>,
}

/// Only paths on this site are followed after a form sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop tabs and newlines inside URLs, so "/\t/evil" would
        // become "//evil": only printable characters without spaces pass.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.bytes().all(|b| b > 0x20 && b != 0x7f) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Whether a body is an HTML form's.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// `POST /api/v1/session`: JSON `{username, password}` answers JSON; an
/// HTML form (the sign-in page, which works without scripts) is
/// redirected back with the cookie set or an error shown.
async fn sign_in(
    State(state): State<AppState>,
    peer: Option<axum::Extension<crate::auth::ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = is_form(&headers);
    let input: SignIn = if form {
        let text = String::from_utf8_lossy(&body);
        let pairs = parse_query_string(&text);
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        SignIn {
            username: get("username").unwrap_or_default(),
            password: get("password").unwrap_or_default(),
            next: get("next"),
        }
    } else {
        match parse_json(&body) {
            Ok(v) => v,
            Err(e) => return e.into_response(),
        }
    };
    let fail = |status: StatusCode, field: &str, message: String| -> Response {
        if form {
            // The page shows a fixed message for a code, so a crafted link
            // cannot make the sign-in page say anything else.
            let code = match (status, field) {
                (StatusCode::TOO_MANY_REQUESTS, _) => "too_many",
                (_, "username") => "username",
                _ => "wrong",
            };
            let to = format!(
                "/signin?error={code}&next={}",
                domain::query::encode_component(&safe_next(input.next.as_deref()))
            );
            Redirect::to(&to).into_response()
        } else {
            ApiError::status(status, field, message).into_response()
        }
    };
    let username = input.username.trim();
    if username.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "username", "is required".into());
    }
    // No user can have a malformed name, so such attempts are refused
    // before they are counted (and cannot fill the counter table).
    if let Err(e) = domain::auth::validate_username(username) {
        return fail(StatusCode::BAD_REQUEST, "username", e.message);
    }
    let keys = crate::auth::sign_in_keys(username, peer.and_then(|axum::Extension(a)| a.0));
    // The attempt is counted before the password is checked, so parallel
    // guesses cannot all slip in before the first failure is recorded.
    let begun = match crate::auth::begin_sign_in(&state.catalog, &keys).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if let Err(wait) = begun {
        let mut r = fail(
            StatusCode::TOO_MANY_REQUESTS,
            "username",
            format!(
                "too many failed sign-ins; try again in {} seconds",
                wait.as_secs().max(1)
            ),
        );
        if !form {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                wait.as_secs().max(1).to_string().parse().expect("a number"),
            );
        }
        return r;
    }
    match state.catalog.sign_in(username, &input.password).await {
        Ok(Some((secret, user))) => {
            crate::auth::sign_in_succeeded(&state.catalog, &keys).await;
            let cookie = [(
                header::SET_COOKIE,
                session_cookie(&secret, state.auth.secure_cookies),
            )];
            if form {
                (cookie, Redirect::to(&safe_next(input.next.as_deref()))).into_response()
            } else {
                (cookie, Json(json!({"user": user}))).into_response()
            }
        }
        Ok(None) => {
            tracing::warn!(user = %username, "a sign-in failed");
            fail(
                StatusCode::UNAUTHORIZED,
                "password",
                "the user name or password is wrong".into(),
            )
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// `GET /api/v1/session`: who the caller is.
async fn whoami(caller: Caller) -> Json<domain::auth::Principal> {
    Json(caller.0)
}

async fn end_session(catalog: &Catalog, headers: &HeaderMap) -> ApiResult<()> {
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        catalog.sign_out(&secret).await?;
    }
    Ok(())
}

/// `DELETE /api/v1/session`.
async fn sign_out(State(catalog): State<Catalog>, headers: HeaderMap) -> ApiResult<Response> {
    end_session(&catalog, &headers).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cleared_cookie())],
    )
        .into_response())
}

/// `POST /signout`: the sign-out button, a plain form.
pub async fn sign_out_form(
    State(catalog): State<Catalog>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    end_session(&catalog, &headers).await?;
    Ok(([(header::SET_COOKIE, cleared_cookie())], Redirect::to("/")).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    /// Whose token; only admins may name someone else.
    #[serde(default)]
    user: Option<String>,
}

/// `POST /api/v1/tokens`: a bearer token for the caller (or, for admins,
/// for any user). The secret is in this answer only.
async fn create_token(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::CreateOwnToken)?;
    let input: NewToken = parse_json(&body)?;
    let user = input.user.unwrap_or_else(|| who.user.clone());
    if user != who.user {
        caller.require(Action::ManageUsers)?;
    }
    let (secret, info) = catalog
        .create_token(&user, &input.name, &who.actor())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"token": secret, "user": info.user, "name": info.name, "prefix": info.prefix})),
    )
        .into_response())
}

async fn list_tokens(
    State(catalog): State<Catalog>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    let who = caller.require(Action::CreateOwnToken)?;
    Ok(Json(
        json!({"items": catalog.list_tokens(&who.user).await?}),
    ))
}

/// `DELETE /api/v1/tokens/{prefix}[?user=NAME]`: revokes the caller's
/// token with that prefix (as `GET /api/v1/tokens` lists it); admins may
/// name another user's.
async fn revoke_token(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(prefix): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<StatusCode> {
    let who = caller.require(Action::CreateOwnToken)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let user = param(&pairs, "user").map_or_else(|| who.user.clone(), str::to_string);
    if user != who.user {
        caller.require(Action::ManageUsers)?;
    }
    catalog.revoke_token(&user, &prefix, &who.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/session/password`: the signed-in user changes their own
/// password. Wrong current passwords count towards the sign-in limit; the
/// session making the change stays, every other one ends. JSON answers
/// JSON; the account page's form (which works without scripts) is
/// redirected back with the outcome.
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = is_form(&headers);
    let outcome = password_outcome(&state, &caller, &headers, &body, form).await;
    match (outcome, form) {
        (Ok(()), false) => StatusCode::NO_CONTENT.into_response(),
        (Ok(()), true) => Redirect::to("/account?password=changed").into_response(),
        (Err(e), false) => e.into_response(),
        // The page shows a fixed message for a code, so a link cannot make
        // it say anything else.
        (Err(e), true) => {
            let code = match (e.status_code(), e.field()) {
                (StatusCode::TOO_MANY_REQUESTS, _) => "too_many",
                (StatusCode::UNAUTHORIZED, _) => "signed_out",
                (_, Some("current_password")) => "current_password",
                (_, Some("new_password")) => "new_password",
                _ => "failed",
            };
            Redirect::to(&format!("/account?error={code}")).into_response()
        }
    }
}

async fn password_outcome(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
    form: bool,
) -> ApiResult<()> {
    let who = caller.signed_in()?;
    let input: PasswordChange = if form {
        let pairs = parse_query_string(&String::from_utf8_lossy(body));
        let get = |k: &str| param(&pairs, k).unwrap_or_default().to_string();
        PasswordChange {
            current_password: get("current_password"),
            new_password: get("new_password"),
        }
    } else {
        parse_json(body)?
    };
    let keys = crate::auth::sign_in_keys(&who.user, None);
    if let Err(wait) = crate::auth::begin_sign_in(&state.catalog, &keys).await? {
        return Err(ApiError::status(
            StatusCode::TOO_MANY_REQUESTS,
            "current_password",
            format!(
                "too many wrong passwords; try again in {} seconds",
                wait.as_secs().max(1)
            ),
        ));
    }
    let session = cookie(headers, SESSION_COOKIE);
    state
        .catalog
        .change_password(
            &who.user,
            &input.current_password,
            &input.new_password,
            session.as_deref(),
        )
        .await?;
    crate::auth::sign_in_succeeded(&state.catalog, &keys).await;
    Ok(())
}

/// `PATCH /api/v1/users/{name}` (admins): any of `display_name`, `roles`,
/// `teams`, `disabled` and `password` (a reset).
async fn change_user(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<domain::auth::User>> {
    let who = caller.require(Action::ManageUsers)?;
    let change: catalog::UserChange = parse_json(&body)?;
    Ok(Json(
        catalog.change_user(&name, change, &who.actor()).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    username: String,
    #[serde(default)]
    display_name: String,
    password: String,
    roles: Vec<Role>,
    #[serde(default)]
    teams: Vec<String>,
}

/// `POST /api/v1/users` (admins).
async fn add_user(
    State(catalog): State<Catalog>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::ManageUsers)?;
    let input: NewUserBody = parse_json(&body)?;
    let user = catalog
        .add_user(
            catalog::NewUser {
                username: input.username,
                display_name: input.display_name,
                password: input.password,
                roles: input.roles,
                teams: input.teams,
            },
            &who.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

async fn list_users(
    State(catalog): State<Catalog>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Action::ManageUsers)?;
    Ok(Json(json!({"items": catalog.list_users().await?})))
}

/// `GET /api/v1/audit?actor=&target=&limit=` (admins).
async fn audit(
    State(catalog): State<Catalog>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require(Action::ReadAudit)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let get = |k: &str| param(&pairs, k);
    let limit = match get("limit") {
        None => 200,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=5000).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(ValidationError::new(
                    "limit",
                    format!("{v:?} is not a whole number from 1 to 5000"),
                ))
            })?,
    };
    let items = catalog
        .audit_log(get("actor"), get("target"), limit)
        .await?;
    Ok(Json(json!({ "items": items })))
}

async fn notifications(
    State(catalog): State<Catalog>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    let who = caller.signed_in()?;
    Ok(Json(
        json!({"items": catalog.notifications(who, 200).await?}),
    ))
}

async fn mark_read(State(catalog): State<Catalog>, caller: Caller) -> ApiResult<StatusCode> {
    let who = caller.signed_in()?;
    catalog.mark_notifications_read(who).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_only_follows_paths_on_this_site() {
        assert_eq!(safe_next(Some("/inbox?x=1")), "/inbox?x=1");
        for evil in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\n/evil",
            "/ /x",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
