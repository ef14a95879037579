//! Bindings to Cytoscape.js, written for what the graph view uses. The
//! library and its dagre layout are loaded by `<script>` tags from
//! `/vendor` (copied there from npm by scripts/setup.sh); these `extern`
//! blocks reach them through the global `cytoscape`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `cytoscape(options)`: a new graph in `options.container`.
    #[wasm_bindgen(js_name = cytoscape)]
    pub fn cytoscape(options: &JsValue) -> Core;

    /// A Cytoscape instance.
    pub type Core;

    #[wasm_bindgen(method)]
    pub fn add(this: &Core, elements: &JsValue) -> Collection;
    #[wasm_bindgen(method)]
    pub fn layout(this: &Core, options: &JsValue) -> Layout;
    #[wasm_bindgen(method)]
    pub fn on(this: &Core, events: &str, selector: &str, handler: &js_sys::Function);
    #[wasm_bindgen(method)]
    pub fn fit(this: &Core, eles: &JsValue, padding: f64);
    #[wasm_bindgen(method, js_name = zoom)]
    pub fn zoom_level(this: &Core) -> f64;
    #[wasm_bindgen(method, js_name = zoom)]
    pub fn zoom_to(this: &Core, options: &JsValue);
    #[wasm_bindgen(method)]
    pub fn width(this: &Core) -> f64;
    #[wasm_bindgen(method)]
    pub fn height(this: &Core) -> f64;
    #[wasm_bindgen(method)]
    pub fn animate(this: &Core, options: &JsValue);
    #[wasm_bindgen(method, js_name = getElementById)]
    pub fn element(this: &Core, id: &str) -> Collection;
    #[wasm_bindgen(method)]
    pub fn nodes(this: &Core) -> Collection;
    #[wasm_bindgen(method)]
    pub fn edges(this: &Core) -> Collection;
    #[wasm_bindgen(method)]
    pub fn elements(this: &Core) -> Collection;
    #[wasm_bindgen(method, js_name = startBatch)]
    pub fn start_batch(this: &Core);
    #[wasm_bindgen(method, js_name = endBatch)]
    pub fn end_batch(this: &Core);
    #[wasm_bindgen(method)]
    pub fn destroy(this: &Core);

    /// A set of nodes and edges.
    pub type Collection;

    #[wasm_bindgen(method, getter)]
    pub fn length(this: &Collection) -> u32;
    #[wasm_bindgen(method)]
    pub fn id(this: &Collection) -> String;
    #[wasm_bindgen(method)]
    pub fn data(this: &Collection, key: &str) -> JsValue;
    #[wasm_bindgen(method, js_name = data)]
    pub fn set_data(this: &Collection, key: &str, value: &JsValue);
    #[wasm_bindgen(method, js_name = addClass)]
    pub fn add_class(this: &Collection, classes: &str);
    #[wasm_bindgen(method, js_name = removeClass)]
    pub fn remove_class(this: &Collection, classes: &str);
    #[wasm_bindgen(method)]
    pub fn select(this: &Collection);
    #[wasm_bindgen(method)]
    pub fn unselect(this: &Collection);
    #[wasm_bindgen(method)]
    pub fn position(this: &Collection) -> JsValue;
    #[wasm_bindgen(method, js_name = position)]
    pub fn set_position(this: &Collection, pos: &JsValue);
    #[wasm_bindgen(method, js_name = hasClass)]
    pub fn has_class(this: &Collection, class: &str) -> bool;

    /// A layout run.
    pub type Layout;

    #[wasm_bindgen(method)]
    pub fn run(this: &Layout);
}

/// A JSON value as a JavaScript object.
pub fn js(value: &serde_json::Value) -> JsValue {
    js_sys::JSON::parse(&value.to_string()).expect("serde_json writes valid JSON")
}
