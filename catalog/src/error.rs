//! The catalog's error type.

use domain::ValidationError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The input broke a rule; the message names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0} not found")]
    NotFound(String),
    /// A concurrent change won; the caller may retry with fresh data.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller may not do this to this object (beyond their role).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The step does not fit the object's current state; the field says
    /// which part of the state stands in the way.
    #[error("{0}")]
    Refused(ValidationError),
    #[error("cannot connect to the database at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("database error: {0}")]
    Database(#[from] surrealdb::Error),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
}

pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// The prefix of the message a transaction throws when an optimistic
/// concurrency check fails, so it can be told apart from other failures.
pub(crate) const CONFLICT_MARK: &str = "mlgraph-conflict:";
pub(crate) const INVALID_MARK: &str = "mlgraph-invalid:";
pub(crate) const NOT_FOUND_MARK: &str = "mlgraph-not-found:";

/// Picks the real cause out of a failed multi-statement query: SurrealDB
/// reports every other statement of a cancelled transaction as "not
/// executed", which says nothing.
pub(crate) fn first_real_error(
    mut res: surrealdb::IndexedResults,
) -> Result<surrealdb::IndexedResults> {
    let mut errors: Vec<(usize, surrealdb::Error)> = res.take_errors().into_iter().collect();
    if errors.is_empty() {
        return Ok(res);
    }
    errors.sort_by_key(|(i, _)| *i);
    let pick = errors
        .iter()
        .position(|(_, e)| {
            let m = e.to_string();
            !(m.contains("not executed")
                || m.contains("cancelled transaction")
                || m.contains("Cannot COMMIT"))
        })
        .unwrap_or(0);
    let only_cancelled = errors.iter().all(|(_, e)| {
        let m = e.to_string();
        m.contains("not executed")
            || m.contains("cancelled transaction")
            || m.contains("Cannot COMMIT")
    });
    let (_, e) = errors.swap_remove(pick);
    let message = e.to_string();
    if let Some(pos) = message.find(CONFLICT_MARK) {
        return Err(CatalogError::Conflict(
            message[pos + CONFLICT_MARK.len()..].trim().to_string(),
        ));
    }
    if let Some(pos) = message.find(NOT_FOUND_MARK) {
        return Err(CatalogError::NotFound(
            message[pos + NOT_FOUND_MARK.len()..].trim().to_string(),
        ));
    }
    if let Some(pos) = message.find(INVALID_MARK) {
        let rest = message[pos + INVALID_MARK.len()..].trim();
        let (field, msg) = rest.split_once(": ").unwrap_or(("", rest));
        return Err(CatalogError::Invalid(ValidationError::new(field, msg)));
    }
    // When every statement merely reports the failed transaction, the
    // commit itself failed: another transaction wrote the same records
    // first. That is a conflict the caller can retry, not a fault.
    // An INSERT of a new asset that another writer created first fails
    // the same way.
    if only_cancelled
        || message.contains("conflict")
        || (message.contains("asset") && message.contains("already exists"))
    {
        tracing::debug!(%message, "a transaction lost a write conflict");
        return Err(CatalogError::Conflict(
            "someone else changed this at the same time; reload it and try again".into(),
        ));
    }
    Err(CatalogError::Database(e))
}
