//! Static SVG lineage diagrams, laid out entirely in Rust. Self-contained
//! HTML reports (which carry no JavaScript) and `.svg` exports embed the
//! output as is, so the drawing is deterministic (the same graph, in any
//! input order, gives byte-identical output) and every user-supplied string
//! is escaped before it reaches the markup.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::asset::AssetKind;
use crate::edge::EdgeKind;
use crate::query::{GraphNode, LineageEdge};

/// Colour per kind; keep these exact values (they match the web app's legend).
pub const KIND_COLOURS: [(AssetKind, &str); 7] = [
    (AssetKind::Dataset, "#2f6fde"),
    (AssetKind::Feature, "#12936b"),
    (AssetKind::Model, "#8b3fd9"),
    (AssetKind::Evaluation, "#c77a0a"),
    (AssetKind::Workflow, "#5b6b82"),
    (AssetKind::Service, "#d6453d"),
    (AssetKind::Application, "#0f8fa8"),
];

/// Horizontal distance between the left edges of adjacent columns.
const COL_W: f64 = 230.0;
/// Vertical distance between the tops of adjacent rows.
const ROW_H: f64 = 34.0;
const NODE_W: f64 = 190.0;
const NODE_H: f64 = 24.0;
const MARGIN: f64 = 20.0;
/// How many characters of a label fit in a box at the chosen font size.
const LABEL_CHARS: usize = 26;
/// Rough advance of one character at 12 px, used to space the legend.
const CHAR_W: f64 = 7.0;
/// Down-and-up barycentre iterations; more rarely helps on lineage graphs.
const SWEEPS: usize = 4;
const EDGE_COLOUR: &str = "#9aa5b4";
const OUTLINE_COLOUR: &str = "#111827";
const TEXT_COLOUR: &str = "#374151";
/// The marker id is fixed so output stays deterministic; several diagrams
/// inlined in one report share it harmlessly because every copy is identical.
const ARROW_ID: &str = "mlgraph-arrow";

/// The fill colour for one asset kind.
pub fn kind_colour(kind: AssetKind) -> &'static str {
    // `KIND_COLOURS` lists the kinds in declaration order, which a test checks.
    KIND_COLOURS[kind as usize].1
}

/// Escapes text for XML/HTML text and attribute values: & < > " ' (as &amp; &lt; &gt; &quot; &#39;).
///
/// Control characters that XML 1.0 forbids even as references are replaced
/// by U+FFFD, because a single one would make the whole document unparseable.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Lays out `nodes` in columns by `depth` (left to right, upstream on the left) and draws them.
/// `href(id)` gives an optional link for each node (wrap the node in <a href="..."> when Some; the href is escaped too).
pub fn lineage_svg(
    nodes: &[GraphNode],
    edges: &[LineageEdge],
    center: &str,
    href: &dyn Fn(&str) -> Option<String>,
) -> String {
    render(nodes, edges, center, href, SWEEPS)
}

/// The placement of every node: which column, and the order within it.
struct Layout<'a> {
    /// Distinct nodes, sorted by id so indices never depend on input order.
    nodes: Vec<&'a GraphNode>,
    col: Vec<usize>,
    /// Node indices per column, top to bottom.
    columns: Vec<Vec<usize>>,
    /// Drawable edges keyed by (from, to) index; duplicates collapse into
    /// one path whose title lists every kind.
    edges: BTreeMap<(usize, usize), BTreeSet<EdgeKind>>,
}

fn layout<'a>(nodes: &'a [GraphNode], edges: &[LineageEdge], sweeps: usize) -> Layout<'a> {
    // Sorting by every field before dropping repeated ids makes the survivor
    // of a duplicate independent of input order.
    let mut sorted: Vec<&GraphNode> = nodes.iter().collect();
    sorted.sort_by(|a, b| {
        a.id.cmp(&b.id)
            .then(a.depth.cmp(&b.depth))
            .then(a.kind.cmp(&b.kind))
            .then(a.name.cmp(&b.name))
            .then(a.more.cmp(&b.more))
            .then(a.hub.cmp(&b.hub))
    });
    sorted.dedup_by(|later, earlier| later.id == earlier.id);
    let nodes = sorted;
    let n = nodes.len();
    let index_of = |id: &str| nodes.binary_search_by(|x| x.id.as_str().cmp(id)).ok();

    let depths: Vec<i64> = nodes
        .iter()
        .map(|x| x.depth)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let col: Vec<usize> = nodes
        .iter()
        .map(|x| depths.binary_search(&x.depth).unwrap_or(0))
        .collect();

    let mut drawn: BTreeMap<(usize, usize), BTreeSet<EdgeKind>> = BTreeMap::new();
    for e in edges {
        if let (Some(f), Some(t)) = (index_of(&e.from), index_of(&e.to)) {
            drawn.entry((f, t)).or_default().insert(e.kind);
        }
    }

    // Ordering only cares that two nodes are linked, not in which direction
    // or how often, so neighbours are an undirected, duplicate-free set.
    let links: BTreeSet<(usize, usize)> = drawn
        .keys()
        .filter(|(f, t)| f != t)
        .map(|&(f, t)| (f.min(t), f.max(t)))
        .collect();
    let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
    // Pairs between adjacent columns, left end first, for counting crossings.
    let mut gaps: Vec<Vec<(usize, usize)>> = vec![Vec::new(); depths.len().saturating_sub(1)];
    for &(a, b) in &links {
        adj[a].push(b);
        adj[b].push(a);
        let (l, r) = if col[a] < col[b] { (a, b) } else { (b, a) };
        if col[r] == col[l] + 1 {
            gaps[col[l]].push((l, r));
        }
    }

    let tie = |a: usize, b: usize| {
        nodes[a]
            .kind
            .cmp(&nodes[b].kind)
            .then_with(|| nodes[a].name.cmp(&nodes[b].name))
            .then(a.cmp(&b))
    };
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depths.len()];
    for (i, &c) in col.iter().enumerate() {
        columns[c].push(i);
    }
    for column in &mut columns {
        column.sort_by(|&a, &b| tie(a, b));
    }

    // Positions are measured from each column's middle, because columns are
    // drawn centred on one axis and barycentres must compare like with like.
    let mut pos = vec![0.0f64; n];
    let mut row = vec![0usize; n];
    for column in &columns {
        place(column, &mut pos, &mut row);
    }

    let mut best = columns.clone();
    let mut best_crossings = crossings(&gaps, &columns, &row);
    let mut key = vec![0.0f64; n];
    let last = columns.len().saturating_sub(1);
    'sweeps: for _ in 0..sweeps {
        for downward in [true, false] {
            if best_crossings == 0 {
                break 'sweeps;
            }
            let order: Vec<usize> = if downward {
                (1..=last).collect()
            } else {
                (0..last).rev().collect()
            };
            for c in order {
                let fixed = if downward { c - 1 } else { c + 1 };
                for &u in &columns[c] {
                    let (mut sum, mut count) = (0.0, 0u32);
                    for &v in &adj[u] {
                        if col[v] == fixed {
                            sum += pos[v];
                            count += 1;
                        }
                    }
                    // A node with no neighbour on that side keeps its place
                    // rather than drifting to the middle.
                    key[u] = if count == 0 {
                        pos[u]
                    } else {
                        sum / f64::from(count)
                    };
                }
                columns[c].sort_by(|&a, &b| key[a].total_cmp(&key[b]).then_with(|| tie(a, b)));
                place(&columns[c], &mut pos, &mut row);
            }
            // Barycentre sweeps can make things worse, so the best ordering
            // seen wins; the initial kind-and-name order is the baseline.
            let now = crossings(&gaps, &columns, &row);
            if now < best_crossings {
                best_crossings = now;
                best.clone_from(&columns);
            }
        }
    }

    Layout {
        nodes,
        col,
        columns: best,
        edges: drawn,
    }
}

/// Records each node's row and its position relative to the column middle.
fn place(column: &[usize], pos: &mut [f64], row: &mut [usize]) {
    let middle = (column.len() as f64 - 1.0) / 2.0;
    for (r, &u) in column.iter().enumerate() {
        row[u] = r;
        pos[u] = r as f64 - middle;
    }
}

/// Counts crossings between adjacent columns in O(e log n) by counting
/// inversions with a Fenwick tree, so keeping the best sweep stays cheap.
fn crossings(gaps: &[Vec<(usize, usize)>], columns: &[Vec<usize>], row: &[usize]) -> u64 {
    let mut total = 0u64;
    for (c, pairs) in gaps.iter().enumerate() {
        if pairs.len() < 2 {
            continue;
        }
        let mut rows: Vec<(usize, usize)> = pairs.iter().map(|&(l, r)| (row[l], row[r])).collect();
        rows.sort_unstable();
        let mut tree = vec![0u64; columns[c + 1].len() + 1];
        for (seen, &(_, r)) in rows.iter().enumerate() {
            let mut i = r + 1;
            let mut at_or_above = 0u64;
            while i > 0 {
                at_or_above += tree[i];
                i &= i - 1;
            }
            // Earlier edges that end strictly lower cross this one.
            total += seen as u64 - at_or_above;
            let mut i = r + 1;
            while i < tree.len() {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

/// Formats a coordinate with at most one decimal, the same way every time.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Shortens `s` to at most `max` characters, marking the cut with "…".
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn render(
    nodes: &[GraphNode],
    edges: &[LineageEdge],
    center: &str,
    href: &dyn Fn(&str) -> Option<String>,
    sweeps: usize,
) -> String {
    let lay = layout(nodes, edges, sweeps);
    let n = lay.nodes.len();
    let max_rows = lay.columns.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let graph_w = lay.columns.len().saturating_sub(1) as f64 * COL_W + NODE_W;
    let graph_h = max_rows as f64 * ROW_H;

    // Top-left corner of every box.
    let mut bx = vec![0.0f64; n];
    let mut by = vec![0.0f64; n];
    for (c, column) in lay.columns.iter().enumerate() {
        let offset = (max_rows - column.len()) as f64 * ROW_H / 2.0;
        for (r, &u) in column.iter().enumerate() {
            bx[u] = MARGIN + c as f64 * COL_W;
            by[u] = MARGIN + offset + r as f64 * ROW_H + (ROW_H - NODE_H) / 2.0;
        }
    }

    let mut max_x = MARGIN + graph_w;
    let mut max_y = MARGIN + graph_h;
    let mut forward = String::new();
    let mut back = String::new();
    for (&(f, t), kinds) in &lay.edges {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let title = format!(
            "{} → {} ({})",
            lay.nodes[f].name,
            lay.nodes[t].name,
            kinds.join(", ")
        );
        let d;
        let out = if lay.col[f] < lay.col[t] {
            let (x1, y1) = (bx[f] + NODE_W, by[f] + NODE_H / 2.0);
            let (x2, y2) = (bx[t], by[t] + NODE_H / 2.0);
            let dx = (x2 - x1) / 2.0;
            d = format!(
                "M{} {} C{} {} {} {} {} {}",
                num(x1),
                num(y1),
                num(x1 + dx),
                num(y1),
                num(x2 - dx),
                num(y2),
                num(x2),
                num(y2)
            );
            &mut forward
        } else if f == t {
            // A self-loop is a small hook on the right side of the box.
            let (x, y) = (bx[f] + NODE_W, by[f] + NODE_H / 2.0);
            max_x = max_x.max(x + 30.0);
            d = format!(
                "M{} {} C{} {} {} {} {} {}",
                num(x),
                num(y - 6.0),
                num(x + 30.0),
                num(y - 20.0),
                num(x + 30.0),
                num(y + 20.0),
                num(x),
                num(y + 6.0)
            );
            &mut back
        } else if lay.col[f] == lay.col[t] {
            // Within a column the arc bulges into the gap on the right,
            // where it cannot hide behind another box.
            let x = bx[f] + NODE_W;
            let (y1, y2) = (by[f] + NODE_H / 2.0, by[t] + NODE_H / 2.0);
            let bulge = (16.0 + (y2 - y1).abs() / ROW_H * 4.0).min(36.0);
            max_x = max_x.max(x + bulge);
            d = format!(
                "M{} {} C{} {} {} {} {} {}",
                num(x),
                num(y1),
                num(x + bulge),
                num(y1),
                num(x + bulge),
                num(y2),
                num(x),
                num(y2)
            );
            &mut back
        } else {
            // Right-to-left edges (cycles, or depths that do not increase)
            // leave and enter through the bottom of the boxes and dip below
            // both; they are drawn over the boxes so they stay visible.
            let (x1, y1) = (bx[f] + NODE_W / 2.0, by[f] + NODE_H);
            let (x2, y2) = (bx[t] + NODE_W / 2.0, by[t] + NODE_H);
            let dip = y1.max(y2) + 18.0 + ((x1 - x2) * 0.08).min(40.0);
            max_y = max_y.max(dip);
            d = format!(
                "M{} {} C{} {} {} {} {} {}",
                num(x1),
                num(y1),
                num(x1),
                num(dip),
                num(x2),
                num(dip),
                num(x2),
                num(y2)
            );
            &mut back
        };
        let _ = writeln!(
            out,
            "<path d=\"{d}\"><title>{}</title></path>",
            escape(&title)
        );
    }

    let mut boxes = String::new();
    for column in &lay.columns {
        for &u in column {
            let is_centre = lay.nodes[u].id == center;
            write_node(&mut boxes, lay.nodes[u], bx[u], by[u], is_centre, href);
        }
    }

    let legend_y = max_y + 16.0;
    let mut legend = String::new();
    let mut lx = MARGIN;
    for (kind, colour) in KIND_COLOURS {
        let label = kind.as_str();
        let _ = writeln!(
            legend,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\" fill=\"{TEXT_COLOUR}\">{label}</text>",
            num(lx),
            num(legend_y),
            num(lx + 16.0),
            num(legend_y + 10.0)
        );
        lx += 16.0 + CHAR_W * label.len() as f64 + 18.0;
    }

    let width = (MARGIN + max_x).max(lx + MARGIN).ceil();
    let height = (legend_y + 12.0 + MARGIN).ceil();
    let centre_name = lay
        .nodes
        .iter()
        .find(|x| x.id == center)
        .map_or(center, |x| x.name.as_str());
    let label = escape(&format!("Lineage of {centre_name}"));

    let mut out = String::with_capacity(forward.len() + back.len() + boxes.len() + 2048);
    let (w, h) = (num(width), num(height));
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{label}\">"
    );
    let _ = writeln!(out, "<title>{label}</title>");
    let _ = writeln!(
        out,
        "<defs><marker id=\"{ARROW_ID}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path fill=\"{EDGE_COLOUR}\" d=\"M0 0 L10 5 L0 10 z\"/></marker></defs>"
    );
    let _ = writeln!(
        out,
        "<g font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\" font-size=\"12\">"
    );
    if n == 0 {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"{TEXT_COLOUR}\">No lineage to show.</text>",
            num(MARGIN),
            num(MARGIN + 20.0)
        );
    }
    // Forward edges go under the boxes; the arcs go over them so that an arc
    // crossing a column is never hidden.
    let _ = writeln!(
        out,
        "<g class=\"edges\" fill=\"none\" stroke=\"{EDGE_COLOUR}\" stroke-width=\"1.3\" marker-end=\"url(#{ARROW_ID})\">"
    );
    out.push_str(&forward);
    out.push_str("</g>\n<g class=\"nodes\">\n");
    out.push_str(&boxes);
    let _ = writeln!(
        out,
        "</g>\n<g class=\"edges back\" fill=\"none\" stroke=\"{EDGE_COLOUR}\" stroke-width=\"1.3\" stroke-dasharray=\"4 3\" marker-end=\"url(#{ARROW_ID})\">"
    );
    out.push_str(&back);
    out.push_str("</g>\n<g class=\"legend\">\n");
    out.push_str(&legend);
    out.push_str("</g>\n</g>\n</svg>\n");
    out
}

/// Draws one box: rect, label, the "+N" hint and a hover title.
fn write_node(
    out: &mut String,
    node: &GraphNode,
    x: f64,
    y: f64,
    is_centre: bool,
    href: &dyn Fn(&str) -> Option<String>,
) {
    let link = href(&node.id);
    if let Some(h) = &link {
        let _ = write!(out, "<a href=\"{}\">", escape(h));
    }
    let kind = node.kind.as_str();
    let _ = write!(
        out,
        "<g class=\"node\" data-kind=\"{kind}\"><title>{} ({kind})</title>",
        escape(&node.name)
    );
    let mut stroke = String::new();
    if is_centre {
        let _ = write!(stroke, " stroke=\"{OUTLINE_COLOUR}\" stroke-width=\"3\"");
    } else if node.more > 0 {
        let _ = write!(stroke, " stroke=\"{OUTLINE_COLOUR}\" stroke-width=\"1.5\"");
    }
    if node.more > 0 {
        // Dashes say "this box has neighbours not drawn yet".
        stroke.push_str(" stroke-dasharray=\"4 3\"");
    }
    let _ = write!(
        out,
        "<rect data-id=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"5\" fill=\"{}\"{stroke}/>",
        escape(&node.id),
        num(x),
        num(y),
        num(NODE_W),
        num(NODE_H),
        kind_colour(node.kind)
    );
    let suffix = (node.more > 0).then(|| format!("+{}", node.more));
    let mut budget = LABEL_CHARS;
    if node.hub {
        budget -= 2;
    }
    if let Some(s) = &suffix {
        budget = budget.saturating_sub(s.chars().count() + 1);
    }
    let mut label = String::new();
    if node.hub {
        label.push_str("★ ");
    }
    label.push_str(&truncate(&node.name, budget.max(4)));
    let baseline = y + NODE_H / 2.0 + 4.0;
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" fill=\"#ffffff\">{}</text>",
        num(x + 8.0),
        num(baseline),
        escape(&label)
    );
    if let Some(s) = suffix {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.85\" text-anchor=\"end\">{s}</text>",
            num(x + NODE_W - 6.0),
            num(baseline)
        );
    }
    out.push_str("</g>");
    if link.is_some() {
        out.push_str("</a>");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn node(id: &str, kind: AssetKind, name: &str, depth: i64) -> GraphNode {
        GraphNode {
            id: id.to_string(),
            kind,
            name: name.to_string(),
            depth,
            more: 0,
            hub: false,
        }
    }

    fn edge(from: &str, to: &str, kind: EdgeKind) -> LineageEdge {
        LineageEdge {
            from: from.to_string(),
            to: to.to_string(),
            kind,
        }
    }

    fn no_links(_: &str) -> Option<String> {
        None
    }

    /// A small deterministic generator, so the tests need no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                items.swap(i, j);
            }
        }
    }

    /// Reads back `data-id`, x and y of every node box from the markup.
    fn boxes(svg: &str) -> HashMap<String, (f64, f64)> {
        let attr = |s: &str, name: &str| -> String {
            let start = s.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            let end = start + s[start..].find('"').unwrap();
            s[start..end].to_string()
        };
        let mut out = HashMap::new();
        for chunk in svg.split("<rect data-id=").skip(1) {
            let tag = format!(" data-id={}", &chunk[..chunk.find("/>").unwrap()]);
            let id = attr(&tag, "data-id");
            let x: f64 = attr(&tag, "x").parse().unwrap();
            let y: f64 = attr(&tag, "y").parse().unwrap();
            assert!(out.insert(id, (x, y)).is_none(), "node drawn twice");
        }
        out
    }

    /// Counts pairwise crossings of edges between adjacent columns, naively,
    /// from the positions actually drawn.
    fn drawn_crossings(svg: &str, edges: &[LineageEdge]) -> usize {
        let b = boxes(svg);
        let segs: Vec<((f64, f64), (f64, f64))> = edges
            .iter()
            .map(|e| {
                let (f, t) = (b[&e.from], b[&e.to]);
                if f.0 <= t.0 {
                    (f, t)
                } else {
                    (t, f)
                }
            })
            .filter(|(l, r)| (r.0 - l.0 - COL_W).abs() < 0.5)
            .collect();
        let mut count = 0;
        for (i, a) in segs.iter().enumerate() {
            for c in &segs[i + 1..] {
                if a.0 .0 == c.0 .0 && (a.0 .1 - c.0 .1) * (a.1 .1 - c.1 .1) < 0.0 {
                    count += 1;
                }
            }
        }
        count
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn colours_follow_the_kind_order() {
        for (i, kind) in AssetKind::ALL.into_iter().enumerate() {
            assert_eq!(KIND_COLOURS[i].0, kind);
            assert_eq!(kind_colour(kind), KIND_COLOURS[i].1);
        }
        assert_eq!(kind_colour(AssetKind::Service), "#d6453d");
    }

    #[test]
    fn escape_covers_markup_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(escape("plain ★ text"), "plain ★ text");
        assert_eq!(escape("bell\u{7}\ttab"), "bell\u{FFFD}\ttab");
    }

    #[test]
    fn user_strings_are_escaped_everywhere() {
        let evil = r#"<script>alert("x")</script> & Jerry's"#;
        let nodes = vec![
            node("d1", AssetKind::Dataset, evil, -1),
            node(evil, AssetKind::Model, evil, 0),
        ];
        let edges = vec![edge("d1", evil, EdgeKind::Trains)];
        let link = |id: &str| Some(format!("/assets/{id}?a=1&b='2'"));
        let svg = lineage_svg(&nodes, &edges, evil, &link);
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("\"x\""));
        assert!(!svg.contains("Jerry's"));
        assert!(!svg.contains("& "));
        assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)"));
        assert!(svg.contains("<a href=\"/assets/d1?a=1&amp;b=&#39;2&#39;\">"));
        assert!(svg.contains("aria-label=\"Lineage of &lt;script&gt;"));
        assert_eq!(count(&svg, "<a href="), 2);
        assert_eq!(count(&svg, "</a>"), 2);
        // Every ampersand left in the document starts an entity.
        for (i, _) in svg.match_indices('&') {
            let rest = &svg[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|e| rest.starts_with(e)),
                "bare ampersand at {i}"
            );
        }
    }

    #[test]
    fn the_root_element_has_the_agreed_shape() {
        let nodes = vec![node("m", AssetKind::Model, "churn", 0)];
        let svg = lineage_svg(&nodes, &[], "m", &no_links);
        let first = svg.lines().next().unwrap();
        assert!(first.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
        assert!(first.ends_with("role=\"img\" aria-label=\"Lineage of churn\">"));
        assert!(svg.ends_with("</svg>\n"));
        // The centre gets the thick outline.
        assert!(svg.contains("stroke-width=\"3\""));
    }

    #[test]
    fn an_empty_graph_is_a_small_valid_svg() {
        let svg = lineage_svg(
            &[],
            &[edge("a", "b", EdgeKind::Reads)],
            "nothing",
            &no_links,
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "));
        assert!(svg.contains("aria-label=\"Lineage of nothing\""));
        assert_eq!(count(&svg, "<rect data-id="), 0);
        assert_eq!(count(&svg, "<path d="), 0);
        assert_eq!(count(&svg, "<svg"), count(&svg, "</svg>"));
        assert_eq!(count(&svg, "<g"), count(&svg, "</g>"));
        // The legend still explains the colours.
        for kind in AssetKind::ALL {
            assert!(svg.contains(&format!(">{}</text>", kind.as_str())));
        }
        let (w, h) = size(&svg);
        assert!((240.0..1000.0).contains(&w), "width {w}");
        assert!((60.0..200.0).contains(&h), "height {h}");
    }

    fn size(svg: &str) -> (f64, f64) {
        let start = svg.find("viewBox=\"0 0 ").unwrap() + 13;
        let end = start + svg[start..].find('"').unwrap();
        let mut it = svg[start..end]
            .split(' ')
            .map(|v| v.parse::<f64>().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    }

    fn sample() -> (Vec<GraphNode>, Vec<LineageEdge>) {
        let mut hub = node("f1", AssetKind::Feature, "user_features", -1);
        hub.hub = true;
        let mut more = node("s1", AssetKind::Service, "scoring", 1);
        more.more = 3;
        let nodes = vec![
            node("d1", AssetKind::Dataset, "events", -2),
            node("d2", AssetKind::Dataset, "users", -2),
            hub,
            node("w1", AssetKind::Workflow, "train", -1),
            node("m1", AssetKind::Model, "churn", 0),
            more,
            node("e1", AssetKind::Evaluation, "churn_eval", 1),
            node("a1", AssetKind::Application, "crm", 2),
        ];
        let edges = vec![
            edge("d1", "f1", EdgeKind::Derives),
            edge("d2", "f1", EdgeKind::Derives),
            edge("d1", "w1", EdgeKind::Reads),
            edge("f1", "m1", EdgeKind::Trains),
            edge("w1", "m1", EdgeKind::Writes),
            edge("m1", "s1", EdgeKind::Deploys),
            edge("m1", "e1", EdgeKind::Evaluates),
            edge("s1", "a1", EdgeKind::Calls),
            // A cycle back to the left, a same-column link and a self-loop.
            edge("a1", "d2", EdgeKind::Calls),
            edge("s1", "e1", EdgeKind::Calls),
            edge("w1", "w1", EdgeKind::Calls),
            // Duplicates and an edge to a node that is not drawn.
            edge("m1", "s1", EdgeKind::Deploys),
            edge("f1", "m1", EdgeKind::Trains),
            edge("m1", "ghost", EdgeKind::Deploys),
        ];
        (nodes, edges)
    }

    #[test]
    fn output_is_deterministic_whatever_the_input_order() {
        let (nodes, edges) = sample();
        let link = |id: &str| Some(format!("#asset-{id}"));
        let first = lineage_svg(&nodes, &edges, "m1", &link);
        assert_eq!(first, lineage_svg(&nodes, &edges, "m1", &link));
        let mut rng = Rng(7);
        for _ in 0..10 {
            let (mut n, mut e) = (nodes.clone(), edges.clone());
            rng.shuffle(&mut n);
            rng.shuffle(&mut e);
            assert_eq!(first, lineage_svg(&n, &e, "m1", &link));
        }
    }

    #[test]
    fn every_node_is_drawn_once_and_edges_are_filtered() {
        let (mut nodes, edges) = sample();
        // A repeated node must still be drawn once.
        nodes.push(nodes[0].clone());
        let svg = lineage_svg(&nodes, &edges, "m1", &no_links);
        let b = boxes(&svg);
        assert_eq!(b.len(), 8);
        assert_eq!(count(&svg, "<rect data-id="), 8);
        // 11 distinct edges with both ends drawn; duplicates collapse and
        // the one to "ghost" is skipped.
        assert_eq!(count(&svg, "<path d="), 11);
        assert!(!svg.contains("ghost"));
        // Three of them (cycle, same column, self-loop) are arcs.
        let back = &svg[svg.find("class=\"edges back\"").unwrap()..];
        assert_eq!(count(&back[..back.find("</g>").unwrap()], "<path d="), 3);
        assert!(svg.contains(">★ user_features</text>"));
        assert!(svg.contains(">+3</text>"));
        assert_eq!(count(&svg, "stroke-dasharray=\"4 3\"/>"), 1);
    }

    #[test]
    fn upstream_is_left_of_downstream_and_columns_share_an_axis() {
        let (nodes, edges) = sample();
        let svg = lineage_svg(&nodes, &edges, "m1", &no_links);
        let b = boxes(&svg);
        for a in &nodes {
            for c in &nodes {
                if a.depth < c.depth {
                    assert!(b[&a.id].0 < c_x(&b, c), "{} vs {}", a.id, c.id);
                } else if a.depth == c.depth {
                    assert_eq!(b[&a.id].0, b[&c.id].0);
                }
            }
        }
        // Every column's middle lies on the same horizontal line.
        let mut by_x: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (x, y) in b.values() {
            by_x.entry(*x as i64).or_default().push(*y);
        }
        let middles: Vec<f64> = by_x
            .values()
            .map(|ys| {
                let lo = ys.iter().cloned().fold(f64::MAX, f64::min);
                let hi = ys.iter().cloned().fold(f64::MIN, f64::max);
                (lo + hi) / 2.0
            })
            .collect();
        assert_eq!(middles.len(), 5);
        assert!(middles.iter().all(|m| (m - middles[0]).abs() < 0.01));
        // The cycle's arc dips below the boxes, and the picture grows for it.
        let (_, h) = size(&svg);
        let lowest = b.values().map(|p| p.1).fold(0.0, f64::max) + NODE_H;
        assert!(h > lowest + 40.0);
    }

    fn c_x(b: &HashMap<String, (f64, f64)>, n: &GraphNode) -> f64 {
        b[&n.id].0
    }

    #[test]
    fn barycentre_ordering_reduces_crossings() {
        // Name order puts every left node opposite the wrong right node.
        let nodes = vec![
            node("a", AssetKind::Dataset, "a", -1),
            node("b", AssetKind::Dataset, "b", -1),
            node("c", AssetKind::Dataset, "c", -1),
            node("d", AssetKind::Dataset, "d", -1),
            node("w", AssetKind::Model, "w", 0),
            node("x", AssetKind::Model, "x", 0),
            node("y", AssetKind::Model, "y", 0),
            node("z", AssetKind::Model, "z", 0),
            node("p", AssetKind::Service, "p", 1),
            node("q", AssetKind::Service, "q", 1),
        ];
        let edges = vec![
            edge("a", "z", EdgeKind::Trains),
            edge("b", "y", EdgeKind::Trains),
            edge("c", "x", EdgeKind::Trains),
            edge("d", "w", EdgeKind::Trains),
            edge("d", "x", EdgeKind::Trains),
            edge("w", "q", EdgeKind::Deploys),
            edge("z", "p", EdgeKind::Deploys),
            edge("y", "p", EdgeKind::Deploys),
        ];
        let plain = render(&nodes, &edges, "x", &no_links, 0);
        let swept = render(&nodes, &edges, "x", &no_links, SWEEPS);
        let before = drawn_crossings(&plain, &edges);
        let after = drawn_crossings(&swept, &edges);
        assert!(before >= 6, "the example should start tangled: {before}");
        assert!(after < before, "{after} !< {before}");
        assert_eq!(after, 0);
        // The internal counter agrees with the naive one.
        let lay = layout(&nodes, &edges, 0);
        let mut row = vec![0; lay.nodes.len()];
        let mut pos = vec![0.0; lay.nodes.len()];
        for column in &lay.columns {
            place(column, &mut pos, &mut row);
        }
        let mut gaps = vec![Vec::new(); lay.columns.len() - 1];
        for &(f, t) in lay.edges.keys() {
            let (l, r) = if lay.col[f] < lay.col[t] {
                (f, t)
            } else {
                (t, f)
            };
            if lay.col[r] == lay.col[l] + 1 {
                gaps[lay.col[l]].push((l, r));
            }
        }
        assert_eq!(crossings(&gaps, &lay.columns, &row), before as u64);
    }

    #[test]
    fn long_names_are_truncated_but_kept_in_the_title() {
        let long = "a_really_long_dataset_name_that_goes_on_and_on";
        let mut n = node("d", AssetKind::Dataset, long, 0);
        n.more = 12;
        let svg = lineage_svg(&[n], &[], "elsewhere", &no_links);
        assert!(svg.contains(&format!("<title>{long} (dataset)</title>")));
        let label_start = svg.find("fill=\"#ffffff\">").unwrap() + 15;
        let label = &svg[label_start..label_start + svg[label_start..].find('<').unwrap()];
        assert!(label.ends_with('…'));
        assert_eq!(label.chars().count(), LABEL_CHARS - 4);
        // Not the centre: dashed for "more", but not the thick outline.
        assert!(!svg.contains("stroke-width=\"3\""));
        assert!(svg.contains("stroke-dasharray=\"4 3\"/>"));
        assert_eq!(truncate("short", 26), "short");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn coordinates_are_formatted_consistently() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.25), "12.3");
        assert_eq!(num(-0.01), "0");
        assert_eq!(num(0.5), "0.5");
    }

    #[test]
    fn a_large_random_graph_lays_out() {
        let mut rng = Rng(42);
        let n = 5_000;
        let nodes: Vec<GraphNode> = (0..n)
            .map(|i| {
                let kind = AssetKind::ALL[rng.below(7) as usize];
                let mut g = node(
                    &format!("n{i}"),
                    kind,
                    &format!("asset_{}", rng.below(100_000)),
                    rng.below(9) as i64 - 4,
                );
                g.more = (rng.below(10) == 0) as usize * 5;
                g.hub = rng.below(50) == 0;
                g
            })
            .collect();
        let edges: Vec<LineageEdge> = (0..12_000)
            .map(|_| {
                edge(
                    &format!("n{}", rng.below(n)),
                    &format!("n{}", rng.below(n)),
                    EdgeKind::ALL[rng.below(7) as usize],
                )
            })
            .collect();
        let svg = lineage_svg(&nodes, &edges, "n0", &no_links);
        assert_eq!(count(&svg, "<rect data-id="), 5_000);
        assert!(svg.ends_with("</svg>\n"));
    }
}
