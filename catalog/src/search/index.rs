//! The search index: a tantivy index of every asset, derived from the store
//! as the lineage graph is. It answers full text (prefixes of the words of
//! names, descriptions, column names and tags), filters by kind, owner and
//! tag, exact facet counts and paging, without reading SurrealDB.
//!
//! - On disk beside a SurrealKV store (`DIR.search/`), in memory otherwise.
//! - Every tantivy commit carries a payload naming the store (its uid) and
//!   the graph version the index has caught up with. An index whose stamp
//!   is not the store's at start is rebuilt from a scan, so a crash between
//!   a store commit and the index commit is repaired at the next start.
//! - A committed write hands its changed assets to [`SearchIndex::apply`];
//!   the index commits before the next search reads it (and every few
//!   seconds from the server), so a search sees every write that finished
//!   before it began.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use domain::Asset;
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST,
    STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, SimpleTokenizer, TextAnalyzer, WhitespaceTokenizer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::{CatalogError, Result};

/// The layout of the index; a stamp with another format is rebuilt.
const FORMAT: u32 = 1;
/// Words are indexed by their prefixes of this many characters or more …
pub(crate) const MIN_GRAM: usize = 2;
/// … up to this many; a longer query word matches on its first ones.
pub(crate) const MAX_GRAM: usize = 24;
/// Memory for the writer's buffer before it flushes a segment.
const WRITER_BYTES: usize = 64 << 20;
/// The tokenizer of the `text` field: its input is already words' prefixes.
const GRAMS: &str = "mlgraph_grams";

/// The fields of the index.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    /// The asset id, to replace or delete an asset's document.
    pub key: Field,
    /// `name`, a NUL and the id: the order of listings, and their cursor.
    pub sort: Field,
    /// The lower-case name, for exact-name-first ranking.
    pub name: Field,
    /// The prefixes of every word of the asset's text.
    pub text: Field,
    pub kind: Field,
    pub owner: Field,
    pub tag: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let grams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(GRAMS)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        sort: b.add_text_field("sort", STRING | FAST),
        name: b.add_text_field("name", STRING),
        text: b.add_text_field("text", grams),
        kind: b.add_facet_field("kind", FacetOptions::default()),
        owner: b.add_facet_field("owner", FacetOptions::default()),
        tag: b.add_facet_field("tag", FacetOptions::default()),
    };
    (b.build(), fields)
}

/// The sort value of an asset: listings go by name, then id.
pub(crate) fn sort_value(name: &str, id: &str) -> String {
    format!("{name}\u{0}{id}")
}

/// The id inside a sort value.
pub(crate) fn id_of_sort(sort: &str) -> Option<&str> {
    sort.split_once('\u{0}').map(|(_, id)| id)
}

/// The words of a text as the index sees them: split at anything that is
/// not a letter or a digit, lower-cased and folded to ASCII.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// The first `n` characters of a word.
pub(crate) fn prefix(word: &str, n: usize) -> &str {
    match word.char_indices().nth(n) {
        Some((i, _)) => &word[..i],
        None => word,
    }
}

/// The indexed grams of an asset's text: each distinct prefix, of
/// `MIN_GRAM` to `MAX_GRAM` characters, of each word, once per occurrence.
fn grams(text: &str) -> String {
    let mut out = String::new();
    for w in words(text) {
        let n = w.chars().count().min(MAX_GRAM);
        for len in MIN_GRAM..=n {
            out.push_str(prefix(&w, len));
            out.push(' ');
        }
    }
    out
}

pub(crate) fn facet(value: &str) -> Facet {
    Facet::from_path([value])
}

/// What one index commit says of the store it follows.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq, Debug)]
struct Stamp {
    format: u32,
    uid: String,
    version: u64,
}

/// Which store versions the index holds.
#[derive(Default)]
struct Caught {
    uid: String,
    /// Every graph version up to this one is in the index.
    version: u64,
    /// Versions above `version` that are in the index too.
    ahead: BTreeSet<u64>,
}

impl Caught {
    fn add(&mut self, v: u64) {
        if v > self.version {
            self.ahead.insert(v);
        }
        while self.ahead.remove(&(self.version + 1)) {
            self.version += 1;
        }
    }
}

pub(crate) struct SearchIndex {
    pub(crate) fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    /// Changes handed to the writer since its last commit.
    dirty: AtomicBool,
    caught: Mutex<Caught>,
    /// While a rebuild scans the store: this process's own changes made
    /// meanwhile, to apply again once the scan's documents are in.
    replay: Mutex<Option<Vec<Change>>>,
    /// Whether the index lives on disk (and its stamp matters).
    on_disk: bool,
    /// Facet counts over the whole catalog, per searcher generation.
    pub(crate) all_counts: super::AllCounts,
    /// Each live segment's facet values, read once (see `facets.rs`).
    pub(crate) facet_tables: std::sync::Arc<super::facets::FacetTables>,
    /// Searches that may run at once: one per core. More would only share
    /// the cores, so that a search matching most of the catalog, slowed by
    /// every other search beside it, answers last; queued, each search
    /// waits for those ahead of it and then runs at full speed (as
    /// Lucene-based servers size their search thread pools).
    pub(crate) searching: std::sync::Arc<tokio::sync::Semaphore>,
}

/// One change to the index.
#[derive(Clone)]
pub(crate) enum Change {
    Put(Box<Asset>),
    Delete(String),
}

impl SearchIndex {
    /// Opens the index at `dir` (creating it), or one in memory. Answers
    /// the index and whether its stamp says it holds exactly `state`.
    pub(crate) fn open(
        dir: Option<&std::path::Path>,
        state: &(String, u64),
    ) -> Result<(SearchIndex, bool)> {
        let (schema, fields) = schema();
        let index = match dir {
            Some(d) => match open_dir(d, &schema) {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "the search index is unreadable; rebuilding it");
                    std::fs::remove_dir_all(d).map_err(io)?;
                    open_dir(d, &schema).map_err(tv)?
                }
            },
            None => Index::create_in_ram(schema),
        };
        index.tokenizers().register(
            GRAMS,
            TextAnalyzer::builder(WhitespaceTokenizer::default()).build(),
        );
        let stamp: Option<Stamp> = index
            .load_metas()
            .map_err(tv)?
            .payload
            .and_then(|p| serde_json::from_str(&p).ok());
        let current = stamp
            == Some(Stamp {
                format: FORMAT,
                uid: state.0.clone(),
                version: state.1,
            });
        let writer = index.writer_with_num_threads(1, WRITER_BYTES).map_err(tv)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tv)?;
        let s = SearchIndex {
            fields,
            reader,
            writer: Mutex::new(writer),
            dirty: AtomicBool::new(false),
            caught: Mutex::new(Caught {
                uid: state.0.clone(),
                version: if current { state.1 } else { 0 },
                ahead: BTreeSet::new(),
            }),
            replay: Mutex::new(None),
            on_disk: dir.is_some(),
            all_counts: Default::default(),
            facet_tables: Default::default(),
            searching: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        };
        Ok((s, current))
    }

    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    pub(crate) fn document(&self, a: &Asset) -> TantivyDocument {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_text(f.key, &a.id);
        d.add_text(f.sort, sort_value(&a.name, &a.id));
        d.add_text(f.name, a.name.to_lowercase());
        d.add_text(f.text, grams(&a.search_text()));
        d.add_facet(f.kind, facet(a.kind.as_str()));
        for o in dedup(&a.owners) {
            d.add_facet(f.owner, facet(o));
        }
        for t in dedup(&a.tags) {
            d.add_facet(f.tag, facet(t));
        }
        d
    }

    fn write(&self, w: &IndexWriter, change: &Change) -> Result<()> {
        match change {
            Change::Put(a) => {
                w.delete_term(Term::from_field_text(self.fields.key, &a.id));
                w.add_document(self.document(a)).map_err(tv)?;
            }
            Change::Delete(id) => {
                w.delete_term(Term::from_field_text(self.fields.key, id));
            }
        }
        Ok(())
    }

    /// Hands a committed write's changes to the index; `version` is the
    /// graph version the write committed.
    pub(crate) fn apply(&self, changes: Vec<Change>, version: u64) -> Result<()> {
        let w = self.writer.lock().expect("never poisoned");
        for c in &changes {
            self.write(&w, c)?;
        }
        self.caught.lock().expect("never poisoned").add(version);
        if let Some(log) = self.replay.lock().expect("never poisoned").as_mut() {
            log.extend(changes);
        }
        self.dirty.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Makes every change handed over so far visible to searches (and, on
    /// disk, durable with its stamp).
    pub(crate) fn refresh(&self) -> Result<()> {
        if !self.dirty.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut w = self.writer.lock().expect("never poisoned");
        // A rebuild under way commits when its scan is in, not before.
        if self.replay.lock().expect("never poisoned").is_some()
            || !self.dirty.swap(false, Ordering::SeqCst)
        {
            return Ok(());
        }
        self.commit(&mut w)?;
        drop(w);
        self.reader.reload().map_err(tv)
    }

    fn commit(&self, w: &mut IndexWriter) -> Result<()> {
        let stamp = {
            let c = self.caught.lock().expect("never poisoned");
            Stamp {
                format: FORMAT,
                uid: c.uid.clone(),
                version: c.version,
            }
        };
        let mut p = w.prepare_commit().map_err(tv)?;
        p.set_payload(&serde_json::to_string(&stamp).expect("a stamp serialises"));
        p.commit().map_err(tv)?;
        Ok(())
    }

    /// Starts a rebuild: empties the index (for the writer; searches see
    /// the old one until the rebuild commits) and logs this process's own
    /// changes from now on.
    pub(crate) fn begin_rebuild(&self) -> Result<()> {
        let w = self.writer.lock().expect("never poisoned");
        *self.replay.lock().expect("never poisoned") = Some(Vec::new());
        w.delete_all_documents().map_err(tv)?;
        Ok(())
    }

    /// Adds one page of a rebuild's scan.
    pub(crate) fn add_scanned(&self, assets: &[Asset]) -> Result<()> {
        let w = self.writer.lock().expect("never poisoned");
        for a in assets {
            w.add_document(self.document(a)).map_err(tv)?;
        }
        Ok(())
    }

    /// Ends a rebuild whose scan began at store `state`: applies the
    /// changes logged meanwhile again and commits.
    pub(crate) fn finish_rebuild(&self, state: &(String, u64)) -> Result<()> {
        let mut w = self.writer.lock().expect("never poisoned");
        let log = self
            .replay
            .lock()
            .expect("never poisoned")
            .take()
            .unwrap_or_default();
        for c in &log {
            self.write(&w, c)?;
        }
        {
            let mut c = self.caught.lock().expect("never poisoned");
            c.uid = state.0.clone();
            c.ahead.retain(|&v| v > state.1);
            c.version = c.version.max(state.1);
            let ahead = std::mem::take(&mut c.ahead);
            for v in ahead {
                c.add(v);
            }
        }
        self.dirty.store(false, Ordering::SeqCst);
        self.commit(&mut w)?;
        drop(w);
        self.reader.reload().map_err(tv)
    }

    /// Drops a rebuild that failed: the writer forgets its changes.
    pub(crate) fn abandon_rebuild(&self) {
        let mut w = self.writer.lock().expect("never poisoned");
        *self.replay.lock().expect("never poisoned") = None;
        if let Err(e) = w.rollback() {
            tracing::warn!(error = %e, "rolling back a failed search index rebuild");
        }
    }

    pub(crate) fn on_disk(&self) -> bool {
        self.on_disk
    }
}

fn open_dir(dir: &std::path::Path, schema: &Schema) -> tantivy::Result<Index> {
    std::fs::create_dir_all(dir)?;
    let d = tantivy::directory::MmapDirectory::open(dir)?;
    Index::open_or_create(d, schema.clone())
}

fn dedup(values: &[String]) -> BTreeSet<&str> {
    values.iter().map(String::as_str).collect()
}

fn tv(e: tantivy::TantivyError) -> CatalogError {
    CatalogError::Corrupt(format!("search index: {e}"))
}

fn io(e: std::io::Error) -> CatalogError {
    CatalogError::Corrupt(format!("search index: {e}"))
}

/// Where an on-disk store keeps its search index: a directory beside the
/// SurrealKV directory.
pub(crate) fn index_dir(url: &str) -> Option<std::path::PathBuf> {
    let dir = url.strip_prefix("surrealkv://")?.trim_end_matches('/');
    (!dir.is_empty()).then(|| std::path::PathBuf::from(format!("{dir}.search")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_lowered_and_folded() {
        assert_eq!(
            words("Member_Watch-Time 7d Café"),
            vec!["member", "watch", "time", "7d", "cafe"]
        );
    }

    #[test]
    fn grams_are_the_prefixes_of_each_word() {
        assert_eq!(grams("Ab cde x"), "ab cd cde ");
        let long = "a".repeat(30);
        assert_eq!(
            grams(&long).split(' ').filter(|g| !g.is_empty()).count(),
            MAX_GRAM - 1
        );
    }

    #[test]
    fn versions_are_caught_up_in_order() {
        let mut c = Caught::default();
        c.add(2);
        assert_eq!(c.version, 0);
        c.add(1);
        assert_eq!(c.version, 2);
        c.add(2);
        assert_eq!(c.version, 2);
    }
}
