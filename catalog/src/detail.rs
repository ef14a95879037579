//! Reads about one asset (its page) and whole-catalog reads (export).

use std::collections::{BTreeMap, HashSet};

use domain::query::{AssetDetail, Neighbor, ReuseCandidate};
use domain::{AssetKind, AssetVersion, Edge};
use serde_json::Value;
use surrealdb::types::RecordId;

use crate::error::{CatalogError, Result};
use crate::write::row_to_asset;
use crate::Catalog;

const EDGE_FIELDS: &str = "key AS id, kind, columns, record::id(in) AS from, record::id(out) AS to, first_seen, last_seen";

fn rows_to<T: serde::de::DeserializeOwned>(rows: Vec<Value>, what: &str) -> Result<Vec<T>> {
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r).map_err(|e| CatalogError::Corrupt(format!("{what} row: {e}")))
        })
        .collect()
}

/// How many neighbours an asset page lists on each side; a hub has
/// thousands, and the page says how many it left out.
pub const NEIGHBOR_LIMIT: usize = 500;

impl Catalog {
    pub async fn get_edge(&self, id: &str) -> Result<Option<Edge>> {
        let mut res = self
            .db
            .query(format!("SELECT {EDGE_FIELDS} FROM edge WHERE key = $key"))
            .bind(("key", id.to_string()))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(rows_to::<Edge>(rows, "edge")?.into_iter().next())
    }

    /// An asset with its version history, direct neighbours and the other
    /// features and models that share its upstream assets.
    pub async fn asset_detail(&self, id: &str) -> Result<AssetDetail> {
        let asset = self.get_asset(id).await?;
        let mut res = self
            .db
            .query(
                "LET $rid = type::record('asset', $key);
                 SELECT key AS edge_id, kind AS edge_kind, columns, record::id(in) AS id, in.kind AS kind, in.name AS name
                    FROM edge WHERE out = $rid ORDER BY name LIMIT $limit;
                 SELECT key AS edge_id, kind AS edge_kind, columns, record::id(out) AS id, out.kind AS kind, out.name AS name
                    FROM edge WHERE in = $rid ORDER BY name LIMIT $limit;
                 SELECT version, at, by, changes FROM asset_version WHERE asset = $key ORDER BY version DESC;",
            )
            .bind(("key", id.to_string()))
            .bind(("limit", NEIGHBOR_LIMIT))
            .await?;
        let upstream: Vec<Neighbor> = rows_to(res.take(1)?, "upstream")?;
        let downstream: Vec<Neighbor> = rows_to(res.take(2)?, "downstream")?;
        let versions: Vec<AssetVersion> = rows_to(res.take(3)?, "version")?;
        let reuse = self.reuse(id, asset.kind, &upstream, &downstream).await?;
        let closure = self.lineage(id, None, None, vec![], Some(NEIGHBOR_LIMIT))?;
        Ok(AssetDetail {
            asset,
            versions,
            upstream,
            downstream,
            reuse,
            closure,
        })
    }

    /// Features and models that read the same upstream assets as this one,
    /// ranked by how many they share. For an asset with no upstream (a raw
    /// dataset), the features and models built directly on it.
    async fn reuse(
        &self,
        id: &str,
        kind: AssetKind,
        upstream: &[Neighbor],
        downstream: &[Neighbor],
    ) -> Result<Vec<ReuseCandidate>> {
        let built = |k: AssetKind| matches!(k, AssetKind::Feature | AssetKind::Model);
        if upstream.is_empty() || !built(kind) {
            return Ok(downstream
                .iter()
                .filter(|n| built(n.kind))
                .map(|n| ReuseCandidate {
                    id: n.id.clone(),
                    kind: n.kind,
                    name: n.name.clone(),
                    shared: 1,
                    via: vec![id.to_string()],
                })
                .take(20)
                .collect());
        }
        let sources: Vec<String> = upstream
            .iter()
            .filter(|n| matches!(n.kind, AssetKind::Dataset | AssetKind::Feature))
            .map(|n| n.id.clone())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut res = self
            .db
            .query(
                "SELECT record::id(in) AS via, record::id(out) AS id, out.kind AS kind, out.name AS name
                    FROM edge WHERE in INSIDE $srcs AND kind INSIDE ['derives', 'trains'] LIMIT 20000;",
            )
            .bind(("srcs", sources.iter().map(|s| RecordId::new("asset", s.as_str())).collect::<Vec<_>>()))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let mut found: BTreeMap<String, ReuseCandidate> = BTreeMap::new();
        for r in rows {
            let (Some(other), Some(via)) = (r["id"].as_str(), r["via"].as_str()) else {
                continue;
            };
            let Ok(k) = r["kind"].as_str().unwrap_or_default().parse::<AssetKind>() else {
                continue;
            };
            if other == id || k != kind {
                continue;
            }
            let c = found
                .entry(other.to_string())
                .or_insert_with(|| ReuseCandidate {
                    id: other.to_string(),
                    kind: k,
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    shared: 0,
                    via: vec![],
                });
            if !c.via.iter().any(|v| v == via) {
                c.shared += 1;
                c.via.push(via.to_string());
            }
        }
        let mut out: Vec<ReuseCandidate> = found.into_values().collect();
        out.sort_by(|a, b| b.shared.cmp(&a.shared).then_with(|| a.name.cmp(&b.name)));
        out.truncate(20);
        Ok(out)
    }

    /// One page of all assets in id order, for export: those after
    /// `after` (keyset paging, so page n costs what page one does).
    pub async fn export_assets(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<domain::Asset>> {
        assets_after(&self.db, after, limit).await
    }

    /// One page of all edges in id order, for export: those after `after`.
    pub async fn export_edges(&self, after: Option<&str>, limit: usize) -> Result<Vec<Edge>> {
        let q = match after {
            None => format!("SELECT {EDGE_FIELDS} FROM edge ORDER BY key LIMIT $limit"),
            Some(_) => format!(
                "SELECT {EDGE_FIELDS} FROM edge WHERE key > $after ORDER BY key LIMIT $limit"
            ),
        };
        let mut res = self
            .db
            .query(q)
            .bind(("limit", limit))
            .bind(("after", after.unwrap_or_default().to_string()))
            .await?;
        rows_to(res.take(0)?, "edge")
    }
}

impl Catalog {
    /// Assets by id, for readers outside the catalog; missing ids are absent.
    pub async fn assets_by_id(
        &self,
        ids: Vec<String>,
    ) -> Result<std::collections::HashMap<String, domain::Asset>> {
        self.load_assets(ids).await
    }

    /// Every edge into and out of one asset, with its column mappings.
    pub async fn edges_touching(&self, id: &str) -> Result<(Vec<Edge>, Vec<Edge>)> {
        let mut res = self
            .db
            .query(format!(
                "LET $rid = type::record('asset', $key);
                 SELECT {EDGE_FIELDS} FROM edge WHERE out = $rid;
                 SELECT {EDGE_FIELDS} FROM edge WHERE in = $rid;"
            ))
            .bind(("key", id.to_string()))
            .await?;
        Ok((
            rows_to(res.take(1)?, "edge")?,
            rows_to(res.take(2)?, "edge")?,
        ))
    }

    /// Namespaces of datasets and workflows, with how many of each.
    pub async fn namespaces(&self) -> Result<Vec<(String, u64)>> {
        let mut res = self
            .db
            .query("SELECT namespace, count() AS n FROM asset WHERE kind INSIDE ['dataset', 'workflow'] GROUP BY namespace ORDER BY namespace")
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r["namespace"].as_str()?.to_string(), r["n"].as_u64()?)))
            .collect())
    }

    /// One page of the assets of one kind in one namespace, by name, with
    /// the total.
    pub async fn assets_in_namespace(
        &self,
        namespace: &str,
        kind: AssetKind,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<domain::Asset>, u64)> {
        let mut res = self
            .db
            .query(
                "SELECT * FROM asset WHERE namespace = $ns AND kind = $kind ORDER BY name LIMIT $limit START $offset;
                 SELECT count() AS n FROM asset WHERE namespace = $ns AND kind = $kind GROUP ALL;",
            )
            .bind(("ns", namespace.to_string()))
            .bind(("kind", kind.as_str().to_string()))
            .bind(("limit", limit))
            .bind(("offset", offset))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let total: Option<Value> = res.take(1)?;
        Ok((
            rows.into_iter().map(row_to_asset).collect::<Result<_>>()?,
            total.and_then(|t| t["n"].as_u64()).unwrap_or(0),
        ))
    }
}

/// One page of all assets in id order: those after `after`.
pub(crate) async fn assets_after(
    db: &surrealdb::Surreal<surrealdb::engine::any::Any>,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<domain::Asset>> {
    let q = match after {
        None => "SELECT * FROM asset ORDER BY key LIMIT $limit",
        Some(_) => "SELECT * FROM asset WHERE key > $after ORDER BY key LIMIT $limit",
    };
    let mut res = db
        .query(q)
        .bind(("limit", limit))
        .bind(("after", after.unwrap_or_default().to_string()))
        .await?;
    let rows: Vec<Value> = res.take(0)?;
    rows.into_iter().map(row_to_asset).collect()
}
