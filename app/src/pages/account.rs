//! The signed-in user's account: their password and their API tokens; and,
//! for admins, the users of the catalog.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::{
    list_users, my_tokens, whoami, AddUser, ChangeUser, CreateMyToken, RevokeMyToken,
};
use crate::api::{error_box, error_text};

#[component]
pub fn AccountPage() -> impl IntoView {
    let query = use_query_map();
    let error = crate::components::error_from_query(
        &[
            (
                "current_password",
                "current_password: that is not your current password.",
            ),
            (
                "new_password",
                "new_password: the new password must be 8 to 1024 characters.",
            ),
            (
                "too_many",
                "Too many wrong passwords; wait a few minutes and try again.",
            ),
            ("signed_out", "Sign in first."),
        ],
        "The password could not be changed; see the server log.",
    );
    let changed = move || query.with(|m| m.get("password")).as_deref() == Some("changed");
    let me = Resource::new(|| (), |_| whoami());
    view! {
        <Title text="Account"/>
        <header class="asset-head"><h1>"Account"</h1></header>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(p)) => view! {
                        <p data-testid="account-who">
                            {format!("Signed in as {} ({}) · roles: {}", p.display_name, p.user,
                                p.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "))}
                            {(!p.teams.is_empty()).then(|| format!(" · teams: {}", p.teams.join(", ")))}
                        </p>
                        <Tokens/>
                    }.into_any(),
                    Ok(None) => view! {
                        <p class="error-box">"Sign in to see your account. "<a href="/signin?next=%2Faccount">"Sign in"</a></p>
                    }.into_any(),
                    Err(e) => error_box(&e),
                }
            })}
        </Suspense>
        <section class="panel" data-testid="password">
            <h2>"Change password"</h2>
            {move || changed().then(|| view! { <p class="ok" data-testid="password-changed">"Your password is changed. Your other sessions have ended."</p> })}
            {move || error().map(|e| view! { <p class="error-box" role="alert" data-testid="password-error">{e}</p> })}
            // A plain form, so it works before (and without) the WebAssembly.
            <form method="post" action="/api/v1/session/password" class="stack-form" data-testid="password-form">
                <label class="field">"Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required/>
                </label>
                <label class="field">"New password (at least 8 characters)"
                    <input type="password" name="new_password" autocomplete="new-password" minlength="8" required/>
                </label>
                <button type="submit" class="primary">"Change password"</button>
            </form>
        </section>
    }
}

/// The caller's API tokens: create one (its secret is shown once) or
/// revoke one.
#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateMyToken>::new();
    let revoke = ServerAction::<RevokeMyToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| my_tokens(),
    );
    view! {
        <section class="panel" data-testid="tokens">
            <h2>"API tokens"</h2>
            <p class="small muted">"Machines and scripts use these as bearer tokens (Authorization: Bearer …), for example to post OpenLineage events."</p>
            <ActionForm action=create attr:class="inline-form">
                <input type="text" name="name" placeholder="What it is for, such as airflow-prod" aria-label="Token name" required/>
                <button type="submit" data-testid="create-token">"Create token"</button>
            </ActionForm>
            {move || create.value().get().map(|r| match r {
                Ok(secret) => view! {
                    <p class="ok">"Copy it now; it is not shown again: "<code data-testid="new-token">{secret}</code></p>
                }.into_any(),
                Err(e) => error_box(&e),
            })}
            {move || revoke.value().get().and_then(|r| r.err()).map(|e| error_box(&e))}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(items) if items.is_empty() => view! { <p class="empty">"No tokens."</p> }.into_any(),
                        Ok(items) => view! {
                            <table class="data compact" data-testid="token-list">
                                <thead><tr><th>"Name"</th><th>"Starts with"</th><th>"Created"</th><th></th></tr></thead>
                                <tbody>
                                    {items.into_iter().map(|t| {
                                        let prefix = t.prefix.clone();
                                        view! {
                                            <tr data-prefix=t.prefix.clone()>
                                                <td>{t.name.clone()}</td>
                                                <td class="mono">{format!("{}…", t.prefix)}</td>
                                                <td class="mono small">{t.created_at.clone()}</td>
                                                <td>
                                                    <ActionForm action=revoke>
                                                        <input type="hidden" name="prefix" value=prefix/>
                                                        <button type="submit">"Revoke"</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => error_box(&e),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The users of the catalog, for admins: add one, change roles, teams
/// and whether they may sign in.
#[component]
pub fn UsersPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let change = ServerAction::<ChangeUser>::new();
    let users = Resource::new(
        move || (add.version().get(), change.version().get()),
        |_| list_users(),
    );
    let roles_help = domain::auth::Role::ALL
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <Title text="Users"/>
        <header class="asset-head"><h1>"Users"</h1></header>
        <p class="small muted">{format!("Roles: {roles_help}. Separate several roles or teams with commas. Owners named as teams receive the change requests that affect their assets.")}</p>
        {move || change.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="error-box" role="alert" data-testid="users-error">{error_text(&e)}</p>
        })}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(items) => view! {
                        <table class="data compact" data-testid="users">
                            <thead><tr><th>"User"</th><th>"Roles"</th><th>"Teams"</th><th>"May sign in"</th><th></th></tr></thead>
                            <tbody>
                                {items.into_iter().map(|u| {
                                    let roles = u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
                                    let (name, teams, disabled) = (u.username.clone(), u.teams.join(", "), u.disabled);
                                    view! {
                                        <tr data-user=u.username.clone()>
                                            <td>{u.display_name.clone()}<br/><span class="mono small">{u.username.clone()}</span></td>
                                            <td colspan="4">
                                                <ActionForm action=change attr:class="inline-form">
                                                    <input type="hidden" name="username" value=name/>
                                                    <input type="text" name="roles" value=roles aria-label="Roles"/>
                                                    <input type="text" name="teams" value=teams aria-label="Teams"/>
                                                    <select name="disabled" aria-label="May sign in">
                                                        <option value="false" selected=!disabled>"yes"</option>
                                                        <option value="true" selected=disabled>"no (disabled)"</option>
                                                    </select>
                                                    <button type="submit">"Save"</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="error-box" role="alert">{error_text(&e)}" "<a href="/signin?next=%2Fusers">"Sign in as an admin"</a></p>
                    }.into_any(),
                }
            })}
        </Transition>
        <section class="panel" data-testid="add-user">
            <h2>"Add a user"</h2>
            {move || add.value().get().map(|r| match r {
                Ok(()) => view! { <p class="ok">"Added."</p> }.into_any(),
                Err(e) => error_box(&e),
            })}
            <ActionForm action=add attr:class="stack-form">
                <label class="field">"User name"<input type="text" name="username" required/></label>
                <label class="field">"Display name"<input type="text" name="display_name"/></label>
                <label class="field">"First password (at least 8 characters)"<input type="password" name="password" autocomplete="new-password" required/></label>
                <label class="field">"Roles"<input type="text" name="roles" value="viewer"/></label>
                <label class="field">"Teams"<input type="text" name="teams"/></label>
                <button type="submit" class="primary" data-testid="add-user-submit">"Add user"</button>
            </ActionForm>
        </section>
    }
}
