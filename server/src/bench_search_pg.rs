//! PostgreSQL's side of `mlgraph bench-search`: the same assets in a table
//! with a `tsvector` GIN index (prefix matching with `:*`), GIN indexes on
//! owners and tags, and the same searches: a count, the page (exact name
//! first, then `ts_rank`, then name) and each facet's counts by GROUP BY
//! without that facet's own filter.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use domain::query::SearchQuery;
use domain::Asset;

use crate::bench::{timing, Timing};

const SEP: &str = "\u{1}";

fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// A connection whose driver runs on its own task.
pub(crate) async fn connect(conn: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(conn, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {conn:?}"))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("postgres connection: {e}");
        }
    });
    Ok(client)
}

async fn load(client: &tokio_postgres::Client, rows: &[Asset]) -> anyhow::Result<()> {
    client
        .batch_execute(
            "DROP TABLE IF EXISTS asset_search;
             CREATE UNLOGGED TABLE asset_search (id text PRIMARY KEY, name text NOT NULL, kind text NOT NULL,
               owners text[] NOT NULL, tags text[] NOT NULL, doc tsvector NOT NULL);",
        )
        .await?;
    for chunk in rows.chunks(20_000) {
        let col = |f: &dyn Fn(&Asset) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        let ids = col(&|a| a.id.clone());
        let names = col(&|a| a.name.clone());
        let kinds = col(&|a| a.kind.as_str().to_string());
        let owners = col(&|a| a.owners.join(SEP));
        let tags = col(&|a| a.tags.join(SEP));
        let docs = col(&|a| words(&a.search_text()).join(" "));
        client
            .execute(
                "INSERT INTO asset_search SELECT i, n, k, CASE WHEN o = '' THEN '{}' ELSE string_to_array(o, E'\\x01') END,
                   CASE WHEN t = '' THEN '{}' ELSE string_to_array(t, E'\\x01') END, to_tsvector('simple', d)
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(i, n, k, o, t, d)",
                &[&ids, &names, &kinds, &owners, &tags, &docs],
            )
            .await?;
    }
    client
        .batch_execute(
            "CREATE INDEX asset_search_doc ON asset_search USING GIN (doc);
             CREATE INDEX asset_search_owners ON asset_search USING GIN (owners);
             CREATE INDEX asset_search_tags ON asset_search USING GIN (tags);
             CREATE INDEX asset_search_kind ON asset_search (kind);
             ANALYZE asset_search;",
        )
        .await?;
    Ok(())
}

/// The WHERE clause for `q` without facet `except`'s filter; parameters
/// are $1 tsquery text, $2 kinds, $3 owners, $4 tags.
fn condition(q: &SearchQuery, except: &str) -> String {
    let mut parts = vec!["doc @@ to_tsquery('simple', $1)".to_string()];
    if !q.kinds.is_empty() && except != "kind" {
        parts.push("kind = ANY($2)".into());
    }
    if !q.owners.is_empty() && except != "owner" {
        parts.push("owners && $3".into());
    }
    if !q.tags.is_empty() && except != "tag" {
        parts.push("tags && $4".into());
    }
    parts.join(" AND ")
}

/// One search as five statements; answers the total.
async fn search(client: &tokio_postgres::Client, q: &SearchQuery) -> anyhow::Result<i64> {
    let ts = words(&q.q)
        .iter()
        .filter(|w| w.chars().count() >= 2)
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ");
    let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
    let exact = q.q.trim().to_lowercase();
    // Every statement names all four parameters so that one binding fits all.
    let uses =
        "AND ($2::text[] IS NOT NULL) AND ($3::text[] IS NOT NULL) AND ($4::text[] IS NOT NULL)";
    let total: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM asset_search WHERE {} {uses}",
                condition(q, "")
            ),
            &[&ts, &kinds, &q.owners, &q.tags],
        )
        .await?
        .get(0);
    client
        .query(
            &format!(
                "SELECT id FROM asset_search WHERE {} {uses} ORDER BY (lower(name) = $5) DESC, ts_rank(doc, to_tsquery('simple', $1)) DESC, name LIMIT 25",
                condition(q, "")
            ),
            &[&ts, &kinds, &q.owners, &q.tags, &exact],
        )
        .await?;
    for (facet, select) in [
        (
            "kind",
            "SELECT kind, count(*) FROM asset_search WHERE {} {uses} GROUP BY kind",
        ),
        (
            "owner",
            "SELECT o, count(*) FROM asset_search, unnest(owners) o WHERE {} {uses} GROUP BY o",
        ),
        (
            "tag",
            "SELECT t, count(*) FROM asset_search, unnest(tags) t WHERE {} {uses} GROUP BY t",
        ),
    ] {
        let sql = select
            .replacen("{}", &condition(q, facet), 1)
            .replace("{uses}", uses);
        client
            .query(&sql, &[&ts, &kinds, &q.owners, &q.tags])
            .await?;
    }
    Ok(total)
}

pub async fn compare(
    conn: &str,
    rows: Vec<Asset>,
    queries: &[(&str, Vec<SearchQuery>)],
    clients: usize,
    out: &mut Vec<(String, Timing)>,
    load_s: &mut f64,
) -> anyhow::Result<()> {
    let client = connect(conn).await?;
    let t = Instant::now();
    load(&client, &rows).await?;
    *load_s = t.elapsed().as_secs_f64();
    drop(rows);
    println!("  PostgreSQL: loaded and indexed in {:.1}s", *load_s);
    let mut pool = vec![Arc::new(client)];
    for _ in 1..clients {
        pool.push(Arc::new(connect(conn).await?));
    }
    for (v, qs) in queries {
        let mut ms = Vec::new();
        let mut answer = 0;
        for q in qs {
            let t = Instant::now();
            let n = search(&pool[0], q).await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            if ms.len() == 1 {
                answer = n as usize;
            }
        }
        let s = timing(ms, answer, false);
        println!(
            "  PostgreSQL {v:<6} sequential  p50 {:>7.2} ms  p99 {:>7.2} ms",
            s.p50_ms, s.p99_ms
        );
        out.push((format!("{v} sequential"), s));
        let qs = Arc::new(qs.clone());
        let mut tasks = Vec::new();
        for (k, client) in pool.iter().enumerate() {
            let (client, qs) = (client.clone(), qs.clone());
            tasks.push(tokio::spawn(async move {
                let mut ms = Vec::new();
                for i in 0..qs.len() {
                    let t = Instant::now();
                    search(&client, &qs[(i + k * 7) % qs.len()]).await?;
                    ms.push(t.elapsed().as_secs_f64() * 1e3);
                }
                Ok::<_, anyhow::Error>(ms)
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        let k = timing(all, 0, false);
        println!(
            "  PostgreSQL {v:<6} {clients} clients  p50 {:>7.2} ms  p99 {:>7.2} ms",
            k.p50_ms, k.p99_ms
        );
        out.push((format!("{v} {clients} clients"), k));
    }
    Ok(())
}
