//! The catalog page: full-text search, facets with counts, a paged table.

use domain::query::{SearchQuery, SearchResult, DEFAULT_LIMIT, MAX_OFFSET};
use domain::{Asset, AssetKind};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{error_text, search_assets};
use crate::components::{AssetLink, Pager};

/// The current search as the URL states it. Invalid values are kept out
/// here and reported by the server function instead.
fn query_string(map: &leptos_router::params::ParamsMap) -> String {
    let mut pairs = Vec::new();
    for key in [
        "q", "kind", "owner", "tag", "limit", "offset", "after", "fq",
    ] {
        for v in map.get_all(key).unwrap_or_default() {
            pairs.push((key.to_string(), v));
        }
    }
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", domain::query::encode_component(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn href(q: &SearchQuery) -> String {
    let s = q.to_query_string();
    if s.is_empty() {
        "/".to_string()
    } else {
        format!("/?{s}")
    }
}

/// The same search with one facet value switched on or off, from page one.
fn toggled(q: &SearchQuery, facet: &str, value: &str) -> String {
    let mut next = q.clone();
    next.offset = 0;
    next.after = None;
    match facet {
        "kind" => {
            if let Ok(k) = value.parse::<AssetKind>() {
                if let Some(pos) = next.kinds.iter().position(|x| *x == k) {
                    next.kinds.remove(pos);
                } else {
                    next.kinds.push(k);
                }
            }
        }
        "owner" => toggle(&mut next.owners, value),
        _ => toggle(&mut next.tags, value),
    }
    href(&next)
}

fn toggle(list: &mut Vec<String>, value: &str) {
    if let Some(pos) = list.iter().position(|x| x == value) {
        list.remove(pos);
    } else {
        list.push(value.to_string());
    }
}

/// The search's parameters as hidden form fields, for a form whose own
/// input is `own` (`q` or `fq`): submitting it keeps the rest of the search
/// and starts from the first page.
fn hidden_fields(q: &SearchQuery, own: &str) -> Vec<(&'static str, String)> {
    q.kinds
        .iter()
        .map(|k| ("kind", k.as_str().to_string()))
        .chain(q.owners.iter().map(|o| ("owner", o.clone())))
        .chain(q.tags.iter().map(|t| ("tag", t.clone())))
        .chain((q.limit != DEFAULT_LIMIT).then(|| ("limit", q.limit.to_string())))
        .chain((own != "q" && !q.q.is_empty()).then(|| ("q", q.q.clone())))
        .chain((own != "fq" && !q.fq.is_empty()).then(|| ("fq", q.fq.clone())))
        .collect()
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let raw = Memo::new(move |_| query.with(query_string));
    let results = Resource::new(move || raw.get(), search_assets);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                let raw = raw.get_untracked();
                let parsed = SearchQuery::from_pairs(domain::query::parse_query_string(&raw));
                match (results.await, parsed) {
                    (Ok(r), Ok(q)) => view! { <Results q=q r=r/> }.into_any(),
                    (Err(e), _) => view! { <ErrorBox message=error_text(&e)/> }.into_any(),
                    (_, Err(e)) => view! { <ErrorBox message=e.to_string()/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ErrorBox(message: String) -> impl IntoView {
    view! {
        <section class="error-box" role="alert">
            <h2>"That search could not run"</h2>
            <p>{message}</p>
            <p><a href="/">"Start a new search"</a></p>
        </section>
    }
}

#[component]
fn Results(q: SearchQuery, r: SearchResult) -> impl IntoView {
    let title = if q.q.is_empty() {
        "Catalog".to_string()
    } else {
        format!("“{}”", q.q)
    };
    let chips: Vec<(String, String, String)> = q
        .kinds
        .iter()
        .map(|k| ("kind".to_string(), k.as_str().to_string()))
        .chain(q.owners.iter().map(|o| ("owner".to_string(), o.clone())))
        .chain(q.tags.iter().map(|t| ("tag".to_string(), t.clone())))
        .map(|(f, v)| (f.clone(), v.clone(), toggled(&q, &f, &v)))
        .collect();
    // A listing without words pages by offset up to MAX_OFFSET and by
    // cursor (`after`) past it; ranked results stop at MAX_OFFSET.
    let listing =
        !q.q.split(|c: char| !c.is_alphanumeric())
            .any(|w| w.chars().count() >= 2);
    let pager_q = q.clone();
    let cursor = r.next.clone();
    let page_href = Callback::new(move |offset: usize| {
        let mut n = pager_q.clone();
        match (&cursor, offset > MAX_OFFSET) {
            (Some(after), true) => {
                n.offset = 0;
                n.after = Some(after.clone());
            }
            _ => n.offset = offset,
        }
        href(&n)
    });
    let max_offset = (!listing).then_some(MAX_OFFSET);
    let first_q = {
        let mut n = q.clone();
        n.after = None;
        n.offset = 0;
        href(&n)
    };
    let next_q = r.next.clone().map(|after| {
        let mut n = q.clone();
        n.after = Some(after);
        n.offset = 0;
        href(&n)
    });
    let continued = q.after.clone();
    let fq_hidden = hidden_fields(&q, "fq");
    let more = r.facets.more.clone();
    let more_of = move |f: &str| more.get(f).copied().unwrap_or(0);
    let sizes: Vec<(usize, String, bool)> = [25usize, 50, 100, 250]
        .into_iter()
        .map(|s| {
            let mut n = q.clone();
            n.limit = s;
            n.offset = 0;
            n.after = None;
            (s, href(&n), s == q.limit)
        })
        .collect();
    let hidden = hidden_fields(&q, "q");
    view! {
        <Title text=title/>
        <div class="search-layout">
            <aside class="facets" aria-label="Filters">
                <form class="facet-filter" method="get" action="/" role="search">
                    {fq_hidden.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                    <input type="search" name="fq" value=q.fq.clone() placeholder="Filter owners and tags" aria-label="Filter facet values"/>
                </form>
                <FacetGroup name="kind" label="Kind" counts=r.facets.kind.clone() selected=q.kinds.iter().map(|k| k.as_str().to_string()).collect() q=q.clone() limit=7 more=more_of("kind")/>
                <FacetGroup name="owner" label="Owner" counts=r.facets.owner.clone() selected=q.owners.clone() q=q.clone() limit=12 more=more_of("owner")/>
                <FacetGroup name="tag" label="Tag" counts=r.facets.tag.clone() selected=q.tags.clone() q=q.clone() limit=15 more=more_of("tag")/>
            </aside>
            <section class="results">
                <form class="searchbar" method="get" action="/" role="search">
                    <input type="search" name="q" value=q.q.clone() placeholder="Search names, descriptions, columns and tags" aria-label="Search text" autofocus/>
                    {hidden.into_iter().map(|(k, v)| view! { <input type="hidden" name=k value=v/> }).collect_view()}
                    <button type="submit">"Search"</button>
                </form>
                <div class="result-head">
                    <h1 data-testid="result-count">{format!("{} asset{}", r.total, if r.total == 1 { "" } else { "s" })}</h1>
                    <div class="chips">
                        {chips.into_iter().map(|(f, v, h)| view! {
                            <a class="chip" href=h title="Remove this filter">{format!("{f}: {v}")}" ✕"</a>
                        }).collect_view()}
                    </div>
                </div>
                <AssetTable items=r.items/>
                <div class="table-foot">
                    {match continued {
                        None => view! { <Pager total=r.total offset=q.offset limit=q.limit href=page_href max_offset=max_offset.unwrap_or(usize::MAX)/> }.into_any(),
                        Some(after) => view! {
                            <nav class="pager" aria-label="Pages">
                                <a class="pager-btn" href=first_q>"« First page"</a>
                                <span class="pager-range">{format!("After {}", domain::query::asset_after(&after).and_then(|id| domain::asset::parse_asset_id(&id).ok()).map(|(_, _, n)| n).unwrap_or_default())}</span>
                                {match next_q {
                                    Some(h) => view! { <a class="pager-btn" rel="next" href=h>"Next ›"</a> }.into_any(),
                                    None => view! { <span class="pager-btn disabled">"Next ›"</span> }.into_any(),
                                }}
                            </nav>
                        }.into_any(),
                    }}
                    <span class="page-sizes">"Rows: "
                        {sizes.into_iter().map(|(s, h, on)| view! {
                            <a href=h class:current=on>{s.to_string()}</a>
                        }).collect_view()}
                    </span>
                </div>
            </section>
        </div>
    }
}

#[component]
fn FacetGroup(
    name: &'static str,
    label: &'static str,
    counts: std::collections::BTreeMap<String, u64>,
    selected: Vec<String>,
    q: SearchQuery,
    limit: usize,
    /// How many values the server left out of `counts`.
    more: u64,
) -> impl IntoView {
    let mut entries: Vec<(String, u64)> = counts.into_iter().collect();
    // Selected values always show, even with no hits under other filters.
    for s in &selected {
        if !entries.iter().any(|(v, _)| v == s) {
            entries.push((s.clone(), 0));
        }
    }
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let hidden = entries.len().saturating_sub(limit);
    let (shown, rest): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .enumerate()
        .partition(|(i, (v, _))| *i < limit || selected.contains(v));
    let row = move |(v, n): (String, u64)| {
        let on = selected.contains(&v);
        let h = toggled(&q, name, &v);
        view! {
            <li>
                <a href=h class="facet" class:on=on data-facet=name data-value=v.clone()>
                    <span class="check" aria-hidden="true">{if on { "☑" } else { "☐" }}</span>
                    <span class="facet-value">{v.clone()}</span>
                    <span class="count">{n.to_string()}</span>
                </a>
            </li>
        }
    };
    let row2 = row.clone();
    view! {
        <div class="facet-group">
            <h2>{label}</h2>
            <ul>{shown.into_iter().map(|(_, e)| row(e)).collect_view()}</ul>
            {(hidden > 0).then(|| view! {
                <details>
                    <summary>{format!("{} more", rest.len())}</summary>
                    <ul>{rest.into_iter().map(|(_, e)| row2(e)).collect_view()}</ul>
                </details>
            })}
            {(more > 0).then(|| view! {
                <p class="facet-more" data-facet=name>{format!("{more} more; filter the values to find them")}</p>
            })}
        </div>
    }
}

#[component]
fn AssetTable(items: Vec<Asset>) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="empty">"No asset matches. Try fewer words or remove a filter."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data" data-testid="results">
                <thead>
                    <tr><th>"Name"</th><th>"Namespace"</th><th>"Owners"</th><th>"Tags"</th><th>"Description"</th></tr>
                </thead>
                <tbody>
                    {items.into_iter().map(|a| view! {
                        <tr>
                            <td class="name"><AssetLink id=a.id.clone() kind=a.kind name=a.name.clone()/></td>
                            <td class="mono muted">{a.namespace.clone()}</td>
                            <td>{a.owners.join(", ")}</td>
                            <td>{a.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
                            <td class="desc">{a.description.clone()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
