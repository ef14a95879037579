//! The signed-in user's inbox: change requests waiting for their decision
//! and the notifications sent to them or their teams.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::{my_notifications, MarkRead};
use crate::api::change_requests::my_inbox;
use crate::api::error_text;
use crate::pages::change_request::ChangeTable;

#[component]
pub fn InboxPage() -> impl IntoView {
    let mark = ServerAction::<MarkRead>::new();
    let waiting = Resource::new(|| (), |_| my_inbox());
    let notes = Resource::new(move || mark.version().get(), |_| my_notifications());
    view! {
        <Title text="Inbox"/>
        <header class="asset-head"><h1>"Inbox"</h1></header>
        <section class="panel" data-testid="inbox">
            <h2>"Waiting for my decision"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match waiting.await {
                        Ok(items) => view! { <ChangeTable items=items/> }.into_any(),
                        Err(e) => view! { <p class="error-box">{error_text(&e)}" "<a href="/signin?next=%2Finbox">"Sign in"</a></p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="panel" data-testid="notifications">
            <h2>"Notifications"</h2>
            <ActionForm action=mark><button type="submit">"Mark all as read"</button></ActionForm>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match notes.await {
                        Ok(items) if items.is_empty() => view! { <p class="empty">"Nothing yet."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="plain notes">
                                {items.into_iter().map(|n| view! {
                                    <li class:unread=!n.read>
                                        <a href=format!("/change?id={}", n.change_request)>{n.message.clone()}</a>
                                        <span class="muted small">{format!(" · to {} · {}", n.recipient, n.at)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error-box">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
