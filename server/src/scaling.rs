//! Serving endpoints' scaling over the REST API: the simulator, the
//! versioned policy of each service, the metrics services report, and the
//! policy as a Knative `Service` or KServe `InferenceService` manifest.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use catalog::Catalog;
use domain::auth::Action;
use domain::query::{parse_query_string, MetricSample};
use domain::scaling::{ScalingPolicy, SimConfig, SimResult, Traffic};
use domain::ValidationError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{param, parse_json, ApiError, ApiResult};
use crate::auth::{Caller, ClientKey};
use crate::router::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/simulate", post(simulate_endpoint))
        .route("/services/{id}/scaling", get(get_scaling).put(put_scaling))
        .route("/services/{id}/manifest", get(manifest))
        .route("/services/{id}/metrics", post(post_metrics))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulateBody {
    /// A policy, or the policy in force on `service`.
    #[serde(default)]
    policy: Option<ScalingPolicy>,
    #[serde(default)]
    service: Option<String>,
    /// The traffic, or `trace_csv` instead.
    #[serde(default)]
    traffic: Option<Traffic>,
    /// A trace to replay: CSV with a header and `seconds,qps` rows.
    #[serde(default)]
    trace_csv: Option<String>,
    #[serde(default = "default_duration")]
    duration_s: f64,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default)]
    initial_replicas: Option<u32>,
    #[serde(default)]
    slo_ms: Option<f64>,
}

fn default_duration() -> f64 {
    60.0
}

fn default_seed() -> u64 {
    1
}

/// Runs a simulation for `caller` on a blocking thread, sharing the limits
/// on how many run at once (overall and per caller) with the Scaling tab's
/// previews. A run that has not finished within a minute is cancelled.
pub async fn run_simulation(cfg: SimConfig, caller: &str) -> ApiResult<SimResult> {
    use app::api::scaling::sim::{run, RunError};
    use domain::scaling::SimError;
    let limit = std::time::Duration::from_secs(60);
    match tokio::time::timeout(limit, run(cfg, caller)).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(RunError::Refused(SimError::Invalid(e)))) => Err(ApiError::invalid(e)),
        Ok(Err(e @ RunError::Refused(SimError::Budget { .. }))) => Err(ApiError::invalid(
            ValidationError::new("traffic", e.to_string()),
        )),
        Ok(Err(e @ RunError::Busy)) => Err(ApiError::status(
            StatusCode::TOO_MANY_REQUESTS,
            "simulate",
            e.to_string(),
        )),
        Ok(Err(RunError::Refused(SimError::Cancelled))) | Err(_) => Err(ApiError::status(
            StatusCode::SERVICE_UNAVAILABLE,
            "simulate",
            "the simulation took over a minute; try a shorter run".to_string(),
        )),
    }
}

/// The policy in force on a service, if it has one.
async fn policy_of(catalog: &Catalog, id: &str) -> ApiResult<ScalingPolicy> {
    catalog
        .scaling_of(id)
        .await?
        .current
        .map(|v| v.policy)
        .ok_or_else(|| {
            ApiError::invalid(ValidationError::new(
                "service",
                format!("{id} has no scaling policy yet"),
            ))
        })
}

/// `POST /api/v1/simulate`: `{"policy" | "service", "traffic", "duration_s", "seed"}`.
async fn simulate_endpoint(
    State(catalog): State<Catalog>,
    caller: Caller,
    key: ClientKey,
    body: Bytes,
) -> ApiResult<Json<SimResult>> {
    caller.require(Action::Read)?;
    let input: SimulateBody = parse_json(&body)?;
    let policy = match (input.policy, &input.service) {
        (Some(p), _) => p,
        (None, Some(id)) => policy_of(&catalog, id).await?,
        (None, None) => {
            return Err(ApiError::invalid(ValidationError::new(
                "policy",
                "give a policy or a service",
            )))
        }
    };
    policy
        .validate()
        .map_err(|e| ApiError::invalid(e.within("policy")))?;
    let traffic = match (input.traffic, &input.trace_csv) {
        (Some(t), None) => t,
        (None, Some(csv)) => domain::scaling::parse_trace_csv(csv)
            .map_err(|e| ApiError::invalid(e.within("trace_csv")))?,
        _ => {
            return Err(ApiError::invalid(ValidationError::new(
                "traffic",
                "give either traffic or trace_csv",
            )))
        }
    };
    domain::scaling::check_size(&traffic, input.duration_s).map_err(ApiError::invalid)?;
    let cfg = SimConfig {
        policy,
        traffic,
        duration_s: input.duration_s,
        seed: input.seed,
        initial_replicas: input.initial_replicas,
        slo_ms: input.slo_ms.unwrap_or(1000.0),
        timeout_ms: 10_000.0,
        max_queue_per_pod: 10_000,
    };
    Ok(Json(run_simulation(cfg, &key.0).await?))
}

async fn get_scaling(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Action::Read)?;
    let s = catalog.scaling_of(&id).await?;
    let decision = catalog::autoscaler_view(&s);
    let mut v = serde_json::to_value(&s).unwrap_or_default();
    v["autoscaler"] = serde_json::to_value(decision).unwrap_or_default();
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutBody {
    policy: ScalingPolicy,
    /// The version the caller last saw (0 for none); `If-Match` works too.
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    note: String,
}

async fn put_scaling(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let who = caller.require(Action::OperateScaling)?;
    let input: PutBody = parse_json(&body)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| {
            let text = v.to_str().unwrap_or_default().trim().trim_matches('"');
            text.parse::<u64>().map_err(|_| {
                ApiError::invalid(ValidationError::new(
                    "If-Match",
                    format!("{text:?} is not a version number"),
                ))
            })
        })
        .transpose()?;
    let expected = match input.version.or(if_match) {
        Some(v) => v,
        None => catalog
            .scaling_of(&id)
            .await?
            .current
            .map_or(0, |c| c.version),
    };
    let v = catalog
        .put_scaling(&id, input.policy, expected, &who.actor(), &input.note)
        .await
        .map_err(|e| match e {
            catalog::CatalogError::Invalid(v)
                if v.field != "id" && v.field != "policy" && v.field != "note" =>
            {
                ApiError::invalid(v.within("policy"))
            }
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn post_metrics(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let who = caller.require(Action::OperateScaling)?;
    let sample: MetricSample = parse_json(&body)?;
    catalog.add_metrics(&id, &sample, &who.actor()).await?;
    let s = catalog.scaling_of(&id).await?;
    Ok(Json(json!({"autoscaler": catalog::autoscaler_view(&s)})))
}

/// The policy as YAML for Knative or KServe (`domain::scaling::manifest`):
/// the service, then Knative's `config-autoscaler` ConfigMap, as the
/// scale-up and scale-down rates are cluster settings there.
pub fn manifest_yaml(
    format: &str,
    asset: &domain::Asset,
    p: &ScalingPolicy,
) -> Result<String, ValidationError> {
    let docs = domain::scaling::manifest::resources(format, asset, p)?;
    let mut y = String::new();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            y.push_str("---\n");
        }
        y.push_str(
            &serde_yaml::to_string(doc)
                .map_err(|e| ValidationError::new("format", e.to_string()))?,
        );
    }
    Ok(y)
}

/// `GET /api/v1/services/{id}/manifest?format=knative|kserve`.
async fn manifest(
    State(catalog): State<Catalog>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    caller.require(Action::Read)?;
    let pairs = parse_query_string(raw.as_deref().unwrap_or(""));
    let format = param(&pairs, "format").unwrap_or("knative").to_string();
    let asset = catalog.get_asset(&id).await?;
    let policy = policy_of(&catalog, &id).await?;
    let yaml = manifest_yaml(&format, &asset, &policy).map_err(ApiError::invalid)?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        yaml,
    )
        .into_response())
}
