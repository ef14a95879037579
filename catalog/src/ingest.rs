//! Ingestion from OpenLineage: a batch of events becomes one transaction
//! that merges what each event says about assets into what is stored (an
//! event without a schema facet leaves the schema alone), upserts the
//! edges, folds run states into run records in any arrival order, and logs
//! every event for the ingestion page. Rejected events are logged too.

use std::collections::{BTreeMap, HashMap};

use domain::openlineage::{merge_run, IngestPlan, RunRecord};
use domain::query::{IngestEventRow, IngestOverview, SourceCount};
use domain::Asset;
use serde_json::{json, Value};

use crate::audit::Audit;
use crate::error::{first_real_error, CatalogError, Result};
use crate::newest::RecentQuery;
use crate::write::{Extras, LabelledEdge};
use crate::Catalog;

/// One accepted event, ready to apply.
#[derive(Debug, Clone)]
pub struct IngestItem {
    pub plan: IngestPlan,
    /// The event's producer.
    pub source: String,
    /// "run COMPLETE", "dataset", "job".
    pub kind: String,
    /// A line for the log: the job and datasets it names.
    pub summary: String,
}

impl Catalog {
    /// Applies a batch of events atomically: all of them or none.
    pub async fn ingest(&self, items: &[IngestItem], by: &str) -> Result<()> {
        let rehomed = self.rehome_items(items).await?;
        let items = rehomed.as_deref().unwrap_or(items);
        let mut ids: Vec<String> = items
            .iter()
            .flat_map(|i| i.plan.assets.iter().map(|p| p.id.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        let mut stored = self.load_assets(ids.clone()).await?;
        // The merges below build on these versions; the write must fail if
        // anything else changed an asset since (the writer retries).
        let expected: HashMap<String, u64> = ids
            .iter()
            .map(|id| (id.clone(), stored.get(id).map_or(0, |a| a.version)))
            .collect();
        let mut merged: BTreeMap<String, Asset> = BTreeMap::new();
        for item in items {
            for p in &item.plan.assets {
                let base = merged.get(&p.id).or_else(|| stored.get(&p.id));
                let next = p.apply(base);
                merged.insert(p.id.clone(), next);
            }
        }
        let read: HashMap<String, Option<Asset>> = ids
            .into_iter()
            .map(|id| {
                let a = stored.remove(&id);
                (id, a)
            })
            .collect();
        let mut edges: BTreeMap<String, domain::Edge> = BTreeMap::new();
        for item in items {
            for e in &item.plan.edges {
                edges.insert(e.id.clone(), e.clone());
            }
        }
        // Run records fold every update of the batch into what is stored.
        let run_ids: Vec<String> = items
            .iter()
            .filter_map(|i| i.plan.run.as_ref().map(|r| r.run_id.clone()))
            .collect();
        let mut runs: HashMap<String, RunRecord> = self.load_runs(run_ids).await?;
        for item in items {
            if let Some(update) = &item.plan.run {
                let next = merge_run(runs.remove(&update.run_id), update);
                runs.insert(update.run_id.clone(), next);
            }
        }
        let mut run_rows: Vec<(String, Value)> = runs
            .into_iter()
            .map(|(id, r)| {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                crate::write::strip_nulls(&mut v);
                (id, v)
            })
            .collect();
        run_rows.sort_by(|a, b| a.0.cmp(&b.0));
        let log: Vec<Value> = items
            .iter()
            .map(|i| {
                json!({"source": i.source, "kind": i.kind, "summary": i.summary, "ok": true, "problems": []})
            })
            .collect();
        let audit = Audit::new(
            "openlineage.ingest",
            "openlineage",
            json!({"events": items.len(), "assets": merged.len(), "edges": edges.len()}),
        );
        self.apply(
            merged.into_values().collect(),
            edges
                .into_values()
                .map(|edge| LabelledEdge {
                    label: String::new(),
                    edge,
                    lenient: true,
                })
                .collect(),
            &expected,
            by,
            audit,
            Extras {
                runs: run_rows.into_iter().map(|(_, v)| v).collect(),
                log,
                read,
                ..Default::default()
            },
        )
        .await?;
        Ok(())
    }

    /// The items with every id that is an alias replaced by its target, or
    /// `None` when none is (the usual case, found with one lookup).
    async fn rehome_items(&self, items: &[IngestItem]) -> Result<Option<Vec<IngestItem>>> {
        if !self.has_aliases().await? {
            return Ok(None);
        }
        let mut ids: Vec<String> = Vec::new();
        for i in items {
            ids.extend(i.plan.assets.iter().map(|p| p.id.clone()));
            ids.extend(
                i.plan
                    .edges
                    .iter()
                    .flat_map(|e| [e.from.clone(), e.to.clone()]),
            );
            ids.extend(i.plan.run.iter().map(|r| r.job.clone()));
        }
        ids.sort();
        ids.dedup();
        let targets = self.alias_targets(&ids).await?;
        if targets.is_empty() {
            return Ok(None);
        }
        let lookup = |id: &str| targets.get(id).cloned();
        let mut out = items.to_vec();
        for item in &mut out {
            for p in &mut item.plan.assets {
                if let Some(t) = targets.get(&p.id) {
                    if let Ok((_, namespace, name)) = domain::asset::parse_asset_id(t) {
                        (p.id, p.namespace, p.name) = (t.clone(), namespace, name);
                    }
                }
            }
            item.plan.edges = item
                .plan
                .edges
                .iter()
                .filter_map(|e| domain::alias::rehome_edge(e, &lookup))
                .collect();
            if let Some(run) = &mut item.plan.run {
                if let Some(t) = targets.get(&run.job) {
                    run.job = t.clone();
                }
            }
        }
        Ok(Some(out))
    }

    async fn load_runs(&self, ids: Vec<String>) -> Result<HashMap<String, RunRecord>> {
        // Read by record id: a lookup per run, not a scan of every run.
        let rows = self
            .rows_by_id(
                "run",
                &ids,
                "run_id, job, state, started_at, ended_at, events, facets, facet_sources ?? {} AS facet_sources",
            )
            .await?;
        Ok(run_records(rows)?
            .into_iter()
            .map(|r| (r.run_id.clone(), r))
            .collect())
    }

    /// A workflow's runs, newest first.
    pub async fn runs_of(&self, job: &str, limit: usize) -> Result<Vec<RunRecord>> {
        Ok(self.runs_page(job, limit, 0).await?.0)
    }

    /// One page of a workflow's runs, newest first, with how many it has.
    pub async fn runs_page(
        &self,
        job: &str,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<RunRecord>, u64)> {
        let mut res = self
            .db
            .query("SELECT run_id, job, state, started_at, ended_at, events, facets, facet_sources ?? {} AS facet_sources FROM run WHERE job = $job ORDER BY started_at DESC, ended_at DESC, run_id LIMIT $limit START $offset")
            .query("SELECT count() AS n FROM run WHERE job = $job GROUP ALL")
            .bind(("job", job.to_string()))
            .bind(("limit", limit))
            .bind(("offset", offset))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let total: Option<u64> = res.take((1, "n"))?;
        Ok((run_records(rows)?, total.unwrap_or(0)))
    }

    /// One run by its OpenLineage run id.
    pub async fn run(&self, run_id: &str) -> Result<RunRecord> {
        self.load_runs(vec![run_id.to_string()])
            .await?
            .remove(run_id)
            .ok_or_else(|| CatalogError::NotFound(format!("run {run_id:?}")))
    }

    /// Logs an event that was refused, with its problems.
    pub async fn log_rejected(&self, source: &str, kind: &str, problems: Value) -> Result<()> {
        self.log_ingest(source, kind, "", problems).await
    }

    /// Logs one import for the ingestion page: what it created, updated
    /// and refused (`problems`; the import counts as refused when any).
    pub async fn log_ingest(
        &self,
        source: &str,
        kind: &str,
        summary: &str,
        problems: Value,
    ) -> Result<()> {
        let ok = problems.as_array().is_none_or(Vec::is_empty);
        let res = self
            .db
            .query("CREATE ingest_event CONTENT $row RETURN NONE")
            .bind((
                "row",
                json!({"source": source, "kind": kind, "summary": summary, "ok": ok, "problems": problems}),
            ))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// Counts, sources, recent and rejected events for the ingestion page;
    /// with `source`, the recent and rejected events are that source's.
    pub async fn ingest_overview(&self, source: Option<&str>) -> Result<IngestOverview> {
        let mut res = self
            .db
            .query(
                "SELECT source, count(ok = true) AS accepted, count(ok = false) AS rejected, <string> time::max(at) AS last_at
                   FROM ingest_event GROUP BY source;",
            )
            .await?;
        let sources: Vec<Value> = res.take(0)?;
        const COLUMNS: &str = "<string> at AS at, source, kind, summary, ok, problems";
        const RECENT: RecentQuery = RecentQuery {
            table: "ingest_event",
            columns: COLUMNS,
            filter: "$source = NONE OR source = $source",
        };
        const REJECTED: RecentQuery = RecentQuery {
            table: "ingest_event",
            columns: COLUMNS,
            filter: "ok = false AND ($source = NONE OR source = $source)",
        };
        let binds = [("source", source.map(str::to_string))];
        let recent = self.recent(&RECENT, &binds, 50).await?;
        let rejections = self.recent(&REJECTED, &binds, 50).await?;
        let parse = |rows: Vec<Value>| -> Result<Vec<IngestEventRow>> {
            rows.into_iter()
                .map(|r| {
                    serde_json::from_value(r)
                        .map_err(|e| CatalogError::Corrupt(format!("ingest row: {e}")))
                })
                .collect()
        };
        let mut sources: Vec<SourceCount> = sources
            .into_iter()
            .map(|r| {
                serde_json::from_value(r)
                    .map_err(|e| CatalogError::Corrupt(format!("source row: {e}")))
            })
            .collect::<Result<_>>()?;
        sources.sort_by(|a, b| b.last_at.cmp(&a.last_at));
        Ok(IngestOverview {
            log_days: self.ingest_log_days(),
            accepted: sources.iter().map(|s| s.accepted).sum(),
            rejected: sources.iter().map(|s| s.rejected).sum(),
            sources,
            recent: parse(recent)?,
            rejections: parse(rejections)?,
        })
    }
}

impl Catalog {
    /// How many days of ingestion log the server keeps, as the ingestion
    /// page tells its readers.
    pub fn set_ingest_log_days(&self, days: u32) {
        self.ingest_log_days
            .store(days, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn ingest_log_days(&self) -> u32 {
        self.ingest_log_days
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Deletes ingestion log entries older than `days` days and returns how
    /// many went. Runs, assets and edges are untouched: only the log that
    /// the ingestion page counts and lists is trimmed.
    pub async fn prune_ingest_log(&self, days: u32) -> Result<u64> {
        let mut res = self
            .db
            .query(
                "LET $cut = time::now() - <duration> $age;
                 LET $n = (SELECT count() AS n FROM ingest_event WHERE at < $cut GROUP ALL)[0].n ?? 0;
                 DELETE ingest_event WHERE at < $cut RETURN NONE;
                 RETURN $n;",
            )
            .bind(("age", format!("{days}d")))
            .await?;
        let n: Option<u64> = res.take(3)?;
        Ok(n.unwrap_or(0))
    }
}

fn run_records(rows: Vec<Value>) -> Result<Vec<RunRecord>> {
    rows.into_iter()
        .map(|r| {
            serde_json::from_value(r).map_err(|e| CatalogError::Corrupt(format!("run row: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[tokio::test]
    async fn pruning_trims_only_entries_older_than_the_window() {
        let c = crate::Catalog::connect("mem://").await.unwrap();
        for source in ["old", "new"] {
            c.log_rejected(source, "event", json!([{"path": "x", "message": "bad"}]))
                .await
                .unwrap();
        }
        let only = c.ingest_overview(Some("old")).await.unwrap();
        assert_eq!(only.rejections.len(), 1);
        assert_eq!(only.rejections[0].source, "old");
        assert_eq!(only.sources.len(), 2, "the counts stay whole");
        assert_eq!(c.prune_ingest_log(30).await.unwrap(), 0);
        c.db.query("UPDATE ingest_event SET at = time::now() - 40d WHERE source = 'old'")
            .await
            .unwrap();
        assert_eq!(c.prune_ingest_log(30).await.unwrap(), 1);
        let o = c.ingest_overview(None).await.unwrap();
        assert_eq!(o.rejected, 1);
        assert_eq!(o.sources[0].source, "new");
        let only = c.ingest_overview(Some("old")).await.unwrap();
        assert!(only.recent.is_empty() && only.rejections.is_empty());
    }
}
