//! Scaling policies of serving endpoints: every change is a new version
//! (with its diff against the one before and an audit record, in one
//! transaction, refused if someone else changed the policy meanwhile), and
//! the metrics services report about themselves.

use domain::query::{AutoscalerView, MetricSample, PolicyVersion, ServiceScaling};
use domain::scaling::{kpa_decide, KpaInput, ScalingPolicy};
use domain::{AssetKind, ValidationError};
use serde_json::json;

use crate::audit::Audit;
use crate::error::{first_real_error, CatalogError, Result};
use crate::newest::NewestQuery;
use crate::Catalog;

/// How many versions and metric samples a read returns.
const HISTORY: usize = 50;
const SAMPLES: usize = 60;

const POLICIES: NewestQuery = NewestQuery {
    from: "scaling_policy WHERE service = $value",
    order: "version",
    columns: "version, <string> at AS at, by, note, policy, changes",
};

const METRICS: NewestQuery = NewestQuery {
    from: "service_metric WHERE service = $value",
    order: "at",
    columns: "<string> at AS at, concurrency, qps, p99_ms, pods",
};

// The current version is the greatest, found without a backward scan.
const PUT_POLICY: &str = r#"
BEGIN;
LET $versions = SELECT VALUE version FROM scaling_policy WHERE service = $service;
LET $current = IF array::len($versions) = 0 { 0 } ELSE { math::max($versions) };
IF $current != $expected {
    THROW 'mlgraph-conflict: the scaling policy of ' + $service + ' is at version ' + <string> $current + ', not ' + <string> $expected + '; reload it and try again';
};
CREATE scaling_policy CONTENT $row;
CREATE audit CONTENT $audit;
COMMIT;
"#;

/// What the KPA would decide on a service's latest observed metrics:
/// the stable window is every sample kept, the panic window the newest
/// tenth of them.
pub fn autoscaler_view(s: &ServiceScaling) -> Option<AutoscalerView> {
    let (current, latest) = (s.current.as_ref()?, s.metrics.first()?);
    let pods = latest.pods.unwrap_or(1).max(1);
    let total = |xs: &[MetricSample]| -> f64 {
        xs.iter()
            .map(|m| m.concurrency * f64::from(m.pods.unwrap_or(pods).max(1)))
            .sum::<f64>()
            / xs.len().max(1) as f64
    };
    let n = s.metrics.len();
    let stable = total(&s.metrics);
    let panic = total(&s.metrics[..n.div_ceil(10).max(1)]);
    let d = kpa_decide(
        &current.policy,
        &KpaInput {
            ready: pods,
            stable_concurrency: stable,
            panic_concurrency: panic,
            in_panic: false,
            below_threshold_for_s: 0.0,
        },
    );
    Some(AutoscalerView {
        ready: pods,
        observed_concurrency: stable,
        desired: d.desired,
        panic: d.in_panic,
        latest_at: latest.at.clone(),
        samples: n,
    })
}

impl Catalog {
    async fn service(&self, id: &str) -> Result<domain::Asset> {
        let a = self.get_asset(id).await?;
        if a.kind != AssetKind::Service {
            return Err(
                ValidationError::new("id", format!("{id} is a {}, not a service", a.kind)).into(),
            );
        }
        Ok(a)
    }

    /// A service's policy in force, its history and its latest metrics.
    pub async fn scaling_of(&self, id: &str) -> Result<ServiceScaling> {
        self.service(id).await?;
        // Newest first, read forwards (see `crate::newest`).
        let versions = self.newest(&POLICIES, id, 0, HISTORY).await?.rows;
        let samples = self.newest(&METRICS, id, 0, SAMPLES).await?.rows;
        let history: Vec<PolicyVersion> = versions
            .into_iter()
            .map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| CatalogError::Corrupt(format!("scaling policy row: {e}")))
            })
            .collect::<Result<_>>()?;
        let metrics = samples
            .into_iter()
            .map(|v| {
                serde_json::from_value(v)
                    .map_err(|e| CatalogError::Corrupt(format!("metric row: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(ServiceScaling {
            service: id.to_string(),
            current: history.first().cloned(),
            history,
            metrics,
        })
    }

    /// Writes a new version of a service's policy. `expected` is the
    /// version the caller last saw (0 when there was none).
    /// The model asset whose `storage_uri` property is `uri`, if one is.
    pub async fn model_by_storage_uri(&self, uri: &str) -> Result<Option<String>> {
        // The lineage index lists the models; their properties are read.
        let models: Vec<surrealdb::types::RecordId> = {
            let g = self.graph.read().expect("the graph lock is never poisoned");
            g.nodes()
                .filter(|&n| g.kind(n) == domain::AssetKind::Model)
                .map(|n| surrealdb::types::RecordId::new("asset", g.asset_id(n)))
                .collect()
        };
        if models.is_empty() {
            return Ok(None);
        }
        let mut res = self
            .db
            .query("SELECT VALUE key FROM $models WHERE properties.storage_uri = $uri ORDER BY key LIMIT 1")
            .bind(("models", models))
            .bind(("uri", uri.to_string()))
            .await?;
        let rows: Vec<serde_json::Value> = res.take(0)?;
        Ok(rows.first().and_then(|v| v.as_str()).map(str::to_string))
    }

    pub async fn put_scaling(
        &self,
        id: &str,
        policy: ScalingPolicy,
        expected: u64,
        by: &str,
        note: &str,
    ) -> Result<PolicyVersion> {
        self.service(id).await?;
        policy.validate()?;
        let before = self.scaling_of(id).await?.current;
        let changes = match &before {
            Some(b) => b.policy.diff(&policy),
            None => vec![],
        };
        if before.is_some() && changes.is_empty() {
            return Err(
                ValidationError::new("policy", "is the same as the policy in force").into(),
            );
        }
        let version = expected + 1;
        let mut policy_json =
            serde_json::to_value(&policy).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
        crate::write::strip_nulls(&mut policy_json);
        let note = note.trim();
        if note.len() > 1000 {
            return Err(ValidationError::new("note", "must be at most 1,000 bytes").into());
        }
        let row = json!({
            "service": id,
            "version": version,
            "by": by,
            "note": note,
            "policy": policy_json,
            "changes": changes.iter().map(|(f, o, n)| vec![f.clone(), o.clone(), n.clone()]).collect::<Vec<_>>(),
        });
        let audit = Audit::new(
            "scaling.put",
            id,
            json!({"version": version, "changes": changes.len(), "note": note}),
        );
        let res = self
            .db
            .query(PUT_POLICY)
            .bind(("service", id.to_string()))
            .bind(("expected", expected))
            .bind(("row", row))
            .bind(("audit", audit.row(by)))
            .await?;
        first_real_error(res)?;
        self.scaling_of(id)
            .await?
            .current
            .ok_or_else(|| CatalogError::Corrupt("the policy just written".into()))
    }

    /// Stores one metrics sample a service reported.
    pub async fn add_metrics(&self, id: &str, sample: &MetricSample, by: &str) -> Result<()> {
        self.service(id).await?;
        for (field, v) in [
            ("concurrency", sample.concurrency),
            ("qps", sample.qps),
            ("p99_ms", sample.p99_ms),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(ValidationError::new(field, "must be a number of zero or more").into());
            }
        }
        let res = self
            .db
            .query(
                "BEGIN;
                 CREATE service_metric SET service = $service, concurrency = $c, qps = $q, p99_ms = $p, pods = $pods;
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("service", id.to_string()))
            .bind(("c", sample.concurrency))
            .bind(("q", sample.qps))
            .bind(("p", sample.p99_ms))
            .bind(("pods", sample.pods))
            .bind(("audit", Audit::new("scaling.metrics", id, json!({"qps": sample.qps})).row(by)))
            .await?;
        first_real_error(res)?;
        Ok(())
    }
}
