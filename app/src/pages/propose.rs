//! Proposing a schema change: the dataset's columns with drop, rename,
//! retype and nullability actions (and a new column), a live preview of
//! the impact as the diff changes, and submitting it as a change request.

use domain::impact::{ChangeOp, SchemaChange};
use domain::{Asset, AssetKind, Field};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::change_requests::{preview_impact, propose_change};
use crate::api::{error_text, load_asset_record};
use crate::components::{asset_href, KindBadge};
use crate::impact_view::ImpactView;

#[component]
pub fn ProposePage() -> impl IntoView {
    let query = use_query_map();
    let id = Memo::new(move |_| query.with(|m| m.get("id").unwrap_or_default()));
    let asset = Resource::new(move || id.get(), load_asset_record);
    view! {
        <Title text="Propose a schema change"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match asset.await {
                    Ok(a) if a.kind == AssetKind::Dataset => view! { <Editor asset=a/> }.into_any(),
                    Ok(a) => view! {
                        <section class="error-box" role="alert">
                            <p>{format!("{} is a {}; schema changes are proposed on datasets.", a.name, a.kind)}</p>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <section class="error-box" role="alert"><p>{error_text(&e)}</p></section> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What the user chose for one existing column.
#[derive(Clone, Copy)]
struct Row {
    action: RwSignal<String>,
    arg: RwSignal<String>,
}

fn row_change(f: &Field, action: &str, arg: &str) -> Option<SchemaChange> {
    let mut c = SchemaChange {
        op: ChangeOp::Drop,
        column: f.name.clone(),
        new_name: None,
        data_type: None,
        nullable: None,
    };
    match action {
        "drop" => {}
        "rename" if !arg.trim().is_empty() => {
            c.op = ChangeOp::Rename;
            c.new_name = Some(arg.trim().to_string());
        }
        "retype" if !arg.trim().is_empty() => {
            c.op = ChangeOp::Retype;
            c.data_type = Some(arg.trim().to_string());
        }
        "nullability" => {
            c.op = ChangeOp::Nullability;
            c.nullable = Some(!f.nullable);
        }
        _ => return None,
    }
    Some(c)
}

#[component]
fn Editor(asset: Asset) -> impl IntoView {
    let fields = asset.schema.clone();
    let rows: Vec<Row> = fields
        .iter()
        .map(|_| Row {
            action: RwSignal::new("keep".to_string()),
            arg: RwSignal::new(String::new()),
        })
        .collect();
    let new_name = RwSignal::new(String::new());
    let new_type = RwSignal::new("string".to_string());
    let new_nullable = RwSignal::new(true);
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());

    let changes = {
        let fields = fields.clone();
        let rows = rows.clone();
        Memo::new(move |_| {
            let mut out: Vec<SchemaChange> = fields
                .iter()
                .zip(&rows)
                .filter_map(|(f, r)| row_change(f, &r.action.get(), &r.arg.get()))
                .collect();
            let name = new_name.get();
            if !name.trim().is_empty() {
                out.push(SchemaChange {
                    op: ChangeOp::Add,
                    column: name.trim().to_string(),
                    new_name: None,
                    data_type: Some(new_type.get().trim().to_string()),
                    nullable: Some(new_nullable.get()),
                });
            }
            out
        })
    };
    let dataset = asset.id.clone();
    let preview = Resource::new(
        move || changes.get(),
        move |ch| {
            let dataset = dataset.clone();
            async move {
                if ch.is_empty() {
                    Ok(None)
                } else {
                    preview_impact(dataset, ch).await.map(Some)
                }
            }
        },
    );
    let dataset = asset.id.clone();
    let submit = Action::new(move |draft: &bool| {
        let (dataset, draft) = (dataset.clone(), *draft);
        let (t, d, ch) = (
            title.get_untracked(),
            description.get_untracked(),
            changes.get_untracked(),
        );
        async move { propose_change(dataset, t, d, ch, draft).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = submit.value().get() {
            navigate(&format!("/change?id={id}"), Default::default());
        }
    });

    view! {
        <nav class="crumbs"><a href="/">"Catalog"</a>" / "<a href=asset_href(&asset.id)>{asset.name.clone()}</a>" / "<span>"Propose change"</span></nav>
        <header class="asset-head">
            <div class="asset-title"><KindBadge kind=asset.kind/><h1>{format!("Propose a change to {}", asset.name)}</h1></div>
            <p class="muted">{format!("Schema version {} · {} columns. Choose what to change; the impact below follows every edit.", asset.version, fields.len())}</p>
        </header>
        <div class="propose-layout">
            <section class="panel" data-testid="schema-editor">
                <h2>"Columns"</h2>
                <table class="data compact editor">
                    <thead><tr><th>"Column"</th><th>"Type"</th><th>"Nullable"</th><th>"Change"</th><th></th></tr></thead>
                    <tbody>
                        {fields.iter().zip(rows.iter().copied()).map(|(f, r)| {
                            let name = f.name.clone();
                            let placeholder = move || match r.action.get().as_str() {
                                "rename" => "new name",
                                "retype" => "new type",
                                _ => "",
                            };
                            view! {
                                <tr data-column=name.clone() class:changed=move || r.action.get() != "keep">
                                    <td class="mono">{name.clone()}</td>
                                    <td class="mono">{f.data_type.clone()}</td>
                                    <td>{if f.nullable { "yes" } else { "no" }}</td>
                                    <td>
                                        <select aria-label=format!("Change to {name}") data-testid="column-action"
                                            prop:value=move || r.action.get()
                                            on:change=move |ev| r.action.set(event_target_value(&ev))>
                                            <option value="keep">"keep"</option>
                                            <option value="drop">"drop"</option>
                                            <option value="rename">"rename"</option>
                                            <option value="retype">"retype"</option>
                                            <option value="nullability">{if f.nullable { "make required" } else { "make nullable" }}</option>
                                        </select>
                                    </td>
                                    <td>
                                        <Show when=move || matches!(r.action.get().as_str(), "rename" | "retype")>
                                            <input type="text" data-testid="column-arg" placeholder=placeholder
                                                prop:value=move || r.arg.get()
                                                on:input=move |ev| r.arg.set(event_target_value(&ev))/>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                        <tr class="add-row">
                            <td><input type="text" placeholder="new column" aria-label="New column name" data-testid="new-column"
                                prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/></td>
                            <td><input type="text" aria-label="New column type" prop:value=move || new_type.get() on:input=move |ev| new_type.set(event_target_value(&ev))/></td>
                            <td><input type="checkbox" aria-label="New column is nullable" prop:checked=move || new_nullable.get() on:change=move |ev| new_nullable.set(event_target_checked(&ev))/></td>
                            <td colspan="2" class="muted small">"add"</td>
                        </tr>
                    </tbody>
                </table>
                <h2>"Request"</h2>
                <label class="field">"Title"
                    <input type="text" maxlength="200" placeholder="Optional; made from the changes if empty" data-testid="cr-title"
                        prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                </label>
                <label class="field">"Why"
                    <textarea rows="3" data-testid="cr-description" prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                </label>
                <div class="buttons">
                    <button class="primary" data-testid="submit-change"
                        disabled=move || changes.with(Vec::is_empty) || submit.pending().get()
                        on:click=move |_| { submit.dispatch(false); }>"Open change request"</button>
                    <button disabled=move || changes.with(Vec::is_empty) || submit.pending().get()
                        on:click=move |_| { submit.dispatch(true); }>"Save as draft"</button>
                </div>
                {move || submit.value().get().and_then(Result::err).map(|e| view! {
                    <p class="error-box" role="alert" data-testid="submit-error">{error_text(&e)}</p>
                })}
            </section>
            <div data-testid="preview">
                <Transition fallback=|| view! { <p class="loading">"Computing the impact…"</p> }>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Ok(Some(r)) => view! { <ImpactView report=r/> }.into_any(),
                            Ok(None) => view! { <section class="panel"><p class="empty">"Choose a change to see its impact."</p></section> }.into_any(),
                            Err(e) => view! { <section class="error-box" role="alert"><p>{error_text(&e)}</p></section> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}
