//! The audit log: one record per mutation, written inside the mutation's
//! own transaction, so the log holds exactly the changes that happened.

use domain::auth::AuditRecord;
use serde_json::{json, Value};

use crate::error::Result;
use crate::Catalog;

/// What a mutation says about itself in the audit log.
pub(crate) struct Audit {
    action: &'static str,
    target: String,
    detail: Value,
}

impl Audit {
    pub(crate) fn new(action: &'static str, target: &str, detail: Value) -> Self {
        Audit {
            action,
            target: target.to_string(),
            detail,
        }
    }

    /// The row to bind as `$audit` in the mutation's transaction.
    pub(crate) fn row(&self, actor: &str) -> Value {
        let mut detail = self.detail.clone();
        crate::write::strip_nulls(&mut detail);
        json!({
            "actor": actor,
            "action": self.action,
            "target": self.target,
            "detail": detail,
        })
    }
}

impl Catalog {
    /// The newest audit records first, optionally only one actor's or one
    /// target's.
    pub async fn audit_log(
        &self,
        actor: Option<&str>,
        target: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        const AUDIT: crate::newest::RecentQuery = crate::newest::RecentQuery {
            table: "audit",
            columns: "at, actor, action, target, detail",
            filter: "($actor = NONE OR actor = $actor) AND ($target = NONE OR target = $target)",
        };
        let binds = [
            ("actor", actor.map(str::to_string)),
            ("target", target.map(str::to_string)),
        ];
        let rows = self.recent(&AUDIT, &binds, limit).await?;
        rows.into_iter()
            .map(|r| {
                serde_json::from_value(r)
                    .map_err(|e| crate::CatalogError::Corrupt(format!("audit row: {e}")))
            })
            .collect()
    }
}
