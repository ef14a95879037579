//! Serving endpoints from Kubernetes: `mlgraph import kube FILE.yaml` (or
//! `-`, fed by `kubectl get ksvc,isvc -A -o yaml`) and `POST
//! /api/v1/import/kube` read Knative Services and KServe InferenceServices,
//! create or update their `service` assets, set their scaling policies from
//! the autoscaling annotations (a new policy version only when something
//! changed), and link each to the model its `mlgraph.io/model` label or its
//! storage URI names. Other kinds are skipped and listed; a resource with an
//! invalid value is refused, naming the resource and the field, while the
//! others are imported.

use std::collections::BTreeMap;

use catalog::{Catalog, CatalogError};
use domain::asset::asset_id;
use domain::scaling::manifest::{read_resources, KubeService};
use domain::scaling::ScalingPolicy;
use domain::{Asset, AssetKind, Edge, EdgeKind, ValidationError};
use serde::Serialize;
use serde_json::{json, Value};

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct KubeOutcome {
    pub services_created: Vec<String>,
    pub services_updated: Vec<String>,
    pub services_unchanged: Vec<String>,
    /// Services whose scaling policy got a new version.
    pub policies_changed: Vec<String>,
    /// `deploys` edges from a model, as `MODEL -> SERVICE`.
    pub linked: Vec<String>,
    /// Resources that are no serving endpoint.
    pub skipped: Vec<String>,
    /// Resources not imported, with the field and why.
    pub refused: Vec<Refusal>,
}

#[derive(Debug, Serialize)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

/// The YAML documents of `text` as JSON values.
pub fn parse_yaml(text: &str) -> Result<Vec<Value>, ValidationError> {
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let mut v: serde_yaml::Value = serde::Deserialize::deserialize(doc).map_err(|e| {
            ValidationError::new(format!("document {}", i + 1), format!("is not YAML: {e}"))
        })?;
        v.apply_merge()
            .map_err(|e| ValidationError::new(format!("document {}", i + 1), e.to_string()))?;
        docs.push(serde_json::to_value(v).map_err(|e| {
            ValidationError::new(
                format!("document {}", i + 1),
                format!("cannot be read as JSON: {e}"),
            )
        })?);
    }
    Ok(docs)
}

/// Imports the serving endpoints among `docs`.
pub async fn import(
    catalog: &Catalog,
    docs: &[Value],
    by: &str,
) -> Result<KubeOutcome, CatalogError> {
    let read = read_resources(docs)?;
    let mut out = KubeOutcome {
        skipped: read.skipped.clone(),
        ..Default::default()
    };
    for s in &read.services {
        if let Err(e) = import_one(catalog, &read, s, by, &mut out).await {
            match e {
                CatalogError::Invalid(v) | CatalogError::Refused(v) => out.refused.push(Refusal {
                    field: v.field,
                    message: v.message,
                }),
                CatalogError::NotFound(what) => out.refused.push(Refusal {
                    field: s.resource.clone(),
                    message: format!("{what} not found"),
                }),
                other => return Err(other),
            }
        }
    }
    let summary = format!(
        "{} created, {} updated, {} unchanged, {} policies changed, {} linked, {} skipped",
        out.services_created.len(),
        out.services_updated.len(),
        out.services_unchanged.len(),
        out.policies_changed.len(),
        out.linked.len(),
        out.skipped.len()
    );
    // The ingestion page lists problems as `path: message`.
    let problems: Value = out
        .refused
        .iter()
        .map(|r| json!({"path": r.field, "message": r.message}))
        .collect();
    catalog
        .log_ingest("kubernetes", "manifest import", &summary, problems)
        .await?;
    Ok(out)
}

async fn import_one(
    catalog: &Catalog,
    read: &domain::scaling::manifest::KubeRead,
    s: &KubeService,
    by: &str,
    out: &mut KubeOutcome,
) -> Result<(), CatalogError> {
    // The asset an export named, if it is still there; else one named
    // after the resource.
    let named = match &s.asset_id {
        Some(id) => {
            let id = catalog.canonical_id(id).await?;
            catalog.assets_by_id(vec![id.clone()]).await?.remove(&id)
        }
        None => None,
    };
    let id = named.as_ref().map(|a| a.id.clone()).unwrap_or_else(|| {
        asset_id(
            AssetKind::Service,
            &format!("kubernetes://{}", s.namespace),
            &s.name,
        )
    });
    let stored = match named {
        Some(a) => Some(a),
        None => catalog.assets_by_id(vec![id.clone()]).await?.remove(&id),
    };
    if let Some(a) = stored.as_ref().filter(|a| a.kind != AssetKind::Service) {
        return Err(ValidationError::new(
            &s.resource,
            format!("{} is a {}, not a service", a.id, a.kind),
        )
        .into());
    }
    let current = match &stored {
        Some(_) => catalog.scaling_of(&id).await?.current,
        None => None,
    };
    let base = current
        .as_ref()
        .map(|c| c.policy.clone())
        .unwrap_or_else(ScalingPolicy::default);
    // Refused before anything is written.
    let policy = read.policy(s, &base)?;

    let mut asset = stored.clone().unwrap_or_else(|| new_service(&id, s));
    let mut props = BTreeMap::from([
        ("kube.kind".to_string(), json!(s.kind)),
        ("kube.resource".to_string(), json!(s.resource)),
    ]);
    if let Some(image) = &s.image {
        props.insert("image".into(), json!(image));
    }
    if let Some(uri) = &s.storage_uri {
        props.insert("storage_uri".into(), json!(uri));
    }
    asset.properties.extend(props);
    match &stored {
        None => {
            catalog.put_asset(asset, Some(0), by).await?;
            out.services_created.push(id.clone());
        }
        Some(old) if asset.changed_fields(old).is_empty() => {
            out.services_unchanged.push(id.clone())
        }
        Some(old) => {
            catalog.put_asset(asset, Some(old.version), by).await?;
            out.services_updated.push(id.clone());
        }
    }
    if current
        .as_ref()
        .is_none_or(|c| !c.policy.diff(&policy).is_empty())
    {
        let expected = current.as_ref().map_or(0, |c| c.version);
        catalog
            .put_scaling(
                &id,
                policy,
                expected,
                by,
                &format!("imported from {}", s.resource),
            )
            .await?;
        out.policies_changed.push(id.clone());
    }
    if let Some(model) = model_of(catalog, s).await? {
        let edge = Edge {
            id: domain::edge::edge_id(&model, EdgeKind::Deploys, &id),
            from: model.clone(),
            to: id.clone(),
            kind: EdgeKind::Deploys,
            columns: vec![],
            first_seen: None,
            last_seen: None,
        };
        catalog.put_edge(edge, by).await?;
        out.linked.push(format!("{model} -> {id}"));
    }
    Ok(())
}

fn new_service(id: &str, s: &KubeService) -> Asset {
    let (namespace, name) = match domain::asset::parse_asset_id(id) {
        Ok((_, namespace, name)) => (namespace, name),
        Err(_) => (format!("kubernetes://{}", s.namespace), s.name.clone()),
    };
    Asset {
        id: id.to_string(),
        kind: AssetKind::Service,
        namespace,
        name,
        description: format!(
            "The serving endpoint of {} (imported from Kubernetes).",
            s.resource
        ),
        owners: vec![],
        tags: vec!["kubernetes".into(), s.kind.to_string()],
        domain: None,
        schema: vec![],
        properties: BTreeMap::new(),
        version: 0,
        created_at: None,
        updated_at: None,
    }
}

/// The model a service deploys: the one its `mlgraph.io/model` label names
/// (which must be a model asset), else one whose `storage_uri` property is
/// the service's storage URI.
async fn model_of(catalog: &Catalog, s: &KubeService) -> Result<Option<String>, CatalogError> {
    if let Some(id) = &s.model {
        let id = catalog.canonical_id(id).await?;
        return match catalog.assets_by_id(vec![id.clone()]).await?.remove(&id) {
            Some(a) if a.kind == AssetKind::Model => Ok(Some(id)),
            Some(a) => Err(ValidationError::new(
                format!("{}: metadata.labels.mlgraph.io/model", s.resource),
                format!("{id} is a {}, not a model", a.kind),
            )
            .into()),
            None => Err(ValidationError::new(
                format!("{}: metadata.labels.mlgraph.io/model", s.resource),
                format!("{id} is no asset of the catalog"),
            )
            .into()),
        };
    }
    match &s.storage_uri {
        Some(uri) => catalog.model_by_storage_uri(uri).await,
        None => Ok(None),
    }
}

/// `mlgraph import kube FILE|-`: into the store, or with `remote` through a
/// running server. Prints the outcome as JSON; fails when a resource was
/// refused, after importing the others.
pub async fn import_cli(
    path: &std::path::Path,
    remote: Option<(&str, Option<&str>)>,
    db: &crate::config::DbArgs,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let docs = parse_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let out: Value = match remote {
        Some((server, token)) => {
            let client = crate::check_cli::Client::new(server, token)?;
            client
                .post_text("/api/v1/import/kube", text, "application/yaml")
                .await?
        }
        None => {
            let store = crate::config::open(db).await?;
            let out = import(&store, &docs, "cli")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            store.flush_search().map_err(|e| anyhow::anyhow!("{e}"))?;
            serde_json::to_value(out)?
        }
    };
    println!("{}", serde_json::to_string(&out)?);
    let refused = out["refused"].as_array().map_or(0, Vec::len);
    if refused > 0 {
        anyhow::bail!("{refused} resource(s) refused; the others were imported");
    }
    Ok(())
}
