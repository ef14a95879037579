//! Bulk NDJSON import in bounded memory, for files of any size
//! (`mlgraph import FILE`).
//!
//! The file is read three times, a line at a time:
//! 1. every line is parsed and validated, and every edge's ends are
//!    checked to be in the file or in the store. A bad line anywhere
//!    refuses the import, naming the line, before anything is written;
//! 2. the assets are written in batches of `BATCH`, one transaction each,
//!    two at a time;
//! 3. then the edges, in batches too, so that every edge's ends exist.
//!
//! A file of at most `BATCH` records is written in one transaction, all
//! or nothing. For larger files each batch is atomic, the import as a
//! whole is not: should a batch fail
//! (the store went away, or someone changed an asset meanwhile), the
//! batches that committed stay, the error says how far the import got, and
//! importing the same file again completes it, because records that are
//! already stored unchanged are skipped. While the batches are written,
//! the store is marked as being imported into
//! ([`Catalog::begin_import`]): should the process die before the import
//! ends, the lineage image and the search index are rebuilt from the
//! store at the next start instead of being trusted. The import writes one audit
//! record when it ends, with its counts; every asset gets its version
//! record as with any other write.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::path::Path;

use catalog::{Catalog, CatalogError, WriteOutcome};
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

/// Why a bulk import stopped.
#[derive(Debug)]
pub enum BulkError {
    /// A bad line, or an edge whose end is nowhere: nothing was written.
    Invalid(ValidationError),
    /// The store refused or failed a write; `note` says what was written.
    Store {
        error: Box<CatalogError>,
        note: String,
    },
    /// The file could not be read.
    Read(std::io::Error),
}

impl std::fmt::Display for BulkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BulkError::Invalid(v) => write!(f, "{v}; nothing was imported"),
            BulkError::Store { error, note } => write!(f, "{error}\n{note}"),
            BulkError::Read(e) => write!(f, "reading the import: {e}"),
        }
    }
}

impl std::error::Error for BulkError {}

impl BulkError {
    fn store(note: impl Into<String>) -> impl FnOnce(CatalogError) -> BulkError {
        let note = note.into();
        move |error| BulkError::Store {
            error: Box::new(error),
            note,
        }
    }
}

type Lines = std::iter::Enumerate<std::io::Lines<std::io::BufReader<std::fs::File>>>;

/// The file's lines, numbered from 1; a line that is not UTF-8 is bad
/// input, named by its number.
fn lines(
    path: &Path,
) -> Result<impl Iterator<Item = Result<(usize, String), BulkError>>, BulkError> {
    let file = std::fs::File::open(path).map_err(BulkError::Read)?;
    let it: Lines = std::io::BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate();
    Ok(it.map(|(i, l)| match l {
        Ok(l) => Ok((i + 1, l)),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(BulkError::Invalid(
            ValidationError::new(format!("line {}", i + 1), "is not UTF-8"),
        )),
        Err(e) => Err(BulkError::Read(e)),
    }))
}

fn parsed(n: usize, line: &str) -> Result<Option<Line>, BulkError> {
    parse_line(n, line).map_err(BulkError::Invalid)
}

fn add(total: &mut WriteOutcome, part: WriteOutcome) {
    total.assets_created += part.assets_created;
    total.assets_updated += part.assets_updated;
    total.assets_unchanged += part.assets_unchanged;
    total.edges_written += part.edges_written;
}

/// What the first pass over a file found.
struct Checked {
    /// The ids of its assets.
    ids: HashSet<String>,
    /// Every edge end, with the first line and field that names it.
    ends: HashMap<String, (usize, &'static str)>,
    /// Lines, and lines that hold a record.
    count: usize,
    records: usize,
}

fn validate(path: &Path) -> Result<Checked, BulkError> {
    let mut c = Checked {
        ids: HashSet::new(),
        ends: HashMap::new(),
        count: 0,
        records: 0,
    };
    for line in lines(path)? {
        let (n, line) = line?;
        c.count = n;
        let parsed = parsed(n, &line)?;
        c.records += usize::from(parsed.is_some());
        match parsed {
            Some(Line::Asset(a)) => {
                c.ids.insert(a.id);
            }
            Some(Line::Edge(e)) => {
                for (end, field) in [(e.from, "from"), (e.to, "to")] {
                    c.ends.entry(end).or_insert((n, field));
                }
            }
            None => {}
        }
    }
    Ok(c)
}

/// Imports the NDJSON file at `path` as `by`; see the module's comment.
pub async fn import_file(
    catalog: &Catalog,
    path: &Path,
    by: &str,
) -> Result<BulkOutcome, BulkError> {
    import_in_batches(catalog, path, by, BATCH).await
}

async fn import_in_batches(
    catalog: &Catalog,
    path: &Path,
    by: &str,
    size: usize,
) -> Result<BulkOutcome, BulkError> {
    // 1. Validate everything, keeping only ids: off the async workers,
    // since a large file takes a while.
    let owned = path.to_path_buf();
    let first = tokio::task::spawn_blocking(move || validate(&owned))
        .await
        .map_err(|e| BulkError::Read(std::io::Error::other(e.to_string())))?;
    let Checked {
        ids,
        ends,
        count,
        records,
    } = first?;
    let mut outside: Vec<String> = ends.keys().filter(|e| !ids.contains(*e)).cloned().collect();
    drop(ids);
    outside.sort();
    let mut missing = Vec::new();
    for chunk in outside.chunks(size) {
        let gone = catalog.missing_assets(chunk.to_vec()).await;
        missing.extend(gone.map_err(BulkError::store("Nothing was imported."))?);
    }
    if let Some((id, (line, field))) = missing
        .iter()
        .map(|id| (id, ends[id]))
        .min_by_key(|(_, (l, _))| *l)
    {
        return Err(BulkError::Invalid(ValidationError::new(
            format!("line {line}.{field}"),
            format!("no asset has the id {id:?}, in the file or in the catalog"),
        )));
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
        for line in lines(path)? {
            let (n, line) = line?;
            match parsed(n, &line)? {
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
            .map_err(|e| match e {
                // Bad input found only when written (a mapped column the
                // asset lacks): as the first pass would have said it.
                CatalogError::Invalid(v) => BulkError::Invalid(v),
                e => BulkError::Store {
                    error: Box::new(e),
                    note: "Nothing was imported.".into(),
                },
            })?;
        out.batches = 1;
        return Ok(out);
    }

    // 2. and 3. Assets, then edges, in batches, `IN_FLIGHT` at a time.
    let at = catalog
        .begin_import()
        .await
        .map_err(BulkError::store("Nothing was imported."))?;
    let written = batches(catalog, path, by, size, at, &mut out).await;
    let mut detail = serde_json::to_value(&out).unwrap_or_default();
    if let Err(e) = &written {
        detail["error"] = serde_json::json!(e.to_string());
    }
    let finished = catalog
        .finish_import(by, detail)
        .await
        .map_err(BulkError::store(
            "Every batch was imported, but not the import's audit record.",
        ));
    written?;
    finished?;
    Ok(out)
}

/// Batches that commit side by side. Two cores, and SurrealDB spends its
/// time per record on one of them: a second batch in flight nearly
/// doubles the rate (docs/PERFORMANCE.md).
const IN_FLIGHT: usize = 2;

type Running = tokio::task::JoinSet<(usize, catalog::Result<WriteOutcome>)>;

async fn batches(
    catalog: &Catalog,
    path: &Path,
    by: &str,
    size: usize,
    at: u64,
    out: &mut BulkOutcome,
) -> Result<(), BulkError> {
    for edges in [false, true] {
        let mut running = Running::new();
        let mut batch = ImportBatch::default();
        let mut labels = Vec::new();
        let mut first_line = 0;
        let mut failed = None;
        for line in lines(path)? {
            let (n, line) = line?;
            match parsed(n, &line)? {
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
                while running.len() >= IN_FLIGHT && failed.is_none() {
                    failed = settle(&mut running, out).await;
                }
                if failed.is_some() {
                    break;
                }
                let (c, by) = (catalog.clone(), by.to_string());
                let (b, l) = (std::mem::take(&mut batch), std::mem::take(&mut labels));
                running.spawn(async move { (first_line, c.import_part(b, l, &by, at).await) });
                first_line = 0;
            }
        }
        if failed.is_none() && (!batch.assets.is_empty() || !batch.edges.is_empty()) {
            let (c, by) = (catalog.clone(), by.to_string());
            running.spawn(async move { (first_line, c.import_part(batch, labels, &by, at).await) });
        }
        // Batches already in flight finish either way.
        while !running.is_empty() {
            let f = settle(&mut running, out).await;
            failed = failed.or(f);
        }
        if let Some((line, error)) = failed {
            return Err(BulkError::Store {
                error: Box::new(error),
                note: format!(
                    "The batch from line {line} on was not imported; {} other batches were ({} assets created, {} updated, {} edges written). Importing the file again completes the import: records already stored unchanged are skipped.",
                    out.batches,
                    out.written.assets_created,
                    out.written.assets_updated,
                    out.written.edges_written
                ),
            });
        }
    }
    Ok(())
}

/// Waits for one batch in flight; answers its first line and error if it
/// failed.
async fn settle(running: &mut Running, out: &mut BulkOutcome) -> Option<(usize, CatalogError)> {
    match running.join_next().await? {
        Ok((_, Ok(part))) => {
            add(&mut out.written, part);
            out.batches += 1;
            None
        }
        Ok((line, Err(e))) => Some((line, e)),
        Err(e) => Some((0, CatalogError::Corrupt(format!("a batch stopped: {e}")))),
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
            .asset_detail(
                &format!("dataset:bulk:t{:05}", n - 1),
                domain::page::DetailWindow::default(),
            )
            .await
            .unwrap();
        assert_eq!(a.versions.total, 1);
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
