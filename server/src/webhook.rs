//! Delivers change-request events from the catalog's outbox to the
//! configured webhook: a JSON POST per event, retried with exponential
//! backoff. It runs beside the server, so requests never wait for it.

use std::time::Duration;

/// How often the outbox is looked at when it is empty.
const POLL: Duration = Duration::from_secs(1);

/// The wait before attempt `n + 1`: 2, 4, 8 … seconds, at most 10 minutes.
pub fn backoff(attempts: u32) -> u64 {
    2u64.saturating_pow(attempts.saturating_add(1)).min(600)
}

pub async fn deliver(catalog: catalog::Catalog, url: String) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot make an HTTP client; webhook events stay in the outbox");
            return;
        }
    };
    loop {
        let due = match catalog.due_webhooks(50).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "reading the webhook outbox");
                tokio::time::sleep(POLL * 5).await;
                continue;
            }
        };
        if due.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        for item in due {
            let result = client
                .post(&url)
                .header("content-type", "application/json")
                .header("user-agent", "mlgraph-webhook")
                .body(item.event.to_string())
                .send()
                .await;
            let error = match result {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("the webhook answered {}", r.status())),
                Err(e) => Some(format!("posting to the webhook: {e}")),
            };
            if let Some(e) = &error {
                tracing::warn!(attempt = item.attempts + 1, "{e}");
            }
            if let Err(e) = catalog
                .webhook_attempted(&item.id, error, backoff(item.attempts))
                .await
            {
                tracing::warn!(error = %e, "recording a webhook attempt");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_and_stops_at_ten_minutes() {
        assert_eq!(super::backoff(0), 2);
        assert_eq!(super::backoff(1), 4);
        assert_eq!(super::backoff(5), 64);
        assert_eq!(super::backoff(30), 600);
    }
}
