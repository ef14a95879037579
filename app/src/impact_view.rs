//! How an impact report is shown: counts per kind and severity, the
//! services and owners it reaches, and every affected asset grouped by hop
//! with the column chain that explains it. The propose page shows it as a
//! live preview and the change-request page shows the stored snapshot.

use std::collections::BTreeMap;

use domain::impact::{AffectedAsset, ImpactReport, Severity};
use domain::AssetKind;
use leptos::prelude::*;

use crate::components::{asset_href, AssetLink, KindBadge};

/// The most affected assets (and refresh steps) a page lists; the exports
/// have them all.
pub const ROWS_SHOWN: usize = 300;

/// A coloured label for a severity.
#[component]
pub fn SeverityBadge(severity: Severity) -> impl IntoView {
    view! { <span class=format!("badge sev sev-{}", severity.as_str())>{severity.label()}</span> }
}

fn chain_text(a: &AffectedAsset) -> Vec<String> {
    a.chains
        .iter()
        .map(|chain| {
            chain
                .iter()
                .map(|s| {
                    let name = s.asset.rsplit(':').next().unwrap_or(&s.asset);
                    format!("{name}.{}", s.column)
                })
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .collect()
}

#[component]
pub fn ImpactView(
    report: ImpactReport,
    #[prop(optional)] exports: Option<String>,
) -> impl IntoView {
    // A bounded report (the live preview) says how long its lists are.
    let bounds = report.bounded.clone();
    let affected = report.affected_total();
    let services = bounds
        .as_ref()
        .map_or(report.services.len(), |b| b.services);
    let plan_total = bounds
        .as_ref()
        .map_or(report.refresh_plan.len(), |b| b.refresh_plan);
    let owners = report.owners.len();
    let mut by_hop: BTreeMap<u32, Vec<AffectedAsset>> = BTreeMap::new();
    for a in report.affected.iter().take(ROWS_SHOWN).cloned() {
        by_hop.entry(a.hops).or_default().push(a);
    }
    let cut = (affected + 1).saturating_sub(report.affected.len().min(ROWS_SHOWN));
    let plan_cut = plan_total.saturating_sub(report.refresh_plan.len().min(ROWS_SHOWN));
    let kinds: Vec<AssetKind> = AssetKind::ALL
        .into_iter()
        .filter(|k| report.counts.iter().any(|c| c.kind == *k))
        .collect();
    let sevs = [
        Severity::Breaking,
        Severity::PossiblyBreaking,
        Severity::NonBreaking,
    ];
    let count = {
        let counts = report.counts.clone();
        move |k: AssetKind, s: Severity| {
            counts
                .iter()
                .find(|c| c.kind == k && c.severity == s)
                .map_or(0, |c| c.count)
        }
    };
    view! {
        <section class="panel impact" data-testid="impact">
            <h2>"Impact"</h2>
            <p class="impact-summary">
                <SeverityBadge severity=report.severity/>
                {format!(
                    " {affected} asset{} downstream affected · {services} service{} or application{} hit · {owners} owner{} to notify",
                    if affected == 1 { "" } else { "s" },
                    if services == 1 { "" } else { "s" },
                    if services == 1 { "" } else { "s" },
                    if owners == 1 { "" } else { "s" },
                )}
            </p>
            {exports.map(|base| view! {
                <p class="small">"Export: "
                    <a href=format!("{base}?format=csv") rel="external" data-testid="export-csv">"CSV"</a>" · "
                    <a href=format!("{base}?format=json") rel="external">"JSON"</a>
                </p>
            })}
            <table class="data compact counts" data-testid="impact-counts">
                <thead><tr><th>"Kind"</th>{sevs.map(|s| view! { <th>{s.label()}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {kinds.into_iter().map(|k| {
                        let count = count.clone();
                        view! {
                            <tr><td><KindBadge kind=k/></td>{sevs.map(|s| view! { <td class="num">{count(k, s).to_string()}</td> }).collect_view()}</tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <div class="impact-cols">
                <div>
                    <h3>"Services and applications hit"</h3>
                    {if report.services.is_empty() {
                        view! { <p class="empty">"None."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="plain" data-testid="impact-services">
                                {report.services.iter().map(|s| view! {
                                    <li>
                                        <AssetLink id=s.id.clone() kind=s.kind name=s.name.clone()/>
                                        " "<SeverityBadge severity=s.severity/>
                                        {s.production.then(|| view! { " "<span class="badge prod">"production"</span> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </div>
                <div>
                    <h3>"Owners to notify"</h3>
                    {if report.owners.is_empty() {
                        view! { <p class="empty">"None."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="plain" data-testid="impact-owners">
                                {report.owners.iter().map(|o| view! {
                                    <li>
                                        <span class="owner">{o.owner.clone()}</span>" "
                                        <SeverityBadge severity=o.severity/>
                                        <span class="muted small">{format!(" · {} asset{}", o.asset_count(), if o.asset_count() == 1 { "" } else { "s" })}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </div>
            </div>
            <h3>"Affected assets by hop"</h3>
            <div data-testid="impact-affected">
                {by_hop.into_iter().map(|(hop, assets)| view! {
                    <h4>{if hop == 0 { "The dataset itself".to_string() } else { format!("{hop} hop{} away", if hop == 1 { "" } else { "s" }) }}</h4>
                    <table class="data compact">
                        <thead><tr><th>"Asset"</th><th>"Severity"</th><th>"Why"</th></tr></thead>
                        <tbody>
                            {assets.into_iter().map(|a| {
                                let chains = chain_text(&a);
                                let via: Vec<String> = a.via.iter().map(|v| v.rsplit(':').next().unwrap_or(v).to_string()).collect();
                                view! {
                                    <tr data-affected=a.id.clone()>
                                        <td><AssetLink id=a.id.clone() kind=a.kind name=a.name.clone()/>
                                            {a.production.then(|| view! { " "<span class="badge prod">"production"</span> })}</td>
                                        <td><SeverityBadge severity=a.severity/></td>
                                        <td class="small">
                                            {chains.into_iter().map(|c| view! { <div class="mono chain">{c}</div> }).collect_view()}
                                            {a.possibly.then(|| view! {
                                                <div class="muted">{format!("possibly affected: no column mapping on the way ({})", via.join(" → "))}</div>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }).collect_view()}
                {(cut > 0).then(|| view! { <p class="muted">{format!("… and {cut} more, nearest first; the CSV export lists every one.")}</p> })}
            </div>
            <details class="refresh-plan">
                <summary>{format!("Refresh plan · {plan_total} step{}", if plan_total == 1 { "" } else { "s" })}</summary>
                <ol>
                    {report.refresh_plan.iter().take(ROWS_SHOWN).map(|s| view! {
                        <li>
                            <span class="muted small">{format!("stage {} · ", s.stage)}</span>
                            <KindBadge kind=s.kind/>" "<a href=asset_href(&s.id)>{s.name.clone()}</a>
                            {s.in_cycle.then(|| view! { <span class="badge sev sev-possibly-breaking">" on a cycle"</span> })}
                        </li>
                    }).collect_view()}
                </ol>
                {(plan_cut > 0).then(|| view! { <p class="muted">{format!("… and {plan_cut} more steps.")}</p> })}
            </details>
        </section>
    }
}
