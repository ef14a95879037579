//! The schema-change gate of a pull request: proposed schemas in, their
//! diffs against the catalog, each diff's impact and the change requests
//! that approve it out, and the report `mlgraph check` prints.
//!
//! A dataset passes when its diff breaks nothing, or when a change request
//! with exactly this diff was approved. It fails when a breaking diff has
//! no such approval (the check then exits 1).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::asset::Field;
use crate::change_request::CrState;
use crate::impact::{ImpactReport, SchemaDiff, Severity};

/// The most datasets one check may name.
pub const MAX_CHECK_DATASETS: usize = 5_000;

/// One dataset's schema as a pull request would leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedSchema {
    /// The dataset's asset id.
    pub dataset: String,
    pub schema: Vec<Field>,
    /// Declared renames: new column name → old name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub renames: BTreeMap<String, String>,
}

/// The body of `POST /api/v1/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub datasets: Vec<ProposedSchema>,
}

/// Where a dataset stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// The proposed schema is the one in force.
    Unchanged,
    /// The catalog has no such dataset yet; nothing can depend on it.
    New,
    /// The diff breaks no reader.
    NonBreaking,
    /// The diff may break some readers (a widening retype, a column made
    /// nullable, a required column added): reported, not gated.
    PossiblyBreaking,
    /// The diff breaks readers, and a change request with this diff was
    /// approved (or already applied).
    Approved,
    /// The diff breaks readers and waits for approval.
    NeedsApproval,
    /// A change request with this diff was rejected.
    Rejected,
}

impl CheckStatus {
    /// Whether the pull request may merge as far as this dataset goes.
    pub fn passes(self) -> bool {
        !matches!(self, CheckStatus::NeedsApproval | CheckStatus::Rejected)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Unchanged => "unchanged",
            CheckStatus::New => "new",
            CheckStatus::NonBreaking => "non-breaking",
            CheckStatus::PossiblyBreaking => "possibly breaking",
            CheckStatus::Approved => "approved",
            CheckStatus::NeedsApproval => "needs approval",
            CheckStatus::Rejected => "rejected",
        }
    }
}

/// A change request whose diff equals a checked one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchingRequest {
    pub id: u64,
    pub state: CrState,
    pub title: String,
    pub required_approvers: Vec<String>,
    /// Who approved so far.
    pub approved_by: Vec<String>,
}

/// One dataset's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedDataset {
    pub dataset: String,
    pub status: CheckStatus,
    pub diff: SchemaDiff,
    /// The worst change of the diff, if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What a breaking or possibly-breaking diff reaches: counts for
    /// everything, rows for the first assets per hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<ImpactReport>,
    /// Change requests on this dataset with exactly this diff, newest
    /// first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_requests: Vec<MatchingRequest>,
}

/// The answer of `POST /api/v1/check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub datasets: Vec<CheckedDataset>,
    /// Whether every dataset passes.
    pub passes: bool,
}

impl CheckReport {
    pub fn new(datasets: Vec<CheckedDataset>) -> CheckReport {
        let passes = datasets.iter().all(|d| d.status.passes());
        CheckReport { datasets, passes }
    }

    /// The datasets that fail, in report order.
    pub fn failing(&self) -> impl Iterator<Item = &CheckedDataset> {
        self.datasets.iter().filter(|d| !d.status.passes())
    }
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// GitHub-flavoured Markdown, for a pull-request comment or a step
    /// summary.
    Markdown,
    /// Plain text for a terminal.
    Text,
}

/// Escapes text for a Markdown table cell or line: no markup, no HTML.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::NonBreaking => "non-breaking",
        Severity::PossiblyBreaking => "possibly breaking",
        Severity::Breaking => "breaking",
    }
}

/// The report as Markdown or text. `server` is the catalog's base URL, for
/// links to assets and change requests.
pub fn render(report: &CheckReport, format: ReportFormat, server: &str) -> String {
    let server = server.trim_end_matches('/');
    let markdown = format == ReportFormat::Markdown;
    let esc = |s: &str| if markdown { md(s) } else { s.to_string() };
    let mut out = String::new();
    let failing = report.failing().count();
    let changed = report
        .datasets
        .iter()
        .filter(|d| d.status != CheckStatus::Unchanged)
        .count();
    let verdict = if report.passes {
        "passes"
    } else {
        "needs approval"
    };
    if markdown {
        let _ = writeln!(out, "## mlgraph schema check: {verdict}\n");
    } else {
        let _ = writeln!(out, "mlgraph schema check: {verdict}\n");
    }
    let _ = writeln!(
        out,
        "{} datasets checked, {changed} with schema changes, {failing} waiting for approval.\n",
        report.datasets.len()
    );
    for d in report
        .datasets
        .iter()
        .filter(|d| d.status != CheckStatus::Unchanged)
    {
        let mark = match d.status {
            _ if !d.status.passes() => "❌",
            CheckStatus::PossiblyBreaking => "⚠️",
            _ => "✅",
        };
        if markdown {
            let _ = writeln!(
                out,
                "### {mark} [{}]({server}/asset?id={}): {}\n",
                md(&d.dataset),
                percent(&d.dataset),
                d.status.as_str()
            );
        } else {
            let _ = writeln!(out, "{mark} {}: {}", d.dataset, d.status.as_str());
        }
        for c in &d.diff.changes {
            let _ = writeln!(out, "- {}", esc(&c.summary()));
        }
        for n in &d.diff.notes {
            let _ = writeln!(out, "- note: {}", esc(n));
        }
        if let Some(s) = d.severity {
            let _ = writeln!(out, "- severity: {}", severity_word(s));
        }
        if let Some(r) = &d.impact {
            write_impact(&mut out, r, markdown, server);
        }
        for cr in &d.change_requests {
            let link = format!("{server}/change?id={}", cr.id);
            let who = if cr.approved_by.is_empty() {
                String::new()
            } else {
                format!(", approved by {}", cr.approved_by.join(", "))
            };
            if markdown {
                let _ = writeln!(
                    out,
                    "- change request [#{}]({link}) ({}{}): {}",
                    cr.id,
                    cr.state,
                    md(&who),
                    md(&cr.title)
                );
            } else {
                let _ = writeln!(
                    out,
                    "- change request #{} ({}{}): {} {link}",
                    cr.id, cr.state, who, cr.title
                );
            }
        }
        out.push('\n');
    }
    out
}

fn write_impact(out: &mut String, r: &ImpactReport, markdown: bool, server: &str) {
    let esc = |s: &str| if markdown { md(s) } else { s.to_string() };
    // The report lists the dataset itself first, at hop 0.
    let total = r
        .bounded
        .as_ref()
        .map_or(r.affected.len(), |b| b.hops.iter().map(|h| h.1).sum())
        .saturating_sub(1);
    let listed: Vec<_> = r.affected.iter().filter(|a| a.hops > 0).collect();
    let by = |s: Severity| listed.iter().filter(|a| a.severity == s).count();
    let _ = writeln!(
        out,
        "- downstream: {total} assets ({} breaking, {} possibly breaking, {} non-breaking among those listed)",
        by(Severity::Breaking),
        by(Severity::PossiblyBreaking),
        by(Severity::NonBreaking)
    );
    if !r.services.is_empty() {
        let names: Vec<String> = r
            .services
            .iter()
            .map(|s| {
                let prod = if s.production { " (production)" } else { "" };
                format!("{}{prod}", esc(&s.name))
            })
            .collect();
        let _ = writeln!(out, "- services and applications hit: {}", names.join(", "));
    }
    if !r.owners.is_empty() {
        let names: Vec<String> = r.owners.iter().map(|o| esc(&o.owner)).collect();
        let _ = writeln!(out, "- owners to notify: {}", names.join(", "));
    }
    if markdown && !listed.is_empty() {
        let _ = writeln!(
            out,
            "\n| asset | kind | hops | severity | columns |\n|---|---|---|---|---|"
        );
        for a in listed.iter().take(20) {
            let _ = writeln!(
                out,
                "| [{}]({server}/asset?id={}) | {} | {} | {} | {} |",
                md(&a.name),
                percent(&a.id),
                a.kind.as_str(),
                a.hops,
                severity_word(a.severity),
                md(&a.columns.join(", "))
            );
        }
        if total > 20 {
            let _ = writeln!(out, "\n{} more not listed.", total - 20);
        }
        out.push('\n');
    } else {
        for a in listed.iter().take(20) {
            let _ = writeln!(
                out,
                "  - {} ({}, {} hops, {})",
                a.id,
                a.kind.as_str(),
                a.hops,
                severity_word(a.severity)
            );
        }
        if total > 20 {
            let _ = writeln!(out, "  - and {} more", total - 20);
        }
    }
}

/// Percent-encodes an asset id for a URL path segment.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_escapes_what_a_dataset_or_note_could_smuggle_in() {
        let report = CheckReport::new(vec![CheckedDataset {
            dataset: "dataset:x:<img src=x>|a".into(),
            status: CheckStatus::NeedsApproval,
            diff: SchemaDiff {
                changes: vec![],
                notes: vec!["[link](javascript:alert(1))".into()],
            },
            severity: Some(Severity::Breaking),
            impact: None,
            change_requests: vec![],
        }]);
        let text = render(&report, ReportFormat::Markdown, "http://h");
        assert!(!report.passes);
        assert!(text.contains("needs approval"));
        assert!(!text.contains("<img"));
        assert!(text.contains("\\[link\\]"));
        assert!(text.contains("/asset?id=dataset%3Ax%3A%3Cimg%20src%3Dx%3E%7Ca"));
    }
}
