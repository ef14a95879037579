//! Facet counts from a table per segment held in memory.
//!
//! Tantivy's `FacetCollector` reads each matching document's facet
//! ordinals from the compressed column, and at a million assets that read
//! was about half of a plain search's time (a `perf` profile of
//! `mlgraph bench-search`; docs/PERFORMANCE.md). Segments never change once
//! written, so each segment's ordinals are read once into plain arrays and
//! kept while the segment lives; counting is then an array walk per
//! matching document. The table is the index's own data, not a second
//! index: it is filled from the segment and dropped with it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::schema::Facet as TantivyFacet;
use tantivy::{DocId, Score, SegmentReader};

use super::find::Facet;

/// One facet's values for every document of one segment.
struct SegmentFacets {
    /// Document `d`'s ordinals are `ords[starts[d]..starts[d + 1]]`.
    starts: Vec<u32>,
    ords: Vec<u32>,
    /// Each ordinal's value; `None` for a path that is not a value.
    values: Vec<Option<String>>,
}

impl SegmentFacets {
    fn read(segment: &SegmentReader, field: &str) -> tantivy::Result<SegmentFacets> {
        let reader = segment.facet_reader(field)?;
        let mut facet = TantivyFacet::root();
        let mut values = Vec::with_capacity(reader.num_facets());
        for ord in 0..reader.num_facets() as u64 {
            reader.facet_from_ord(ord, &mut facet)?;
            values.push(facet.to_path().last().map(|v| v.to_string()));
        }
        let max_doc = segment.max_doc();
        let mut starts = Vec::with_capacity(max_doc as usize + 1);
        let mut ords: Vec<u32> = Vec::new();
        starts.push(0);
        for doc in 0..max_doc {
            let from = ords.len();
            ords.extend(reader.facet_ords(doc).map(|o| o as u32));
            // A document counts once per value.
            ords[from..].sort_unstable();
            let mut kept = from;
            for i in from..ords.len() {
                if i == from || ords[i] != ords[kept - 1] {
                    ords[kept] = ords[i];
                    kept += 1;
                }
            }
            ords.truncate(kept);
            starts.push(ords.len() as u32);
        }
        Ok(SegmentFacets {
            starts,
            ords,
            values,
        })
    }
}

/// The tables of the live segments, per facet.
#[derive(Default)]
pub(crate) struct FacetTables(Mutex<HashMap<(SegmentId, Facet), Arc<SegmentFacets>>>);

impl FacetTables {
    fn get(
        &self,
        segment: &SegmentReader,
        facet: Facet,
        field: &str,
    ) -> tantivy::Result<Arc<SegmentFacets>> {
        let key = (segment.segment_id(), facet);
        // Held while a table is read, so that two searches do not read
        // the same one.
        let mut tables = self.0.lock().expect("never poisoned");
        if let Some(t) = tables.get(&key) {
            return Ok(t.clone());
        }
        let table = Arc::new(SegmentFacets::read(segment, field)?);
        tables.insert(key, table.clone());
        Ok(table)
    }

    /// Drops the tables of segments that are gone (merged or emptied).
    pub(crate) fn keep_only(&self, live: &HashSet<SegmentId>) {
        self.0
            .lock()
            .expect("never poisoned")
            .retain(|(id, _), _| live.contains(id));
    }
}

/// Counts every value of one facet among the matching documents.
pub(crate) struct FacetCounter {
    pub(crate) tables: Arc<FacetTables>,
    pub(crate) facet: Facet,
    pub(crate) field: String,
}

/// A facet's values with the number of documents that have each.
pub(crate) type Counts = Vec<(String, u64)>;

impl Collector for FacetCounter {
    type Fruit = Counts;
    type Child = SegmentCounter;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentCounter> {
        let table = self.tables.get(segment, self.facet, &self.field)?;
        Ok(SegmentCounter {
            counts: vec![0; table.values.len()],
            table,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all: BTreeMap<String, u64> = BTreeMap::new();
        for (value, n) in fruits.into_iter().flatten() {
            *all.entry(value).or_default() += n;
        }
        Ok(all.into_iter().collect())
    }
}

pub(crate) struct SegmentCounter {
    table: Arc<SegmentFacets>,
    counts: Vec<u64>,
}

impl SegmentCollector for SegmentCounter {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        let t = &*self.table;
        let (from, to) = (t.starts[doc as usize], t.starts[doc as usize + 1]);
        for &ord in &t.ords[from as usize..to as usize] {
            self.counts[ord as usize] += 1;
        }
    }

    fn harvest(self) -> Counts {
        self.counts
            .iter()
            .zip(&self.table.values)
            .filter_map(|(&n, v)| {
                (n > 0)
                    .then_some(v.as_ref())
                    .flatten()
                    .map(|v| (v.clone(), n))
            })
            .collect()
    }
}
