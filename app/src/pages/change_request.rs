//! A change request's page (its diff, the impact snapshot, who has
//! approved and who has not, comments, and the buttons for the steps the
//! viewer may take) and the list of change requests.

use domain::change_request::{ChangeRequest, CrState, Step};
use domain::query::encode_component;
use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::change_requests::{
    list_change_requests, load_change_request, ChangeRequestPage, TakeStep,
};
use crate::api::error_text;
use crate::components::asset_href;
use crate::impact_view::{ImpactView, SeverityBadge};

/// A coloured label for a request's state.
#[component]
pub fn StateBadge(state: CrState) -> impl IntoView {
    view! { <span class=format!("badge state state-{}", state.as_str()) data-testid="cr-state">{state.as_str()}</span> }
}

#[component]
pub fn ChangeRequestView() -> impl IntoView {
    let query = use_query_map();
    let id = Memo::new(move |_| {
        query.with(|m| m.get("id").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
    });
    let step = ServerAction::<TakeStep>::new();
    let page = Resource::new(
        move || (id.get(), step.version().get()),
        |(id, _)| load_change_request(id),
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <Body p=p step=step/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Change request"/>
                        <section class="error-box" role="alert"><p>{error_text(&e)}</p></section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A form that takes one step; `note` adds a text box for a comment.
#[component]
fn StepForm(
    step: ServerAction<TakeStep>,
    cr: u64,
    version: u64,
    which: Step,
    label: &'static str,
    #[prop(optional)] note: bool,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    view! {
        <ActionForm action=step attr:class="step-form">
            <input type="hidden" name="id" value=cr.to_string()/>
            <input type="hidden" name="step" value=which.as_str()/>
            <input type="hidden" name="version" value=version.to_string()/>
            {if note {
                view! { <input type="text" name="text" placeholder="Note (optional)" aria-label=format!("{label} note")/> }.into_any()
            } else {
                view! { <input type="hidden" name="text" value=""/> }.into_any()
            }}
            <button type="submit" class=class data-testid=format!("step-{}", which.as_str())>{label}</button>
        </ActionForm>
    }
}

#[component]
fn Body(p: ChangeRequestPage, step: ServerAction<TakeStep>) -> impl IntoView {
    let ChangeRequestPage {
        cr,
        approvers,
        steps,
        me,
    } = p;
    let can = |s: Step| steps.contains(&s);
    let dataset_name = cr
        .dataset
        .rsplit(':')
        .next()
        .unwrap_or(&cr.dataset)
        .to_string();
    let (id, version) = (cr.id, cr.version);
    let decision_buttons = (can(Step::Approve) || can(Step::Reject)).then(|| {
        view! {
            <div class="buttons">
                {can(Step::Approve).then(|| view! { <StepForm step cr=id version which=Step::Approve label="Approve" note=true class="primary"/> })}
                {can(Step::Reject).then(|| view! { <StepForm step cr=id version which=Step::Reject label="Reject" note=true class="danger"/> })}
            </div>
        }
    });
    let other_buttons = view! {
        <div class="buttons">
            {can(Step::Submit).then(|| view! { <StepForm step cr=id version which=Step::Submit label="Submit for review" class="primary"/> })}
            {can(Step::Apply).then(|| view! { <StepForm step cr=id version which=Step::Apply label="Apply the change" class="primary"/> })}
            {can(Step::Recompute).then(|| view! { <StepForm step cr=id version which=Step::Recompute label="Recompute the impact"/> })}
            {can(Step::Withdraw).then(|| view! { <StepForm step cr=id version which=Step::Withdraw label="Withdraw"/> })}
        </div>
    };
    view! {
        <Title text=format!("Change request {}", cr.id)/>
        <nav class="crumbs"><a href="/changes">"Change requests"</a>" / "<span>{format!("#{}", cr.id)}</span></nav>
        <header class="asset-head">
            <div class="asset-title">
                <StateBadge state=cr.state/>
                <h1 data-testid="cr-title">{format!("#{} {}", cr.id, cr.title)}</h1>
            </div>
            <p class="muted">
                "On "<a href=asset_href(&cr.dataset)>{dataset_name}</a>
                {format!(" · proposed by {} · {} · version {}", cr.proposer, cr.created_at, cr.version)}
                {cr.applied_schema_version.map(|v| format!(" · applied as schema version {v}"))}
            </p>
            {(!cr.description.is_empty()).then(|| view! { <p class="asset-desc">{cr.description.clone()}</p> })}
            {cr.source_url.clone().map(|url| view! {
                <p data-testid="cr-source">"From "<a href=url.clone() rel="external nofollow noopener">{url.clone()}</a></p>
            })}
            {cr.check_report.clone().map(|report| view! {
                <details class="panel" data-testid="cr-check-report">
                    <summary>"The report of the check that opened it"</summary>
                    <pre>{report}</pre>
                </details>
            })}
            <p class="buttons"><a class="button" rel="external" download="" data-testid="download-report" href=format!("/api/v1/change-requests/{}/report", cr.id)>"Download report"</a></p>
        </header>
        {cr.stale.then(|| view! {
            <p class="error-box" role="alert" data-testid="stale">"The graph changed after this impact was computed, and the impact is no longer the same. Recompute it before anyone decides."</p>
        })}
        {move || step.value().get().and_then(Result::err).map(|e| view! {
            <p class="error-box" role="alert" data-testid="step-error">{error_text(&e)}</p>
        })}
        <div class="propose-layout">
            <div>
                <section class="panel">
                    <h2>"Changes"</h2>
                    <ul data-testid="cr-changes">
                        {cr.changes.iter().map(|c| view! { <li class="mono">{c.summary()}</li> }).collect_view()}
                    </ul>
                </section>
                <section class="panel" data-testid="approvals">
                    <h2>"Approvals"</h2>
                    <p class="muted small">"The owners of the affected assets must approve, or one user with the approver role."</p>
                    <table class="data compact">
                        <thead><tr><th>"Required approver"</th><th>"Signed off by"</th></tr></thead>
                        <tbody>
                            {approvers.into_iter().map(|a| view! {
                                <tr data-approver=a.owner.clone()>
                                    <td class="owner">{a.owner.clone()}</td>
                                    <td>{match a.approved_by {
                                        Some(u) => view! { <span class="ok">{format!("✓ {u}")}</span> }.into_any(),
                                        None => view! { <span class="muted">"waiting"</span> }.into_any(),
                                    }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <ul class="plain decisions">
                        {cr.approvals.iter().map(|d| view! {
                            <li>{format!("✓ approved by {}{} at {}{}", d.user, if d.as_approver { " (approver)" } else { "" }, d.at,
                                if d.comment.is_empty() { String::new() } else { format!(": {}", d.comment) })}</li>
                        }).collect_view()}
                        {cr.rejection.clone().map(|d| view! {
                            <li class="danger-text">{format!("✗ rejected by {} at {}{}", d.user, d.at,
                                if d.comment.is_empty() { String::new() } else { format!(": {}", d.comment) })}</li>
                        })}
                    </ul>
                    {decision_buttons}
                    {other_buttons}
                    {me.is_none().then(|| view! { <p class="muted"><a href=format!("/signin?next={}", encode_component(&format!("/change?id={id}")))>"Sign in"</a>" to take part."</p> })}
                </section>
                <section class="panel" data-testid="comments">
                    <h2>{format!("Comments · {}", cr.comments.len())}</h2>
                    <ul class="plain comments">
                        {cr.comments.iter().map(|c| view! {
                            <li><strong>{c.user.clone()}</strong><span class="muted small">{format!(" · {}", c.at)}</span><p>{c.text.clone()}</p></li>
                        }).collect_view()}
                    </ul>
                    {can(Step::Comment).then(|| view! {
                        <ActionForm action=step attr:class="comment-form">
                            <input type="hidden" name="id" value=id.to_string()/>
                            <input type="hidden" name="step" value="comment"/>
                            <input type="hidden" name="version" value=version.to_string()/>
                            <textarea name="text" rows="2" required aria-label="Comment" data-testid="comment-text"></textarea>
                            <button type="submit" data-testid="step-comment">"Comment"</button>
                        </ActionForm>
                    })}
                </section>
            </div>
            <ImpactView report=cr.impact.clone() exports=format!("/api/v1/change-requests/{id}/impact")/>
        </div>
    }
}

/// A table of change requests.
#[component]
pub fn ChangeTable(items: Vec<ChangeRequest>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="empty">"No change requests here."</p> }.into_any();
    }
    view! {
        <table class="data" data-testid="change-list">
            <thead><tr><th>"#"</th><th>"Title"</th><th>"Dataset"</th><th>"State"</th><th>"Impact"</th><th>"Proposer"</th><th>"Updated"</th></tr></thead>
            <tbody>
                {items.into_iter().map(|cr| view! {
                    <tr>
                        <td>{cr.id.to_string()}</td>
                        <td><a href=format!("/change?id={}", cr.id)>{cr.title.clone()}</a>
                            {cr.stale.then(|| view! { " "<span class="badge sev sev-possibly-breaking">"stale"</span> })}</td>
                        <td><a href=asset_href(&cr.dataset)>{cr.dataset.rsplit(':').next().unwrap_or_default().to_string()}</a></td>
                        <td><StateBadge state=cr.state/></td>
                        <td><SeverityBadge severity=cr.impact.severity/></td>
                        <td>{cr.proposer.clone()}</td>
                        <td class="mono small">{cr.updated_at.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn ChangeListPage() -> impl IntoView {
    let query = use_query_map();
    let key = Memo::new(move |_| {
        query.with(|m| {
            (
                m.get("state").unwrap_or_default(),
                m.get("dataset").unwrap_or_default(),
            )
        })
    });
    let list = Resource::new(
        move || key.get(),
        |(state, dataset)| list_change_requests(state, dataset),
    );
    let filter = move |state: &'static str| {
        let dataset = key.with_untracked(|k| k.1.clone());
        let mut href = format!("/changes?state={state}");
        if !dataset.is_empty() {
            href.push_str(&format!(
                "&dataset={}",
                encode_component(&encode_component(&dataset))
            ));
        }
        view! { <a href=href class:active=move || key.with(|k| k.0 == state)>{if state.is_empty() { "all" } else { state }}</a> }
    };
    view! {
        <Title text="Change requests"/>
        <header class="asset-head"><h1>"Change requests"</h1></header>
        <nav class="tabs" aria-label="Filter by state">
            {filter("")}{filter("open")}{filter("approved")}{filter("applied")}{filter("rejected")}{filter("draft")}{filter("withdrawn")}
        </nav>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) => view! { <ChangeTable items=items/> }.into_any(),
                    Err(e) => view! { <p class="error-box">{error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
