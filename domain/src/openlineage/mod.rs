//! OpenLineage ingestion: validating run, job and dataset events against the
//! required fields and types of the 2-0-2 spec, and mapping them onto the
//! catalog. A job becomes a workflow asset, its input and output datasets
//! become dataset assets joined to it by `reads` and `writes` edges, the
//! `columnLineage` facet becomes `derives` edges with column mappings, and
//! run events fold into a run record that arrival order cannot change.
//!
//! Facets are kept verbatim, known or not: the spec lets producers invent
//! facets, and the catalog must not lose what it cannot interpret. Only the
//! few facets the catalog has fields for (documentation, ownership, schema,
//! version) are also read into those fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::asset::{asset_id, AssetKind};
use crate::time::parse_time;

mod patch;
mod plan;
mod run;

pub use patch::AssetPatch;
pub use plan::{plan, IngestPlan};
pub use run::{merge_run, RunRecord, RunUpdate};

/// One problem with an event, at a JSON path such as `run.runId` or
/// `inputs[1].name`. The path is empty when the event as a whole is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl Problem {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Which of the spec's three event shapes an event has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Run,
    Dataset,
    Job,
}

/// A dataset as an event names it, with its facets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub namespace: String,
    pub name: String,
    /// The dataset facets.
    pub facets: Map<String, Value>,
    /// The `inputFacets` of an input or the `outputFacets` of an output.
    pub io_facets: Map<String, Value>,
}

/// A validated event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedEvent {
    pub kind: EventKind,
    /// START, RUNNING, COMPLETE, ABORT, FAIL or OTHER; only run events have
    /// one, and even there the spec makes it optional.
    pub event_type: Option<String>,
    /// As given; validated as an RFC 3339 date-time.
    pub event_time: String,
    pub producer: String,
    /// The run's UUID, for run events.
    pub run_id: Option<String>,
    pub run_facets: Map<String, Value>,
    /// Namespace, name and facets of the job, for run and job events.
    pub job: Option<(String, String, Map<String, Value>)>,
    pub inputs: Vec<DatasetRef>,
    pub outputs: Vec<DatasetRef>,
    /// The dataset of a dataset event.
    pub dataset: Option<DatasetRef>,
}

const EVENT_TYPES: [&str; 6] = ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"];

/// Validates an event against the 2-0-2 spec's required fields and types
/// and parses it. A RunEvent has `run`; a DatasetEvent has `dataset` and no
/// `run`; a JobEvent has `job` and no `run`.
///
/// Required everywhere: `eventTime` (an RFC 3339 date-time), `producer` and
/// `schemaURL` (URIs). Run events need `run.runId` (a UUID) and `job`; job
/// events need `job`; dataset events need `dataset`. Jobs and datasets need
/// string `namespace` and `name`, `eventType` must be one of the spec's, and
/// every facet container and facet must be an object (`{}` is fine). Every
/// problem is reported, each at its path, not just the first.
///
/// Two deliberate readings of the spec:
/// - A date-time without a UTC offset (`2021-11-03T10:53:52.427343`) is
///   accepted and read as UTC, because the official Python client emits
///   such times for naive datetimes and the spec's own schema does not
///   assert formats; a missing date, time or an impossible value is not.
/// - Namespaces and names must not be empty, which the spec allows but the
///   catalog cannot store; saying so here names the offending path.
///
/// Facet contents are not checked against the facet schemas: unknown and
/// custom facets, and facets that break their own schema, are kept as they
/// are, since the core spec accepts any object as a facet.
pub fn parse_event(v: &Value) -> Result<ParsedEvent, Vec<Problem>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![Problem::new(
            "",
            format!("an event must be a JSON object, not {}", type_name(v)),
        )]);
    };
    let mut p = Vec::new();
    let event_time = time_field(obj, "eventTime", &mut p);
    let producer = uri_field(obj, "producer", &mut p);
    uri_field(obj, "schemaURL", &mut p);

    let kind = if obj.contains_key("run") {
        Some(EventKind::Run)
    } else {
        match (obj.contains_key("dataset"), obj.contains_key("job")) {
            (true, false) => Some(EventKind::Dataset),
            (false, true) => Some(EventKind::Job),
            // The spec's `oneOf` rejects this: without a run, such an event
            // would be both a DatasetEvent and a JobEvent.
            (true, true) => {
                p.push(Problem::new(
                    "dataset",
                    "an event without `run` is either a DatasetEvent (`dataset`) or a JobEvent (`job`), not both",
                ));
                None
            }
            (false, false) => {
                p.push(Problem::new(
                    "",
                    "is none of a RunEvent (`run`), a DatasetEvent (`dataset`) or a JobEvent (`job`)",
                ));
                None
            }
        }
    };

    let mut event_type = None;
    let mut run_id = None;
    let mut run_facets = Map::new();
    let mut job = None;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    let mut dataset = None;
    match kind {
        Some(EventKind::Run) => {
            event_type = event_type_field(obj, &mut p);
            if let Some(run) = object_field(obj, "run", "run", true, &mut p) {
                if let Some(id) = string_field(run, "runId", "run.runId", &mut p) {
                    if is_uuid(id) {
                        run_id = Some(id.to_string());
                    } else {
                        p.push(Problem::new(
                            "run.runId",
                            format!("{id:?} is not a UUID (8-4-4-4-12 hexadecimal digits)"),
                        ));
                    }
                }
                run_facets = facets_field(run, "facets", "run.facets", false, &mut p);
            }
            job = job_field(obj, &mut p);
            inputs = datasets_field(obj, "inputs", "inputFacets", &mut p);
            outputs = datasets_field(obj, "outputs", "outputFacets", &mut p);
        }
        Some(EventKind::Job) => {
            job = job_field(obj, &mut p);
            inputs = datasets_field(obj, "inputs", "inputFacets", &mut p);
            outputs = datasets_field(obj, "outputs", "outputFacets", &mut p);
        }
        Some(EventKind::Dataset) => {
            if let Some(d) = object_field(obj, "dataset", "dataset", true, &mut p) {
                dataset = dataset_ref(d, "dataset", None, &mut p);
            }
        }
        None => {}
    }

    match (kind, event_time, producer) {
        (Some(kind), Some(event_time), Some(producer)) if p.is_empty() => Ok(ParsedEvent {
            kind,
            event_type,
            event_time: event_time.to_string(),
            producer: producer.to_string(),
            run_id,
            run_facets,
            job,
            inputs,
            outputs,
            dataset,
        }),
        _ => Err(p),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A required string member, reporting its absence or wrong type.
fn string_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    p: &mut Vec<Problem>,
) -> Option<&'a str> {
    match obj.get(key) {
        None => {
            p.push(Problem::new(path, "is required"));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            p.push(Problem::new(
                path,
                format!("must be a string, not {}", type_name(other)),
            ));
            None
        }
    }
}

/// A required string that names something in the catalog, so it must not
/// be blank either.
fn name_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    p: &mut Vec<Problem>,
) -> Option<&'a str> {
    let s = string_field(obj, key, path, p)?;
    if s.trim().is_empty() {
        p.push(Problem::new(path, "must not be empty"));
        return None;
    }
    Some(s)
}

fn time_field<'a>(obj: &'a Map<String, Value>, key: &str, p: &mut Vec<Problem>) -> Option<&'a str> {
    let s = string_field(obj, key, key, p)?;
    if parse_time(s).is_none() {
        p.push(Problem::new(
            key,
            format!("{s:?} is not an RFC 3339 date-time such as 2024-05-01T12:00:00Z"),
        ));
        return None;
    }
    Some(s)
}

fn uri_field<'a>(obj: &'a Map<String, Value>, key: &str, p: &mut Vec<Problem>) -> Option<&'a str> {
    let s = string_field(obj, key, key, p)?;
    if !is_uri(s) {
        p.push(Problem::new(
            key,
            format!("{s:?} is not a URI (scheme:rest, without spaces)"),
        ));
        return None;
    }
    Some(s)
}

fn event_type_field(obj: &Map<String, Value>, p: &mut Vec<Problem>) -> Option<String> {
    match obj.get("eventType") {
        None => None,
        Some(Value::String(t)) if EVENT_TYPES.contains(&t.as_str()) => Some(t.clone()),
        Some(Value::String(t)) => {
            p.push(Problem::new(
                "eventType",
                format!("{t:?} is not one of {}", EVENT_TYPES.join(", ")),
            ));
            None
        }
        Some(other) => {
            p.push(Problem::new(
                "eventType",
                format!("must be a string, not {}", type_name(other)),
            ));
            None
        }
    }
}

/// An object member; `required` says whether its absence is a problem.
fn object_field<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    path: &str,
    required: bool,
    p: &mut Vec<Problem>,
) -> Option<&'a Map<String, Value>> {
    match obj.get(key) {
        None => {
            if required {
                p.push(Problem::new(path, "is required"));
            }
            None
        }
        Some(Value::Object(m)) => Some(m),
        Some(other) => {
            p.push(Problem::new(
                path,
                format!("must be an object, not {}", type_name(other)),
            ));
            None
        }
    }
}

/// A facet container: an object whose members are facet objects. Job and
/// dataset facets may carry the spec's boolean `_deleted` flag, which
/// [`AssetPatch::apply`] acts on, so its type is checked too.
fn facets_field(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    deletable: bool,
    p: &mut Vec<Problem>,
) -> Map<String, Value> {
    let Some(facets) = object_field(obj, key, path, false, p) else {
        return Map::new();
    };
    for (name, facet) in facets {
        let at = format!("{path}.{name}");
        match facet {
            Value::Object(f) => {
                if let Some(d) = f.get("_deleted") {
                    if deletable && !d.is_boolean() {
                        p.push(Problem::new(
                            format!("{at}._deleted"),
                            format!("must be a boolean, not {}", type_name(d)),
                        ));
                    }
                }
            }
            other => p.push(Problem::new(
                at,
                format!("a facet must be an object, not {}", type_name(other)),
            )),
        }
    }
    facets.clone()
}

fn job_field(
    obj: &Map<String, Value>,
    p: &mut Vec<Problem>,
) -> Option<(String, String, Map<String, Value>)> {
    let job = object_field(obj, "job", "job", true, p)?;
    let namespace = name_field(job, "namespace", "job.namespace", p);
    let name = name_field(job, "name", "job.name", p);
    let facets = facets_field(job, "facets", "job.facets", true, p);
    Some((namespace?.to_string(), name?.to_string(), facets))
}

/// One dataset at `path`; `io_key` is `inputFacets` or `outputFacets` for
/// the datasets of run and job events.
fn dataset_ref(
    d: &Map<String, Value>,
    path: &str,
    io_key: Option<&str>,
    p: &mut Vec<Problem>,
) -> Option<DatasetRef> {
    let namespace = name_field(d, "namespace", &format!("{path}.namespace"), p);
    let name = name_field(d, "name", &format!("{path}.name"), p);
    let facets = facets_field(d, "facets", &format!("{path}.facets"), true, p);
    let io_facets = match io_key {
        Some(k) => facets_field(d, k, &format!("{path}.{k}"), false, p),
        None => Map::new(),
    };
    Some(DatasetRef {
        namespace: namespace?.to_string(),
        name: name?.to_string(),
        facets,
        io_facets,
    })
}

fn datasets_field(
    obj: &Map<String, Value>,
    key: &str,
    io_key: &str,
    p: &mut Vec<Problem>,
) -> Vec<DatasetRef> {
    let items = match obj.get(key) {
        None => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(other) => {
            p.push(Problem::new(
                key,
                format!("must be an array, not {}", type_name(other)),
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{key}[{i}]");
        match item {
            Value::Object(d) => out.extend(dataset_ref(d, &at, Some(io_key), p)),
            other => p.push(Problem::new(
                at,
                format!("a dataset must be an object, not {}", type_name(other)),
            )),
        }
    }
    out
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// An RFC 3986 URI in outline: a scheme, a colon and a rest without
/// whitespace. Full RFC 3986 parsing would reject little that matters here
/// and would reject producers that real integrations send.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}
/// The id of the dataset asset an OpenLineage dataset becomes.
pub fn dataset_asset_id(namespace: &str, name: &str) -> String {
    asset_id(AssetKind::Dataset, namespace, name)
}

/// The id of the workflow asset an OpenLineage job becomes.
pub fn job_asset_id(namespace: &str, name: &str) -> String {
    asset_id(AssetKind::Workflow, namespace, name)
}

#[cfg(test)]
mod tests;
