//! The interactive lineage graph: a left-to-right layered drawing of an
//! asset's upstream and downstream, with one colour and shape per kind,
//! hubs marked, "N more" nodes that expand when clicked, double-click to
//! open an asset, path highlighting, fit, zoom and search-to-focus.
//!
//! The server renders the same lineage as lists by distance, which is what
//! a browser without JavaScript shows; once the page hydrates, Cytoscape
//! draws the graph in their place.

use domain::query::{encode_component, GraphNode, GraphView};
use domain::AssetKind;
use leptos::prelude::*;

use crate::components::AssetLink;

/// Colour and Cytoscape shape of each kind; the legend shows the same.
pub const KIND_LOOK: [(AssetKind, &str, &str); 7] = [
    (AssetKind::Dataset, "#2f6fde", "round-rectangle"),
    (AssetKind::Feature, "#12936b", "diamond"),
    (AssetKind::Model, "#8b3fd9", "ellipse"),
    (AssetKind::Evaluation, "#c77a0a", "triangle"),
    (AssetKind::Workflow, "#5b6b82", "rhomboid"),
    (AssetKind::Service, "#d6453d", "hexagon"),
    (AssetKind::Application, "#0f8fa8", "star"),
];

/// What the toolbar asks of the drawing.
#[derive(Debug, Clone)]
pub enum Action {
    Fit,
    Zoom(f64),
    /// Centre on the first asset whose name or id matches.
    Focus(String),
    /// Highlight a shortest path between two asset ids.
    Path(String, String),
    ClearPath,
}

/// The graph panel. `action` is the page the depth form submits to and
/// `tab` an extra query value it keeps. An `offline` panel (on an exported
/// static site) has no depth form or path search, which need the server,
/// and expands nodes from the neighbours' own data files.
#[component]
pub fn GraphPanel(
    view: GraphView,
    action: &'static str,
    #[prop(optional)] tab: Option<&'static str>,
    #[prop(optional)] offline: bool,
) -> impl IntoView {
    let canvas: NodeRef<leptos::html::Div> = NodeRef::new();
    let ready = RwSignal::new(false);
    let status = RwSignal::new(String::new());
    let count = RwSignal::new((view.nodes.len(), view.edges.len()));
    let names = RwSignal::new(
        view.nodes
            .iter()
            .map(|n| (n.id.clone(), n.name.clone()))
            .collect::<Vec<_>>(),
    );
    let focus = RwSignal::new(String::new());
    let path_from = RwSignal::new(view.center.clone());
    let path_to = RwSignal::new(String::new());
    let depth_options = |selected: u32| {
        (0..=crate::api::MAX_DEPTH)
            .map(|d| view! { <option value=d.to_string() selected=d == selected>{d.to_string()}</option> })
            .collect_view()
    };
    let center_field = encode_component(&view.center);
    let capped = view.capped;
    // An outline (`pending`) lists the first assets at each distance; the
    // drawing needs the whole window, fetched once the page is live.
    let loaded = RwSignal::new(!view.pending);
    let outline = view.pending.then(|| {
        let total: usize = view.depth_totals.iter().map(|&(_, n)| n).sum();
        format!(
            "{} assets within {} hop{} up and {} down",
            total + 1,
            view.up,
            if view.up == 1 { "" } else { "s" },
            view.down
        )
    });

    #[cfg(feature = "hydrate")]
    let live = {
        let live = StoredValue::new_local(None::<crate::graph_live::Live>);
        let start = view.clone();
        Effect::new(move |_| {
            let Some(el) = canvas.get() else { return };
            if live.with_value(|l| l.is_some()) {
                return;
            }
            // Cytoscape reads the container's size and place when it
            // starts, so the container is shown at once and the toolbar
            // above it (shown by `ready`) gets a frame to settle first.
            let _ = el.remove_attribute("hidden");
            ready.set(true);
            let start = start.clone();
            let draw = move |view: GraphView| {
                request_animation_frame(move || {
                    if live.try_with_value(|l| l.is_none()) != Some(true) {
                        return;
                    }
                    let l = crate::graph_live::Live::mount(el, &view, status, count, names);
                    live.set_value(Some(l));
                    loaded.set(true);
                });
            };
            if start.pending {
                status.set("loading the drawing…".into());
                leptos::task::spawn_local(async move {
                    match crate::api::lineage_graph(start.center.clone(), start.up, start.down)
                        .await
                    {
                        Ok(full) => {
                            status.set(String::new());
                            draw(full);
                        }
                        Err(e) => status.set(crate::api::error_text(&e)),
                    }
                });
            } else {
                draw(start);
            }
        });
        on_cleanup(move || live.update_value(|l| drop(l.take())));
        live
    };
    // Controls act on the live drawing, which exists only in the browser.
    #[cfg(feature = "hydrate")]
    let act = move |a: Action| {
        live.with_value(|l| {
            if let Some(l) = l {
                l.apply(a)
            }
        })
    };
    #[cfg(not(feature = "hydrate"))]
    let act = |_: Action| {};

    view! {
        <section class="panel graph-panel" data-testid="graph-panel">
            <div class="graph-bar">
                {(!offline).then(|| view! {
                    <form class="depth-form" method="get" action=action>
                        <input type="hidden" name="id" value=center_field/>
                        {tab.map(|t| view! { <input type="hidden" name="tab" value=t/> })}
                        <label>"Upstream " <select name="up" data-testid="up-depth">{depth_options(view.up)}</select></label>
                        <label>"Downstream " <select name="down" data-testid="down-depth">{depth_options(view.down)}</select></label>
                        <button type="submit">"Show"</button>
                    </form>
                })}
                <div class="graph-tools" hidden=move || !ready.get()>
                    <button type="button" data-testid="fit" on:click=move |_| act(Action::Fit)>"Fit"</button>
                    <button type="button" aria-label="Zoom in" on:click=move |_| act(Action::Zoom(1.25))>"+"</button>
                    <button type="button" aria-label="Zoom out" on:click=move |_| act(Action::Zoom(0.8))>"−"</button>
                    <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); act(Action::Focus(focus.get_untracked())); }>
                        <input type="search" list="graph-nodes" aria-label="Find in graph" data-testid="graph-find" placeholder="Find in graph…"
                            prop:value=move || focus.get() on:input=move |ev| focus.set(event_target_value(&ev))/>
                        <button type="submit">"Focus"</button>
                    </form>
                    <form class="inline-form" hidden=offline on:submit=move |ev| { ev.prevent_default(); act(Action::Path(path_from.get_untracked(), path_to.get_untracked())); }>
                        <input list="graph-nodes" aria-label="Path from" data-testid="path-from" prop:value=move || path_from.get() on:input=move |ev| path_from.set(event_target_value(&ev))/>
                        " → "
                        <input list="graph-nodes" aria-label="Path to" data-testid="path-to" placeholder="another asset" prop:value=move || path_to.get() on:input=move |ev| path_to.set(event_target_value(&ev))/>
                        <button type="submit">"Highlight path"</button>
                        <button type="button" on:click=move |_| act(Action::ClearPath)>"Clear"</button>
                    </form>
                </div>
            </div>
            <datalist id="graph-nodes">
                {move || names.get().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
            </datalist>
            <p class="graph-status" data-testid="graph-status" aria-live="polite">
                {move || {
                    if let (false, Some(o)) = (loaded.get(), &outline) {
                        let s = status.get();
                        return if s.is_empty() { o.clone() } else { format!("{o} · {s}") };
                    }
                    let (n, e) = count.get();
                    let s = status.get();
                    let cap = if capped { " (capped; click dashed nodes to expand)" } else { "" };
                    if s.is_empty() { format!("{n} assets, {e} edges{cap}") } else { format!("{n} assets, {e} edges · {s}") }
                }}
            </p>
            <div class="graph-canvas" node_ref=canvas data-testid="graph-canvas" hidden=move || !ready.get()></div>
            <Legend/>
            <p class="hint" hidden=move || !ready.get()>"Click a dashed node to show what it hides; double-click a node to open it; ★ marks hubs."</p>
            <div class="graph-fallback" hidden=move || ready.get() data-testid="graph-fallback">
                <Columns nodes=view.nodes.clone() totals=view.depth_totals.clone() center=view.center.clone() offline=offline/>
            </div>
        </section>
    }
}

#[component]
fn Legend() -> impl IntoView {
    view! {
        <ul class="legend plain" aria-label="Legend">
            {KIND_LOOK.iter().map(|(k, colour, shape)| view! {
                <li><span class=format!("swatch shape-{shape}") style=format!("background:{colour}")></span>{k.as_str()}</li>
            }).collect_view()}
            <li><span class="swatch hub-swatch"></span>"hub"</li>
        </ul>
    }
}

/// The drawing's content as columns by distance, for browsers without
/// JavaScript. Of an outline, each column says how many more there are at
/// its distance and links to the asset page's list of them.
#[component]
fn Columns(
    nodes: Vec<GraphNode>,
    totals: Vec<(i64, usize)>,
    center: String,
    offline: bool,
) -> impl IntoView {
    let mut depths: Vec<i64> = nodes.iter().map(|n| n.depth).collect();
    depths.sort_unstable();
    depths.dedup();
    view! {
        <div class="graph-columns">
            {depths.into_iter().map(|d| {
                let mut col: Vec<&GraphNode> = nodes.iter().filter(|n| n.depth == d).collect();
                col.sort_by(|a, b| a.name.cmp(&b.name));
                let shown = col.len();
                let more = totals
                    .iter()
                    .find(|&&(td, _)| td == d)
                    .map_or(0, |&(_, n)| n.saturating_sub(shown));
                let more_href = format!(
                    "{}&more={}&offset={shown}#hop{d}",
                    crate::components::asset_href(&center),
                    domain::page::PageList::Hop(d).param()
                );
                let title = match d {
                    0 => "This asset".to_string(),
                    d if d < 0 => format!("{} upstream", -d),
                    d => format!("{d} downstream"),
                };
                view! {
                    <div class="graph-column">
                        <h3>{title}</h3>
                        <ul class="plain">
                            {col.into_iter().map(|n| view! {
                                <li>
                                    <AssetLink id=n.id.clone() kind=n.kind name=format!("{}{}", if n.hub { "★ " } else { "" }, n.name)/>
                                    {(n.more > 0).then(|| view! { <span class="muted">{format!(" +{} more", n.more)}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                        {(more > 0 && !offline).then(|| view! {
                            <p class="more"><a href=more_href>{format!("{more} more at this distance")}</a></p>
                        })}
                    </div>
                }
            }).collect_view()}
        </div>
    }
}
