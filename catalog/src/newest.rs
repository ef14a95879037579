//! "The newest N rows of one thing", read forwards.
//!
//! `ORDER BY … DESC` over an index makes SurrealDB scan it backwards, and
//! SurrealKV 0.21 starts a backward scan by walking its memtable's skip
//! list from the tail one node at a time down to the scan's upper bound:
//! the cost is every recent write whose key sorts after the range, not the
//! rows read. Under steady ingestion the memtable holds hundreds of
//! thousands of such entries, and in the 5 December soak this walk took
//! 78% of the server's CPU by minute 7 (asset pages read their versions
//! newest first), until every request queued behind it. A forward scan
//! seeks in the skip list, so these reads count the rows first and read
//! the window they want in ascending order.

use serde_json::Value;

use crate::error::Result;
use crate::Catalog;

/// One window of rows, newest first, and how many rows there are.
pub(crate) struct Newest {
    pub total: usize,
    pub rows: Vec<Value>,
}

/// Which rows to read: `SELECT {columns} FROM {table} WHERE {field} =
/// $value ORDER BY {order}`, where `(field, order)` is an index. The names
/// are the catalog's own, never input.
pub(crate) struct NewestQuery {
    pub table: &'static str,
    pub field: &'static str,
    pub order: &'static str,
    pub columns: &'static str,
}

/// Where a window of `limit` rows that skips the `offset` newest of
/// `total` starts in ascending order, and how many rows it holds.
pub(crate) fn ascending_window(total: usize, offset: usize, limit: usize) -> (usize, usize) {
    let end = total.saturating_sub(offset);
    let start = end.saturating_sub(limit);
    (start, end - start)
}

impl Catalog {
    /// The rows of `q` for `value`, newest first, skipping `offset` and
    /// returning at most `limit`.
    pub(crate) async fn newest(
        &self,
        q: &NewestQuery,
        value: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Newest> {
        let count = format!(
            "SELECT count() AS n FROM {} WHERE {} = $value GROUP ALL",
            q.table, q.field
        );
        let mut res = self
            .db
            .query(count)
            .bind(("value", value.to_string()))
            .await?;
        let n: Option<Value> = res.take(0)?;
        let total = n
            .and_then(|v| v.get("n").and_then(Value::as_u64))
            .unwrap_or(0) as usize;
        let (start, len) = ascending_window(total, offset, limit);
        if len == 0 {
            return Ok(Newest {
                total,
                rows: Vec::new(),
            });
        }
        let page = format!(
            "SELECT {} FROM {} WHERE {} = $value ORDER BY {} ASC LIMIT $limit START $start",
            q.columns, q.table, q.field, q.order
        );
        let mut res = self
            .db
            .query(page)
            .bind(("value", value.to_string()))
            .bind(("limit", len))
            .bind(("start", start))
            .await?;
        let mut rows: Vec<Value> = res.take(0)?;
        rows.reverse();
        Ok(Newest { total, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::ascending_window;

    #[test]
    fn windows_count_back_from_the_newest() {
        // 100 rows: the newest 25 are ascending rows 75..100.
        assert_eq!(ascending_window(100, 0, 25), (75, 25));
        assert_eq!(ascending_window(100, 25, 25), (50, 25));
        assert_eq!(ascending_window(100, 90, 25), (0, 10));
        assert_eq!(ascending_window(100, 100, 25), (0, 0));
        assert_eq!(ascending_window(100, 500, 25), (0, 0));
        assert_eq!(ascending_window(0, 0, 25), (0, 0));
        assert_eq!(ascending_window(10, 0, 25), (0, 10));
    }
}
