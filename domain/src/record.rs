//! The NDJSON line format shared by import and export: one asset or one
//! edge per line, tagged by `type`.

use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetInput};
use crate::edge::{Edge, EdgeInput};
use crate::error::{Result, ValidationError};

/// One line of an import, as sent by a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Asset(AssetInput),
    Edge(EdgeInput),
}

/// One line of an export: what the catalog holds, in the same shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ExportRecord<'a> {
    Asset(&'a Asset),
    Edge(&'a Edge),
}

/// A parsed and individually validated import: assets and edges in the
/// order they appeared. Cross-record checks (edge ends exist, kinds fit)
/// are the catalog's, since ends may already be stored.
#[derive(Debug, Default, Clone)]
pub struct ImportBatch {
    pub assets: Vec<Asset>,
    pub edges: Vec<Edge>,
}

/// Parses NDJSON. Errors name the line, as `line 3: schema[0].name`.
pub fn parse_ndjson(text: &str) -> Result<ImportBatch> {
    let mut batch = ImportBatch::default();
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(line)
            .map_err(|e| ValidationError::new(at.clone(), format!("not a valid record: {e}")))?;
        match record {
            Record::Asset(a) => batch
                .assets
                .push(a.into_asset(None).map_err(|e| e.within(&at))?),
            Record::Edge(e) => batch.edges.push(e.into_edge().map_err(|e| e.within(&at))?),
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_record_types_and_names_bad_lines() {
        let text = r#"{"type":"asset","kind":"dataset","name":"a","schema":[{"name":"x","type":"int"}]}

{"type":"asset","id":"feature:default:b"}
{"type":"edge","from":"dataset:default:a","to":"feature:default:b","kind":"derives","columns":[{"from":"x","to":"x"}]}"#;
        let b = parse_ndjson(text).unwrap();
        assert_eq!(b.assets.len(), 2);
        assert_eq!(b.edges.len(), 1);
        assert!(b.assets[0].schema[0].nullable);

        let err = parse_ndjson("{\"type\":\"asset\",\"kind\":\"dataset\"}").unwrap_err();
        assert_eq!(err.field, "line 1.name");
        let err = parse_ndjson("{\"type\":\"asset\",\"kind\":\"dataset\",\"name\":\"a\"}\n{oops")
            .unwrap_err();
        assert_eq!(err.field, "line 2");
        let err = parse_ndjson("{\"type\":\"thing\"}").unwrap_err();
        assert_eq!(err.field, "line 1");
    }

    #[test]
    fn export_lines_import_again() {
        let b = parse_ndjson(
            r#"{"type":"asset","kind":"model","name":"m","properties":{"framework":"xgboost"}}"#,
        )
        .unwrap();
        let line = serde_json::to_string(&ExportRecord::Asset(&b.assets[0])).unwrap();
        assert!(line.starts_with("{\"type\":\"asset\""), "{line}");
        let again = parse_ndjson(&line).unwrap();
        assert_eq!(again.assets[0], b.assets[0]);
    }
}
