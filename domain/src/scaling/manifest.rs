//! Scaling policies as Kubernetes sees them: a Knative `Service` or a KServe
//! `InferenceService` with the `autoscaling.knative.dev/*` annotations, and
//! Knative's cluster-wide `config-autoscaler` ConfigMap for the scale rates.
//! [`resources`] writes a policy as those resources; [`read_resources`] reads
//! them back (as `kubectl get ksvc,isvc -A -o yaml` prints them, parsed to
//! JSON values), with Knative's defaults where a setting is absent, so that
//! exporting a policy and importing it gives the same policy.

use serde_json::{json, Map, Value};

use super::policy::{LbPolicy, ScalingPolicy, MAX_REPLICAS};
use crate::asset::Asset;
use crate::error::{Result, ValidationError};

/// The prefix of Knative's autoscaling annotations.
const KNATIVE: &str = "autoscaling.knative.dev/";
/// The exact asset id, so an import finds the asset an export came from.
pub const ASSET_ID_ANNOTATION: &str = "mlgraph.io/asset-id";
pub const LOAD_BALANCER_ANNOTATION: &str = "mlgraph.io/load-balancer";
/// A label or annotation naming the model asset a service deploys.
pub const MODEL_LABEL: &str = "mlgraph.io/model";

/// A Kubernetes name: lower case letters, digits and dashes.
pub fn k8s_name(s: &str) -> String {
    let mut out: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let mut out: String = out.trim_matches('-').chars().take(63).collect();
    if out.is_empty() {
        out = "service".into();
    }
    out
}

/// Numbers as Knative reads them: shortest exact decimal.
fn num(v: f64) -> String {
    format!("{v}")
}

/// A share as a percentage, rounded to a millionth of a percent so that
/// 0.7 reads 70, not 70.00000000000001.
pub fn percent(share: f64) -> f64 {
    (share * 100.0 * 1e6).round() / 1e6
}

/// The Knative autoscaling annotations of a policy, in a fixed order.
pub fn annotations(p: &ScalingPolicy) -> Vec<(String, String)> {
    [
        ("class", "kpa.autoscaling.knative.dev".to_string()),
        ("metric", "concurrency".to_string()),
        ("target", num(p.target_concurrency)),
        (
            "target-utilization-percentage",
            num(percent(p.target_utilization)),
        ),
        ("min-scale", p.min_replicas.to_string()),
        ("max-scale", p.max_replicas.to_string()),
        ("window", format!("{}s", num(p.stable_window_s))),
        ("panic-window-percentage", num(p.panic_window_pct)),
        ("panic-threshold-percentage", num(p.panic_threshold_pct)),
        (
            "scale-down-delay",
            format!("{}s", num(p.scale_down_delay_s)),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{KNATIVE}{k}"), v))
    .collect()
}

/// The policy of `asset` as a Knative Service (`knative`) or a KServe
/// InferenceService (`kserve`), followed by the `config-autoscaler`
/// ConfigMap that holds Knative's cluster-wide scale rates.
pub fn resources(format: &str, asset: &Asset, p: &ScalingPolicy) -> Result<Vec<Value>> {
    let name = k8s_name(&asset.name);
    let namespace = k8s_name(&asset.namespace);
    let image = asset
        .properties
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("registry.example.com/REPLACE-WITH-IMAGE:latest");
    let mut knative: Map<String, Value> = annotations(p)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let ours = [
        (
            LOAD_BALANCER_ANNOTATION.to_string(),
            json!(p.load_balancer.as_str()),
        ),
        (ASSET_ID_ANNOTATION.to_string(), json!(asset.id)),
    ];
    let service = match format {
        "" | "knative" => json!({
            "apiVersion": "serving.knative.dev/v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"mlgraph.io/asset": k8s_name(&asset.id)},
                "annotations": Map::from_iter(ours),
            },
            "spec": {"template": {
                "metadata": {"annotations": knative},
                "spec": {"containerConcurrency": 0, "containers": [{"image": image}]},
            }},
        }),
        "kserve" => {
            knative.extend(ours);
            json!({
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": name, "namespace": namespace, "annotations": knative},
                "spec": {"predictor": {
                    "minReplicas": p.min_replicas,
                    "maxReplicas": p.max_replicas,
                    "scaleMetric": "concurrency",
                    "scaleTarget": p.target_concurrency.round() as u64,
                    "containers": [{"name": "kserve-container", "image": image}],
                }},
            })
        }
        other => {
            return Err(ValidationError::new(
                "format",
                format!("{other:?} is not knative or kserve"),
            ))
        }
    };
    let config = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config-autoscaler", "namespace": "knative-serving"},
        "data": {
            "max-scale-up-rate": num(p.max_scale_up_rate),
            "max-scale-down-rate": num(p.max_scale_down_rate),
            "panic-window-percentage": num(p.panic_window_pct),
            "panic-threshold-percentage": num(p.panic_threshold_pct),
        },
    });
    Ok(vec![service, config])
}

/// A serving endpoint read from a Knative Service or KServe
/// InferenceService.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeService {
    /// `Service NAMESPACE/NAME` or `InferenceService NAMESPACE/NAME`, for messages.
    pub resource: String,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// The asset an mlgraph export named (`mlgraph.io/asset-id`).
    pub asset_id: Option<String>,
    pub image: Option<String>,
    /// KServe's `storageUri`, where the model comes from.
    pub storage_uri: Option<String>,
    /// A model asset id named by the `mlgraph.io/model` label or annotation.
    pub model: Option<String>,
    annotations: Map<String, Value>,
    /// KServe's predictor: minReplicas, maxReplicas, scaleTarget, scaleMetric.
    predictor: Map<String, Value>,
    container_concurrency: Option<f64>,
}

/// What a set of resources holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubeRead {
    pub services: Vec<KubeService>,
    /// `config-autoscaler`'s data, cluster-wide.
    cluster: Map<String, Value>,
    /// `Kind NAMESPACE/NAME` of every resource that is not a serving endpoint.
    pub skipped: Vec<String>,
}

/// Reads the Knative Services and KServe InferenceServices among `docs`
/// (a `kind: List`'s items included); other kinds are listed in `skipped`,
/// except Knative's `config-autoscaler`, whose rates apply to every service.
pub fn read_resources(docs: &[Value]) -> Result<KubeRead> {
    let mut out = KubeRead::default();
    let mut todo: Vec<&Value> = docs.iter().rev().collect();
    while let Some(doc) = todo.pop() {
        if doc.is_null() {
            continue;
        }
        let kind = doc["kind"].as_str().unwrap_or("");
        let api = doc["apiVersion"].as_str().unwrap_or("");
        let meta = &doc["metadata"];
        let name = meta["name"].as_str().unwrap_or("");
        let namespace = meta["namespace"].as_str().unwrap_or("default");
        let resource = format!("{kind} {namespace}/{name}");
        match (kind, api.split('/').next().unwrap_or("")) {
            (k, _) if k.ends_with("List") && doc["items"].is_array() => {
                let items = doc["items"].as_array().expect("checked");
                todo.extend(items.iter().rev());
            }
            ("ConfigMap", _) if name == "config-autoscaler" => {
                if let Some(data) = doc["data"].as_object() {
                    out.cluster = data.clone();
                }
            }
            ("Service", "serving.knative.dev") | ("InferenceService", "serving.kserve.io") => {
                if name.is_empty() {
                    return Err(ValidationError::new(
                        format!("{kind} in {namespace}"),
                        "has no metadata.name",
                    ));
                }
                out.services
                    .push(service(doc, kind, namespace, name, resource));
            }
            _ => out.skipped.push(if kind.is_empty() {
                "a document without a kind".to_string()
            } else {
                resource
            }),
        }
    }
    Ok(out)
}

fn service(doc: &Value, kind: &str, namespace: &str, name: &str, resource: String) -> KubeService {
    let meta = &doc["metadata"];
    let object = |v: &Value| v.as_object().cloned().unwrap_or_default();
    let text = |v: &Value| v.as_str().map(str::to_string).filter(|s| !s.is_empty());
    let mut annotations = object(&meta["annotations"]);
    let (image, storage_uri, predictor, container_concurrency);
    if kind == "Service" {
        // Knative reads autoscaling from the revision template.
        let template = &doc["spec"]["template"];
        annotations.extend(object(&template["metadata"]["annotations"]));
        image = text(&template["spec"]["containers"][0]["image"]);
        storage_uri = None;
        predictor = Map::new();
        container_concurrency = template["spec"]["containerConcurrency"].as_f64();
    } else {
        let p = &doc["spec"]["predictor"];
        predictor = object(p);
        image = text(&p["containers"][0]["image"]);
        // `model.storageUri`, or a framework's (sklearn, xgboost, …).
        storage_uri = text(&p["model"]["storageUri"]).or_else(|| {
            p.as_object()
                .into_iter()
                .flatten()
                .find_map(|(_, v)| text(&v["storageUri"]))
        });
        container_concurrency = p["containerConcurrency"].as_f64();
    }
    let model =
        text(&meta["labels"][MODEL_LABEL]).or_else(|| annotations.get(MODEL_LABEL).and_then(text));
    KubeService {
        resource,
        kind: if kind == "Service" {
            "knative"
        } else {
            "kserve"
        },
        namespace: namespace.to_string(),
        name: name.to_string(),
        asset_id: annotations.get(ASSET_ID_ANNOTATION).and_then(text),
        image,
        storage_uri,
        model,
        annotations,
        predictor,
        container_concurrency: container_concurrency.filter(|c| *c > 0.0),
    }
}

impl KubeRead {
    /// The policy of one service: its settings, the cluster's rates, and
    /// Knative's defaults for what neither says (target 100 at 70%, min 0,
    /// max unlimited, which mlgraph caps at its largest fleet, a 60 s window,
    /// panic at 10% and 200%, no scale-down delay, rates ×1000 and ÷2).
    /// `base` gives what Kubernetes does not say: pod start-up, performance
    /// and, without `mlgraph.io/load-balancer`, the load balancer. Invalid
    /// values are refused with the resource and the field named.
    pub fn policy(&self, s: &KubeService, base: &ScalingPolicy) -> Result<ScalingPolicy> {
        let at = |field: &str| format!("{}: {field}", s.resource);
        let ann = |key: &str| -> Option<(String, String)> {
            let full = format!("{KNATIVE}{key}");
            let text = match s.annotations.get(&full)? {
                Value::String(t) => t.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((at(&format!("metadata.annotations.{full}")), text))
        };
        let cluster = |key: &str| -> Option<(String, String)> {
            let v = self.cluster.get(key)?;
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            Some((
                format!("ConfigMap knative-serving/config-autoscaler: data.{key}"),
                text,
            ))
        };
        let pred = |key: &str| -> Option<(String, String)> {
            let v = s.predictor.get(key)?;
            let text = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            Some((at(&format!("spec.predictor.{key}")), text))
        };

        if let Some((field, class)) = ann("class") {
            if class != "kpa.autoscaling.knative.dev" {
                return Err(ValidationError::new(field, format!(
                    "{class:?}: mlgraph models Knative's KPA (kpa.autoscaling.knative.dev), not the HPA"
                )));
            }
        }
        for (field, metric) in ann("metric").into_iter().chain(pred("scaleMetric")) {
            if metric != "concurrency" {
                return Err(ValidationError::new(
                    field,
                    format!("{metric:?}: mlgraph models concurrency-based scaling only"),
                ));
            }
        }
        let mut p = base.clone();
        p.target_concurrency = match ann("target").or_else(|| pred("scaleTarget")) {
            Some((field, v)) => number(&field, &v, 0.01, f64::MAX)?,
            None => s.container_concurrency.unwrap_or(100.0),
        };
        p.target_utilization = match ann("target-utilization-percentage") {
            Some((field, v)) => number(&field, &v, 1.0, 100.0)? / 100.0,
            None => 0.70,
        };
        p.min_replicas = match ann("min-scale").or_else(|| pred("minReplicas")) {
            Some((field, v)) => whole(&field, &v)?,
            // KServe starts one replica unless told otherwise; Knative none.
            None if s.kind == "kserve" => 1,
            None => 0,
        };
        let max_field;
        p.max_replicas = match ann("max-scale").or_else(|| pred("maxReplicas")) {
            Some((field, v)) => {
                max_field = field.clone();
                match whole(&field, &v)? {
                    0 => MAX_REPLICAS,
                    n => n,
                }
            }
            None => {
                max_field = at("metadata.annotations.autoscaling.knative.dev/max-scale");
                MAX_REPLICAS
            }
        };
        if p.max_replicas > MAX_REPLICAS {
            return Err(ValidationError::new(
                max_field,
                format!(
                    "{}: mlgraph models at most {MAX_REPLICAS} replicas",
                    p.max_replicas
                ),
            ));
        }
        if p.min_replicas > p.max_replicas {
            return Err(ValidationError::new(
                max_field,
                format!(
                    "{} is below the minimum, {}",
                    p.max_replicas, p.min_replicas
                ),
            ));
        }
        p.stable_window_s = match ann("window") {
            Some((field, v)) => seconds(&field, &v, 6.0, 3600.0)?,
            None => 60.0,
        };
        p.panic_window_pct =
            match ann("panic-window-percentage").or_else(|| cluster("panic-window-percentage")) {
                Some((field, v)) => number(&field, &v, 1.0, 100.0)?,
                None => 10.0,
            };
        p.panic_threshold_pct = match ann("panic-threshold-percentage")
            .or_else(|| cluster("panic-threshold-percentage"))
        {
            Some((field, v)) => number(&field, &v, 110.0, 1000.0)?,
            None => 200.0,
        };
        p.scale_down_delay_s = match ann("scale-down-delay") {
            Some((field, v)) => seconds(&field, &v, 0.0, 3600.0)?,
            None => 0.0,
        };
        p.max_scale_up_rate = match cluster("max-scale-up-rate") {
            Some((field, v)) => above_one(&field, &v)?,
            None => 1000.0,
        };
        p.max_scale_down_rate = match cluster("max-scale-down-rate") {
            Some((field, v)) => above_one(&field, &v)?,
            None => 2.0,
        };
        if let Some(v) = s.annotations.get(LOAD_BALANCER_ANNOTATION) {
            p.load_balancer = serde_json::from_value::<LbPolicy>(v.clone()).map_err(|_| {
                ValidationError::new(
                    at(&format!("metadata.annotations.{LOAD_BALANCER_ANNOTATION}")),
                    format!("{v}: expected one of round-robin, random, power-of-two, least-loaded"),
                )
            })?;
        }
        p.validate().map_err(|e| e.within(&s.resource))?;
        Ok(p)
    }
}

fn number(field: &str, v: &str, min: f64, max: f64) -> Result<f64> {
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= min && n <= max => Ok(n),
        _ if max == f64::MAX => Err(ValidationError::new(
            field,
            format!("{v:?} is not a number of at least {min}"),
        )),
        _ => Err(ValidationError::new(
            field,
            format!("{v:?} is not a number from {min} to {max}"),
        )),
    }
}

fn above_one(field: &str, v: &str) -> Result<f64> {
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 1.0 => Ok(n),
        _ => Err(ValidationError::new(
            field,
            format!("{v:?} is not a number greater than 1"),
        )),
    }
}

fn whole(field: &str, v: &str) -> Result<u32> {
    v.parse::<u32>().map_err(|_| {
        ValidationError::new(field, format!("{v:?} is not a whole number of replicas"))
    })
}

/// A Go duration (`60s`, `1m30s`, `500ms`, `1h`) in seconds, within bounds;
/// a bare number counts as seconds.
fn seconds(field: &str, v: &str, min: f64, max: f64) -> Result<f64> {
    let bad = || {
        ValidationError::new(
            field,
            format!("{v:?} is not a duration from {min} s to {max} s, such as 60s or 1m30s"),
        )
    };
    let total = match v.parse::<f64>() {
        Ok(n) => n,
        Err(_) => go_duration(v).ok_or_else(bad)?,
    };
    if total.is_finite() && total >= min && total <= max {
        Ok(total)
    } else {
        Err(bad())
    }
}

fn go_duration(v: &str) -> Option<f64> {
    let mut rest = v;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..end].parse().ok()?;
        rest = &rest[end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::{asset_id, AssetKind};
    use proptest::prelude::*;

    fn asset() -> Asset {
        let mut a = Asset {
            id: asset_id(AssetKind::Service, "prod", "Recs LLM"),
            kind: AssetKind::Service,
            namespace: "prod".into(),
            name: "Recs LLM".into(),
            description: String::new(),
            owners: vec![],
            tags: vec![],
            domain: None,
            schema: vec![],
            properties: Default::default(),
            version: 1,
            created_at: None,
            updated_at: None,
        };
        a.properties
            .insert("image".into(), json!("registry.example.com/recs:1"));
        a
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    fn same(a: &ScalingPolicy, b: &ScalingPolicy) -> bool {
        a.min_replicas == b.min_replicas
            && a.max_replicas == b.max_replicas
            && close(a.target_concurrency, b.target_concurrency)
            && (a.target_utilization - b.target_utilization).abs() < 1e-8
            && close(a.stable_window_s, b.stable_window_s)
            && close(a.panic_window_pct, b.panic_window_pct)
            && close(a.panic_threshold_pct, b.panic_threshold_pct)
            && close(a.max_scale_up_rate, b.max_scale_up_rate)
            && close(a.max_scale_down_rate, b.max_scale_down_rate)
            && close(a.scale_down_delay_s, b.scale_down_delay_s)
            && a.load_balancer == b.load_balancer
            && a.startup == b.startup
            && a.perf == b.perf
    }

    fn policies() -> impl Strategy<Value = ScalingPolicy> {
        (
            (0u32..50, 0u32..2000, 0.01f64..5000.0, 0.01f64..=1.0),
            (6.0f64..3600.0, 1.0f64..=100.0, 110.0f64..=1000.0),
            (1.001f64..1000.0, 1.001f64..100.0, 0.0f64..3600.0, 0usize..4),
        )
            .prop_map(
                |((min, extra, target, util), (window, pw, pt), (up, down, delay, lb))| {
                    ScalingPolicy {
                        min_replicas: min,
                        max_replicas: (min + extra).clamp(1, MAX_REPLICAS),
                        target_concurrency: target,
                        target_utilization: util,
                        stable_window_s: window,
                        panic_window_pct: pw,
                        panic_threshold_pct: pt,
                        max_scale_up_rate: up,
                        max_scale_down_rate: down,
                        scale_down_delay_s: delay,
                        load_balancer: LbPolicy::ALL[lb],
                        ..ScalingPolicy::default()
                    }
                },
            )
    }

    proptest! {
        /// Exporting a policy as either manifest and importing it gives the
        /// policy back.
        #[test]
        fn a_policy_survives_export_and_import(p in policies(), kserve in any::<bool>()) {
            prop_assume!(p.validate().is_ok());
            let format = if kserve { "kserve" } else { "knative" };
            let docs = resources(format, &asset(), &p).unwrap();
            let read = read_resources(&docs).unwrap();
            prop_assert_eq!(read.services.len(), 1);
            let s = &read.services[0];
            let id = asset().id;
            prop_assert_eq!(s.asset_id.as_deref(), Some(id.as_str()));
            // Only what Kubernetes does not say comes from the base.
            let base = ScalingPolicy {
                startup: p.startup.clone(),
                perf: p.perf.clone(),
                ..ScalingPolicy::default()
            };
            let back = read.policy(s, &base).unwrap();
            prop_assert!(same(&back, &p), "{:?}\n!=\n{:?}", back, p);
        }
    }

    #[test]
    fn absent_settings_take_knatives_defaults() {
        let docs = [json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "serving.knative.dev/v1", "kind": "Service",
             "metadata": {"name": "recs", "namespace": "ml"},
             "spec": {"template": {"spec": {"containerConcurrency": 8, "containers": [{"image": "r:1"}]}}}},
            {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
             "metadata": {"name": "fraud", "namespace": "ml", "labels": {"mlgraph.io/model": "model:ml:fraud"}},
             "spec": {"predictor": {"sklearn": {"storageUri": "gs://models/fraud/3"}}}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ml"}},
        ]})];
        let read = read_resources(&docs).unwrap();
        assert_eq!(read.skipped, ["Deployment ml/web"]);
        let base = ScalingPolicy::default();
        let recs = read.policy(&read.services[0], &base).unwrap();
        assert_eq!((recs.min_replicas, recs.max_replicas), (0, MAX_REPLICAS));
        assert_eq!(
            recs.target_concurrency, 8.0,
            "containerConcurrency stands in for the target"
        );
        assert_eq!(
            (recs.target_utilization, recs.stable_window_s),
            (0.70, 60.0)
        );
        let fraud = &read.services[1];
        assert_eq!(fraud.storage_uri.as_deref(), Some("gs://models/fraud/3"));
        assert_eq!(fraud.model.as_deref(), Some("model:ml:fraud"));
        let p = read.policy(fraud, &base).unwrap();
        assert_eq!((p.min_replicas, p.target_concurrency), (1, 100.0));
    }

    #[test]
    fn invalid_values_name_the_resource_and_the_field() {
        let isvc = |ann: Value, predictor: Value| {
            json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                   "metadata": {"name": "llm", "namespace": "prod", "annotations": ann},
                   "spec": {"predictor": predictor}})
        };
        let cases = [
            (
                json!({"autoscaling.knative.dev/target": "lots"}),
                json!({}),
                "metadata.annotations.autoscaling.knative.dev/target",
            ),
            (
                json!({"autoscaling.knative.dev/window": "2s"}),
                json!({}),
                "metadata.annotations.autoscaling.knative.dev/window",
            ),
            (
                json!({"autoscaling.knative.dev/class": "hpa.autoscaling.knative.dev"}),
                json!({}),
                "metadata.annotations.autoscaling.knative.dev/class",
            ),
            (
                json!({}),
                json!({"scaleMetric": "cpu"}),
                "spec.predictor.scaleMetric",
            ),
            (
                json!({}),
                json!({"minReplicas": 5, "maxReplicas": 2}),
                "spec.predictor.maxReplicas",
            ),
            (
                json!({"autoscaling.knative.dev/panic-threshold-percentage": "50"}),
                json!({}),
                "metadata.annotations.autoscaling.knative.dev/panic-threshold-percentage",
            ),
            (
                json!({"mlgraph.io/load-balancer": "fastest"}),
                json!({}),
                "metadata.annotations.mlgraph.io/load-balancer",
            ),
        ];
        for (ann, pred, field) in cases {
            let read = read_resources(&[isvc(ann.clone(), pred)]).unwrap();
            let err = read
                .policy(&read.services[0], &ScalingPolicy::default())
                .unwrap_err();
            assert_eq!(
                err.field,
                format!("InferenceService prod/llm: {field}"),
                "{ann}"
            );
        }
        assert_eq!(go_duration("1m30s"), Some(90.0));
        assert_eq!(go_duration("500ms"), Some(0.5));
        assert_eq!(go_duration("1x"), None);
    }
}
