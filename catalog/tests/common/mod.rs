//! Helpers that more than one test file uses.

use catalog::{Catalog, CatalogError};

/// Opens an on-disk catalog, waiting while a catalog dropped a moment ago
/// in this process still holds the directory's lock.
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
