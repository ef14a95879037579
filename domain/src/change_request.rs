//! Change requests: a proposed schema diff for one dataset, the impact it
//! was judged on, and the decisions taken on it. The lifecycle rules are
//! pure functions here; the catalog stores the result of each step with an
//! optimistic version check, so two concurrent steps cannot both land.
//!
//! ```text
//! draft ──submit──▶ open ──approve──▶ approved ──apply──▶ applied
//!   │                │  └──reject───▶ rejected
//!   └──withdraw──────┴──withdraw────▶ withdrawn
//! ```
//!
//! A request is approved when a user with the approver (or admin) role
//! approves it, or when every required approver (the owners of the
//! affected assets) has signed off, in person or through a team. Nobody
//! approves their own request.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::auth::{Principal, Role};
use crate::error::{Result, ValidationError};
use crate::impact::{ImpactReport, SchemaChange, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrState {
    Draft,
    Open,
    Approved,
    Rejected,
    Applied,
    Withdrawn,
}

impl CrState {
    pub const ALL: [CrState; 6] = [
        CrState::Draft,
        CrState::Open,
        CrState::Approved,
        CrState::Rejected,
        CrState::Applied,
        CrState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CrState::Draft => "draft",
            CrState::Open => "open",
            CrState::Approved => "approved",
            CrState::Rejected => "rejected",
            CrState::Applied => "applied",
            CrState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Result<CrState> {
        CrState::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "state",
                    format!("unknown state {s:?}; expected draft, open, approved, rejected, applied or withdrawn"),
                )
            })
    }

    /// Whether nothing more can happen to the request.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CrState::Rejected | CrState::Applied | CrState::Withdrawn
        )
    }
}

impl fmt::Display for CrState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One approval or rejection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub user: String,
    pub at: String,
    /// The required approvers this decision speaks for.
    #[serde(default)]
    pub on_behalf_of: Vec<String>,
    /// Whether the user decided with the approver or admin role.
    #[serde(default)]
    pub as_approver: bool,
    #[serde(default)]
    pub comment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub user: String,
    pub at: String,
    pub text: String,
}

/// A change request as stored and as sent over the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub id: u64,
    pub dataset: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub changes: Vec<SchemaChange>,
    pub state: CrState,
    pub proposer: String,
    pub impact: ImpactReport,
    /// The catalog's graph version when the impact was computed.
    pub graph_version: u64,
    /// The dataset's version when the impact was computed; applying
    /// checks that the dataset has not moved since.
    pub dataset_version: u64,
    pub required_approvers: Vec<String>,
    #[serde(default)]
    pub approvals: Vec<Decision>,
    #[serde(default)]
    pub rejection: Option<Decision>,
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// Bumped by every step; the optimistic concurrency check.
    pub version: u64,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
    /// The dataset's schema version that applying wrote.
    #[serde(default)]
    pub applied_schema_version: Option<u64>,
    /// Where the change comes from, e.g. the pull request that makes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The report of the `mlgraph check` that opened the request (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_report: Option<String>,
    /// Set on reads: whether the graph moved since the impact was computed.
    #[serde(default)]
    pub stale: bool,
}

/// Where one required approver stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproverStatus {
    pub owner: String,
    /// Who signed off for this owner, if anyone.
    pub approved_by: Option<String>,
}

/// The steps a user can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Submit,
    Approve,
    Reject,
    Apply,
    Withdraw,
    Comment,
    Recompute,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Submit,
        Step::Approve,
        Step::Reject,
        Step::Apply,
        Step::Withdraw,
        Step::Comment,
        Step::Recompute,
    ];

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The role action a step needs before the request is even looked at.
    /// `None` means any signed-in user: deciding is for approvers and the
    /// owners of affected assets, and withdrawing for the proposer, which
    /// only the request knows.
    pub fn required_action(self) -> Option<crate::auth::Action> {
        use crate::auth::Action;
        match self {
            Step::Approve | Step::Reject | Step::Withdraw => None,
            Step::Apply => Some(Action::ApplyChange),
            Step::Comment => Some(Action::Comment),
            Step::Submit | Step::Recompute => Some(Action::ProposeChange),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Submit => "submit",
            Step::Approve => "approve",
            Step::Reject => "reject",
            Step::Apply => "apply",
            Step::Withdraw => "withdraw",
            Step::Comment => "comment",
            Step::Recompute => "recompute",
        }
    }
}

/// Why a step was refused: not allowed for this user (403), or not
/// possible in the request's state (409).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Forbidden(String),
    Invalid(ValidationError),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Forbidden(m) => f.write_str(m),
            Refusal::Invalid(e) => e.fmt(f),
        }
    }
}

fn invalid(field: &str, msg: impl Into<String>) -> Refusal {
    Refusal::Invalid(ValidationError::new(field, msg))
}

/// The owners a change must be approved by: the owners of every asset it
/// breaks or may break, in name order.
pub fn required_approvers(impact: &ImpactReport) -> Vec<String> {
    let mut owners: Vec<String> = impact
        .owners
        .iter()
        .filter(|o| o.severity > Severity::NonBreaking)
        .map(|o| o.owner.clone())
        .collect();
    owners.sort();
    owners.dedup();
    owners
}

impl ChangeRequest {
    /// Each required approver and who signed off for them.
    pub fn approver_status(&self) -> Vec<ApproverStatus> {
        self.required_approvers
            .iter()
            .map(|owner| ApproverStatus {
                owner: owner.clone(),
                approved_by: self
                    .approvals
                    .iter()
                    .find(|d| d.on_behalf_of.contains(owner))
                    .map(|d| d.user.clone()),
            })
            .collect()
    }

    /// Whether `who` may approve or reject: an approver or admin, or a
    /// required approver in person or through a team, but never the
    /// proposer.
    pub fn may_decide(&self, who: &Principal) -> bool {
        // Owners decide for their assets, but only with a role that may do
        // more than read: naming a viewer as an owner grants no approval.
        let owner_with_a_role = who.roles.iter().any(|r| *r != Role::Viewer)
            && self.required_approvers.iter().any(|o| who.speaks_for(o));
        !who.is_anonymous()
            && who.user != self.proposer
            && (who.has(Role::Approver) || who.has(Role::Admin) || owner_with_a_role)
    }

    /// Takes one step, changing the request in place. `now` is the time
    /// stamp for decisions and comments; `text` is the comment, if any.
    /// The caller has already checked the role needed for the step; this
    /// checks who the user is relative to the request and its state.
    pub fn take(
        &mut self,
        step: Step,
        who: &Principal,
        now: &str,
        text: &str,
    ) -> std::result::Result<(), Refusal> {
        use CrState::*;
        let state = self.state;
        let wrong_state = |allowed: &str| {
            invalid(
                "state",
                format!(
                    "change request {} is {state}; it can be {}d only when {allowed}",
                    self.id,
                    step.as_str().trim_end_matches('e')
                ),
            )
        };
        match step {
            Step::Comment => {
                let text = text.trim();
                if text.is_empty() {
                    return Err(invalid("text", "must not be empty"));
                }
                if text.len() > 10_000 {
                    return Err(invalid("text", "must be at most 10,000 bytes"));
                }
                self.comments.push(Comment {
                    user: who.user.clone(),
                    at: now.to_string(),
                    text: text.to_string(),
                });
            }
            Step::Submit => {
                if who.user != self.proposer && !who.has(Role::Admin) {
                    return Err(Refusal::Forbidden(
                        "only the proposer can submit this change request".into(),
                    ));
                }
                if state != Draft {
                    return Err(wrong_state("draft"));
                }
                self.state = Open;
            }
            Step::Withdraw => {
                if who.user != self.proposer && !who.has(Role::Admin) {
                    return Err(Refusal::Forbidden(
                        "only the proposer or an admin can withdraw this change request".into(),
                    ));
                }
                if !matches!(state, Draft | Open | Approved) {
                    return Err(wrong_state("draft, open or approved"));
                }
                self.state = Withdrawn;
            }
            Step::Recompute => {
                if who.user != self.proposer && !who.has(Role::Admin) {
                    return Err(Refusal::Forbidden(
                        "only the proposer or an admin can recompute this change request".into(),
                    ));
                }
                if !matches!(state, Draft | Open | Approved) {
                    return Err(wrong_state("draft, open or approved"));
                }
                // The caller replaces the impact; earlier sign-offs were
                // given on the old one and no longer count, so an approved
                // request goes back to review.
                self.approvals.clear();
                self.stale = false;
                if state == Approved {
                    self.state = Open;
                }
            }
            Step::Approve | Step::Reject => {
                // Who may decide is checked before the state, so the answer
                // to a stranger does not depend on where the request is.
                if who.user == self.proposer {
                    return Err(Refusal::Forbidden(
                        "you proposed this change; someone else must decide on it".into(),
                    ));
                }
                if !self.may_decide(who) {
                    return Err(Refusal::Forbidden(
                        "only an owner of an affected asset (with a role beyond viewer) or a user with the approver role can decide on this change request".into(),
                    ));
                }
                if state != Open {
                    return Err(wrong_state("open"));
                }
                if self.stale {
                    return Err(invalid(
                        "impact",
                        "the graph changed after the impact was computed; recompute the impact before deciding",
                    ));
                }
                let as_approver = who.has(Role::Approver) || who.has(Role::Admin);
                let decision = Decision {
                    user: who.user.clone(),
                    at: now.to_string(),
                    on_behalf_of: self
                        .required_approvers
                        .iter()
                        .filter(|o| who.speaks_for(o))
                        .cloned()
                        .collect(),
                    as_approver,
                    comment: text.trim().to_string(),
                };
                if step == Step::Reject {
                    self.rejection = Some(decision);
                    self.state = Rejected;
                } else {
                    self.approvals.retain(|d| d.user != who.user);
                    self.approvals.push(decision);
                    let all_signed = self
                        .approver_status()
                        .iter()
                        .all(|s| s.approved_by.is_some());
                    if as_approver || all_signed {
                        self.state = Approved;
                    }
                }
            }
            Step::Apply => {
                if state != Approved {
                    return Err(wrong_state("approved"));
                }
                if self.stale {
                    return Err(invalid(
                        "impact",
                        "the graph changed after the impact was computed; recompute the impact and have it approved again",
                    ));
                }
                self.state = Applied;
            }
        }
        self.version += 1;
        self.updated_at = now.to_string();
        Ok(())
    }

    /// The steps `who` could take now, for showing only the buttons that
    /// would work.
    pub fn possible_steps(&self, who: &Principal) -> Vec<Step> {
        if who.is_anonymous() {
            return vec![];
        }
        Step::ALL
            .into_iter()
            .filter(|st| st.required_action().is_none_or(|a| who.may(a, false)))
            .filter(|st| self.clone().take(*st, who, "", "x").is_ok())
            .collect()
    }

    /// The people and teams to tell about a step: every owner of an
    /// affected asset (the impact's owners to notify, non-breaking changes
    /// included), the required approvers and the proposer, without the
    /// user who took it.
    pub fn audience(&self, actor: &str) -> Vec<String> {
        let mut out: Vec<String> = self.required_approvers.clone();
        out.extend(self.impact.owners.iter().map(|o| o.owner.clone()));
        out.push(self.proposer.clone());
        out.sort();
        out.dedup();
        out.retain(|o| o != actor);
        out
    }
}

/// What a client sends to open a change request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewChangeRequest {
    pub dataset: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub changes: Vec<SchemaChange>,
    /// Save as a draft instead of opening it for review.
    #[serde(default)]
    pub draft: bool,
    /// Where the change comes from, e.g. the pull request that makes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The report of the `mlgraph check` that opened the request (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_report: Option<String>,
}

impl NewChangeRequest {
    /// Checks the parts that need no catalog: the title and description.
    pub fn validate(&self) -> Result<()> {
        if self.title.len() > 200 {
            return Err(ValidationError::new("title", "must be at most 200 bytes"));
        }
        if self.description.len() > 10_000 {
            return Err(ValidationError::new(
                "description",
                "must be at most 10,000 bytes",
            ));
        }
        if self.changes.is_empty() {
            return Err(ValidationError::new("changes", "name at least one change"));
        }
        if let Some(url) = &self.source_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2_000 {
                return Err(ValidationError::new(
                    "source_url",
                    "must be an http:// or https:// URL of at most 2,000 bytes",
                ));
            }
        }
        if self
            .check_report
            .as_ref()
            .is_some_and(|r| r.len() > 64 * 1024)
        {
            return Err(ValidationError::new(
                "check_report",
                "must be at most 65,536 bytes",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Via;
    use crate::impact::{ChangeOp, OwnerNotice};

    fn who(user: &str, roles: &[Role], teams: &[&str]) -> Principal {
        Principal {
            user: user.into(),
            display_name: user.into(),
            roles: roles.to_vec(),
            teams: teams.iter().map(|t| t.to_string()).collect(),
            via: Via::Session,
        }
    }

    fn request(owners: &[&str]) -> ChangeRequest {
        let impact = ImpactReport {
            dataset: "dataset:ns:t".into(),
            changes: vec![],
            severity: Severity::Breaking,
            affected: vec![],
            services: vec![],
            owners: owners
                .iter()
                .map(|o| OwnerNotice {
                    owner: o.to_string(),
                    severity: Severity::Breaking,
                    assets: vec![],
                    assets_total: None,
                })
                .chain([OwnerNotice {
                    owner: "bystander".into(),
                    severity: Severity::NonBreaking,
                    assets: vec![],
                    assets_total: None,
                }])
                .collect(),
            refresh_plan: vec![],
            counts: vec![],
            bounded: None,
        };
        ChangeRequest {
            id: 7,
            dataset: "dataset:ns:t".into(),
            title: "drop a".into(),
            description: String::new(),
            changes: vec![SchemaChange {
                op: ChangeOp::Drop,
                column: "a".into(),
                new_name: None,
                data_type: None,
                nullable: None,
            }],
            state: CrState::Open,
            proposer: "pat".into(),
            required_approvers: required_approvers(&impact),
            impact,
            graph_version: 3,
            dataset_version: 1,
            approvals: vec![],
            rejection: None,
            comments: vec![],
            version: 1,
            created_at: String::new(),
            updated_at: String::new(),
            applied_schema_version: None,
            source_url: None,
            check_report: None,
            stale: false,
        }
    }

    #[test]
    fn required_approvers_skip_owners_of_unharmed_assets() {
        let cr = request(&["team-b", "team-a"]);
        assert_eq!(cr.required_approvers, vec!["team-a", "team-b"]);
    }

    #[test]
    fn an_approver_role_approves_alone_and_owners_must_all_sign() {
        let mut cr = request(&["team-a", "team-b"]);
        let amy = who("amy", &[Role::Editor], &["team-a"]);
        cr.take(Step::Approve, &amy, "t1", "").unwrap();
        assert_eq!(cr.state, CrState::Open, "one owner of two is not enough");
        assert_eq!(cr.approver_status()[0].approved_by.as_deref(), Some("amy"));
        assert_eq!(cr.approver_status()[1].approved_by, None);
        // An owner with only the viewer role cannot sign.
        let val = who("val", &[Role::Viewer], &["team-b"]);
        assert!(matches!(
            cr.take(Step::Approve, &val, "t2", ""),
            Err(Refusal::Forbidden(_))
        ));
        let bob = who("bob", &[Role::Editor], &["team-b"]);
        cr.take(Step::Approve, &bob, "t2", "ok").unwrap();
        assert_eq!(cr.state, CrState::Approved);
        assert_eq!(cr.version, 3);

        let mut cr = request(&["team-a", "team-b"]);
        cr.take(Step::Approve, &who("ria", &[Role::Approver], &[]), "t", "")
            .unwrap();
        assert_eq!(cr.state, CrState::Approved);
    }

    #[test]
    fn strangers_and_proposers_cannot_decide() {
        let mut cr = request(&["team-a"]);
        let stranger = who("sam", &[Role::Editor], &["team-z"]);
        assert!(matches!(
            cr.take(Step::Approve, &stranger, "t", ""),
            Err(Refusal::Forbidden(_))
        ));
        let proposer = who("pat", &[Role::Approver], &["team-a"]);
        assert!(matches!(
            cr.take(Step::Reject, &proposer, "t", ""),
            Err(Refusal::Forbidden(_))
        ));
        assert_eq!(cr.version, 1, "a refused step changes nothing");
    }

    #[test]
    fn the_lifecycle_follows_its_arrows() {
        let approver = who("ria", &[Role::Approver], &[]);
        let pat = who("pat", &[Role::Editor], &[]);
        let mut cr = request(&["team-a"]);
        cr.state = CrState::Draft;
        assert!(cr.take(Step::Approve, &approver, "t", "").is_err());
        assert!(cr.take(Step::Apply, &pat, "t", "").is_err());
        cr.take(Step::Submit, &pat, "t", "").unwrap();
        cr.take(Step::Approve, &approver, "t", "").unwrap();
        cr.take(Step::Apply, &pat, "t", "").unwrap();
        assert_eq!(cr.state, CrState::Applied);
        assert!(cr.state.is_final());
        for step in [Step::Approve, Step::Reject, Step::Withdraw, Step::Apply] {
            assert!(cr.take(step, &approver, "t", "").is_err(), "{step:?}");
        }
        // Comments stay possible; they need text.
        assert!(cr.take(Step::Comment, &approver, "t", "  ").is_err());
        cr.take(Step::Comment, &approver, "t", "done").unwrap();
        assert_eq!(cr.comments.len(), 1);

        let mut cr = request(&["team-a"]);
        cr.take(Step::Reject, &approver, "t", "no").unwrap();
        assert_eq!(cr.state, CrState::Rejected);
        assert!(cr.take(Step::Apply, &pat, "t", "").is_err());

        let mut cr = request(&["team-a"]);
        assert!(matches!(
            cr.take(Step::Withdraw, &approver, "t", ""),
            Err(Refusal::Forbidden(_))
        ));
        cr.take(Step::Withdraw, &pat, "t", "").unwrap();
        assert_eq!(cr.state, CrState::Withdrawn);
    }

    #[test]
    fn a_stale_request_must_be_recomputed_before_a_decision() {
        let approver = who("ria", &[Role::Approver], &[]);
        let mut cr = request(&["team-a"]);
        cr.take(
            Step::Approve,
            &who("amy", &[Role::Editor], &["team-a"]),
            "t",
            "",
        )
        .unwrap();
        cr.state = CrState::Open;
        cr.stale = true;
        let e = cr.take(Step::Approve, &approver, "t", "").unwrap_err();
        assert!(
            matches!(e, Refusal::Invalid(ref v) if v.field == "impact"),
            "{e}"
        );
        assert!(
            matches!(
                cr.take(Step::Recompute, &approver, "t", ""),
                Err(Refusal::Forbidden(_))
            ),
            "only the proposer recomputes"
        );
        cr.take(Step::Recompute, &who("pat", &[Role::Editor], &[]), "t", "")
            .unwrap();
        assert!(cr.approvals.is_empty(), "old sign-offs are void");
        cr.take(Step::Approve, &approver, "t", "").unwrap();
        assert_eq!(cr.state, CrState::Approved);
        // An approved request that went stale goes back to review.
        cr.stale = true;
        assert!(cr
            .take(Step::Apply, &who("pat", &[Role::Editor], &[]), "t", "")
            .is_err());
        cr.take(Step::Recompute, &who("pat", &[Role::Editor], &[]), "t", "")
            .unwrap();
        assert_eq!(cr.state, CrState::Open);
    }

    #[test]
    fn the_audience_is_every_affected_owner_and_the_proposer_but_not_the_actor() {
        let cr = request(&["team-a", "pat"]);
        // The bystander's assets are affected without breaking: told, but
        // not asked to approve.
        assert!(!cr.required_approvers.contains(&"bystander".to_string()));
        assert_eq!(cr.audience("team-a"), vec!["bystander", "pat"]);
        assert_eq!(cr.audience("ria"), vec!["bystander", "pat", "team-a"]);
    }

    #[test]
    fn states_parse_and_new_requests_are_checked() {
        assert_eq!(CrState::parse("open").unwrap(), CrState::Open);
        assert_eq!(CrState::parse("closed").unwrap_err().field, "state");
        let n = NewChangeRequest {
            dataset: "d".into(),
            title: String::new(),
            description: String::new(),
            changes: vec![],
            draft: false,
            source_url: None,
            check_report: None,
        };
        assert_eq!(n.validate().unwrap_err().field, "changes");
    }
}
