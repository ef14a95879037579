//! Delivers change-request events from the catalog's outbox to the
//! configured webhook: a JSON POST per event, retried with exponential
//! backoff. It runs beside the server, so requests never wait for it.
//!
//! Every POST names its event in `X-Mlgraph-Delivery` (the same on every
//! retry, so a receiver can drop repeats). With `MLGRAPH_WEBHOOK_SECRET`
//! set it is also signed: `X-Mlgraph-Timestamp` holds the Unix time of the
//! attempt and `X-Mlgraph-Signature` is `sha256=` and the hex HMAC-SHA256,
//! under the secret, of the timestamp, a dot and the body. A receiver
//! recomputes it and refuses old timestamps, so a captured delivery can
//! be neither forged nor replayed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How often the outbox is looked at when it is empty.
const POLL: Duration = Duration::from_secs(1);

/// The wait before attempt `n + 1`: 2, 4, 8 … seconds, at most 10 minutes.
pub fn backoff(attempts: u32) -> u64 {
    2u64.saturating_pow(attempts.saturating_add(1)).min(600)
}

/// `sha256=` and the hex HMAC-SHA256 of `timestamp.body` under `secret`.
pub fn signature(secret: &str, timestamp: u64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The webhook's URL as logs may show it: scheme and host, the path (which
/// often holds a secret token, as Slack's and Teams' do) and query hidden.
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Credentials in the authority are secret too.
    let host = host.rsplit('@').next().unwrap_or_default();
    format!("{scheme}://{host}/…")
}

pub async fn deliver(catalog: catalog::Catalog, url: String, secret: Option<String>) {
    // Redirects are not followed: a 307 or 308 would post the event (and
    // its signature) to wherever the receiver points.
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
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
            let body = item.event.to_string();
            let mut request = client
                .post(&url)
                .header("content-type", "application/json")
                .header("user-agent", "mlgraph-webhook")
                .header("x-mlgraph-delivery", item.id.as_str());
            if let Some(secret) = &secret {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                request = request
                    .header("x-mlgraph-timestamp", now.to_string())
                    .header("x-mlgraph-signature", signature(secret, now, &body));
            }
            let result = request.body(body).send().await;
            let error = match result {
                Ok(r) if r.status().is_success() => None,
                Ok(r) if r.status().is_redirection() => Some(format!(
                    "the webhook answered {} (redirects are not followed)",
                    r.status()
                )),
                Ok(r) => Some(format!("the webhook answered {}", r.status())),
                // The URL is often a secret (Slack's are): never in a message.
                Err(e) => Some(format!("posting to the webhook: {}", e.without_url())),
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
    fn webhook_urls_are_redacted_to_their_host() {
        assert_eq!(
            super::redacted("https://hooks.slack.com/services/T0/B0/secret?x=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            super::redacted("http://user:pw@127.0.0.1:9000/hook"),
            "http://127.0.0.1:9000/…"
        );
    }

    #[test]
    fn backoff_doubles_and_stops_at_ten_minutes() {
        assert_eq!(super::backoff(0), 2);
        assert_eq!(super::backoff(1), 4);
        assert_eq!(super::backoff(5), 64);
        assert_eq!(super::backoff(30), 600);
    }

    /// The expected value was computed independently, with Python's
    /// `hmac.new(b"s3cret", b"1700000000.{}", hashlib.sha256).hexdigest()`.
    #[test]
    fn signatures_are_hmac_sha256_of_the_timestamp_a_dot_and_the_body() {
        assert_eq!(
            super::signature("s3cret", 1_700_000_000, "{}"),
            "sha256=97926816e98fbb41ccb1673225ff29a2f35369099990e1b1561651e7bd097ebf"
        );
        assert_ne!(
            super::signature("s3cret", 1_700_000_001, "{}"),
            super::signature("s3cret", 1_700_000_000, "{}"),
            "the timestamp is signed"
        );
    }
}
