//! Small pieces shared by pages: kind badges, links to assets, pagers.

use domain::query::encode_component;
use domain::AssetKind;
use leptos::prelude::*;

/// A coloured label for an asset kind.
#[component]
pub fn KindBadge(kind: AssetKind) -> impl IntoView {
    view! { <span class=format!("badge kind-{}", kind.as_str())>{kind.as_str()}</span> }
}

thread_local! {
    /// Set on the pages of an exported static site: the relative path to
    /// the site's root, which asset links then resolve against.
    static STATIC_BASE: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Makes asset links point at an exported site's pages (`BASE/a/PAGE.html`).
pub fn set_static_base(base: &str) {
    STATIC_BASE.with(|b| *b.borrow_mut() = Some(base.to_string()));
}

/// The relative path to an exported site's root, on its pages.
pub fn static_base() -> Option<String> {
    STATIC_BASE.with(|b| b.borrow().clone())
}

/// The URL of an asset's page.
pub fn asset_href(id: &str) -> String {
    if let Some(base) = static_base() {
        return format!("{base}a/{}.html", domain::site::page_name(id));
    }
    // Ids go in the query string: path parameters are decoded differently
    // by the server and the browser router, and ids contain `/`. Leptos's
    // router decodes query values twice (once while splitting the query,
    // once per value), so the id is encoded twice to arrive intact.
    format!("/asset?id={}", encode_component(&encode_component(id)))
}

/// A link to an asset, with its kind badge.
#[component]
pub fn AssetLink(id: String, kind: AssetKind, name: String) -> impl IntoView {
    view! {
        <span class="asset-link">
            <KindBadge kind=kind/>
            " "
            <a href=asset_href(&id) title=id.clone()>{name}</a>
        </span>
    }
}

/// "Showing a–b of n" with previous and next links. `href` makes the link
/// for an offset.
#[component]
pub fn Pager(
    total: u64,
    offset: usize,
    limit: usize,
    href: Callback<usize, String>,
    /// The deepest offset the list pages to; past it, Next is replaced by
    /// a hint to narrow the list.
    #[prop(optional)]
    max_offset: Option<usize>,
) -> impl IntoView {
    let total = total as usize;
    let first = if total == 0 { 0 } else { offset + 1 };
    let last = (offset + limit).min(total);
    let page = offset / limit.max(1) + 1;
    let pages = total.div_ceil(limit.max(1)).max(1);
    let prev = (offset > 0).then(|| href.run(offset.saturating_sub(limit)));
    let beyond = max_offset.is_some_and(|m| offset + limit > m);
    let next = (offset + limit < total && !beyond).then(|| href.run(offset + limit));
    view! {
        <nav class="pager" aria-label="Pages">
            <span class="pager-range">{format!("{first}–{last} of {total}")}</span>
            {match prev {
                Some(h) => view! { <a class="pager-btn" rel="prev" href=h>"‹ Previous"</a> }.into_any(),
                None => view! { <span class="pager-btn disabled">"‹ Previous"</span> }.into_any(),
            }}
            <span class="pager-page">{format!("Page {page} of {pages}")}</span>
            {match next {
                Some(h) => view! { <a class="pager-btn" rel="next" href=h>"Next ›"</a> }.into_any(),
                None => view! { <span class="pager-btn disabled">"Next ›"</span> }.into_any(),
            }}
            {(beyond && offset + limit < total).then(|| view! {
                <span class="pager-note">"Narrow the search to see further"</span>
            })}
        </nav>
    }
}

/// The message for the `error` code in the page's URL: a form handled by
/// the server redirects back with a code, and the page shows a fixed text
/// for it (`fallback` for any other code), so a crafted link cannot put
/// words on the page.
pub fn error_from_query(
    messages: &'static [(&'static str, &'static str)],
    fallback: &'static str,
) -> impl Fn() -> Option<&'static str> + Copy {
    let query = leptos_router::hooks::use_query_map();
    move || {
        query
            .with(|m| m.get("error"))
            .filter(|c| !c.is_empty())
            .map(|code| {
                messages
                    .iter()
                    .find(|(k, _)| *k == code)
                    .map_or(fallback, |(_, text)| text)
            })
    }
}
