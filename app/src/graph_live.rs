//! The live drawing behind [`crate::graph::GraphPanel`], in the browser
//! only: it creates the Cytoscape instance, answers clicks (expand,
//! open), and carries out the toolbar's actions. Changes go in batches so
//! that an expansion costs one redraw.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use domain::query::{GraphDelta, GraphNode, GraphView, LineageEdge};
use leptos::prelude::*;
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::asset_href;
use crate::cy::{cytoscape, js, Collection, Core};
use crate::graph::{Action, KIND_LOOK};

/// Up to this many nodes the dagre layout places everything; above it the
/// columns are laid out directly by distance, which stays instant at
/// thousands of nodes.
const DAGRE_MAX: usize = 600;
/// Above this many nodes, rendering trades detail for speed while panning.
const BIG: usize = 1_000;
const COLUMN: f64 = 280.0;
const ROW: f64 = 40.0;

fn label(name: &str, more: usize, hub: bool) -> String {
    let star = if hub { "★ " } else { "" };
    if more > 0 {
        format!("{star}{name}\n+{more} more")
    } else {
        format!("{star}{name}")
    }
}

fn edge_id(e: &LineageEdge) -> String {
    e.key()
}

fn node_json(n: &GraphNode, center: &str, position: Option<(f64, f64)>) -> Value {
    let mut classes = vec![format!("k-{}", n.kind.as_str())];
    if n.more > 0 {
        classes.push("has-more".into());
    }
    if n.hub {
        classes.push("hub".into());
    }
    if n.id == center {
        classes.push("center".into());
    }
    let mut v = json!({
        "group": "nodes",
        "data": {
            "id": n.id,
            "name": n.name,
            "kind": n.kind.as_str(),
            "more": n.more,
            "hub": n.hub,
            "label": label(&n.name, n.more, n.hub),
        },
        "classes": classes.join(" "),
    });
    if let Some((x, y)) = position {
        v["position"] = json!({ "x": x, "y": y });
    }
    v
}

/// What expanding `id` adds, from the graph view centred on it: its
/// direct neighbours and the edges among them.
fn delta_from_view(v: &GraphView, id: &str) -> GraphDelta {
    let near: HashSet<&str> = v
        .nodes
        .iter()
        .filter(|n| n.depth.abs() <= 1)
        .map(|n| n.id.as_str())
        .collect();
    let centre_more = v.nodes.iter().find(|n| n.id == id).map_or(0, |n| n.more);
    GraphDelta {
        nodes: v
            .nodes
            .iter()
            .filter(|n| n.id != id && near.contains(n.id.as_str()))
            .cloned()
            .collect(),
        edges: v
            .edges
            .iter()
            .filter(|e| near.contains(e.from.as_str()) && near.contains(e.to.as_str()))
            .cloned()
            .collect(),
        more: vec![(id.to_string(), centre_more)],
        path: vec![],
    }
}

fn edge_json(e: &LineageEdge) -> Value {
    json!({
        "group": "edges",
        "data": { "id": edge_id(e), "source": e.from, "target": e.to, "kind": e.kind.as_str() },
    })
}

fn style(big: bool) -> Value {
    let mut rules = vec![
        json!({ "selector": "node", "style": {
            "label": "data(label)", "text-wrap": "wrap", "text-max-width": "170px",
            "font-size": "10px", "text-valign": "bottom", "text-margin-y": "4px",
            "width": "24px", "height": "24px", "color": "#1f2937",
            "border-width": "1px", "border-color": "#ffffff",
            "min-zoomed-font-size": if big { 9 } else { 0 },
        }}),
        json!({ "selector": "edge", "style": {
            "width": 1.4, "line-color": "#b6bfcc", "target-arrow-color": "#b6bfcc",
            "target-arrow-shape": "triangle", "arrow-scale": 0.8,
            "curve-style": if big { "haystack" } else { "bezier" },
        }}),
    ];
    for (kind, colour, shape) in KIND_LOOK {
        rules.push(json!({ "selector": format!("node.k-{}", kind.as_str()),
            "style": { "background-color": colour, "shape": shape } }));
    }
    rules.extend([
        json!({ "selector": "node.has-more", "style": { "border-width": "3px", "border-style": "dashed", "border-color": "#6b7280" }}),
        json!({ "selector": "node.appeared", "style": { "border-width": "4px", "border-style": "solid", "border-color": "#16a34a" }}),
        json!({ "selector": "node.ended", "style": { "border-width": "4px", "border-style": "dotted", "border-color": "#dc2626", "opacity": 0.6 }}),
        json!({ "selector": "edge.appeared", "style": { "line-color": "#16a34a", "target-arrow-color": "#16a34a", "width": 3 }}),
        json!({ "selector": "edge.ended", "style": { "line-color": "#dc2626", "target-arrow-color": "#dc2626", "line-style": "dashed", "width": 3 }}),
        json!({ "selector": "node.hub", "style": { "border-width": "4px", "border-style": "solid", "border-color": "#f5b700", "width": "34px", "height": "34px", "font-weight": "bold" }}),
        json!({ "selector": "node.center", "style": { "border-width": "5px", "border-style": "double", "border-color": "#111827", "width": "36px", "height": "36px", "font-weight": "bold" }}),
        json!({ "selector": ".faded", "style": { "opacity": 0.15 }}),
        json!({ "selector": "node.on-path", "style": { "border-width": "5px", "border-color": "#e11d48", "opacity": 1 }}),
        json!({ "selector": "edge.on-path", "style": { "line-color": "#e11d48", "target-arrow-color": "#e11d48", "width": 4, "opacity": 1 }}),
        json!({ "selector": "node:selected", "style": { "overlay-color": "#2563eb", "overlay-opacity": 0.25 }}),
    ]);
    Value::Array(rules)
}

/// Positions by signed distance: one column per hop, rows by kind then
/// name, centred on the row axis.
fn columns(nodes: &[GraphNode]) -> HashMap<String, (f64, f64)> {
    let mut by_depth: std::collections::BTreeMap<i64, Vec<&GraphNode>> = Default::default();
    for n in nodes {
        by_depth.entry(n.depth).or_default().push(n);
    }
    let mut at = HashMap::new();
    for (d, mut col) in by_depth {
        col.sort_by(|a, b| (a.kind as u8, &a.name).cmp(&(b.kind as u8, &b.name)));
        let top = -(col.len() as f64 - 1.0) * ROW / 2.0;
        for (i, n) in col.into_iter().enumerate() {
            at.insert(n.id.clone(), (d as f64 * COLUMN, top + i as f64 * ROW));
        }
    }
    at
}

/// Cytoscape's WebGL renderer is still marked experimental upstream, so it
/// is opt-in: `renderer=webgl` in the page's query string turns it on (the
/// render benchmark compares both).
fn webgl_requested() -> bool {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .is_some_and(|q| q.split(['?', '&']).any(|kv| kv == "renderer=webgl"))
}

fn set(obj: &js_sys::Object, key: &str, value: &JsValue) {
    js_sys::Reflect::set(obj, &JsValue::from_str(key), value)
        .expect("setting a property of a plain object");
}

fn number(v: &JsValue, key: &str) -> f64 {
    js_sys::Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0)
}

struct Inner {
    cy: Core,
    el: web_sys::HtmlDivElement,
    center: String,
    pending: RefCell<HashSet<String>>,
    status: RwSignal<String>,
    count: RwSignal<(usize, usize)>,
    names: RwSignal<Vec<(String, String)>>,
}

/// A mounted drawing; dropping it destroys the Cytoscape instance.
pub struct Live {
    inner: Rc<Inner>,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.inner.cy.destroy();
    }
}

impl Live {
    pub fn mount(
        el: web_sys::HtmlDivElement,
        view: &GraphView,
        status: RwSignal<String>,
        count: RwSignal<(usize, usize)>,
        names: RwSignal<Vec<(String, String)>>,
    ) -> Live {
        let started = js_sys::Date::now();
        let big = view.nodes.len() > BIG;
        let dagre = view.nodes.len() <= DAGRE_MAX;
        let at = if dagre {
            HashMap::new()
        } else {
            columns(&view.nodes)
        };
        let mut elements: Vec<Value> = view
            .nodes
            .iter()
            .map(|n| node_json(n, &view.center, at.get(&n.id).copied()))
            .collect();
        elements.extend(view.edges.iter().map(edge_json));
        let mut options = json!({
            "elements": elements,
            "style": style(big),
            "layout": layout(dagre),
            "minZoom": 0.03,
            "maxZoom": 3,
            "textureOnViewport": big,
            "hideEdgesOnViewport": big,
            "pixelRatio": if big { json!(1) } else { json!("auto") },
        });
        if webgl_requested() {
            options["renderer"] = json!({"name": "canvas", "webgl": true});
        }
        let options = js(&options);
        set(options.unchecked_ref(), "container", &el);
        let cy = cytoscape(&options);
        // A handle for the browser console and the end-to-end tests.
        if let Some(w) = web_sys::window() {
            let _ = js_sys::Reflect::set(&w, &JsValue::from_str("mlgraphCy"), &cy);
        }
        // Two moments compared: what appeared and what ended between them.
        for (ids, class) in [(&view.appeared, "appeared"), (&view.ended, "ended")] {
            for id in ids {
                cy.element(id).add_class(class);
            }
        }
        let inner = Rc::new(Inner {
            cy,
            el,
            center: view.center.clone(),
            pending: RefCell::new(HashSet::new()),
            status,
            count,
            names,
        });
        inner.recount();
        let ms = js_sys::Date::now() - started;
        let _ = inner
            .el
            .set_attribute("data-render-ms", &format!("{ms:.0}"));

        let target = |ev: &JsValue| -> Collection {
            js_sys::Reflect::get(ev, &JsValue::from_str("target"))
                .expect("Cytoscape events have a target")
                .unchecked_into()
        };
        let on_tap = {
            let inner = inner.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
                let node = target(&ev);
                if node.data("more").as_f64().unwrap_or(0.0) > 0.0 {
                    Inner::expand(&inner, node.id());
                }
            })
        };
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let id = target(&ev).id();
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href(&asset_href(&id));
            }
        });
        // `onetap` waits out the double-click window, so a double-click
        // opens a node without expanding it first.
        inner
            .cy
            .on("onetap", "node", on_tap.as_ref().unchecked_ref());
        inner
            .cy
            .on("dbltap", "node", on_open.as_ref().unchecked_ref());
        Live {
            inner,
            _handlers: vec![on_tap, on_open],
        }
    }

    pub fn apply(&self, action: Action) {
        let inner = &self.inner;
        match action {
            Action::Fit => inner.cy.fit(&JsValue::UNDEFINED, 24.0),
            Action::Zoom(f) => {
                let opts = js(&json!({
                    "level": inner.cy.zoom_level() * f,
                    "renderedPosition": { "x": inner.cy.width() / 2.0, "y": inner.cy.height() / 2.0 },
                }));
                inner.cy.zoom_to(&opts);
            }
            Action::Focus(q) => inner.focus(&q),
            Action::Path(from, to) => Inner::path(inner, from, to),
            Action::ClearPath => inner.clear_path(),
        }
    }
}

fn layout(dagre: bool) -> Value {
    if dagre {
        json!({ "name": "dagre", "rankDir": "LR", "nodeSep": 14, "rankSep": 120, "edgeSep": 6,
                "animate": false, "fit": true, "padding": 24 })
    } else {
        json!({ "name": "preset", "fit": true, "padding": 24 })
    }
}

impl Inner {
    fn shown(&self) -> Vec<String> {
        self.names
            .with_untracked(|n| n.iter().map(|(id, _)| id.clone()).collect())
    }

    fn name_of(&self, id: &str) -> String {
        self.names.with_untracked(|n| {
            n.iter()
                .find(|(i, _)| i == id)
                .map_or_else(|| id.to_string(), |(_, name)| name.clone())
        })
    }

    fn recount(&self) {
        let (n, e) = (
            self.cy.nodes().length() as usize,
            self.cy.edges().length() as usize,
        );
        self.count.set((n, e));
        let _ = self.el.set_attribute("data-nodes", &n.to_string());
        let _ = self.el.set_attribute("data-edges", &e.to_string());
    }

    /// Adds what `delta` brings that is not drawn yet, places it, and
    /// refreshes every "N more".
    fn merge(&self, delta: &GraphDelta, anchor: Option<&str>) {
        let dagre = self.cy.nodes().length() as usize + delta.nodes.len() <= DAGRE_MAX;
        let base = anchor
            .map(|a| self.cy.element(a))
            .filter(|c| c.length() > 0)
            .map(|c| {
                let p = c.position();
                (number(&p, "x"), number(&p, "y"))
            })
            .unwrap_or((0.0, 0.0));
        let upstream: HashSet<&str> = delta
            .edges
            .iter()
            .filter(|e| Some(e.to.as_str()) == anchor)
            .map(|e| e.from.as_str())
            .collect();
        let (mut left, mut right) = (0.0, 0.0);
        let mut elements = Vec::new();
        for n in &delta.nodes {
            if self.cy.element(&n.id).length() > 0 {
                continue;
            }
            let pos = if upstream.contains(n.id.as_str()) {
                left += 1.0;
                (base.0 - COLUMN, base.1 + left * ROW)
            } else {
                right += 1.0;
                (base.0 + COLUMN, base.1 + right * ROW)
            };
            elements.push(node_json(n, &self.center, Some(pos)));
        }
        for e in &delta.edges {
            if self.cy.element(&edge_id(e)).length() == 0 {
                elements.push(edge_json(e));
            }
        }
        if !elements.is_empty() {
            self.cy.add(&js(&Value::Array(elements)));
        }
        self.names.update(|names| {
            let known: HashSet<String> = names.iter().map(|(id, _)| id.clone()).collect();
            names.extend(
                delta
                    .nodes
                    .iter()
                    .filter(|n| !known.contains(&n.id))
                    .map(|n| (n.id.clone(), n.name.clone())),
            );
        });
        self.cy.start_batch();
        for (id, more) in &delta.more {
            let node = self.cy.element(id);
            if node.length() == 0 {
                continue;
            }
            let hub = node.data("hub").as_bool().unwrap_or(false);
            let name = node.data("name").as_string().unwrap_or_default();
            node.set_data("more", &JsValue::from_f64(*more as f64));
            node.set_data("label", &JsValue::from_str(&label(&name, *more, hub)));
            if *more > 0 {
                node.add_class("has-more");
            } else {
                node.remove_class("has-more");
            }
        }
        self.cy.end_batch();
        if dagre {
            self.cy.layout(&js(&layout(true))).run();
        }
        self.recount();
    }

    fn expand(this: &Rc<Self>, id: String) {
        if !this.pending.borrow_mut().insert(id.clone()) {
            return;
        }
        let name = this.name_of(&id);
        this.status.set(format!("expanding {name}…"));
        let inner = this.clone();
        let shown = this.shown();
        leptos::task::spawn_local(async move {
            let got = match crate::components::static_base() {
                // On an exported site the neighbour's own data file holds
                // its surroundings.
                Some(base) => crate::static_site::fetch_json::<GraphView>(&format!(
                    "{base}data/{}.json",
                    domain::site::page_name(&id)
                ))
                .await
                .map(|v| delta_from_view(&v, &id)),
                None => crate::api::expand_graph(id.clone(), shown)
                    .await
                    .map_err(|e| crate::api::error_text(&e)),
            };
            match got {
                Ok(delta) => {
                    let n = delta.nodes.len();
                    inner.merge(&delta, Some(&id));
                    inner.status.set(format!("added {n} around {name}"));
                }
                Err(e) => inner.status.set(format!("could not expand {name}: {e}")),
            }
            inner.pending.borrow_mut().remove(&id);
        });
    }

    fn focus(&self, q: &str) {
        let q = q.trim().to_lowercase();
        if q.is_empty() {
            return;
        }
        let found = self.names.with_untracked(|names| {
            let by = |f: &dyn Fn(&(String, String)) -> bool| {
                names.iter().find(|n| f(n)).map(|(id, _)| id.clone())
            };
            by(&|(id, name)| id.to_lowercase() == q || name.to_lowercase() == q)
                .or_else(|| by(&|(_, name)| name.to_lowercase().starts_with(&q)))
                .or_else(|| {
                    by(&|(id, name)| {
                        name.to_lowercase().contains(&q) || id.to_lowercase().contains(&q)
                    })
                })
        });
        let Some(id) = found else {
            self.status
                .set(format!("nothing in this graph matches “{q}”"));
            return;
        };
        let node = self.cy.element(&id);
        self.cy.elements().unselect();
        node.select();
        let center = js_sys::Object::new();
        set(&center, "eles", &node);
        let opts = js_sys::Object::new();
        set(&opts, "center", &center);
        set(
            &opts,
            "zoom",
            &JsValue::from_f64(self.cy.zoom_level().max(1.2)),
        );
        set(&opts, "duration", &JsValue::from_f64(250.0));
        self.cy.animate(&opts);
        let _ = self.el.set_attribute("data-focused", &id);
        self.status.set(format!("focused on {}", self.name_of(&id)));
    }

    fn clear_path(&self) {
        self.cy.start_batch();
        self.cy.elements().remove_class("faded on-path");
        self.cy.end_batch();
        let _ = self.el.remove_attribute("data-path");
    }

    fn path(this: &Rc<Self>, from: String, to: String) {
        let (from, to) = (from.trim().to_string(), to.trim().to_string());
        if from.is_empty() || to.is_empty() {
            this.status.set("choose two assets for a path".into());
            return;
        }
        let inner = this.clone();
        let shown = this.shown();
        leptos::task::spawn_local(async move {
            match crate::api::graph_path(from.clone(), to.clone(), shown).await {
                Ok(delta) if delta.path.is_empty() => {
                    inner.clear_path();
                    inner.status.set(format!(
                        "no path between {} and {}",
                        inner.name_of(&from),
                        inner.name_of(&to)
                    ));
                }
                Ok(delta) => {
                    inner.merge(&delta, Some(&delta.path[0]));
                    inner.cy.start_batch();
                    inner.cy.elements().remove_class("on-path");
                    inner.cy.elements().add_class("faded");
                    for id in delta
                        .path
                        .iter()
                        .cloned()
                        .chain(delta.edges.iter().map(edge_id))
                    {
                        let el = inner.cy.element(&id);
                        el.remove_class("faded");
                        el.add_class("on-path");
                    }
                    inner.cy.end_batch();
                    let _ = inner.el.set_attribute("data-path", &delta.path.join(" "));
                    inner
                        .status
                        .set(format!("path of {} hops highlighted", delta.path.len() - 1));
                }
                Err(e) => inner
                    .status
                    .set(format!("no path: {}", crate::api::error_text(&e))),
            }
        });
    }
}
