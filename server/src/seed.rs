//! Loading generated estates: the demo at first start, and large synthetic
//! catalogs for benchmarks.

use std::io::Write;

use domain::demo::Estate;
use domain::record::{ExportRecord, ImportBatch};

/// Assets per transaction when loading a large estate. The demo fits in one.
const CHUNK: usize = 5_000;

/// Generates a demo estate of `assets` assets and loads it.
pub async fn load(
    catalog: &catalog::Catalog,
    seed: u64,
    assets: usize,
) -> anyhow::Result<(usize, usize)> {
    load_estate(catalog, domain::demo::generate(seed, assets)).await
}

/// Loads an estate in chunks: assets first, so every edge's ends exist.
pub async fn load_estate(
    catalog: &catalog::Catalog,
    estate: Estate,
) -> anyhow::Result<(usize, usize)> {
    let Estate { assets, edges } = estate;
    let counts = (assets.len(), edges.len());
    if assets.len() + edges.len() <= 2 * CHUNK {
        let batch = ImportBatch { assets, edges };
        catalog
            .import(batch, vec![], "seed-demo")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(counts);
    }
    for chunk in assets.chunks(CHUNK) {
        let batch = ImportBatch {
            assets: chunk.to_vec(),
            edges: vec![],
        };
        catalog
            .import(batch, vec![], "seed-demo")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for chunk in edges.chunks(CHUNK) {
        let batch = ImportBatch {
            assets: vec![],
            edges: chunk.to_vec(),
        };
        catalog
            .import(batch, vec![], "seed-demo")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(counts)
}

pub fn write_ndjson(estate: &Estate, w: &mut dyn Write) -> anyhow::Result<()> {
    for a in &estate.assets {
        serde_json::to_writer(&mut *w, &ExportRecord::Asset(a))?;
        w.write_all(b"\n")?;
    }
    for e in &estate.edges {
        serde_json::to_writer(&mut *w, &ExportRecord::Edge(e))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}
