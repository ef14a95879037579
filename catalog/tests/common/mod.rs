//! Helpers that more than one test file uses.

use catalog::{Catalog, CatalogError};

/// Opens an on-disk catalog, waiting while a catalog dropped a moment ago
/// in this process still holds the directory's lock.
#[allow(dead_code)]
pub async fn open_disk(url: &str) -> Catalog {
    for _ in 0..100 {
        match Catalog::connect(url).await {
            Ok(c) => return c,
            Err(CatalogError::Connect { message, .. }) if message.contains("locked") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("the database at {url} stayed locked");
}

/// An edge from its ends and kind, validated.
#[allow(dead_code)]
pub fn edge(from: &str, to: &str, kind: &str) -> domain::Edge {
    domain::EdgeInput {
        id: None,
        from: from.into(),
        to: to.into(),
        kind: kind.into(),
        columns: vec![],
        first_seen: None,
        last_seen: None,
    }
    .into_edge()
    .unwrap()
}
