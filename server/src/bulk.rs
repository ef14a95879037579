//! Bulk NDJSON import in bounded memory, for files of any size
//! (`mlgraph import FILE`).
//!
//! The file is read three times, a line at a time:
//! 1. every line is parsed and validated, and every edge's ends are
//!    checked to be in the file or in the store. A bad line anywhere
//!    refuses the import, naming the line, before anything is written;
//! 2. the assets are written in batches of `BATCH`, one transaction each;
//! 3. then the edges, in batches too, so that every edge's ends exist.
//!
//! A file of at most `BATCH` records is written in one transaction, all
//! or nothing. For larger files each batch is atomic, the import as a
//! whole is not: should a batch fail
//! (the store went away, or someone changed an asset meanwhile), the
//! batches before it stay, the error says how far the import got, and
//! importing the same file again completes it, because records that are
//! already stored unchanged are skipped. The import writes one audit
//! record when it ends, with its counts; every asset gets its version
//! record as with any other write.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use anyhow::{anyhow, Context};
use catalog::{Catalog, WriteOutcome};
use domain::record::{ImportBatch, Record};
use domain::{Asset, Edge, ValidationError};

/// Records per transaction.
pub const BATCH: usize = 5_000;

/// One record of an import file.
pub enum Line {
    Asset(Asset),
    Edge(Edge),
}

/// Parses line `n` (counted from 1) of an NDJSON import: `None` for a
/// blank line, and errors that name the line and the field.
pub fn parse_line(n: usize, line: &str) -> Result<Option<Line>, ValidationError> {
    let at = format!("line {n}");
    if line.trim().is_empty() {
        return Ok(None);
    }
    let de = &mut serde_json::Deserializer::from_str(line);
    let record: Record = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            at.clone()
        } else {
            format!("{at}.{path}")
        };
        ValidationError::new(field, e.into_inner().to_string())
    })?;
    Ok(Some(match record {
        Record::Asset(a) => Line::Asset(a.into_asset(None).map_err(|e| e.within(&at))?),
        Record::Edge(e) => Line::Edge(e.into_edge().map_err(|e| e.within(&at))?),
    }))
}

/// What a bulk import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct BulkOutcome {
    pub lines: usize,
    pub batches: usize,
    #[serde(flatten)]
    pub written: WriteOutcome,
}

fn lines(path: &Path) -> anyhow::Result<impl Iterator<Item = (usize, std::io::Result<String>)>> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(std::io::BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l)))
}

fn add(total: &mut WriteOutcome, part: WriteOutcome) {
    total.assets_created += part.assets_created;
    total.assets_updated += part.assets_updated;
    total.assets_unchanged += part.assets_unchanged;
    total.edges_written += part.edges_written;
}

/// Imports the NDJSON file at `path` as `by`; see the module's comment.
pub async fn import_file(catalog: &Catalog, path: &Path, by: &str) -> anyhow::Result<BulkOutcome> {
    import_in_batches(catalog, path, by, BATCH).await
}

async fn import_in_batches(
    catalog: &Catalog,
    path: &Path,
    by: &str,
    size: usize,
) -> anyhow::Result<BulkOutcome> {
    // 1. Validate everything, keeping only ids.
    let mut ids: HashSet<String> = HashSet::new();
    let mut ends: HashMap<String, usize> = HashMap::new();
    let (mut count, mut records) = (0, 0);
    for (n, line) in lines(path)? {
        let line = line.with_context(|| format!("reading line {n} of {}", path.display()))?;
        count = n;
        let parsed = parse_line(n, &line).map_err(|e| anyhow!("{e}"))?;
        records += usize::from(parsed.is_some());
        match parsed {
            Some(Line::Asset(a)) => {
                ids.insert(a.id);
            }
            Some(Line::Edge(e)) => {
                for end in [e.from, e.to] {
                    ends.entry(end).or_insert(n);
                }
            }
            None => {}
        }
    }
    let mut outside: Vec<String> = ends.keys().filter(|e| !ids.contains(*e)).cloned().collect();
    drop(ids);
    outside.sort();
    let mut missing = Vec::new();
    for chunk in outside.chunks(size) {
        missing.extend(
            catalog
                .missing_assets(chunk.to_vec())
                .await
                .map_err(|e| anyhow!("{e}"))?,
        );
    }
    if let Some((id, line)) = missing
        .iter()
        .map(|id| (id, ends[id]))
        .min_by_key(|(_, l)| *l)
    {
        return Err(anyhow!(
            "line {line}: no asset has the id {id:?}, in the file or in the catalog; nothing was imported"
        ));
    }
    drop(ends);

    let mut out = BulkOutcome {
        lines: count,
        ..Default::default()
    };
    // A file of one batch or less is one transaction: all or nothing.
    if records <= size {
        let mut batch = ImportBatch::default();
        let mut labels = Vec::new();
        for (n, line) in lines(path)? {
            let line = line.with_context(|| format!("reading line {n} of {}", path.display()))?;
            match parse_line(n, &line).map_err(|e| anyhow!("{e}"))? {
                Some(Line::Asset(a)) => batch.assets.push(a),
                Some(Line::Edge(e)) => {
                    batch.edges.push(e);
                    labels.push(format!("line {n}"));
                }
                None => {}
            }
        }
        out.written = catalog
            .import(batch, labels, by)
            .await
            .map_err(|e| anyhow!("{e}\nNothing was imported."))?;
        out.batches = 1;
        return Ok(out);
    }

    // 2. and 3. Assets, then edges, in batches.
    for edges in [false, true] {
        let mut batch = ImportBatch::default();
        let mut labels = Vec::new();
        let mut first_line = 0;
        for (n, line) in lines(path)? {
            let line = line.with_context(|| format!("reading line {n} of {}", path.display()))?;
            let parsed = parse_line(n, &line).map_err(|e| anyhow!("{e}"))?;
            match parsed {
                Some(Line::Asset(a)) if !edges => batch.assets.push(a),
                Some(Line::Edge(e)) if edges => {
                    batch.edges.push(e);
                    labels.push(format!("line {n}"));
                }
                _ => continue,
            }
            if first_line == 0 {
                first_line = n;
            }
            if batch.assets.len() + batch.edges.len() >= size {
                write(
                    catalog,
                    std::mem::take(&mut batch),
                    std::mem::take(&mut labels),
                    by,
                    &mut out,
                    first_line,
                )
                .await?;
                first_line = 0;
            }
        }
        if !batch.assets.is_empty() || !batch.edges.is_empty() {
            write(catalog, batch, labels, by, &mut out, first_line).await?;
        }
    }
    catalog
        .record_import(by, serde_json::to_value(&out)?)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(out)
}

async fn write(
    catalog: &Catalog,
    batch: ImportBatch,
    labels: Vec<String>,
    by: &str,
    out: &mut BulkOutcome,
    first_line: usize,
) -> anyhow::Result<()> {
    match catalog.import_part(batch, labels, by).await {
        Ok(part) => {
            add(&mut out.written, part);
            out.batches += 1;
            Ok(())
        }
        Err(e) => Err(anyhow!(
            "{e}\nThe batch from line {first_line} on was not imported; the {} batches before it were ({} assets created, {} updated, {} edges written). Importing the file again completes the import: records already stored unchanged are skipped.",
            out.batches,
            out.written.assets_created,
            out.written.assets_updated,
            out.written.edges_written
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// An NDJSON file of `n` datasets, each but the first read by the one
    /// before it, plus `extra` lines at the end.
    fn file(n: usize, extra: &[&str]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for i in 0..n {
            writeln!(
                f,
                r#"{{"type":"asset","kind":"dataset","namespace":"bulk","name":"t{i:05}","schema":[{{"name":"c","type":"int"}}]}}"#
            )
            .unwrap();
            if i > 0 {
                writeln!(
                    f,
                    r#"{{"type":"edge","from":"dataset:bulk:t{:05}","to":"dataset:bulk:t{i:05}","kind":"derives"}}"#,
                    i - 1
                )
                .unwrap();
            }
        }
        for l in extra {
            writeln!(f, "{l}").unwrap();
        }
        f.flush().unwrap();
        f
    }

    #[tokio::test]
    async fn a_file_of_several_batches_is_imported_with_one_audit_record() {
        let c = Catalog::connect("mem://").await.unwrap();
        // Batches of 100 stand for the real 5,000.
        let n = 100 + 12;
        let f = file(n, &[""]);
        let out = import_in_batches(&c, f.path(), "bulk-test", 100)
            .await
            .unwrap();
        assert_eq!(out.written.assets_created, n);
        assert_eq!(out.written.edges_written, n - 1);
        assert_eq!(out.batches, 4, "two batches of assets, two of edges");
        assert_eq!(c.count_assets().await.unwrap() as usize, n);
        let audit = c.audit_log(Some("bulk-test"), None, 10).await.unwrap();
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0].detail["assets_created"], n);
        // Every asset has its version record and is searchable.
        let a = c
            .asset_detail(&format!("dataset:bulk:t{:05}", n - 1))
            .await
            .unwrap();
        assert_eq!(a.versions.len(), 1);
        let hit = c
            .search(&domain::query::SearchQuery {
                q: format!("t{:05}", n - 1),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(hit.items[0].name, format!("t{:05}", n - 1));
        // Importing it again changes nothing.
        let again = import_in_batches(&c, f.path(), "bulk-test", 100)
            .await
            .unwrap();
        assert_eq!(again.written.assets_unchanged, n);
        assert_eq!(
            again.written.assets_created + again.written.assets_updated,
            0
        );
    }

    #[tokio::test]
    async fn a_bad_line_anywhere_refuses_the_import_before_anything_is_written() {
        let c = Catalog::connect("mem://").await.unwrap();
        let bad = file(
            BATCH + 10,
            &[r#"{"type":"asset","kind":"robot","name":"x"}"#],
        );
        let err = import_file(&c, bad.path(), "t")
            .await
            .unwrap_err()
            .to_string();
        let last = 2 * (BATCH + 10);
        assert!(err.contains(&format!("line {last}")), "{err}");
        assert!(err.contains("kind"), "{err}");
        assert_eq!(c.count_assets().await.unwrap(), 0, "nothing was written");

        let dangling = file(
            3,
            &[
                r#"{"type":"edge","from":"dataset:bulk:t00000","to":"dataset:elsewhere:gone","kind":"derives"}"#,
            ],
        );
        let err = import_file(&c, dangling.path(), "t")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 6") && err.contains("dataset:elsewhere:gone"),
            "{err}"
        );
        assert_eq!(c.count_assets().await.unwrap(), 0, "nothing was written");
    }
}

#[cfg(test)]
mod small_tests {
    use std::io::Write;

    use super::*;

    #[tokio::test]
    async fn a_small_file_is_all_or_nothing() {
        let c = Catalog::connect("mem://").await.unwrap();
        let mut f = tempfile::NamedTempFile::new().unwrap();
        // The edge maps a column the dataset does not have: found only when
        // written, and then the asset before it is not written either.
        writeln!(f, r#"{{"type":"asset","kind":"dataset","namespace":"s","name":"a","schema":[{{"name":"x","type":"int"}}]}}"#).unwrap();
        writeln!(f, r#"{{"type":"asset","kind":"dataset","namespace":"s","name":"b","schema":[{{"name":"x","type":"int"}}]}}"#).unwrap();
        writeln!(f, r#"{{"type":"edge","from":"dataset:s:a","to":"dataset:s:b","kind":"derives","columns":[{{"from":"nope","to":"x"}}]}}"#).unwrap();
        f.flush().unwrap();
        let err = import_file(&c, f.path(), "t")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
        assert_eq!(c.count_assets().await.unwrap(), 0, "nothing was written");
    }
}
