//! The one error type of the domain layer: a validation failure that names
//! the offending field, so every layer above can show it to users as is.

use std::fmt;

/// A rejected input. `field` is a path such as `schema[2].name` or
/// `columns[0].from`, and `message` says what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Puts `prefix` in front of the field path, for errors raised inside a
    /// nested value (a line of an import, an element of a list).
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for ValidationError {}

pub type Result<T, E = ValidationError> = std::result::Result<T, E>;
