//! Catalog search: full text (BM25 over names, descriptions, column names
//! and tags) narrowed by kind, owner and tag, with counts per facet.

use std::collections::BTreeMap;

use domain::query::{Facets, SearchQuery, SearchResult, MAX_LIMIT};
use domain::ValidationError;
use serde_json::Value;

use crate::error::Result;
use crate::write::row_to_asset;
use crate::Catalog;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Facet {
    Kind,
    Owner,
    Tag,
}

/// The WHERE clause for a query, leaving out one facet's own filter when
/// that facet's counts are wanted. Only fixed fragments go into the text;
/// the values are bound as `$q`, `$kinds`, `$owners` and `$tags`.
fn condition(q: &SearchQuery, has_text: bool, except: Option<Facet>) -> String {
    let mut parts = Vec::new();
    if has_text {
        parts.push("search_text @1@ $q");
    }
    if !q.kinds.is_empty() && except != Some(Facet::Kind) {
        parts.push("kind INSIDE $kinds");
    }
    if !q.owners.is_empty() && except != Some(Facet::Owner) {
        parts.push("owners CONTAINSANY $owners");
    }
    if !q.tags.is_empty() && except != Some(Facet::Tag) {
        parts.push("tags CONTAINSANY $tags");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", parts.join(" AND "))
    }
}

/// Whether the text has a word the index can match: the analyzer indexes
/// prefixes of two characters or more.
fn searchable(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.chars().count() >= 2)
}

/// The words of a query. Punctuation separates words, as it does in the
/// indexed text, where names are also stored split into words.
fn words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Catalog {
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResult> {
        if q.limit > MAX_LIMIT {
            return Err(
                ValidationError::new("limit", format!("must be at most {MAX_LIMIT}")).into(),
            );
        }
        if q.q.len() > 1000 {
            return Err(ValidationError::new("q", "must be at most 1000 bytes").into());
        }
        let text = q.q.trim().to_string();
        let has_text = searchable(&text);
        let order = if has_text {
            "ORDER BY exact DESC, score DESC, name ASC"
        } else {
            "ORDER BY name ASC, key ASC"
        };
        // An exact name match goes first, then BM25's order.
        let score = if has_text {
            ", search::score(1) AS score, string::lowercase(name) = $exact AS exact"
        } else {
            ""
        };
        let sql = format!(
            "SELECT count() AS n FROM asset{all} GROUP ALL;
             SELECT *{score} FROM asset{all} {order} LIMIT $limit START $offset;
             SELECT kind FROM asset{no_kind};
             SELECT owners FROM asset{no_owner};
             SELECT tags FROM asset{no_tag};",
            all = condition(q, has_text, None),
            no_kind = condition(q, has_text, Some(Facet::Kind)),
            no_owner = condition(q, has_text, Some(Facet::Owner)),
            no_tag = condition(q, has_text, Some(Facet::Tag)),
        );
        let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_string()).collect();
        let mut res = self
            .db
            .query(sql)
            .bind(("exact", text.to_lowercase()))
            .bind(("q", words(&text)))
            .bind(("kinds", kinds))
            .bind(("owners", q.owners.clone()))
            .bind(("tags", q.tags.clone()))
            .bind(("limit", q.limit))
            .bind(("offset", q.offset))
            .await?;
        let total: Option<Value> = res.take(0)?;
        let total = total.and_then(|v| v["n"].as_u64()).unwrap_or(0);
        let rows: Vec<Value> = res.take(1)?;
        let items = rows
            .into_iter()
            .map(|mut r| {
                if let Some(o) = r.as_object_mut() {
                    o.remove("score");
                    o.remove("exact");
                }
                row_to_asset(r)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut facets = Facets::default();
        let count = |rows: Vec<Value>, field: &str, into: &mut BTreeMap<String, u64>| {
            for r in rows {
                match &r[field] {
                    Value::String(s) => *into.entry(s.clone()).or_default() += 1,
                    Value::Array(values) => {
                        for v in values.iter().filter_map(Value::as_str) {
                            *into.entry(v.to_string()).or_default() += 1;
                        }
                    }
                    _ => {}
                }
            }
        };
        count(res.take(2)?, "kind", &mut facets.kind);
        count(res.take(3)?, "owners", &mut facets.owner);
        count(res.take(4)?, "tags", &mut facets.tag);
        Ok(SearchResult {
            total,
            items,
            facets,
        })
    }
}
