//! The static site's HTML: asset pages and the index page with its search
//! script. Everything a page shows of other assets comes from the
//! [`Estate`] (the lineage index and the edges' column mappings); only the
//! asset itself is a full record.

use std::collections::HashSet;
use std::fmt::Write as _;

use domain::lineage::{Hub, LineageGraph, NodeId};
use domain::query::GraphView;
use domain::site::{page_name, SiteManifest};
use domain::svg::escape;
use domain::{Asset, AssetKind, ColumnMapping, EdgeKind};

use super::estate::Estate;

/// Neighbours listed on a page, each way.
const NEIGHBOURS_SHOWN: usize = 200;

/// What every page writer reads.
pub(super) struct Site<'a> {
    pub(super) estate: &'a Estate,
    pub(super) hubs: &'a HashSet<NodeId>,
    pub(super) hub_list: &'a [Hub],
    /// Per node: bit `i` is set when `hub_list[i]` is upstream of it.
    pub(super) hub_mask: &'a [u32],
    pub(super) interactive: bool,
}

pub(super) fn badge(kind: AssetKind) -> String {
    format!(
        "<span class=\"badge kind-{k}\">{k}</span>",
        k = kind.as_str()
    )
}

/// The head of every page; `base` is the path to the site's root.
fn head(title: &str, base: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · mlgraph export</title><link rel=\"stylesheet\" href=\"{base}style.css\"></head><body>\
         <header class=\"topbar\"><a class=\"brand\" href=\"{base}index.html\"><span class=\"brand-mark\">◆</span> mlgraph</a>\
         <nav><a href=\"{base}index.html\">Search</a></nav><span class=\"muted small\">static export</span></header><main>",
        escape(title)
    )
}

impl Site<'_> {
    fn g(&self) -> &LineageGraph {
        &self.estate.g
    }

    fn link(&self, id: &str) -> String {
        match self.g().id_of(id) {
            Some(n) => format!(
                "{} <a href=\"{}.html\" title=\"{}\">{}</a>",
                badge(self.g().kind(n)),
                page_name(id),
                escape(id),
                escape(self.g().name(n))
            ),
            None => escape(id),
        }
    }

    fn neighbours(&self, title: &str, testid: &str, node: NodeId, upstream: bool) -> String {
        let mut s = format!("<section class=\"panel\" data-testid=\"{testid}\"><h2>{title}</h2>");
        let g = self.g();
        let mut rows: Vec<(NodeId, EdgeKind)> = if upstream {
            g.upstream_of(node).collect()
        } else {
            g.downstream_of(node).collect()
        };
        if rows.is_empty() {
            s.push_str("<p class=\"empty\">None.</p></section>");
            return s;
        }
        rows.sort_by(|a, b| {
            (a.1, g.name(a.0), g.asset_id(a.0)).cmp(&(b.1, g.name(b.0), g.asset_id(b.0)))
        });
        s.push_str("<ul class=\"plain neighbours\">");
        for &(other, kind) in rows.iter().take(NEIGHBOURS_SHOWN) {
            let _ = write!(
                s,
                "<li><span class=\"edge-kind\">{}</span> {}",
                kind.as_str(),
                self.link(g.asset_id(other))
            );
            let link = if upstream {
                (other, node, kind)
            } else {
                (node, other, kind)
            };
            let columns: Vec<ColumnMapping> = self.estate.columns(link).collect();
            if !columns.is_empty() {
                s.push_str("<ul class=\"mappings\">");
                for m in &columns {
                    let _ = write!(
                        s,
                        "<li class=\"mono small\">{} → {}{}</li>",
                        escape(&m.from),
                        escape(&m.to),
                        m.transform
                            .as_deref()
                            .map(|t| format!(" <span class=\"muted\">({})</span>", escape(t)))
                            .unwrap_or_default()
                    );
                }
                s.push_str("</ul>");
            }
            s.push_str("</li>");
        }
        s.push_str("</ul>");
        if rows.len() > NEIGHBOURS_SHOWN {
            let _ = write!(
                s,
                "<p class=\"muted\">… and {} more.</p>",
                rows.len() - NEIGHBOURS_SHOWN
            );
        }
        s.push_str("</section>");
        s
    }

    pub(super) fn asset_page(
        &self,
        a: &Asset,
        node: NodeId,
        page: &str,
        view: &GraphView,
    ) -> String {
        let mut s = head(&a.name, "../");
        let _ = write!(
            s,
            "<nav class=\"crumbs\"><a href=\"../index.html\">Catalog</a> / {k}</nav>\
             <header class=\"asset-head\"><div class=\"asset-title\">{b}<h1 data-testid=\"asset-name\">{n}</h1></div>\
             <p class=\"mono muted asset-id\">{id}</p><p class=\"asset-desc\">{d}</p></header>",
            k = a.kind.as_str(),
            b = badge(a.kind),
            n = escape(&a.name),
            id = escape(&a.id),
            d = if a.description.is_empty() {
                "No description.".to_string()
            } else {
                escape(&a.description)
            },
        );
        s.push_str("<div class=\"asset-layout\"><div class=\"asset-main\">");
        // The graph: drawn by the app's WebAssembly when the site has it;
        // until then (or without scripts) the same window as lists.
        let _ = write!(
            s,
            "<section class=\"panel\"><h2>Lineage graph</h2><div id=\"graph\" data-testid=\"static-graph\">"
        );
        let mut depths: Vec<i64> = view.nodes.iter().map(|n| n.depth).collect();
        depths.sort_unstable();
        depths.dedup();
        s.push_str("<div class=\"graph-columns\">");
        for d in depths {
            let title = match d {
                0 => "This asset".to_string(),
                d if d < 0 => format!("{} upstream", -d),
                d => format!("{d} downstream"),
            };
            let _ = write!(
                s,
                "<div class=\"graph-column\"><h3>{title}</h3><ul class=\"plain\">"
            );
            let mut col: Vec<_> = view.nodes.iter().filter(|n| n.depth == d).collect();
            col.sort_by(|x, y| (&x.name, &x.id).cmp(&(&y.name, &y.id)));
            for n in col {
                let _ = write!(s, "<li>{}</li>", self.link(&n.id));
            }
            s.push_str("</ul></div>");
        }
        s.push_str("</div></div></section>");
        if a.kind == AssetKind::Dataset && !a.schema.is_empty() {
            s.push_str(
                "<section class=\"panel\" data-testid=\"impact-explorer\"><h2>What if this dataset changed?</h2>\
                 <div id=\"impact-explorer\"><p class=\"muted\">The impact explorer needs JavaScript.</p></div></section>",
            );
        }
        if a.kind.has_schema() {
            let _ = write!(
                s,
                "<section class=\"panel\" data-testid=\"schema\"><h2>Schema · {} columns</h2>{}</section>",
                a.schema.len(),
                crate::report::schema_table(&a.schema, "data compact")
            );
        }
        s.push_str(&self.neighbours("Upstream", "upstream", node, true));
        s.push_str(&self.neighbours("Downstream", "downstream", node, false));
        s.push_str("</div><aside class=\"asset-side\"><section class=\"panel\"><h2>About</h2><dl class=\"facts\">");
        let _ = write!(
            s,
            "<dt>Namespace</dt><dd class=\"mono\">{}</dd>",
            escape(&a.namespace)
        );
        let list = |xs: &[String], class: &str| {
            xs.iter()
                .map(|x| format!("<span class=\"{class}\">{}</span>", escape(x)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = write!(s, "<dt>Owners</dt><dd>{}</dd>", list(&a.owners, "owner"));
        let _ = write!(s, "<dt>Tags</dt><dd>{}</dd>", list(&a.tags, "tag"));
        if let Some(d) = &a.domain {
            let _ = write!(s, "<dt>Domain</dt><dd>{}</dd>", escape(d));
        }
        let _ = write!(s, "<dt>Version</dt><dd>{}</dd>", a.version);
        for (k, v) in &a.properties {
            let text = match v {
                serde_json::Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            let _ = write!(
                s,
                "<dt>{}</dt><dd class=\"mono small\">{}</dd>",
                escape(k),
                escape(&text)
            );
        }
        s.push_str("</dl></section>");
        let mask = self.hub_mask[node as usize];
        let mut hubs_up: Vec<&str> = self
            .hub_list
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, h)| self.g().asset_id(h.node))
            .collect();
        hubs_up.sort_unstable();
        s.push_str("<section class=\"panel\"><h2>Hubs it depends on</h2>");
        if hubs_up.is_empty() {
            s.push_str("<p class=\"empty\">None.</p>");
        } else {
            s.push_str("<ul class=\"plain\">");
            for h in hubs_up {
                let _ = write!(s, "<li>★ {}</li>", self.link(h));
            }
            s.push_str("</ul>");
        }
        s.push_str("</section></aside></div>");
        if self.interactive {
            let explorer = if a.kind == AssetKind::Dataset && !a.schema.is_empty() {
                "mount_impact_explorer(document.getElementById(\"impact-explorer\"), \"../\", p);"
            } else {
                ""
            };
            let _ = write!(
                s,
                "<script defer src=\"../vendor/cytoscape.min.js\"></script>\
                 <script defer src=\"../vendor/cytoscape-dagre.min.js\"></script>\
                 <script type=\"module\">import init, {{ mount_static_graph, mount_impact_explorer }} from \"../pkg/mlgraph.js\";\
                 await init({{ module_or_path: \"../pkg/mlgraph.wasm\" }});\
                 const p = \"{page}\"; const g = document.getElementById(\"graph\"); g.replaceChildren();\
                 mount_static_graph(g, \"../\", p); {explorer}</script>"
            );
        }
        s.push_str("</main></body></html>\n");
        s
    }
}

/// The search script of the index page. It reads the manifest, fetches
/// the one shard a query's first word needs, and builds results with DOM
/// calls (never `innerHTML`), so names cannot inject markup.
const SEARCH_JS: &str = r#"
const input = document.getElementById("q");
const out = document.getElementById("results");
const count = document.getElementById("count");
const manifest = await (await fetch("search/manifest.json")).json();
const shards = new Map();
const words = (s) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
const prefix = (t, n) => [...t].slice(0, n).map((c) => (/[a-z0-9]/.test(c) ? c : "_")).join("");
// The shard a query word needs, as domain::site::leaf_key picks it: two
// letters, one more while that shard was split, "-" when the word ends.
const key = (t) => {
  let n = 2;
  let k = prefix(t, n);
  while (manifest.split.includes(k)) {
    n += 1;
    const next = prefix(t, n);
    if ([...next].length < n) return k + "-";
    k = next;
  }
  return k;
};
// A word too common to split is written in pages, shortest names first;
// a query reads as many of them as "More names" asked for.
const pages = new Map(manifest.pages || []);
const wanted = new Map();
const page = (k, p) => {
  const id = k + " " + p;
  if (!shards.has(id)) shards.set(id, fetch("search/" + k + (p > 1 ? "." + p : "") + ".json").then((r) => r.json()));
  return shards.get(id);
};
const more = document.getElementById("more");
let latest = 0;
async function search(text) {
  const started = performance.now();
  const asked = ++latest;
  const q = words(text);
  let hits = [];
  let k = null;
  // Any word of two letters or more picks the shard (each holds every
  // name with a word starting so); the one with the fewest pages wins. A
  // short word on a split prefix finds only words that short, and another
  // letter finds the rest.
  const keys = q.filter((t) => t.length >= 2).map(key).filter((c) => manifest.shards.includes(c));
  if (keys.length) {
    k = keys.reduce((best, c) => ((pages.get(c) || 1) < (pages.get(best) || 1) ? c : best));
    const n = Math.min(wanted.get(k) || 1, pages.get(k) || 1);
    const parts = await Promise.all(Array.from({ length: n }, (_, i) => page(k, i + 1)));
    if (asked !== latest) return;
    const entries = parts.flat();
    const whole = text.trim().toLowerCase();
    hits = entries.filter((e) => { const w = words(e.n); return q.every((t) => w.some((x) => x.startsWith(t))); });
    const rank = (e) => (e.n.toLowerCase() === whole ? 0 : e.n.toLowerCase().startsWith(whole) ? 1 : 2);
    hits.sort((a, b) => rank(a) - rank(b) || a.n.length - b.n.length || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  }
  out.replaceChildren(...hits.slice(0, 50).map((e) => {
    const li = document.createElement("li");
    const badge = document.createElement("span");
    badge.className = "badge kind-" + e.k;
    badge.textContent = e.k;
    const a = document.createElement("a");
    a.href = "a/" + e.p + ".html";
    a.textContent = e.n;
    const ns = document.createElement("span");
    ns.className = "muted small";
    ns.textContent = " · " + e.s;
    li.append(badge, " ", a, ns);
    return li;
  }));
  const total = k ? pages.get(k) || 1 : 1;
  const read = k ? Math.min(wanted.get(k) || 1, total) : 1;
  count.textContent = q.length ? hits.length + " found" + (read < total ? " in the first " + read + " of " + total + " pages of names" : "") : "";
  more.hidden = read >= total;
  more.onclick = () => { wanted.set(k, read + 1); search(input.value); };
  out.dataset.ms = String(Math.round(performance.now() - started));
  out.dataset.query = text;
}
input.addEventListener("input", () => search(input.value));
document.getElementById("search").addEventListener("submit", (ev) => { ev.preventDefault(); search(input.value); });
if (input.value) search(input.value);
"#;

pub(super) fn index_page(manifest: &SiteManifest, hubs: &[Hub], g: &LineageGraph) -> String {
    let mut s = head("Catalog", "");
    let _ = write!(
        s,
        "<header class=\"asset-head\"><h1>Catalog</h1><p class=\"muted\">{} assets and {} edges, exported from mlgraph. \
         Search runs in your browser.</p><p>",
        manifest.assets, manifest.edges
    );
    for (k, n) in &manifest.kinds {
        let _ = write!(s, "{} {n} &nbsp; ", badge(*k));
    }
    s.push_str(
        "</p></header><form id=\"search\" class=\"searchbar\" role=\"search\"><input id=\"q\" type=\"search\" \
         placeholder=\"Search by name (two letters or more)\" aria-label=\"Search the catalog\" data-testid=\"static-search\" autofocus>\
         </form><p id=\"count\" class=\"muted\" aria-live=\"polite\"></p><ul id=\"results\" class=\"plain results\" data-testid=\"static-results\"></ul>\
         <button id=\"more\" type=\"button\" hidden data-testid=\"static-more\">More names</button>",
    );
    s.push_str("<section class=\"panel\"><h2>Hubs</h2><p class=\"muted\">The assets most depended on.</p><ul class=\"plain\">");
    for h in hubs {
        let id = g.asset_id(h.node);
        let _ = write!(
            s,
            "<li>{} <a href=\"a/{}.html\">{}</a> <span class=\"muted small\">· {} downstream</span></li>",
            badge(g.kind(h.node)),
            page_name(id),
            escape(g.name(h.node)),
            h.downstream
        );
    }
    s.push_str("</ul></section>");
    let _ = writeln!(
        s,
        "<script type=\"module\">{SEARCH_JS}</script></main></body></html>"
    );
    s
}
