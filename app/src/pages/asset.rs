//! An asset's page: metadata, schema, owners and tags, direct upstream and
//! downstream neighbours, reuse suggestions and version history.

use domain::page::{Listing, PageList, VERSION_WINDOW, WINDOW};
use domain::query::{encode_component, AssetDetail, GraphView, Hop, Neighbor};
use domain::{Asset, Field};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{
    error_text, lineage_graph_as_of, lineage_graph_compare, lineage_outline, load_asset,
};
use crate::components::{asset_href, AssetLink, KindBadge, Pager};
use crate::graph::GraphPanel;
use crate::pages::history::HistorySlider;

/// Columns per page of the schema table.
const COLUMNS_PER_PAGE: usize = 100;

#[component]
pub fn AssetPage() -> impl IntoView {
    let query = use_query_map();
    let id = Memo::new(move |_| query.with(|m| m.get("id").unwrap_or_default()));
    let col_offset = Memo::new(move |_| {
        query.with(|m| {
            m.get("cols")
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(0)
        })
    });
    let tab = Memo::new(move |_| query.with(|m| m.get("tab").unwrap_or_default()));
    let window = Memo::new(move |_| {
        query.with(|m| {
            (
                m.get("more").unwrap_or_default(),
                m.get("offset").unwrap_or_default(),
            )
        })
    });
    let detail = Resource::new(
        move || (id.get(), window.get()),
        |(id, (more, offset))| load_asset(id, more, offset),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Detail d=d col_offset=col_offset.get_untracked() lineage_tab=tab.get_untracked() == "lineage" scaling_tab=tab.get_untracked() == "scaling"/> }.into_any(),
                    Err(e) => view! {
                        <Title text="Not found"/>
                        <section class="error-box" role="alert">
                            <h1>"This asset could not be shown"</h1>
                            <p>{error_text(&e)}</p>
                            <p><a href="/">"Back to the catalog"</a></p>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    d: AssetDetail,
    col_offset: usize,
    lineage_tab: bool,
    scaling_tab: bool,
) -> impl IntoView {
    let AssetDetail {
        asset,
        versions,
        upstream,
        downstream,
        reuse,
        hops,
    } = d;
    let a = asset.clone();
    let search_link = |facet: &str, v: &str| format!("/?{facet}={}", encode_component(v));
    view! {
        <Title text=a.name.clone()/>
        <nav class="crumbs"><a href="/">"Catalog"</a>" / "<a href=search_link("kind", a.kind.as_str())>{a.kind.as_str()}</a>" / "<span>{a.name.clone()}</span></nav>
        <header class="asset-head">
            <div class="asset-title">
                <KindBadge kind=a.kind/>
                <h1 data-testid="asset-name">{a.name.clone()}</h1>
            </div>
            <p class="mono muted asset-id">{a.id.clone()}</p>
            <p class="asset-desc">{if a.description.is_empty() { "No description yet.".to_string() } else { a.description.clone() }}</p>
            <p class="buttons">
                <a class="button" rel="external" download="" data-testid="download-report" href=format!("/api/v1/assets/{}/report", encode_component(&a.id))>"Download report"</a>
                <a class="small" rel="external" href=format!("/api/v1/assets/{}/report?format=svg", encode_component(&a.id))>"SVG"</a>
                <a class="small" rel="external" href=format!("/api/v1/assets/{}/report?format=json", encode_component(&a.id))>"JSON"</a>
            </p>
            {(a.kind == domain::AssetKind::Dataset).then(|| view! {
                <p class="buttons">
                    <a class="button primary" data-testid="propose-change" href=format!("/propose?id={}", encode_component(&encode_component(&a.id)))>"Propose change"</a>
                    <a class="button" href=format!("/changes?dataset={}", encode_component(&encode_component(&a.id)))>"Change requests"</a>
                </p>
            })}
        </header>
        <nav class="tabs" aria-label="Views of this asset">
            <a href=asset_href(&a.id) class:active=!lineage_tab && !scaling_tab aria-current=(!lineage_tab && !scaling_tab).then_some("page")>"Overview"</a>
            <a href=format!("{}&tab=lineage", asset_href(&a.id)) class:active=lineage_tab aria-current=lineage_tab.then_some("page") data-testid="lineage-tab">"Lineage graph"</a>
            {(a.kind == domain::AssetKind::Service).then(|| view! {
                <a href=format!("{}&tab=scaling", asset_href(&a.id)) class:active=scaling_tab aria-current=scaling_tab.then_some("page") data-testid="scaling-tab">"Scaling"</a>
            })}
        </nav>
        {if scaling_tab && a.kind == domain::AssetKind::Service {
            view! { <crate::pages::scaling::ScalingTab id=a.id.clone()/> }.into_any()
        } else if lineage_tab {
            view! {
                <LineageTab id=a.id.clone()/>
                <FullLineage id=a.id.clone() hops=hops/>
            }.into_any()
        } else {
            view! { <Overview asset=asset col_offset=col_offset versions=versions upstream=upstream downstream=downstream reuse=reuse hops=hops/> }.into_any()
        }}
    }
}

#[component]
fn LineageTab(id: String) -> impl IntoView {
    let query = use_query_map();
    let key = Memo::new(move |_| query.with(crate::pages::graph::depths));
    // A moment from the time slider: the graph as it was then.
    let as_of = Memo::new(move |_| query.with(|q| q.get("as_of")));
    // A second moment to compare with: what appeared and what ended.
    let compare = Memo::new(move |_| query.with(|q| q.get("compare")));
    let graph_id = id.clone();
    let graph = Resource::new(
        move || (graph_id.clone(), key.get(), as_of.get(), compare.get()),
        |(id, (up, down), as_of, compare)| async move {
            match (as_of, compare) {
                (as_of, Some(c)) => lineage_graph_compare(id, up, down, as_of, c).await,
                (Some(t), None) => lineage_graph_as_of(id, up, down, t).await,
                (None, None) => lineage_outline(id, up, down).await,
            }
        },
    );
    view! {
        <HistorySlider id=id as_of=as_of compare=compare/>
        <Suspense fallback=|| view! { <p class="loading">"Loading the graph…"</p> }>
            {move || Suspend::new(async move {
                match graph.await {
                    Ok(v) => view! {
                        {compare.get_untracked().map(|c| view! { <CompareSummary view=v.clone() with=c/> })}
                        <GraphPanel view=v action="/asset" tab="lineage"/>
                    }.into_any(),
                    Err(e) => view! { <p class="error-box">{error_text(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What a comparison of two moments found, in words and as lists (the
/// drawing colours the same: green appeared, red ended).
#[component]
fn CompareSummary(view: GraphView, with: String) -> impl IntoView {
    let nodes: std::collections::HashSet<&str> = view.nodes.iter().map(|n| n.id.as_str()).collect();
    let assets_of = |ids: &[String]| {
        let assets = ids.iter().filter(|i| nodes.contains(i.as_str())).count();
        (assets, ids.len() - assets)
    };
    let list = |ids: &[String], class: &'static str| {
        ids.iter()
            .map(|i| view! { <li class=class>{i.replace('|', " → ")}</li> })
            .collect_view()
    };
    let of = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    let (a_assets, a_edges) = assets_of(&view.appeared);
    let (e_assets, e_edges) = assets_of(&view.ended);
    view! {
        <section class="panel compare" data-testid="compare-summary">
            <p>
                {format!("Compared with {with}: ")}
                <span class="appeared">{format!("{} and {} appeared", of(a_assets, "asset"), of(a_edges, "edge"))}</span>
                ", "
                <span class="ended">{format!("{} and {} ended", of(e_assets, "asset"), of(e_edges, "edge"))}</span>
                "."
            </p>
            <details>
                <summary>"What changed"</summary>
                <ul class="compare-list">{list(&view.appeared, "appeared")}{list(&view.ended, "ended")}</ul>
            </details>
        </section>
    }
}

#[allow(clippy::too_many_arguments)]
#[component]
fn Overview(
    asset: Asset,
    col_offset: usize,
    versions: Listing<domain::AssetVersion>,
    upstream: Listing<Neighbor>,
    downstream: Listing<Neighbor>,
    reuse: Vec<domain::query::ReuseCandidate>,
    hops: Vec<Hop>,
) -> impl IntoView {
    let a = asset.clone();
    let search_link = |facet: &str, v: &str| format!("/?{facet}={}", encode_component(v));
    view! {
        <div class="asset-layout">
            <div class="asset-main">
                {a.kind.has_schema().then(|| view! { <SchemaTable asset=asset.clone() offset=col_offset/> })}
                <section class="panel" data-testid="lineage">
                    <h2>"Lineage"</h2>
                    <div class="lineage-cols">
                        <NeighborList id=a.id.clone() title="Upstream" empty="Nothing upstream: this is a source." items=upstream list=PageList::Upstream/>
                        <NeighborList id=a.id.clone() title="Downstream" empty="Nothing reads this yet." items=downstream list=PageList::Downstream/>
                    </div>
                </section>
                <FullLineage id=a.id.clone() hops=hops/>
                {(a.kind == domain::AssetKind::Workflow).then(|| view! { <crate::pages::ingestion::RunHistory id=a.id.clone()/> })}
                <section class="panel" id="versions" data-testid="versions">
                    <h2>{format!("Version history · {}", versions.total)}</h2>
                    <table class="data compact">
                        <thead><tr><th>"Version"</th><th>"When"</th><th>"By"</th><th>"What changed"</th></tr></thead>
                        <tbody>
                            {versions.items.iter().map(|v| view! {
                                <tr><td>{v.version.to_string()}</td><td class="mono">{v.at.clone()}</td><td>{v.by.clone()}</td><td>{v.changes.join(", ")}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <ListPager id=a.id.clone() list=PageList::Versions total=versions.total offset=versions.offset limit=VERSION_WINDOW/>
                </section>
            </div>
            <aside class="asset-side">
                <section class="panel">
                    <h2>"About"</h2>
                    <dl class="facts">
                        <dt>"Namespace"</dt><dd class="mono">{a.namespace.clone()}</dd>
                        <dt>"Owners"</dt>
                        <dd>{a.owners.iter().map(|o| view! { <a class="owner" href=search_link("owner", o)>{o.clone()}</a> }).collect_view()}</dd>
                        <dt>"Tags"</dt>
                        <dd>{a.tags.iter().map(|t| view! { <a class="tag" href=search_link("tag", t)>{t.clone()}</a> }).collect_view()}</dd>
                        {a.domain.clone().map(|d| view! { <dt>"Domain"</dt><dd>{d}</dd> })}
                        <dt>"Version"</dt><dd data-testid="asset-version">{a.version.to_string()}</dd>
                        <dt>"Created"</dt><dd class="mono">{a.created_at.clone().unwrap_or_default()}</dd>
                        <dt>"Updated"</dt><dd class="mono">{a.updated_at.clone().unwrap_or_default()}</dd>
                    </dl>
                </section>
                <Properties asset=asset.clone()/>
                <section class="panel reuse" data-testid="reuse">
                    <h2>"Reuse before you build"</h2>
                    <p class="muted">{format!("Other {}s built from the same upstream assets.", if matches!(a.kind, domain::AssetKind::Model) { "model" } else { "feature" })}</p>
                    {if reuse.is_empty() {
                        view! { <p class="empty">"Nothing similar found."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="plain">
                                {reuse.into_iter().map(|r| view! {
                                    <li>
                                        <AssetLink id=r.id.clone() kind=r.kind name=r.name.clone()/>
                                        <span class="muted">{format!(" · shares {} upstream", r.shared)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                </section>
                <section class="panel">
                    <h2>"API"</h2>
                    <a class="mono small" href=format!("/api/v1/assets/{}", encode_component(&a.id)) rel="external">"GET /api/v1/assets/…"</a>
                </section>
            </aside>
        </div>
    }
}

#[component]
fn SchemaTable(asset: Asset, offset: usize) -> impl IntoView {
    let total = asset.schema.len();
    let id = asset.id.clone();
    let page: Vec<Field> = asset
        .schema
        .into_iter()
        .skip(offset)
        .take(COLUMNS_PER_PAGE)
        .collect();
    let href = Callback::new(move |o: usize| format!("{}&cols={o}", asset_href(&id)));
    view! {
        <section class="panel" data-testid="schema">
            <h2>{format!("Schema · {total} column{}", if total == 1 { "" } else { "s" })}</h2>
            {if total == 0 {
                view! { <p class="empty">"No schema recorded."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="data compact">
                            <thead><tr><th>"#"</th><th>"Column"</th><th>"Type"</th><th>"Nullable"</th><th>"Description"</th></tr></thead>
                            <tbody>
                                {page.into_iter().enumerate().map(|(i, f)| view! {
                                    <tr>
                                        <td class="muted">{(offset + i + 1).to_string()}</td>
                                        <td class="mono">{f.name.clone()}</td>
                                        <td class="mono type">{f.data_type.clone()}</td>
                                        <td>{if f.nullable { "yes" } else { "no" }}</td>
                                        <td>{f.description.clone()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(total > COLUMNS_PER_PAGE).then(|| view! { <Pager total={total as u64} offset=offset limit=COLUMNS_PER_PAGE href=href/> })}
                }.into_any()
            }}
        </section>
    }
}

/// The pager under one of the page's windowed lists; its links page that
/// list and leave the others at their first window.
#[component]
fn ListPager(
    id: String,
    list: PageList,
    total: usize,
    offset: usize,
    limit: usize,
) -> impl IntoView {
    let anchor = match list {
        PageList::Hop(d) => format!("hop{d}"),
        other => other.param(),
    };
    let href = Callback::new(move |o: usize| {
        format!(
            "{}&more={}&offset={o}#{anchor}",
            asset_href(&id),
            list.param()
        )
    });
    (total > limit)
        .then(|| view! { <Pager total=total as u64 offset=offset limit=limit href=href/> })
}

#[component]
fn NeighborList(
    id: String,
    title: &'static str,
    empty: &'static str,
    items: Listing<Neighbor>,
    list: PageList,
) -> impl IntoView {
    let testid = list.param();
    view! {
        <div class="neighbors" id=testid.clone() data-testid=testid>
            <h3>{format!("{title} · {}", items.total)}</h3>
            {if items.total == 0 {
                view! { <p class="empty">{empty}</p> }.into_any()
            } else {
                view! {
                    <ul class="plain">
                        {items.items.iter().map(|n| view! {
                            <li>
                                <span class="edge-kind">{n.edge_kind.as_str()}</span>
                                <AssetLink id=n.id.clone() kind=n.kind name=n.name.clone()/>
                                {(!n.columns.is_empty()).then(|| view! {
                                    <ul class="mappings">
                                        {n.columns.iter().map(|m| view! {
                                            <li class="mono small">
                                                {format!("{} → {}", m.from, m.to)}
                                                {m.transform.clone().map(|t| view! { <span class="muted">{format!(" ({t})")}</span> })}
                                            </li>
                                        }).collect_view()}
                                        {(n.more_columns > 0).then(|| view! {
                                            <li class="muted small">{format!("{} more mappings", n.more_columns)}</li>
                                        })}
                                    </ul>
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                    <ListPager id=id list=list total=items.total offset=items.offset limit=WINDOW/>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn Properties(asset: Asset) -> impl IntoView {
    (!asset.properties.is_empty()).then(|| {
        view! {
            <section class="panel">
                <h2>"Properties"</h2>
                <dl class="facts">
                    {asset.properties.into_iter().map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::String(s) => s,
                            other => other.to_string(),
                        };
                        view! { <dt>{k}</dt><dd class="mono">{text}</dd> }
                    }).collect_view()}
                </dl>
            </section>
        }
    })
}

/// Every asset upstream and downstream, by distance: the whole answer to
/// "where did this come from" and "what does this feed", without scripts.
/// Each distance lists a window of its assets and pages through the rest.
#[component]
fn FullLineage(id: String, hops: Vec<Hop>) -> impl IntoView {
    let (up, down): (Vec<Hop>, Vec<Hop>) = hops.into_iter().partition(|h| h.depth < 0);
    let side = move |mut hops: Vec<Hop>, testid: &'static str, title: &'static str| {
        hops.sort_by_key(|h| h.depth.abs());
        let total: usize = hops.iter().map(|h| h.assets.total).sum();
        let id = id.clone();
        view! {
            <div class="neighbors" data-testid=testid>
                <h3>{format!("{title} · {total}")}</h3>
                {hops.into_iter().map(|h| {
                    let d = h.depth.abs();
                    let label = format!("{d} hop{}", if d == 1 { "" } else { "s" });
                    view! {
                        <div class="hop" id=format!("hop{}", h.depth)>
                            <h4 class="muted small">{format!("{label} · {}", h.assets.total)}</h4>
                            <ul class="plain">
                                {h.assets.items.iter().map(|n| view! {
                                    <li>
                                        <span class="edge-kind">{label.clone()}</span>
                                        <AssetLink id=n.id.clone() kind=n.kind name=n.name.clone()/>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <ListPager id=id.clone() list=PageList::Hop(h.depth) total=h.assets.total offset=h.assets.offset limit=WINDOW/>
                        </div>
                    }
                }).collect_view()}
            </div>
        }
    };
    view! {
        <section class="panel" data-testid="full-lineage">
            <h2>"Full lineage"</h2>
            <div class="lineage-cols">
                {side(up, "all-upstream", "All upstream")}
                {side(down, "all-downstream", "All downstream")}
            </div>
        </section>
    }
    .into_any()
}
