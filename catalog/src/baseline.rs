//! SurrealDB's own graph recursion over the stored edges: the baseline that
//! `mlgraph bench` measures the in-memory index against. Nothing in the app
//! uses these; they answer the same questions as the index, the way a
//! catalog without one would.

use serde_json::Value;

use crate::error::{CatalogError, Result};
use crate::Catalog;

/// `asset:⟨id⟩`, for ids that `domain::asset_id` made, which never hold
/// `⟩`; anything else is refused rather than spliced into a query.
fn record(id: &str) -> Result<String> {
    if id.contains('⟩') || id.contains('\\') {
        return Err(CatalogError::Invalid(domain::ValidationError::new(
            "id",
            "cannot be used in a baseline query",
        )));
    }
    Ok(format!("asset:⟨{id}⟩"))
}

impl Catalog {
    async fn single(&self, sql: String) -> Result<Value> {
        let mut res = self.db.query(sql).await?;
        let v: Option<Value> = res.take(0)?;
        Ok(v.unwrap_or(Value::Null))
    }

    /// How many assets lie downstream of `id`, by `{1..256+collect}`
    /// recursion (256 is SurrealDB's deepest).
    pub async fn surreal_closure_size(&self, id: &str) -> Result<usize> {
        let sql = format!(
            "RETURN array::len({}.{{1..256+collect}}(->edge->asset));",
            record(id)?
        );
        let v = self.single(sql).await?;
        v.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| CatalogError::Corrupt(format!("closure size: {v}")))
    }

    /// The assets within `hops` hops of `id` in either direction, at most
    /// `limit` of them.
    pub async fn surreal_neighbourhood_size(
        &self,
        id: &str,
        hops: u32,
        limit: usize,
    ) -> Result<usize> {
        let sql = format!(
            "RETURN array::len(array::slice({}.{{1..{hops}+collect}}(<->edge<->asset), 0, {limit}));",
            record(id)?
        );
        let v = self.single(sql).await?;
        v.as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| CatalogError::Corrupt(format!("neighbourhood size: {v}")))
    }

    /// The number of hops on a shortest downstream path, by `+shortest`.
    pub async fn surreal_shortest_path_len(&self, from: &str, to: &str) -> Result<Option<usize>> {
        let sql = format!(
            "RETURN {}.{{..+shortest={}}}(->edge->asset);",
            record(from)?,
            record(to)?
        );
        // The path is the list of records after `from`; the SDK hands a
        // list back as rows, so take them all.
        let mut res = self.db.query(sql).await?;
        let path: Vec<Value> = res.take(0)?;
        Ok(Some(path.len()).filter(|&n| n > 0))
    }

    /// Read access to the in-memory lineage index.
    pub fn graph(&self) -> std::sync::RwLockReadGuard<'_, domain::lineage::LineageGraph> {
        self.graph.read().expect("the graph lock is never poisoned")
    }
}
