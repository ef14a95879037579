//! The sign-in page: a plain form that posts to `/api/v1/session`, so it
//! works before (and without) the WebAssembly.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let error = crate::components::error_from_query(
        &[
            (
                "too_many",
                "Too many failed sign-ins; wait a few minutes and try again.",
            ),
            (
                "username",
                "username: letters, digits, dots, dashes, underscores or @, at most 64.",
            ),
        ],
        "The user name or password is wrong.",
    );
    let next = move || query.with(|m| m.get("next")).unwrap_or_else(|| "/".into());
    view! {
        <Title text="Sign in"/>
        <section class="panel signin">
            <h1>"Sign in"</h1>
            {move || error().map(|e| view! { <p class="error-box" role="alert" data-testid="signin-error">{e}</p> })}
            <form method="post" action="/api/v1/session" data-testid="signin-form">
                <input type="hidden" name="next" prop:value=next/>
                <label class="field">"User name"
                    <input type="text" name="username" autocomplete="username" required autofocus/>
                </label>
                <label class="field">"Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <p class="muted small">"The demo catalog's users and their passwords are printed in the server log at its first start. Machines use bearer tokens instead (mlgraph token create)."</p>
        </section>
    }
}
