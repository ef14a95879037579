//! A schema diff: its changes, their validation and severity, and the
//! schema it leaves.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::asset::Field;
use crate::error::{Result, ValidationError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Add,
    Drop,
    Rename,
    Retype,
    Nullability,
}

/// One change of a schema diff; on the wire e.g.
/// `{"op":"rename","column":"a","new_name":"b"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaChange {
    pub op: ChangeOp,
    pub column: String,
    /// Required by a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// Required by an add and a retype.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Required by a nullability change; optional for an add (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nullable: Option<bool>,
}

/// How bad a change is for the consumers of a column. Ordered, so the worst
/// of several is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    NonBreaking,
    PossiblyBreaking,
    Breaking,
}

impl SchemaChange {
    /// The change in a few words, for titles, history and pages.
    pub fn summary(&self) -> String {
        let arg = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
        match self.op {
            ChangeOp::Add => format!(
                "add {} ({}, {})",
                self.column,
                arg(&self.data_type),
                if self.nullable == Some(false) {
                    "required"
                } else {
                    "nullable"
                }
            ),
            ChangeOp::Drop => format!("drop {}", self.column),
            ChangeOp::Rename => format!("rename {} to {}", self.column, arg(&self.new_name)),
            ChangeOp::Retype => format!("retype {} to {}", self.column, arg(&self.data_type)),
            ChangeOp::Nullability => format!(
                "make {} {}",
                self.column,
                if self.nullable == Some(true) {
                    "nullable"
                } else {
                    "required"
                }
            ),
        }
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::NonBreaking => "non-breaking",
            Severity::PossiblyBreaking => "possibly-breaking",
            Severity::Breaking => "breaking",
        }
    }

    /// The wording for people, without the wire form's hyphen.
    pub fn label(self) -> &'static str {
        match self {
            Severity::NonBreaking => "non-breaking",
            Severity::PossiblyBreaking => "possibly breaking",
            Severity::Breaking => "breaking",
        }
    }
}

fn bad(i: usize, field: &str, message: impl Into<String>) -> ValidationError {
    ValidationError::new(format!("changes[{i}].{field}"), message)
}

fn required<'a>(i: usize, field: &str, value: Option<&'a str>) -> Result<&'a str> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(bad(i, field, "is required for this change")),
    }
}

/// Checks a diff against `schema`; see [`apply_changes`] for the rules.
pub fn validate_changes(schema: &[Field], changes: &[SchemaChange]) -> Result<()> {
    apply_changes(schema, changes).map(|_| ())
}

/// Validates the diff and returns the schema it produces. Changes apply in
/// order, and each column name, old or new, may appear only once, so no
/// change depends on what an earlier one did to the same column.
pub fn apply_changes(schema: &[Field], changes: &[SchemaChange]) -> Result<Vec<Field>> {
    if changes.is_empty() {
        return Err(ValidationError::new("changes", "must not be empty"));
    }
    let mut out = schema.to_vec();
    let mut seen = BTreeSet::new();
    for (i, c) in changes.iter().enumerate() {
        apply_one(&mut out, &mut seen, i, c)?;
    }
    Ok(out)
}

fn apply_one(
    schema: &mut Vec<Field>,
    seen: &mut BTreeSet<String>,
    i: usize,
    c: &SchemaChange,
) -> Result<()> {
    use ChangeOp::*;
    if c.column.trim().is_empty() {
        return Err(bad(i, "column", "must not be empty"));
    }
    // A field the operation does not use is almost always a mistake in the
    // diff (a drop that meant a retype), so it is rejected, not ignored.
    if c.new_name.is_some() && c.op != Rename {
        return Err(bad(i, "new_name", "only a rename takes a new name"));
    }
    if c.data_type.is_some() && !matches!(c.op, Add | Retype) {
        return Err(bad(i, "type", "only an add or a retype takes a type"));
    }
    if c.nullable.is_some() && !matches!(c.op, Add | Nullability) {
        return Err(bad(i, "nullable", "only add and nullability take nullable"));
    }
    if !seen.insert(c.column.clone()) {
        return Err(bad(
            i,
            "column",
            format!("{:?} is already changed", c.column),
        ));
    }
    let pos = schema.iter().position(|f| f.name == c.column);
    match (c.op, pos) {
        (Add, Some(_)) => Err(bad(i, "column", format!("{:?} already exists", c.column))),
        (Add, None) => {
            let ty = required(i, "type", c.data_type.as_deref())?;
            schema.push(Field {
                name: c.column.clone(),
                data_type: ty.to_string(),
                nullable: c.nullable.unwrap_or(true),
                description: String::new(),
            });
            Ok(())
        }
        (_, None) => Err(bad(i, "column", format!("no column {:?}", c.column))),
        (Drop, Some(p)) => {
            schema.remove(p);
            Ok(())
        }
        (Rename, Some(p)) => {
            let new = required(i, "new_name", c.new_name.as_deref())?;
            if schema.iter().any(|f| f.name == new) {
                return Err(bad(i, "new_name", format!("{new:?} already exists")));
            }
            if !seen.insert(new.to_string()) {
                return Err(bad(i, "new_name", format!("{new:?} is already changed")));
            }
            schema[p].name = new.to_string();
            Ok(())
        }
        (Retype, Some(p)) => {
            let ty = required(i, "type", c.data_type.as_deref())?;
            // Type names are case-insensitive in every engine we catalog, so
            // `INT` for `int` is no change at all.
            if ty.trim().eq_ignore_ascii_case(schema[p].data_type.trim()) {
                return Err(bad(i, "type", format!("is already {ty:?}")));
            }
            schema[p].data_type = ty.to_string();
            Ok(())
        }
        (Nullability, Some(p)) => {
            let n = c
                .nullable
                .ok_or_else(|| bad(i, "nullable", "is required"))?;
            if n == schema[p].nullable {
                return Err(bad(i, "nullable", format!("is already {n}")));
            }
            schema[p].nullable = n;
            Ok(())
        }
    }
}

/// The family and width of a numeric type, for recognising widenings. Names
/// of equal width in one family are aliases (`int`, `integer`, `int32`).
fn numeric_width(t: &str) -> Option<(u8, u8)> {
    match t.trim().to_ascii_lowercase().as_str() {
        "smallint" => Some((0, 1)),
        "int" | "integer" | "int32" => Some((0, 2)),
        "bigint" | "long" | "int64" => Some((0, 3)),
        "float" | "float32" | "real" => Some((1, 1)),
        "double" | "float64" => Some((1, 2)),
        _ => None,
    }
}

fn is_widening(old: &str, new: &str) -> bool {
    matches!((numeric_width(old), numeric_width(new)), (Some((f, a)), Some((g, b))) if f == g && b >= a)
}

/// The severity of one change; `old` is the column as it is now, if any.
/// A widening retype only possibly breaks (readers with fixed-width buffers
/// may still fail); anything to `string` is not a widening, since consumers
/// doing arithmetic break.
pub fn change_severity(old: Option<&Field>, change: &SchemaChange) -> Severity {
    use Severity::*;
    match change.op {
        ChangeOp::Add if change.nullable.unwrap_or(true) => NonBreaking,
        // Writers must start supplying a NOT NULL column.
        ChangeOp::Add => PossiblyBreaking,
        ChangeOp::Drop | ChangeOp::Rename => Breaking,
        ChangeOp::Retype => match (old, change.data_type.as_deref()) {
            (Some(o), Some(new)) if is_widening(&o.data_type, new) => PossiblyBreaking,
            _ => Breaking,
        },
        ChangeOp::Nullability => match change.nullable {
            Some(false) => NonBreaking,
            _ if old.is_some_and(|o| o.nullable) => NonBreaking,
            // Readers may have assumed the column is never null.
            _ => PossiblyBreaking,
        },
    }
}
