//! The webhook outbox: every change-request step writes an event row in
//! its own transaction, and a background worker in the server delivers
//! the rows, retrying with backoff. A slow or broken receiver therefore
//! never holds up a request, and no event is lost on a restart.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use crate::error::{first_real_error, CatalogError, Result};
use crate::Catalog;

/// One event waiting to be delivered.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct OutboxItem {
    pub id: String,
    pub event: Value,
    pub attempts: u32,
}

/// After this many failed attempts an event is given up on (and stays in
/// the table with its last error, for an operator to look at).
pub const MAX_ATTEMPTS: u32 = 12;

/// Reads rows whose `id` is a record key, which SurrealDB may hand back as
/// a number or a string, with the key as text.
pub(crate) fn rows_with_text_ids<T: serde::de::DeserializeOwned>(
    rows: Vec<Value>,
    what: &str,
) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|mut r| {
            if let Some(id) = r.get("id").cloned() {
                r["id"] = json!(id
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| id.to_string()));
            }
            serde_json::from_value(r).map_err(|e| CatalogError::Corrupt(format!("{what} row: {e}")))
        })
        .collect()
}

impl Catalog {
    /// Whether steps should write webhook events; the server turns it on
    /// when a webhook URL is configured.
    pub fn set_webhook_enabled(&self, on: bool) {
        self.webhook.store(on, Ordering::Relaxed);
    }

    pub fn webhook_enabled(&self) -> bool {
        self.webhook.load(Ordering::Relaxed)
    }

    /// Events due for (another) delivery attempt, oldest first.
    pub async fn due_webhooks(&self, limit: usize) -> Result<Vec<OutboxItem>> {
        let mut res = self
            .db
            .query(
                "SELECT record::id(id) AS id, event, attempts FROM webhook_outbox
                   WHERE delivered = false AND attempts < $max AND next_at <= time::now()
                   ORDER BY next_at LIMIT $limit",
            )
            .bind(("max", MAX_ATTEMPTS))
            .bind(("limit", limit))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        rows_with_text_ids(rows, "outbox")
    }

    /// Records a delivery attempt: done, or failed and due again after
    /// `retry_secs`.
    pub async fn webhook_attempted(
        &self,
        id: &str,
        error: Option<String>,
        retry_secs: u64,
    ) -> Result<()> {
        let res = self
            .db
            .query(
                "UPDATE type::record('webhook_outbox', $id) SET attempts += 1, delivered = $ok,
                    last_error = $error, next_at = time::now() + <duration> $retry RETURN NONE",
            )
            .bind(("id", id.to_string()))
            .bind(("ok", error.is_none()))
            .bind(("error", error))
            .bind(("retry", format!("{retry_secs}s")))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// How many events are delivered and how many wait, for tests and the
    /// operator.
    pub async fn webhook_counts(&self) -> Result<(u64, u64)> {
        let delivered = self
            .count("SELECT count() AS n FROM webhook_outbox WHERE delivered = true GROUP ALL")
            .await?;
        let waiting = self
            .count("SELECT count() AS n FROM webhook_outbox WHERE delivered = false GROUP ALL")
            .await?;
        Ok((delivered, waiting))
    }
}
