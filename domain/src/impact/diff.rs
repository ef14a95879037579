//! The schema diff between a dataset's schema in force and one proposed
//! for it (a dbt model edited in a pull request, say), and whether a diff
//! is already in effect.
//!
//! A rename is taken only when the proposal declares it (`renames`, new
//! name to old). One column dropped and another added is never guessed to
//! be a rename, even with the same type: it is reported as a drop and an
//! add, with a note saying how to declare the rename if it is one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::change::{ChangeOp, SchemaChange};
use crate::asset::Field;
use crate::error::{Result, ValidationError};

/// What [`schema_diff`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDiff {
    /// Renames, drops, then retypes and nullability changes, each in the
    /// order of the schema in force, then adds in the proposed order.
    pub changes: Vec<SchemaChange>,
    /// What a reader should know, such as a drop and an add that may be
    /// one undeclared rename.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The changes that turn `current` into `proposed`. `renames` maps a
/// proposed column's name to the name it had; each must name a column of
/// `current` that `proposed` no longer has. Type names compare without
/// regard to case, as in [`super::apply_changes`]. Descriptions and column
/// order are not schema changes.
pub fn schema_diff(
    current: &[Field],
    proposed: &[Field],
    renames: &BTreeMap<String, String>,
) -> Result<SchemaDiff> {
    let mut seen = BTreeSet::new();
    for (i, f) in proposed.iter().enumerate() {
        if f.name.trim().is_empty() {
            return Err(ValidationError::new(
                format!("schema[{i}].name"),
                "must not be empty",
            ));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(ValidationError::new(
                format!("schema[{i}].name"),
                format!("{:?} appears twice", f.name),
            ));
        }
    }
    let now: BTreeMap<&str, &Field> = current.iter().map(|f| (f.name.as_str(), f)).collect();
    let next: BTreeMap<&str, &Field> = proposed.iter().map(|f| (f.name.as_str(), f)).collect();
    // Old name → new name, checked.
    let mut renamed: BTreeMap<&str, &str> = BTreeMap::new();
    for (new, old) in renames {
        let field = format!("renames.{new}");
        if !next.contains_key(new.as_str()) {
            return Err(ValidationError::new(
                field,
                format!("the proposed schema has no column {new:?}"),
            ));
        }
        if !now.contains_key(old.as_str()) {
            return Err(ValidationError::new(
                field,
                format!("the schema in force has no column {old:?}"),
            ));
        }
        if next.contains_key(old.as_str()) || now.contains_key(new.as_str()) {
            return Err(ValidationError::new(
                field,
                format!("{old:?} to {new:?} is no rename: both schemas have one of the names"),
            ));
        }
        if renamed.insert(old.as_str(), new.as_str()).is_some() {
            return Err(ValidationError::new(
                field,
                format!("{old:?} is renamed twice"),
            ));
        }
    }
    let mut diff = SchemaDiff::default();
    let mut later = Vec::new();
    for f in current {
        // A renamed column is compared with what it became.
        let (after, name) = match renamed.get(f.name.as_str()) {
            Some(new) => {
                diff.changes.push(SchemaChange {
                    op: ChangeOp::Rename,
                    column: f.name.clone(),
                    new_name: Some(new.to_string()),
                    data_type: None,
                    nullable: None,
                });
                (next.get(new), new.to_string())
            }
            None => (next.get(f.name.as_str()), f.name.clone()),
        };
        let Some(after) = after else {
            diff.changes.push(SchemaChange {
                op: ChangeOp::Drop,
                column: f.name.clone(),
                new_name: None,
                data_type: None,
                nullable: None,
            });
            continue;
        };
        // The retype and nullability of a renamed column name its old
        // name, as a diff applies each change to the schema in force.
        if !after
            .data_type
            .trim()
            .eq_ignore_ascii_case(f.data_type.trim())
        {
            later.push(SchemaChange {
                op: ChangeOp::Retype,
                column: name.clone(),
                new_name: None,
                data_type: Some(after.data_type.clone()),
                nullable: None,
            });
        }
        let retyped = !after
            .data_type
            .trim()
            .eq_ignore_ascii_case(f.data_type.trim());
        if after.nullable != f.nullable && retyped {
            // A diff changes each column once; the retype already reaches
            // every reader of the column, at least as badly.
            diff.notes.push(format!(
                "{name} also becomes {}; it is reviewed with its retype",
                if after.nullable {
                    "nullable"
                } else {
                    "required"
                }
            ));
        } else if after.nullable != f.nullable {
            later.push(SchemaChange {
                op: ChangeOp::Nullability,
                column: name,
                new_name: None,
                data_type: None,
                nullable: Some(after.nullable),
            });
        }
    }
    let renamed_to: BTreeSet<&str> = renamed.values().copied().collect();
    let added: Vec<&Field> = proposed
        .iter()
        .filter(|f| !now.contains_key(f.name.as_str()) && !renamed_to.contains(f.name.as_str()))
        .collect();
    for f in &added {
        diff.changes.push(SchemaChange {
            op: ChangeOp::Add,
            column: f.name.clone(),
            new_name: None,
            data_type: Some(f.data_type.clone()),
            nullable: Some(f.nullable),
        });
    }
    // Retypes and nullability changes of a renamed column cannot be
    // expressed in one diff with its rename (each column name is changed
    // once); the rename alone already breaks every reader of the column.
    for c in later {
        let renamed_column = renamed_to.contains(c.column.as_str());
        if !renamed_column {
            diff.changes.push(c);
        } else {
            diff.notes.push(format!(
                "{} also changes {}; it is part of the rename",
                c.column,
                if c.op == ChangeOp::Retype {
                    "type"
                } else {
                    "nullability"
                }
            ));
        }
    }
    diff.changes.sort_by_key(|c| match c.op {
        ChangeOp::Rename => 0,
        ChangeOp::Drop => 1,
        ChangeOp::Retype | ChangeOp::Nullability => 2,
        ChangeOp::Add => 3,
    });
    // Undeclared renames: a dropped column and an added one of the same
    // type may be one column renamed. That is only said, never assumed.
    for c in diff.changes.iter().filter(|c| c.op == ChangeOp::Drop) {
        let old = now[c.column.as_str()];
        for f in added.iter().filter(|f| {
            f.data_type
                .trim()
                .eq_ignore_ascii_case(old.data_type.trim())
        }) {
            diff.notes.push(format!(
                "{old} was dropped and {new} added with the same type ({ty}); if {new} is {old} renamed, declare it (renames: {new} = {old}, or meta.renamed_from in dbt) to review it as a rename",
                old = old.name,
                new = f.name,
                ty = f.data_type
            ));
        }
    }
    Ok(diff)
}

/// Whether every change of a diff holds in `schema`: dropped columns are
/// gone, renamed ones carry their new name, retypes and nullability
/// changes show, and added columns exist with their type. Used to see that
/// an approved change request has been carried out by an import.
pub fn changes_in_effect(schema: &[Field], changes: &[SchemaChange]) -> bool {
    let col = |name: &str| schema.iter().find(|f| f.name == name);
    let same_type = |f: &Field, ty: &Option<String>| {
        ty.as_deref()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(f.data_type.trim()))
    };
    !changes.is_empty()
        && changes.iter().all(|c| match c.op {
            ChangeOp::Drop => col(&c.column).is_none(),
            ChangeOp::Rename => {
                col(&c.column).is_none() && c.new_name.as_deref().and_then(col).is_some()
            }
            ChangeOp::Retype => col(&c.column).is_some_and(|f| same_type(f, &c.data_type)),
            ChangeOp::Nullability => col(&c.column).is_some_and(|f| Some(f.nullable) == c.nullable),
            ChangeOp::Add => col(&c.column).is_some_and(|f| {
                same_type(f, &c.data_type) && f.nullable == c.nullable.unwrap_or(true)
            }),
        })
}

/// Whether two diffs make the same changes, in any order.
pub fn same_changes(a: &[SchemaChange], b: &[SchemaChange]) -> bool {
    let key = |c: &SchemaChange| {
        (
            c.column.clone(),
            c.op as u8,
            c.new_name.clone(),
            c.data_type.as_ref().map(|t| t.trim().to_ascii_lowercase()),
            c.nullable,
        )
    };
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort();
    y.sort();
    x == y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::apply_changes;
    use proptest::prelude::*;

    fn f(name: &str, ty: &str, nullable: bool) -> Field {
        Field::new(name, ty, nullable)
    }

    fn sorted(mut s: Vec<Field>) -> Vec<(String, String, bool)> {
        s.sort_by(|a, b| a.name.cmp(&b.name));
        s.into_iter()
            .map(|f| (f.name, f.data_type.to_ascii_lowercase(), f.nullable))
            .collect()
    }

    #[test]
    fn a_drop_and_an_add_of_one_type_are_not_taken_for_a_rename() {
        let now = [f("id", "int", false), f("email", "string", true)];
        let next = [f("id", "int", false), f("mail", "string", true)];
        let d = schema_diff(&now, &next, &BTreeMap::new()).unwrap();
        let ops: Vec<_> = d
            .changes
            .iter()
            .map(|c| (c.op, c.column.as_str()))
            .collect();
        assert_eq!(ops, [(ChangeOp::Drop, "email"), (ChangeOp::Add, "mail")]);
        assert_eq!(d.notes.len(), 1);
        assert!(d.notes[0].contains("email was dropped and mail added"));
    }

    #[test]
    fn a_declared_rename_is_one_change() {
        let now = [f("id", "int", false), f("email", "string", true)];
        let next = [f("id", "bigint", true), f("mail", "string", false)];
        let renames = BTreeMap::from([("mail".to_string(), "email".to_string())]);
        let d = schema_diff(&now, &next, &renames).unwrap();
        let ops: Vec<_> = d
            .changes
            .iter()
            .map(|c| (c.op, c.column.as_str()))
            .collect();
        assert_eq!(ops, [(ChangeOp::Rename, "email"), (ChangeOp::Retype, "id")]);
        assert_eq!(d.notes.len(), 2, "{:?}", d.notes);
        assert!(d.notes[0].contains("id also becomes nullable"));
        assert!(d.notes[1].contains("mail also changes nullability"));
        assert!(changes_in_effect(&next, &d.changes));
        assert!(!changes_in_effect(&now, &d.changes));
    }

    #[test]
    fn bad_renames_and_duplicate_columns_name_their_field() {
        let now = [f("a", "int", true)];
        let next = [f("b", "int", true)];
        let bad = |new: &str, old: &str| {
            let r = BTreeMap::from([(new.to_string(), old.to_string())]);
            schema_diff(&now, &next, &r).unwrap_err().field
        };
        assert_eq!(bad("c", "a"), "renames.c");
        assert_eq!(bad("b", "z"), "renames.b");
        let twice = [f("b", "int", true), f("b", "int", true)];
        let e = schema_diff(&now, &twice, &BTreeMap::new()).unwrap_err();
        assert_eq!(e.field, "schema[1].name");
    }

    #[test]
    fn equal_schemas_give_no_change_and_case_is_no_retype() {
        let now = [f("a", "INT", true)];
        let next = [f("a", "int", true)];
        assert!(schema_diff(&now, &next, &BTreeMap::new())
            .unwrap()
            .changes
            .is_empty());
    }

    fn schema() -> impl Strategy<Value = Vec<Field>> {
        proptest::collection::btree_map(
            "[a-f]",
            (prop_oneof!["int", "string", "bigint"], any::<bool>()),
            0..6,
        )
        .prop_map(|m| {
            m.into_iter()
                .map(|(n, (t, nl))| Field::new(&n, &t, nl))
                .collect()
        })
    }

    proptest! {
        /// Applying the diff to the schema in force gives the proposed
        /// schema, the diff is then in effect, and the same diff in any
        /// order is the same diff.
        #[test]
        fn the_diff_applied_gives_the_proposed_schema(now in schema(), next in schema()) {
            let d = schema_diff(&now, &next, &BTreeMap::new()).unwrap();
            if d.changes.is_empty() {
                prop_assert_eq!(sorted(now.clone()), sorted(next.clone()));
            } else {
                // Nullability that changes with a type is left to the retype.
                let loose = |s: Vec<Field>| {
                    sorted(s).into_iter().map(|(n, t, nl)| {
                        let retyped = d.changes.iter().any(|c| c.op == ChangeOp::Retype && c.column == n);
                        (n, t, nl || retyped)
                    }).collect::<Vec<_>>()
                };
                let applied = apply_changes(&now, &d.changes).unwrap();
                prop_assert_eq!(loose(applied), loose(next.clone()));
                prop_assert!(changes_in_effect(&next, &d.changes));
                let mut reversed = d.changes.clone();
                reversed.reverse();
                prop_assert!(same_changes(&d.changes, &reversed));
            }
        }
    }
}
