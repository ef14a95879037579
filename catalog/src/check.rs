//! The schema-change gate: proposed schemas checked against the catalog
//! (`POST /api/v1/check`, `mlgraph check`), change requests found by their
//! diff, and approved requests marked applied once an import carries them
//! out.

use std::collections::BTreeSet;

use domain::auth::{Principal, Role, Via};
use domain::change_request::{ChangeRequest, CrState};
use domain::check::{
    CheckReport, CheckRequest, CheckStatus, CheckedDataset, MatchingRequest, MAX_CHECK_DATASETS,
};
use domain::impact::{
    change_severity, changes_in_effect, same_changes, schema_diff, Limits, SchemaChange, Severity,
};
use domain::{AssetKind, ValidationError};
use serde_json::Value;

use crate::change_request::now_rfc3339;
use crate::error::{CatalogError, Result};
use crate::Catalog;

/// Rows per hop (and services, and refresh steps) in a check's impact.
pub const CHECK_IMPACT_ROWS: usize = 50;

/// The most change requests of one dataset a search by diff reads.
const REQUESTS_PER_DATASET: usize = 1_000;

impl Catalog {
    /// Diffs each proposed schema against the one in force, with the
    /// impact of every diff that may break a reader and the change requests
    /// that carry exactly that diff.
    pub async fn check_schemas(&self, req: &CheckRequest) -> Result<CheckReport> {
        if req.datasets.is_empty() {
            return Err(ValidationError::new("datasets", "name at least one dataset").into());
        }
        if req.datasets.len() > MAX_CHECK_DATASETS {
            return Err(ValidationError::new(
                "datasets",
                format!("at most {MAX_CHECK_DATASETS} datasets per check"),
            )
            .into());
        }
        let mut seen = BTreeSet::new();
        for (i, p) in req.datasets.iter().enumerate() {
            let field = format!("datasets[{i}].dataset");
            domain::asset::parse_asset_id(&p.dataset)
                .map_err(|e| ValidationError::new(field.clone(), e.message))?;
            if !seen.insert(p.dataset.as_str()) {
                return Err(ValidationError::new(field, "is named twice").into());
            }
        }
        // A dataset named by an alias is checked against its target.
        let ids: Vec<String> = req.datasets.iter().map(|p| p.dataset.clone()).collect();
        let targets = if self.has_aliases().await? {
            self.alias_targets(&ids).await?
        } else {
            Default::default()
        };
        let req = &CheckRequest {
            datasets: req
                .datasets
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    if let Some(t) = targets.get(&p.dataset) {
                        p.dataset = t.clone();
                    }
                    p
                })
                .collect(),
        };
        let stored = self
            .load_assets(req.datasets.iter().map(|p| p.dataset.clone()).collect())
            .await?;
        let mut out = Vec::with_capacity(req.datasets.len());
        for (i, p) in req.datasets.iter().enumerate() {
            let within = format!("datasets[{i}]");
            let current = stored.get(&p.dataset);
            if let Some(a) = current.filter(|a| a.kind != AssetKind::Dataset) {
                return Err(ValidationError::new(
                    format!("{within}.dataset"),
                    format!("{} is a {}, not a dataset", a.id, a.kind),
                )
                .into());
            }
            let schema = current.map_or(&[][..], |a| &a.schema[..]);
            let diff = schema_diff(schema, &p.schema, &p.renames).map_err(|e| e.within(&within))?;
            let Some(asset) = current else {
                out.push(CheckedDataset {
                    dataset: p.dataset.clone(),
                    status: CheckStatus::New,
                    diff,
                    severity: None,
                    impact: None,
                    change_requests: vec![],
                });
                continue;
            };
            if diff.changes.is_empty() {
                out.push(CheckedDataset {
                    dataset: p.dataset.clone(),
                    status: CheckStatus::Unchanged,
                    diff,
                    severity: None,
                    impact: None,
                    change_requests: vec![],
                });
                continue;
            }
            let severity = diff
                .changes
                .iter()
                .map(|c| change_severity(asset.column(&c.column), c))
                .max()
                .unwrap_or(Severity::NonBreaking);
            let impact = if severity > Severity::NonBreaking {
                let limits = Limits {
                    per_hop: CHECK_IMPACT_ROWS,
                    rows: CHECK_IMPACT_ROWS,
                };
                Some(
                    self.impact_limited(&p.dataset, &diff.changes, Some(limits))
                        .await?,
                )
            } else {
                None
            };
            let requests = self.find_change_requests(&p.dataset, &diff.changes).await?;
            let any = |states: &[CrState]| requests.iter().any(|r| states.contains(&r.state));
            let status = if severity == Severity::NonBreaking {
                CheckStatus::NonBreaking
            } else if severity == Severity::PossiblyBreaking {
                CheckStatus::PossiblyBreaking
            } else if any(&[CrState::Approved, CrState::Applied]) {
                CheckStatus::Approved
            } else if any(&[CrState::Open, CrState::Draft]) || !any(&[CrState::Rejected]) {
                CheckStatus::NeedsApproval
            } else {
                CheckStatus::Rejected
            };
            out.push(CheckedDataset {
                dataset: p.dataset.clone(),
                status,
                diff,
                severity: Some(severity),
                impact,
                change_requests: requests.iter().map(matching).collect(),
            });
        }
        Ok(CheckReport::new(out))
    }

    /// The change requests on `dataset` whose diff is `changes` (in any
    /// order), newest first; withdrawn ones are left out.
    pub async fn find_change_requests(
        &self,
        dataset: &str,
        changes: &[SchemaChange],
    ) -> Result<Vec<ChangeRequest>> {
        let mut res = self
            .db
            .query(
                "SELECT VALUE doc FROM change_request WHERE dataset = $dataset
                   ORDER BY id DESC LIMIT $limit",
            )
            .bind(("dataset", dataset.to_string()))
            .bind(("limit", REQUESTS_PER_DATASET))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let mut out = Vec::new();
        for r in rows {
            let cr: ChangeRequest = serde_json::from_value(r)
                .map_err(|e| CatalogError::Corrupt(format!("change request row: {e}")))?;
            if cr.state != CrState::Withdrawn && same_changes(&cr.changes, changes) {
                out.push(cr);
            }
        }
        out.sort_by_key(|cr| std::cmp::Reverse(cr.id));
        Ok(out)
    }

    /// Marks applied every approved change request whose diff the catalog
    /// now shows (an import carried it out: the merged pull request's
    /// manifest, say), and returns their ids. `by` is the importer.
    pub async fn settle_change_requests(&self, by: &str) -> Result<Vec<u64>> {
        let mut res = self
            .db
            .query("SELECT VALUE doc FROM change_request WHERE state = 'approved' ORDER BY id")
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let requests: Vec<ChangeRequest> = rows
            .into_iter()
            .map(|r| {
                serde_json::from_value(r)
                    .map_err(|e| CatalogError::Corrupt(format!("change request row: {e}")))
            })
            .collect::<Result<_>>()?;
        let datasets = self
            .load_assets(requests.iter().map(|r| r.dataset.clone()).collect())
            .await?;
        let who = importer(by);
        let mut applied = Vec::new();
        for mut cr in requests {
            let Some(asset) = datasets.get(&cr.dataset) else {
                continue;
            };
            if !changes_in_effect(&asset.schema, &cr.changes) {
                continue;
            }
            let before = cr.version;
            cr.state = CrState::Applied;
            cr.version += 1;
            cr.updated_at = now_rfc3339();
            cr.applied_schema_version = Some(asset.version);
            match self
                .save_step(&cr, before, "applied", &who, "carried out by an import")
                .await
            {
                Ok(()) => applied.push(cr.id),
                // Someone took a step on it meanwhile; the next import
                // looks again.
                Err(CatalogError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(applied)
    }
}

fn matching(cr: &ChangeRequest) -> MatchingRequest {
    MatchingRequest {
        id: cr.id,
        state: cr.state,
        title: cr.title.clone(),
        required_approvers: cr.required_approvers.clone(),
        approved_by: cr.approvals.iter().map(|d| d.user.clone()).collect(),
    }
}

/// The principal an import acts as when it settles requests.
fn importer(by: &str) -> Principal {
    Principal {
        user: by.to_string(),
        display_name: by.to_string(),
        roles: vec![Role::Editor],
        teams: vec![],
        via: Via::Cli,
    }
}
