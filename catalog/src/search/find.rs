//! Answering a search from the index: the query, one page in order, the
//! total, and the facet counts (each without its own facet's filter).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use domain::query::{Facets, SearchQuery, FACET_VALUES};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByString};
use tantivy::collector::{Count, MultiCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Order, Searcher, Term};

use super::facets::{Counts, FacetCounter};
use super::index::{facet, id_of_sort, prefix, sort_value, words, SearchIndex, MAX_GRAM, MIN_GRAM};
use crate::error::{CatalogError, Result};

/// How much an exact name match outweighs any text score.
const EXACT_BOOST: f32 = 1.0e6;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Facet {
    Kind,
    Owner,
    Tag,
}

const FACETS: [Facet; 3] = [Facet::Kind, Facet::Owner, Facet::Tag];

/// One page of a search, as ids in order.
pub(crate) struct Found {
    pub total: u64,
    pub ids: Vec<String>,
    pub facets: Facets,
    /// The cursor for the page after this one, when there is one and the
    /// results are in name order.
    pub next: Option<String>,
}

/// Counts of every value of each facet over the whole catalog, for the
/// searcher generation they were counted at.
#[derive(Default)]
pub(crate) struct AllCounts(Mutex<Option<(u64, [Counts; 3])>>);

/// The query words that the index can match: words of two characters or
/// more, cut to the longest indexed prefix.
pub(crate) fn query_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= MIN_GRAM)
        .map(|w| prefix(&w, MAX_GRAM).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl SearchIndex {
    fn facet_field(&self, f: Facet) -> Field {
        match f {
            Facet::Kind => self.fields.kind,
            Facet::Owner => self.fields.owner,
            Facet::Tag => self.fields.tag,
        }
    }

    /// A clause that any of `values` of facet `f` satisfies, scoring 0.
    fn any_of(&self, f: Facet, values: &[String]) -> Box<dyn Query> {
        let field = self.facet_field(f);
        let terms: Vec<(Occur, Box<dyn Query>)> = values
            .iter()
            .map(|v| {
                let t = Term::from_facet(field, &facet(v));
                let q: Box<dyn Query> = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                (Occur::Should, q)
            })
            .collect();
        Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(terms)),
            0.0,
        ))
    }

    /// The query for `q`, leaving out facet `except`'s own filter, and
    /// starting after the cursor `after` (a sort value) when given.
    fn query(
        &self,
        q: &SearchQuery,
        words: &[String],
        except: Option<Facet>,
        after: Option<&str>,
    ) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in words {
            let t = Term::from_field_text(self.fields.text, w);
            clauses.push((
                Occur::Must,
                Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)),
            ));
        }
        if !words.is_empty() {
            let exact = Term::from_field_text(self.fields.name, &q.q.trim().to_lowercase());
            let exact = Box::new(TermQuery::new(exact, IndexRecordOption::Basic));
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(ConstScoreQuery::new(exact, 1.0)),
                    EXACT_BOOST,
                )),
            ));
        }
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
        for (f, values) in [
            (Facet::Kind, &kinds),
            (Facet::Owner, &q.owners),
            (Facet::Tag, &q.tags),
        ] {
            if !values.is_empty() && except != Some(f) {
                clauses.push((Occur::Must, self.any_of(f, values)));
            }
        }
        if let Some(after) = after {
            let t = Term::from_field_text(self.fields.sort, after);
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(
                    Box::new(RangeQuery::new(Bound::Excluded(t), Bound::Unbounded)),
                    0.0,
                )),
            ));
        }
        if !clauses.iter().any(|(o, _)| *o == Occur::Must) {
            return Box::new(AllQuery);
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Answers one search. `after` is a cursor (an asset id) from a
    /// previous page of a listing without text.
    pub(crate) fn find(&self, q: &SearchQuery, after: Option<&str>) -> Result<Found> {
        self.refresh()?;
        let searcher = self.searcher();
        self.facet_tables.keep_only(
            &searcher
                .segment_readers()
                .iter()
                .map(|s| s.segment_id())
                .collect(),
        );
        let words = query_words(&q.q);
        let cursor = after
            .map(|id| {
                domain::asset::parse_asset_id(id)
                    .map(|(_, _, name)| sort_value(&name, id))
                    .map_err(CatalogError::from)
            })
            .transpose()?;
        let whole = self.query(q, &words, None, None);
        // A facet whose own filter is empty counts over the same documents
        // as the page: those go into the one pass over the matches that
        // also counts them and ranks the page.
        let shared: Vec<bool> = FACETS
            .iter()
            .map(|&f| !self.unfiltered(q, &words, f) && self.selected_is_empty(q, f))
            .collect();
        let mut multi = MultiCollector::new();
        let count = multi.add_collector(Count);
        // One more than the page, to know whether a next page exists.
        let top = || {
            TopDocs::with_limit(q.limit + 1)
                .and_offset(q.offset)
                .order_by((
                    (SortBySimilarityScore, Order::Desc),
                    (SortByString::for_field("sort"), Order::Asc),
                ))
        };
        let ranked = (q.limit > 0 && cursor.is_none()).then(|| multi.add_collector(top()));
        let facet_handles: Vec<_> = FACETS
            .iter()
            .zip(&shared)
            .map(|(&f, &s)| s.then(|| multi.add_collector(self.facet_collector(&searcher, f))))
            .collect();
        let mut fruits = searcher.search(whole.as_ref(), &multi).map_err(tv)?;
        let total = count.extract(&mut fruits) as u64;
        let page = match (ranked, &cursor) {
            (Some(handle), _) => handle.extract(&mut fruits),
            (None, Some(c)) if q.limit > 0 => {
                let paged = self.query(q, &words, None, Some(c));
                searcher.search(paged.as_ref(), &top()).map_err(tv)?
            }
            _ => Vec::new(),
        };
        let mut shared_counts: Vec<Option<Counts>> = facet_handles
            .into_iter()
            .map(|h| h.map(|h| h.extract(&mut fruits)))
            .collect();
        let mut ids = Vec::new();
        for ((_, sort), _) in page {
            if let Some(id) = sort.as_deref().and_then(id_of_sort) {
                ids.push(id.to_string());
            }
        }
        let more = ids.len() > q.limit;
        ids.truncate(q.limit);
        // Listings in name order continue by cursor; ranked text results
        // page by offset only.
        let next = (words.is_empty() && more)
            .then(|| ids.last().cloned())
            .flatten();
        let mut facets = Facets::default();
        for (slot, f) in FACETS.into_iter().enumerate() {
            let selected: Vec<String> = match f {
                Facet::Kind => q.kinds.iter().map(|k| k.as_str().to_string()).collect(),
                Facet::Owner => q.owners.clone(),
                Facet::Tag => q.tags.clone(),
            };
            let counts = if let Some(counts) = shared_counts[slot].take() {
                counts
            } else if self.unfiltered(q, &words, f) {
                self.all_counts(&searcher, f)?
            } else {
                let query = self.query(q, &words, Some(f), None);
                self.counts(&searcher, query.as_ref(), f)?
            };
            let (listed, more) = listing(counts, &selected, &q.fq, FACET_VALUES);
            let name = match f {
                Facet::Kind => "kind",
                Facet::Owner => "owner",
                Facet::Tag => "tag",
            };
            if more > 0 {
                facets.more.insert(name.to_string(), more);
            }
            match f {
                Facet::Kind => facets.kind = listed,
                Facet::Owner => facets.owner = listed,
                Facet::Tag => facets.tag = listed,
            }
        }
        Ok(Found {
            total,
            ids,
            facets,
            next,
        })
    }

    /// Whether facet `f` counts over the whole catalog: no words, and no
    /// filter but perhaps its own.
    fn unfiltered(&self, q: &SearchQuery, words: &[String], f: Facet) -> bool {
        words.is_empty()
            && FACETS
                .iter()
                .filter(|&&o| o != f)
                .all(|&o| self.selected_is_empty(q, o))
    }

    fn selected_is_empty(&self, q: &SearchQuery, f: Facet) -> bool {
        match f {
            Facet::Kind => q.kinds.is_empty(),
            Facet::Owner => q.owners.is_empty(),
            Facet::Tag => q.tags.is_empty(),
        }
    }

    /// Every value of facet `f` among the documents `query` matches.
    fn counts(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        f: Facet,
    ) -> Result<Vec<(String, u64)>> {
        let collector = self.facet_collector(searcher, f);
        searcher.search(query, &collector).map_err(tv)
    }

    /// Counts the values of facet `f`.
    fn facet_collector(&self, searcher: &Searcher, f: Facet) -> FacetCounter {
        let field = self.facet_field(f);
        FacetCounter {
            tables: self.facet_tables.clone(),
            facet: f,
            field: searcher.schema().get_field_name(field).to_string(),
        }
    }

    /// The counts of facet `f` over every asset, counted once per
    /// searcher generation (what a first visit to the search page shows).
    fn all_counts(&self, searcher: &Searcher, f: Facet) -> Result<Vec<(String, u64)>> {
        let generation = searcher.generation().generation_id();
        let slot = FACETS.iter().position(|&o| o == f).expect("a facet");
        if let Some((g, all)) = &*self.all_counts.0.lock().expect("never poisoned") {
            if *g == generation {
                return Ok(all[slot].clone());
            }
        }
        let mut all: [Counts; 3] = Default::default();
        for (i, o) in FACETS.iter().enumerate() {
            all[i] = self.counts(searcher, &AllQuery, *o)?;
        }
        let mine = all[slot].clone();
        *self.all_counts.0.lock().expect("never poisoned") = Some((generation, all));
        Ok(mine)
    }
}

/// What a facet shows: the values that contain `fq` (ignoring case), the
/// `cap` most frequent first, plus every selected value; and how many
/// matching values were left out.
pub(crate) fn listing(
    counts: Vec<(String, u64)>,
    selected: &[String],
    fq: &str,
    cap: usize,
) -> (BTreeMap<String, u64>, u64) {
    let fq = fq.trim().to_lowercase();
    let mut matching: Vec<(String, u64)> = counts
        .into_iter()
        .filter(|(v, _)| selected.contains(v) || v.to_lowercase().contains(&fq))
        .collect();
    matching.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut listed = BTreeMap::new();
    let mut more = 0u64;
    for (i, (v, n)) in matching.into_iter().enumerate() {
        if i < cap || selected.contains(&v) {
            listed.insert(v, n);
        } else {
            more += 1;
        }
    }
    (listed, more)
}

fn tv(e: tantivy::TantivyError) -> CatalogError {
    CatalogError::Corrupt(format!("search index: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_keeps_the_most_frequent_and_the_selected() {
        let counts = vec![
            ("a".to_string(), 5),
            ("b".to_string(), 9),
            ("c".to_string(), 1),
            ("Cab".to_string(), 2),
        ];
        let (listed, more) = listing(counts.clone(), &["c".to_string()], "", 2);
        assert_eq!(listed.keys().collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(more, 1);
        let (listed, more) = listing(counts, &[], "CA", 1);
        assert_eq!(listed.keys().collect::<Vec<_>>(), vec!["Cab"]);
        assert_eq!(more, 0);
    }

    #[test]
    fn query_words_drop_single_characters_and_repeats() {
        assert_eq!(query_words("a member MEMBER x_7d"), vec!["7d", "member"]);
    }
}
