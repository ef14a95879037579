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

/// Which rows to read: `SELECT {columns} FROM {from} ORDER BY {order}`,
/// where `from` names the rows of one thing by `$value`: `table WHERE
/// field = $value` with `(field, order)` an index, or a range of record
/// ids. The names are the catalog's own, never input.
pub(crate) struct NewestQuery {
    pub from: &'static str,
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
        let count = format!("SELECT count() AS n FROM {} GROUP ALL", q.from);
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
            "SELECT {} FROM {} ORDER BY {} ASC LIMIT $limit START $start",
            q.columns, q.from, q.order
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

/// Which log rows to read newest first: `SELECT {columns} FROM {table}
/// WHERE {filter}`, where `at` is indexed. The names are the catalog's
/// own, never input; values come as bound parameters (optional strings:
/// `None` binds SurrealDB's NONE).
pub(crate) struct RecentQuery {
    pub table: &'static str,
    pub columns: &'static str,
    pub filter: &'static str,
}

/// How far back, in seconds, a read of recent log rows looks before it
/// looks further: each window is read only if the one before held too few
/// rows, so a busy log costs about the rows asked for, and a quiet one a
/// few cheap counts.
const RECENT_WINDOWS_S: [i64; 5] = [60, 3_600, 86_400, 30 * 86_400, 366 * 86_400];

impl Catalog {
    /// The newest `limit` rows of `q`, newest first, read forwards over
    /// the `at` index in widening windows back from now (see the module
    /// note on backward scans).
    pub(crate) async fn recent(
        &self,
        q: &RecentQuery,
        binds: &[(&'static str, Option<String>)],
        limit: usize,
    ) -> Result<Vec<Value>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let windows = RECENT_WINDOWS_S
            .iter()
            .map(|s| Some(domain::time::from_millis(now - s * 1000)))
            .chain([None]);
        for since in windows {
            // The bound must be a datetime before the statement for
            // SurrealDB to read the index from it (a cast inside the
            // condition makes it scan the whole index).
            let (set, bound, at) = if since.is_some() {
                (
                    "LET $since = <datetime>$since_text;",
                    "at >= $since AND ",
                    1,
                )
            } else {
                ("", "", 0)
            };
            let count = format!(
                "{set} SELECT count() AS n FROM {} WHERE {bound}({}) GROUP ALL",
                q.table, q.filter
            );
            let mut query = self.db.query(count).bind(("since_text", since.clone()));
            for (k, v) in binds {
                query = query.bind((*k, v.clone()));
            }
            let n: Option<Value> = query.await?.take(at)?;
            let total = n
                .and_then(|v| v.get("n").and_then(Value::as_u64))
                .unwrap_or(0) as usize;
            if total < limit && since.is_some() {
                continue;
            }
            let (start, len) = ascending_window(total, 0, limit);
            if len == 0 {
                return Ok(Vec::new());
            }
            let page = format!(
                "{set} SELECT {} FROM {} WHERE {bound}({}) ORDER BY at ASC LIMIT $limit START $start",
                q.columns, q.table, q.filter
            );
            let mut query = self
                .db
                .query(page)
                .bind(("since_text", since))
                .bind(("limit", len))
                .bind(("start", start));
            for (k, v) in binds {
                query = query.bind((*k, v.clone()));
            }
            let mut rows: Vec<Value> = query.await?.take(at)?;
            rows.reverse();
            return Ok(rows);
        }
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::{ascending_window, RecentQuery};
    use serde_json::Value;

    /// Audit rows at `ages` seconds ago, alternating two actors.
    async fn audit_rows(c: &crate::Catalog, ages: &[i64]) {
        for (i, age) in ages.iter().enumerate() {
            c.db.query(
                "CREATE audit SET at = time::now() - <duration>$age, actor = $actor, action = 'a', target = <string>$i",
            )
            .bind(("age", format!("{age}s")))
            .bind(("actor", if i % 2 == 0 { "even" } else { "odd" }))
            .bind(("i", i))
            .await
            .unwrap()
            .check()
            .unwrap();
        }
    }

    #[tokio::test]
    async fn recent_rows_equal_a_backward_read_in_every_window() {
        let c = crate::Catalog::connect("mem://").await.unwrap();
        // Rows in each window, and beyond the last: 30 s, 30 min, 12 h,
        // 10 days, 200 days and 3 years ago.
        let mut ages = Vec::new();
        for (age, n) in [
            (30, 3),
            (1_800, 4),
            (43_200, 5),
            (864_000, 6),
            (17_280_000, 7),
            (94_608_000, 8),
        ] {
            ages.extend(std::iter::repeat_n(age, n));
        }
        audit_rows(&c, &ages).await;
        const Q: RecentQuery = RecentQuery {
            table: "audit",
            columns: "target",
            filter: "$actor = NONE OR actor = $actor",
        };
        for actor in [None, Some("even"), Some("odd"), Some("nobody")] {
            for limit in [0, 1, 2, 3, 5, 7, 12, 20, 33, 40] {
                let got = c
                    .recent(&Q, &[("actor", actor.map(str::to_string))], limit)
                    .await
                    .unwrap();
                let mut res = c
                    .db
                    .query("SELECT target FROM audit WHERE $actor = NONE OR actor = $actor ORDER BY at DESC LIMIT $limit")
                    .bind(("actor", actor.map(str::to_string)))
                    .bind(("limit", limit))
                    .await
                    .unwrap();
                let want: Vec<Value> = res.take(0).unwrap();
                assert_eq!(got, want, "actor {actor:?}, limit {limit}");
            }
        }
    }

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
