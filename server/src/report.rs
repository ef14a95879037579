//! Lineage reports: one asset's metadata, schema, neighbours with column
//! mappings, owners, the hubs it depends on, an SVG lineage diagram laid
//! out in Rust and, optionally, the impact of a schema diff or a change
//! request with its approval trail. As `.html` the report is one
//! self-contained file (inline CSS and SVG, no scripts) to attach or
//! archive; `.svg` and `.json` give the diagram or the data alone.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use catalog::Catalog;
use domain::change_request::ChangeRequest;
use domain::impact::{ImpactReport, SchemaChange};
use domain::lineage::{Direction, Millis};
use domain::query::{GraphNode, LineageDiff, LineageView, Neighbor};
use domain::svg::{escape, kind_colour, lineage_svg};
use domain::Asset;
use serde::Serialize;

/// The most lineage nodes a report draws.
const REPORT_NODES: usize = 400;
/// Direct neighbours a report lists on each side.
const REPORT_NEIGHBOURS: usize = 500;

#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    #[command(flatten)]
    pub db: crate::config::DbArgs,
    /// The asset's id.
    pub asset: String,
    /// upstream, downstream or both.
    #[arg(long, default_value = "both")]
    pub direction: String,
    /// Hops each way (default: all, up to 400 assets).
    #[arg(long)]
    pub depth: Option<u32>,
    /// A JSON file with a schema diff (`[{"op": "drop", "column": …}]` or
    /// `{"changes": […]}`) whose impact the report includes.
    #[arg(long)]
    pub impact: Option<PathBuf>,
    /// FILE.html, FILE.svg or FILE.json.
    #[arg(long)]
    pub out: PathBuf,
    /// The catalog as it was at this moment (RFC 3339) instead of now.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Also list what changed in the lineage since this moment (RFC 3339),
    /// up to the report's moment.
    #[arg(long)]
    pub since: Option<String>,
}

/// The moments a report looks at: now, or `as_of`; and, with `since`,
/// what changed from then to the report's moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Moments {
    pub as_of: Option<Millis>,
    pub since: Option<Millis>,
}

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    pub asset: Asset,
    pub direction: String,
    pub depth: Option<u32>,
    pub lineage: LineageView,
    pub upstream: Vec<Neighbor>,
    pub downstream: Vec<Neighbor>,
    /// The hubs (assets most depended on) upstream of this one.
    pub hubs: Vec<domain::query::HubItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<ImpactReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_request: Option<ChangeRequest>,
    /// The catalog's graph version the report was made from.
    pub graph_version: u64,
    /// The moment the report shows, when not now (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// What changed in the lineage from `since` to the report's moment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<LineageDiff>,
}

/// What a change request's report shows: its dataset's downstream now,
/// with the impact snapshot and the approval trail.
pub async fn change_request_data(
    catalog: &Catalog,
    cr: ChangeRequest,
) -> catalog::Result<ReportData> {
    let dataset = cr.dataset.clone();
    build(
        catalog,
        &dataset,
        "downstream",
        None,
        None,
        Some(cr),
        Moments::default(),
    )
    .await
}

/// Which way a report looks.
pub fn parse_direction(s: &str) -> Result<Option<Direction>, domain::ValidationError> {
    match s {
        "upstream" => Ok(Some(Direction::Upstream)),
        "downstream" => Ok(Some(Direction::Downstream)),
        "both" | "" => Ok(None),
        other => Err(domain::ValidationError::new(
            "direction",
            format!("{other:?} is not upstream, downstream or both"),
        )),
    }
}

/// Gathers a report on `id`.
pub async fn build(
    catalog: &Catalog,
    id: &str,
    direction: &str,
    depth: Option<u32>,
    impact: Option<ImpactReport>,
    change_request: Option<ChangeRequest>,
    when: Moments,
) -> catalog::Result<ReportData> {
    let dir = parse_direction(direction)?;
    if let (Some(since), Some(t)) = (when.since, when.as_of) {
        if since > t {
            return Err(catalog::CatalogError::Invalid(
                domain::ValidationError::new("since", "comes after the report's moment (`as_of`)"),
            ));
        }
    }
    let changes = match when.since {
        Some(since) => Some(
            catalog
                .lineage_diff(
                    id,
                    since,
                    when.as_of.unwrap_or_else(crate::history::now),
                    dir,
                    depth,
                    Some(REPORT_NODES),
                )
                .await?,
        ),
        None => None,
    };
    if let Some(t) = when.as_of {
        return Ok(ReportData {
            asset: catalog.asset_as_of(id, t).await?,
            direction: direction.to_string(),
            depth,
            lineage: catalog.lineage_as_of(id, dir, depth, vec![], Some(REPORT_NODES), t)?,
            upstream: neighbours_as_of(catalog, id, Direction::Upstream, t)?,
            downstream: neighbours_as_of(catalog, id, Direction::Downstream, t)?,
            // Hubs are ranked over the graph of now only.
            hubs: vec![],
            impact,
            change_request,
            graph_version: catalog.graph_version().await?,
            as_of: Some(domain::time::from_millis(t)),
            changes,
        });
    }
    let asset = catalog.get_asset(id).await?;
    let upstream = catalog
        .neighbours(id, Direction::Upstream, 0, REPORT_NEIGHBOURS)
        .await?
        .items;
    let downstream = catalog
        .neighbours(id, Direction::Downstream, 0, REPORT_NEIGHBOURS)
        .await?
        .items;
    let lineage = catalog.lineage(id, dir, depth, vec![], Some(REPORT_NODES))?;
    let upstream_ids: std::collections::HashSet<String> = catalog
        .lineage(id, Some(Direction::Upstream), None, vec![], None)?
        .nodes
        .into_iter()
        .map(|n| n.id)
        .filter(|n| n != id)
        .collect();
    let hubs = catalog
        .hubs(25)
        .into_iter()
        .filter(|h| upstream_ids.contains(&h.id))
        .collect();
    Ok(ReportData {
        asset,
        direction: direction.to_string(),
        depth,
        lineage,
        upstream,
        downstream,
        hubs,
        impact,
        change_request,
        graph_version: catalog.graph_version().await?,
        as_of: None,
        changes,
    })
}

/// `id`'s direct neighbours in `dir` as of `t`, from the lineage index
/// (the edges valid then; their column mappings are not kept in time).
fn neighbours_as_of(
    catalog: &Catalog,
    id: &str,
    dir: Direction,
    t: Millis,
) -> catalog::Result<Vec<Neighbor>> {
    let v = catalog.lineage_as_of(id, Some(dir), Some(1), vec![], Some(REPORT_NEIGHBOURS), t)?;
    let nodes: std::collections::HashMap<&str, &domain::query::LineageNode> =
        v.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    Ok(v.edges
        .iter()
        .filter_map(|e| {
            let other = match dir {
                Direction::Upstream if e.to == id => &e.from,
                Direction::Downstream if e.from == id => &e.to,
                _ => return None,
            };
            let n = nodes.get(other.as_str())?;
            Some(Neighbor {
                edge_id: domain::edge::edge_id(&e.from, e.kind, &e.to),
                edge_kind: e.kind,
                id: n.id.clone(),
                kind: n.kind,
                name: n.name.clone(),
                columns: vec![],
                more_columns: 0,
            })
        })
        .collect())
}

/// A titled list with its count, each item of class `class`.
fn listed<T>(s: &mut String, title: &str, class: &str, items: &[T], item: impl Fn(&T) -> String) {
    let _ = write!(s, "<h3>{title} ({})</h3>", items.len());
    if items.is_empty() {
        s.push_str("<p class=\"muted\">None.</p>");
        return;
    }
    s.push_str("<ul>");
    for i in items {
        let _ = write!(s, "<li class=\"{class}\">{}</li>", item(i));
    }
    s.push_str("</ul>");
}

/// The report's "What changed" section.
fn changes_section(s: &mut String, d: &LineageDiff) {
    let _ = write!(
        s,
        "<h2>What changed from {} to {}</h2><p>{} assets unchanged.</p>",
        escape(&d.from),
        escape(&d.to),
        d.unchanged
    );
    let asset = |n: &domain::query::LineageNode| {
        format!(
            "{} {} <span class=\"mono muted\">{}</span>",
            badge(n.kind),
            escape(&n.name),
            escape(&n.id)
        )
    };
    let edge = |e: &domain::query::LineageEdge| {
        format!(
            "<span class=\"mono\">{} → {} → {}</span>",
            escape(&e.from),
            e.kind,
            escape(&e.to)
        )
    };
    listed(s, "Assets that appeared", "appeared", &d.appeared, asset);
    listed(s, "Assets that disappeared", "ended", &d.disappeared, asset);
    listed(
        s,
        "Edges that appeared",
        "appeared",
        &d.edges_appeared,
        edge,
    );
    listed(s, "Edges that ended", "ended", &d.edges_disappeared, edge);
    let _ = write!(s, "<h3>Assets that changed ({})</h3>", d.changed.len());
    if d.changed.is_empty() {
        s.push_str("<p class=\"muted\">None.</p>");
    } else {
        s.push_str("<table><thead><tr><th>Asset</th><th>Versions</th><th>What changed</th></tr></thead><tbody>");
        for c in &d.changed {
            let _ = write!(
                s,
                "<tr><td class=\"mono\">{}</td><td>{} → {}</td><td>{}</td></tr>",
                escape(&c.id),
                c.from_version,
                c.to_version,
                escape(&c.fields.join(", "))
            );
        }
        s.push_str("</tbody></table>");
    }
}

/// The report's lineage diagram.
pub fn svg(data: &ReportData) -> String {
    let hubs: std::collections::HashSet<&str> = data.hubs.iter().map(|h| h.id.as_str()).collect();
    let nodes: Vec<GraphNode> = data
        .lineage
        .nodes
        .iter()
        .map(|n| GraphNode {
            id: n.id.clone(),
            kind: n.kind,
            name: n.name.clone(),
            depth: n.depth,
            more: 0,
            hub: hubs.contains(n.id.as_str()),
        })
        .collect();
    lineage_svg(&nodes, &data.lineage.edges, &data.asset.id, &|_| None)
}

/// The stylesheet of a report: small, inline, print-friendly.
const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#1c2330;margin:2rem auto;max-width:72rem;padding:0 1rem}\
h1{margin:.2rem 0}h2{margin-top:1.6rem;border-bottom:1px solid #e2e6ec;padding-bottom:.2rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e2e6ec;vertical-align:top}\
.mono{font-family:ui-monospace,Menlo,monospace;font-size:.9em}.muted{color:#5f6b7a}.badge{display:inline-block;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.75em;font-weight:700;text-transform:uppercase}\
.sev-breaking{background:#c23b32}.sev-possibly-breaking{background:#c77a0a}.sev-non-breaking{background:#3f8f5a}\
.diagram{overflow:auto;border:1px solid #e2e6ec;border-radius:8px;padding:.5rem}";

fn badge(kind: domain::AssetKind) -> String {
    format!(
        "<span class=\"badge\" style=\"background:{}\">{}</span>",
        kind_colour(kind),
        kind.as_str()
    )
}

fn neighbours(s: &mut String, title: &str, items: &[Neighbor]) {
    let _ = write!(s, "<h2>{title} ({})</h2>", items.len());
    if items.is_empty() {
        s.push_str("<p class=\"muted\">None.</p>");
        return;
    }
    s.push_str(
        "<table><thead><tr><th>Asset</th><th>Edge</th><th>Column mappings</th></tr></thead><tbody>",
    );
    for n in items {
        let maps: Vec<String> = n
            .columns
            .iter()
            .map(|m| {
                format!(
                    "{} → {}{}",
                    escape(&m.from),
                    escape(&m.to),
                    m.transform
                        .as_deref()
                        .map(|t| format!(" ({})", escape(t)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let _ = write!(
            s,
            "<tr><td>{} {}<div class=\"mono muted\">{}</div></td><td>{}</td><td class=\"mono\">{}</td></tr>",
            badge(n.kind),
            escape(&n.name),
            escape(&n.id),
            n.edge_kind.as_str(),
            maps.join("<br>")
        );
    }
    s.push_str("</tbody></table>");
}

fn impact_section(s: &mut String, r: &ImpactReport) {
    let _ = write!(
        s,
        "<h2>Impact of the change</h2><p>Changes: {}. Worst severity: <span class=\"badge sev-{}\">{}</span>.</p>",
        escape(
            &r.changes
                .iter()
                .map(SchemaChange::summary)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        r.severity.as_str(),
        r.severity.label()
    );
    s.push_str("<h3>Services and applications hit</h3><ul>");
    for h in &r.services {
        let _ = write!(
            s,
            "<li>{} {} <span class=\"badge sev-{}\">{}</span>{}</li>",
            badge(h.kind),
            escape(&h.name),
            h.severity.as_str(),
            h.severity.label(),
            if h.production { " · production" } else { "" }
        );
    }
    s.push_str("</ul><h3>Owners to notify</h3><ul>");
    for o in &r.owners {
        let _ = write!(
            s,
            "<li>{} <span class=\"badge sev-{}\">{}</span> · {} assets</li>",
            escape(&o.owner),
            o.severity.as_str(),
            o.severity.label(),
            o.asset_count()
        );
    }
    s.push_str("</ul><h3>Affected assets</h3><table><thead><tr><th>Hops</th><th>Asset</th><th>Severity</th><th>Why</th><th>Owners</th></tr></thead><tbody>");
    for a in &r.affected {
        let why: Vec<String> = a
            .chains
            .iter()
            .map(|c| {
                c.iter()
                    .map(|st| {
                        format!(
                            "{}.{}",
                            st.asset.rsplit(':').next().unwrap_or(&st.asset),
                            st.column
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" → ")
            })
            .chain(
                a.possibly
                    .then(|| "possibly affected: no column mapping on the way".to_string()),
            )
            .collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{} {}</td><td><span class=\"badge sev-{}\">{}</span></td><td class=\"mono\">{}</td><td>{}</td></tr>",
            a.hops,
            badge(a.kind),
            escape(&a.name),
            a.severity.as_str(),
            a.severity.label(),
            escape(&why.join("; ")),
            escape(&a.owners.join(", "))
        );
    }
    s.push_str("</tbody></table>");
}

/// An asset's columns as an HTML table; `class` goes on the table.
pub fn schema_table(fields: &[domain::Field], class: &str) -> String {
    let mut s = format!(
        "<table class=\"{class}\"><thead><tr><th>Column</th><th>Type</th><th>Nullable</th><th>Description</th></tr></thead><tbody>"
    );
    for f in fields {
        let _ = write!(
            s,
            "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.name),
            escape(&f.data_type),
            if f.nullable { "yes" } else { "no" },
            escape(&f.description)
        );
    }
    s.push_str("</tbody></table>");
    s
}

/// The whole report as one self-contained HTML file.
pub fn html(data: &ReportData) -> String {
    let a = &data.asset;
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Lineage report: {}</title><style>{CSS}</style></head><body>",
        escape(&a.name)
    );
    let _ = write!(
        s,
        "<p class=\"muted\">mlgraph lineage report · graph version {}{}</p><h1>{} {}</h1><p class=\"mono muted\">{}</p><p>{}</p>",
        data.graph_version,
        data.as_of
            .as_ref()
            .map(|t| format!(" · <strong>as of {}</strong>", escape(t)))
            .unwrap_or_default(),
        badge(a.kind),
        escape(&a.name),
        escape(&a.id),
        escape(&a.description)
    );
    let _ = write!(
        s,
        "<table><tbody><tr><th>Namespace</th><td class=\"mono\">{}</td></tr><tr><th>Owners</th><td>{}</td></tr>\
         <tr><th>Tags</th><td>{}</td></tr><tr><th>Domain</th><td>{}</td></tr><tr><th>Version</th><td>{}</td></tr></tbody></table>",
        escape(&a.namespace),
        escape(&a.owners.join(", ")),
        escape(&a.tags.join(", ")),
        escape(a.domain.as_deref().unwrap_or("")),
        a.version
    );
    if let Some(cr) = &data.change_request {
        let _ = write!(
            s,
            "<h2>Change request #{} · {}</h2><p>{} · proposed by {} · state <strong>{}</strong></p>",
            cr.id,
            escape(&cr.title),
            escape(&cr.description),
            escape(&cr.proposer),
            cr.state
        );
        s.push_str("<h3>Approval trail</h3><table><thead><tr><th>Required approver</th><th>Signed off by</th></tr></thead><tbody>");
        for st in cr.approver_status() {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td></tr>",
                escape(&st.owner),
                escape(st.approved_by.as_deref().unwrap_or("waiting"))
            );
        }
        s.push_str("</tbody></table><ul>");
        for d in &cr.approvals {
            let _ = write!(
                s,
                "<li>approved by {}{} at {}{}</li>",
                escape(&d.user),
                if d.as_approver { " (approver)" } else { "" },
                escape(&d.at),
                if d.comment.is_empty() {
                    String::new()
                } else {
                    format!(": {}", escape(&d.comment))
                }
            );
        }
        if let Some(d) = &cr.rejection {
            let _ = write!(
                s,
                "<li>rejected by {} at {}: {}</li>",
                escape(&d.user),
                escape(&d.at),
                escape(&d.comment)
            );
        }
        for c in &cr.comments {
            let _ = write!(
                s,
                "<li>{} commented at {}: {}</li>",
                escape(&c.user),
                escape(&c.at),
                escape(&c.text)
            );
        }
        s.push_str("</ul>");
    }
    let _ = write!(
        s,
        "<h2>Lineage ({}, {} assets{})</h2><div class=\"diagram\">{}</div>",
        escape(&data.direction),
        data.lineage.nodes.len(),
        if data.lineage.truncated.omitted > 0 {
            format!(", {} more not drawn", data.lineage.truncated.omitted)
        } else {
            String::new()
        },
        svg(data)
    );
    if a.kind.has_schema() {
        let _ = write!(
            s,
            "<h2>Schema ({} columns)</h2>{}",
            a.schema.len(),
            schema_table(&a.schema, "")
        );
    }
    neighbours(&mut s, "Upstream", &data.upstream);
    neighbours(&mut s, "Downstream", &data.downstream);
    s.push_str("<h2>Hubs it depends on</h2>");
    if data.as_of.is_some() {
        s.push_str("<p class=\"muted\">Hubs are ranked over the graph of now; a report of a past moment lists none.</p>");
    } else if data.hubs.is_empty() {
        s.push_str("<p class=\"muted\">None.</p>");
    } else {
        s.push_str("<ul>");
        for h in &data.hubs {
            let _ = write!(
                s,
                "<li>{} {} · {} downstream</li>",
                badge(h.kind),
                escape(&h.name),
                h.downstream
            );
        }
        s.push_str("</ul>");
    }
    if let Some(d) = &data.changes {
        changes_section(&mut s, d);
    }
    if let Some(r) = data
        .impact
        .as_ref()
        .or(data.change_request.as_ref().map(|c| &c.impact))
    {
        impact_section(&mut s, r);
    }
    s.push_str("</body></html>\n");
    s
}

/// Reads a schema diff file: a list of changes or `{"changes": […]}`.
fn read_diff(path: &PathBuf) -> anyhow::Result<Vec<SchemaChange>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    #[derive(serde::Deserialize)]
    struct Wrapped {
        changes: Vec<SchemaChange>,
    }
    serde_json::from_str::<Vec<SchemaChange>>(&text)
        .or_else(|_| serde_json::from_str::<Wrapped>(&text).map(|w| w.changes))
        .with_context(|| format!("{} is not a list of schema changes", path.display()))
}

/// A moment given on the command line, RFC 3339.
fn cli_moment(flag: &str, v: Option<&str>) -> anyhow::Result<Option<Millis>> {
    v.map(|v| {
        domain::time::to_millis(v).ok_or_else(|| {
            anyhow::anyhow!(
                "{flag}: {v:?} is not an RFC 3339 date-time such as 2026-12-01T09:30:00Z"
            )
        })
    })
    .transpose()
}

/// `mlgraph report`.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let catalog = crate::config::open(&args.db).await?;
    let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
    let impact = match &args.impact {
        Some(path) => Some(
            catalog
                .impact(&args.asset, &read_diff(path)?)
                .await
                .map_err(e)?,
        ),
        None => None,
    };
    let data = build(
        &catalog,
        &args.asset,
        &args.direction,
        args.depth,
        impact,
        None,
        Moments {
            as_of: cli_moment("--as-of", args.as_of.as_deref())?,
            since: cli_moment("--since", args.since.as_deref())?,
        },
    )
    .await
    .map_err(e)?;
    let ext = args
        .out
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = match ext.as_str() {
        "html" | "htm" => html(&data),
        "svg" => svg(&data),
        "json" => serde_json::to_string_pretty(&data)?,
        other => anyhow::bail!("--out must end in .html, .svg or .json, not {other:?}"),
    };
    std::fs::write(&args.out, bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}

/// The report endpoints: `GET /api/v1/assets/{id}/report` and
/// `GET /api/v1/change-requests/{id}/report`, with `?format=html|svg|json`
/// (HTML by default, as a download) and, for assets, `direction` and `depth`.
pub fn routes() -> axum::Router<crate::router::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/assets/{id}/report", get(asset_report))
        .route("/change-requests/{id}/report", get(change_request_report))
}

fn respond(
    data: &ReportData,
    format: &str,
    name: &str,
) -> crate::api::ApiResult<axum::response::Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let (body, mime, ext) = match format {
        "" | "html" => (html(data), "text/html; charset=utf-8", "html"),
        "svg" => (svg(data), "image/svg+xml", "svg"),
        "json" => (
            serde_json::to_string_pretty(data).unwrap_or_default(),
            "application/json",
            "json",
        ),
        other => {
            return Err(crate::api::ApiError::invalid(domain::ValidationError::new(
                "format",
                format!("{other:?} is not html, svg or json"),
            )))
        }
    };
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}.{ext}\""),
            ),
        ],
        body,
    )
        .into_response())
}

async fn asset_report(
    axum::extract::State(catalog): axum::extract::State<Catalog>,
    caller: crate::auth::Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> crate::api::ApiResult<axum::response::Response> {
    caller.require(domain::auth::Action::Read)?;
    let pairs = domain::query::parse_query_string(raw.as_deref().unwrap_or(""));
    let get = |k: &str| crate::api::param(&pairs, k).unwrap_or("");
    let depth = match get("depth") {
        "" => None,
        d => Some(d.parse::<u32>().map_err(|_| {
            crate::api::ApiError::invalid(domain::ValidationError::new(
                "depth",
                format!("{d:?} is not a whole number"),
            ))
        })?),
    };
    let direction = match get("direction") {
        "" => "both",
        d => d,
    };
    let moment = |k: &str| match get(k) {
        "" => Ok(None),
        v => crate::history::moment(k, v).map(Some),
    };
    let when = Moments {
        as_of: moment("as_of")?,
        since: moment("since")?,
    };
    let data = build(&catalog, &id, direction, depth, None, None, when).await?;
    let name = format!("lineage-{}", data.asset.name);
    respond(&data, get("format"), &name)
}

async fn change_request_report(
    axum::extract::State(catalog): axum::extract::State<Catalog>,
    caller: crate::auth::Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> crate::api::ApiResult<axum::response::Response> {
    caller.require(domain::auth::Action::Read)?;
    let pairs = domain::query::parse_query_string(raw.as_deref().unwrap_or(""));
    let n = crate::changes::parse_id(&id)?;
    let cr = catalog.get_change_request(n).await?;
    let data = change_request_data(&catalog, cr).await?;
    respond(
        &data,
        crate::api::param(&pairs, "format").unwrap_or(""),
        &format!("change-request-{n}"),
    )
}
