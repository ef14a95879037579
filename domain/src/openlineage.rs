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

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::asset::{asset_id, Asset, AssetKind, Field};
use crate::edge::{edge_id, ColumnMapping, Edge, EdgeKind};

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

/// Parses an RFC 3339 date-time into seconds since the epoch (UTC) and
/// nanoseconds, so that times written with different offsets compare as
/// instants. A missing offset is read as UTC; see [`parse_event`].
fn parse_time(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    let offset: i64 = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset;
    Some((secs, nanos))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Orders times as instants where they parse, and by their text after
/// that, so the order is total even for hand-made updates.
fn time_cmp(a: &str, b: &str) -> Ordering {
    parse_time(a).cmp(&parse_time(b)).then_with(|| a.cmp(b))
}

/// The id of the dataset asset an OpenLineage dataset becomes.
pub fn dataset_asset_id(namespace: &str, name: &str) -> String {
    asset_id(AssetKind::Dataset, namespace, name)
}

/// The id of the workflow asset an OpenLineage job becomes.
pub fn job_asset_id(namespace: &str, name: &str) -> String {
    asset_id(AssetKind::Workflow, namespace, name)
}

/// What one event says about one asset. Fields left `None` say nothing, so
/// that, for example, an event without a schema facet does not wipe a
/// schema an earlier event supplied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetPatch {
    pub id: String,
    pub kind: AssetKind,
    pub namespace: String,
    pub name: String,
    /// From the documentation facet.
    pub description: Option<String>,
    /// From the ownership facet's `owners[].name`.
    pub owners: Option<Vec<String>>,
    /// From the schema facet; nested fields are flattened as
    /// `parent.child`.
    pub schema: Option<Vec<Field>>,
    /// From the datasetVersion facet (keyed `version`).
    pub dataset_version: Option<String>,
    /// Every facet verbatim: dataset or job facets under their own names,
    /// input and output facets under `input:` and `output:` prefixed names.
    pub facets: Map<String, Value>,
}

impl AssetPatch {
    fn bare(kind: AssetKind, namespace: &str, name: &str) -> Self {
        Self {
            id: asset_id(kind, namespace, name),
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            description: None,
            owners: None,
            schema: None,
            dataset_version: None,
            facets: Map::new(),
        }
    }

    /// Folds a later statement about the same asset into this one: what the
    /// later one sets wins, facets are merged.
    fn absorb(&mut self, later: AssetPatch) {
        if later.description.is_some() {
            self.description = later.description;
        }
        if later.owners.is_some() {
            self.owners = later.owners;
        }
        if later.schema.is_some() {
            self.schema = later.schema;
        }
        if later.dataset_version.is_some() {
            self.dataset_version = later.dataset_version;
        }
        self.facets.extend(later.facets);
    }

    /// The asset after this patch. Without `existing` it is a new asset
    /// (empty description, owners and schema where the patch says nothing);
    /// otherwise it is `existing` with only the fields the patch sets
    /// replaced, keeping the existing identity. Facets go under
    /// `properties["openlineage"]`, an object keyed by facet name and merged
    /// facet by facet; a facet flagged `"_deleted": true` removes the stored
    /// one instead. The dataset version goes under
    /// `properties["datasetVersion"]`. The catalog's version and timestamps
    /// are never touched.
    pub fn apply(&self, existing: Option<&Asset>) -> Asset {
        let mut a = match existing {
            Some(a) => a.clone(),
            None => Asset {
                id: self.id.clone(),
                kind: self.kind,
                namespace: self.namespace.clone(),
                name: self.name.clone(),
                description: String::new(),
                owners: Vec::new(),
                tags: Vec::new(),
                domain: None,
                schema: Vec::new(),
                properties: BTreeMap::new(),
                version: 0,
                created_at: None,
                updated_at: None,
            },
        };
        if let Some(d) = &self.description {
            a.description = d.clone();
        }
        if let Some(o) = &self.owners {
            a.owners = o.clone();
        }
        if let Some(s) = &self.schema {
            a.schema = s.clone();
        }
        if let Some(v) = &self.dataset_version {
            a.properties
                .insert("datasetVersion".to_string(), Value::String(v.clone()));
        }
        if !self.facets.is_empty() {
            let mut stored = match a.properties.remove("openlineage") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (name, facet) in &self.facets {
                if is_deleted(facet) {
                    stored.remove(name);
                } else {
                    stored.insert(name.clone(), facet.clone());
                }
            }
            if !stored.is_empty() {
                a.properties
                    .insert("openlineage".to_string(), Value::Object(stored));
            }
        }
        a
    }
}

fn is_deleted(facet: &Value) -> bool {
    facet.get("_deleted").and_then(Value::as_bool) == Some(true)
}

/// A facet the catalog may read: present, an object and not deleted.
fn live_facet<'a>(facets: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    facets
        .get(name)
        .filter(|f| !is_deleted(f))
        .and_then(Value::as_object)
}

fn description_of(facets: &Map<String, Value>) -> Option<String> {
    live_facet(facets, "documentation")?
        .get("description")?
        .as_str()
        .map(str::to_string)
}

/// Owner names, without blanks and duplicates, which the catalog rejects.
/// An ownership facet whose owners all lack a name (the fluentd proxy's
/// `event_invalid_*_facet` fixtures) says nothing rather than "no owners".
fn owners_of(facets: &Map<String, Value>) -> Option<Vec<String>> {
    let owners = live_facet(facets, "ownership")?.get("owners")?.as_array()?;
    let mut seen = BTreeSet::new();
    let names: Vec<String> = owners
        .iter()
        .filter_map(|o| o.get("name")?.as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty() && seen.insert(*n))
        .map(str::to_string)
        .collect();
    if names.is_empty() && !owners.is_empty() {
        return None;
    }
    Some(names)
}

/// The schema facet's columns. An empty `fields` list says nothing, since
/// integrations send one when they could not read the schema, and wiping a
/// known schema would lose what an earlier event said.
fn schema_of(facets: &Map<String, Value>) -> Option<Vec<Field>> {
    let fields = live_facet(facets, "schema")?.get("fields")?.as_array()?;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    flatten_fields(fields, "", &mut out, &mut seen);
    (!out.is_empty()).then_some(out)
}

fn flatten_fields(
    fields: &[Value],
    prefix: &str,
    out: &mut Vec<Field>,
    seen: &mut BTreeSet<String>,
) {
    for f in fields {
        let Some(name) = f.get("name").and_then(Value::as_str) else {
            continue;
        };
        if name.trim().is_empty() {
            continue;
        }
        let full = format!("{prefix}{name}");
        if seen.insert(full.clone()) {
            // The facet's type is optional (dbt sends bare names), but the
            // catalog requires one, so an unknown type is said plainly.
            let data_type = match f.get("type").and_then(Value::as_str) {
                Some(t) if !t.trim().is_empty() => t.to_string(),
                _ => "unknown".to_string(),
            };
            out.push(Field {
                name: full.clone(),
                data_type,
                nullable: true,
                description: f
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        if let Some(children) = f.get("fields").and_then(Value::as_array) {
            flatten_fields(children, &format!("{full}."), out, seen);
        }
    }
}

fn version_of(facets: &Map<String, Value>) -> Option<String> {
    match live_facet(facets, "version")?.get("datasetVersion")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn dataset_patch(d: &DatasetRef, io_prefix: &str) -> AssetPatch {
    let mut patch = AssetPatch::bare(AssetKind::Dataset, &d.namespace, &d.name);
    patch.description = description_of(&d.facets);
    patch.owners = owners_of(&d.facets);
    patch.schema = schema_of(&d.facets);
    patch.dataset_version = version_of(&d.facets);
    patch.facets = d.facets.clone();
    for (k, v) in &d.io_facets {
        patch.facets.insert(format!("{io_prefix}{k}"), v.clone());
    }
    patch
}

/// What one run event says about its run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunUpdate {
    pub run_id: String,
    /// The workflow asset id of the run's job.
    pub job: String,
    pub event_type: String,
    pub event_time: String,
    pub facets: Map<String, Value>,
}

/// A run as the workflow's history shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub job: String,
    /// The latest state by precedence: a terminal state (COMPLETE, FAIL,
    /// ABORT) beats START and RUNNING, which beat OTHER, whatever the
    /// arrival order; within a class the latest event time wins.
    pub state: String,
    /// The time of the (earliest) START event.
    pub started_at: Option<String>,
    /// The time of the terminal event that gave the state.
    pub ended_at: Option<String>,
    /// (eventType, eventTime), deduplicated, sorted by time then type.
    pub events: Vec<(String, String)>,
    /// The run facets, merged: where events disagree on a facet, the
    /// latest event's wins.
    pub facets: Map<String, Value>,
    /// For each facet, the (eventTime, eventType) of the event it was taken
    /// from. Without it a merge could not tell whether a stored facet is
    /// older than an arriving one, and arrival order would decide.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facet_sources: BTreeMap<String, (String, String)>,
}

impl RunRecord {
    /// The state as Marquez names it: a run that has started is RUNNING,
    /// and the terminal states are COMPLETED, FAILED and ABORTED. A run
    /// known only from OTHER events is NEW.
    pub fn marquez_state(&self) -> &'static str {
        match self.state.as_str() {
            "START" | "RUNNING" => "RUNNING",
            "COMPLETE" => "COMPLETED",
            "FAIL" => "FAILED",
            "ABORT" => "ABORTED",
            _ => "NEW",
        }
    }

    /// Milliseconds from the start to the end, when both are known and the
    /// end is not before the start.
    pub fn duration_ms(&self) -> Option<i64> {
        let (s, sn) = parse_time(self.started_at.as_deref()?)?;
        let (e, en) = parse_time(self.ended_at.as_deref()?)?;
        let ms = (e - s) * 1000 + (i64::from(en) - i64::from(sn)) / 1_000_000;
        (ms >= 0).then_some(ms)
    }

    /// The nominal start and end times from the `nominalTime` run facet.
    pub fn nominal_times(&self) -> (Option<&str>, Option<&str>) {
        let nominal = self.facets.get("nominalTime");
        let get = |k: &str| nominal.and_then(|n| n.get(k)).and_then(Value::as_str);
        (get("nominalStartTime"), get("nominalEndTime"))
    }
}

/// The class of a state in the precedence order, and its rank within the
/// class for events at the same instant.
fn precedence(event_type: &str) -> (u8, u8) {
    match event_type {
        "COMPLETE" => (2, 0),
        "ABORT" => (2, 1),
        "FAIL" => (2, 2),
        "START" => (1, 0),
        "RUNNING" => (1, 1),
        _ => (0, 0),
    }
}

/// Chronological order of events, then by type, as `events` lists them.
fn event_cmp(a: &(String, String), b: &(String, String)) -> Ordering {
    time_cmp(&a.1, &b.1).then_with(|| a.0.cmp(&b.0))
}

/// Folds one update into a run. The result does not depend on the order in
/// which updates arrive, nor on repeats: the events form a set, the state
/// and times are computed from that set, and each facet comes from the
/// latest event that carried it (ties broken by the facet's text).
/// Updates are meant to be of one run; the run id of `existing` is kept.
pub fn merge_run(existing: Option<RunRecord>, update: &RunUpdate) -> RunRecord {
    let mut r = existing.unwrap_or_else(|| RunRecord {
        run_id: update.run_id.clone(),
        job: update.job.clone(),
        ..RunRecord::default()
    });
    // Updates of one run agree on the job; should they not, the smaller id
    // is kept so that arrival order still cannot matter.
    if update.job < r.job {
        r.job = update.job.clone();
    }
    let ev = (update.event_type.clone(), update.event_time.clone());
    // Sorting and deduplicating the whole list, not just placing the new
    // event, also mends a record that was not built by this function.
    r.events.push(ev);
    r.events.sort_by(event_cmp);
    r.events.dedup();
    let source = (update.event_time.clone(), update.event_type.clone());
    for (name, facet) in &update.facets {
        let newer = match (r.facets.get(name), r.facet_sources.get(name)) {
            (Some(old), Some(old_source)) => time_cmp(&source.0, &old_source.0)
                .then_with(|| source.1.cmp(&old_source.1))
                .then_with(|| facet.to_string().cmp(&old.to_string()))
                .is_gt(),
            // A facet without a source was not put there by a merge, so
            // anything an event says is newer.
            _ => true,
        };
        if newer {
            r.facets.insert(name.clone(), facet.clone());
            r.facet_sources.insert(name.clone(), source.clone());
        }
    }
    let state = r
        .events
        .iter()
        .max_by(|a, b| {
            let (ca, ra) = precedence(&a.0);
            let (cb, rb) = precedence(&b.0);
            ca.cmp(&cb)
                .then_with(|| time_cmp(&a.1, &b.1))
                .then_with(|| ra.cmp(&rb))
                .then_with(|| a.0.cmp(&b.0))
        })
        .cloned();
    if let Some((state, time)) = state {
        r.ended_at = (precedence(&state).0 == 2).then_some(time);
        r.state = state;
    }
    r.started_at = r
        .events
        .iter()
        .filter(|(t, _)| t == "START")
        .map(|(_, time)| time)
        .min_by(|a, b| time_cmp(a, b))
        .cloned();
    r
}

/// Everything one event asks of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestPlan {
    /// Sorted by id; one patch per asset.
    pub assets: Vec<AssetPatch>,
    /// Sorted by id; one edge per (from, kind, to).
    pub edges: Vec<Edge>,
    pub run: Option<RunUpdate>,
}

/// The dependencies that an output's columnLineage facet names: for each
/// input dataset, the column mappings into the output. Dataset-level
/// entries (the facet's `dataset` list: joins, filters, sorts) name a
/// dependency without a target column, so they add the input with no
/// mapping of their own.
fn column_lineage(facets: &Map<String, Value>) -> BTreeMap<(String, String), Vec<ColumnMapping>> {
    let mut out: BTreeMap<(String, String), Vec<ColumnMapping>> = BTreeMap::new();
    let Some(cl) = live_facet(facets, "columnLineage") else {
        return out;
    };
    let source = |input: &Value| -> Option<(String, String)> {
        let ns = input.get("namespace")?.as_str()?;
        let name = input.get("name")?.as_str()?;
        (!ns.trim().is_empty() && !name.trim().is_empty())
            .then(|| (ns.to_string(), name.to_string()))
    };
    if let Some(fields) = cl.get("fields").and_then(Value::as_object) {
        for (to, spec) in fields {
            let legacy = spec
                .get("transformationType")
                .and_then(Value::as_str)
                .map(|t| {
                    match spec
                        .get("transformationDescription")
                        .and_then(Value::as_str)
                    {
                        Some(d) => format!("{t}/{d}"),
                        None => t.to_string(),
                    }
                });
            let inputs = spec.get("inputFields").and_then(Value::as_array);
            for input in inputs.into_iter().flatten() {
                let Some(key) = source(input) else {
                    continue;
                };
                let mappings = out.entry(key).or_default();
                let Some(from) = input.get("field").and_then(Value::as_str) else {
                    continue;
                };
                if from.trim().is_empty() || to.trim().is_empty() {
                    continue;
                }
                let transform = input
                    .get("transformations")
                    .and_then(Value::as_array)
                    .and_then(|ts| ts.first())
                    .and_then(|t| {
                        let kind = t.get("type")?.as_str()?;
                        Some(match t.get("subtype").and_then(Value::as_str) {
                            Some(sub) if !sub.is_empty() => format!("{kind}/{sub}"),
                            _ => kind.to_string(),
                        })
                    })
                    .or_else(|| legacy.clone());
                mappings.push(ColumnMapping {
                    from: from.to_string(),
                    to: to.clone(),
                    transform,
                });
            }
        }
    }
    for input in cl
        .get("dataset")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(key) = source(input) {
            out.entry(key).or_default();
        }
    }
    out
}

fn add_edge(
    edges: &mut BTreeMap<String, Edge>,
    from: &str,
    kind: EdgeKind,
    to: &str,
    columns: Vec<ColumnMapping>,
) {
    let id = edge_id(from, kind, to);
    edges
        .entry(id.clone())
        .or_insert_with(|| Edge {
            id,
            from: from.to_string(),
            to: to.to_string(),
            kind,
            columns: Vec::new(),
            first_seen: None,
            last_seen: None,
        })
        .columns
        .extend(columns);
}

fn add_patch(assets: &mut BTreeMap<String, AssetPatch>, patch: AssetPatch) {
    match assets.get_mut(&patch.id) {
        Some(p) => p.absorb(patch),
        None => {
            assets.insert(patch.id.clone(), patch);
        }
    }
}

/// Maps an event onto the catalog. The job becomes a workflow asset and
/// each input or output dataset a dataset asset; inputs give `reads` edges
/// (dataset → workflow), outputs `writes` edges (workflow → dataset).
///
/// An output's columnLineage facet gives one `derives` edge per input
/// dataset → output dataset, carrying a mapping {from: input field, to:
/// output field, transform} for each input field of each output field. The
/// transform is the first transformation as `TYPE/SUBTYPE`, else the legacy
/// `transformationType` (with `/transformationDescription` if given), else
/// none. Inputs named only there still get a (bare) asset patch. A dataset
/// feeding itself gives no `derives` edge, since an edge must join two
/// assets.
///
/// A dataset that appears more than once (as input and output of an in-place
/// update) gets one patch; outputs come last and win, as they describe the
/// dataset after the run. A dataset event yields only its dataset's patch;
/// a job event yields the job and its edges but no run; a run event without
/// `eventType` updates its run as OTHER, which carries facets but changes no
/// state. Assets and edges are sorted by id, and mappings are deduplicated
/// and sorted, so equal events give equal plans.
pub fn plan(e: &ParsedEvent) -> IngestPlan {
    let mut assets = BTreeMap::new();
    let mut edges = BTreeMap::new();
    if e.kind == EventKind::Dataset {
        if let Some(d) = &e.dataset {
            add_patch(&mut assets, dataset_patch(d, ""));
        }
        return IngestPlan {
            assets: assets.into_values().collect(),
            edges: Vec::new(),
            run: None,
        };
    }
    let Some((job_ns, job_name, job_facets)) = &e.job else {
        // parse_event never yields a run or job event without a job.
        return IngestPlan {
            assets: Vec::new(),
            edges: Vec::new(),
            run: None,
        };
    };
    let job = job_asset_id(job_ns, job_name);
    let mut job_patch = AssetPatch::bare(AssetKind::Workflow, job_ns, job_name);
    job_patch.description = description_of(job_facets);
    job_patch.owners = owners_of(job_facets);
    job_patch.facets = job_facets.clone();
    add_patch(&mut assets, job_patch);

    for d in &e.inputs {
        let patch = dataset_patch(d, "input:");
        add_edge(&mut edges, &patch.id, EdgeKind::Reads, &job, Vec::new());
        add_patch(&mut assets, patch);
    }
    for d in &e.outputs {
        let patch = dataset_patch(d, "output:");
        let to = patch.id.clone();
        add_edge(&mut edges, &job, EdgeKind::Writes, &to, Vec::new());
        add_patch(&mut assets, patch);
        for ((ns, name), columns) in column_lineage(&d.facets) {
            let from = dataset_asset_id(&ns, &name);
            if from == to {
                continue;
            }
            if !assets.contains_key(&from) {
                add_patch(
                    &mut assets,
                    AssetPatch::bare(AssetKind::Dataset, &ns, &name),
                );
            }
            add_edge(&mut edges, &from, EdgeKind::Derives, &to, columns);
        }
    }
    let mut edges: Vec<Edge> = edges.into_values().collect();
    for edge in &mut edges {
        edge.columns
            .sort_by(|a, b| (&a.from, &a.to, &a.transform).cmp(&(&b.from, &b.to, &b.transform)));
        edge.columns.dedup();
    }
    let run = match (e.kind, &e.run_id) {
        (EventKind::Run, Some(run_id)) => Some(RunUpdate {
            run_id: run_id.clone(),
            job,
            event_type: e.event_type.clone().unwrap_or_else(|| "OTHER".to_string()),
            event_time: e.event_time.clone(),
            facets: e.run_facets.clone(),
        }),
        _ => None,
    };
    IngestPlan {
        assets: assets.into_values().collect(),
        edges,
        run,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    #[test]
    fn runs_read_in_marquez_terms() {
        let run = |state: &str, start: Option<&str>, end: Option<&str>| RunRecord {
            state: state.into(),
            started_at: start.map(Into::into),
            ended_at: end.map(Into::into),
            ..RunRecord::default()
        };
        assert_eq!(run("START", None, None).marquez_state(), "RUNNING");
        assert_eq!(run("RUNNING", None, None).marquez_state(), "RUNNING");
        assert_eq!(run("COMPLETE", None, None).marquez_state(), "COMPLETED");
        assert_eq!(run("FAIL", None, None).marquez_state(), "FAILED");
        assert_eq!(run("ABORT", None, None).marquez_state(), "ABORTED");
        assert_eq!(run("OTHER", None, None).marquez_state(), "NEW");
        // Offsets are instants: 10:00+02:00 is 08:00Z.
        let r = run(
            "COMPLETE",
            Some("2024-05-01T10:00:00.250+02:00"),
            Some("2024-05-01T08:01:30Z"),
        );
        assert_eq!(r.duration_ms(), Some(89_750));
        assert_eq!(
            run("START", Some("2024-05-01T10:00:00Z"), None).duration_ms(),
            None
        );
        let backwards = run(
            "COMPLETE",
            Some("2024-05-01T10:00:00Z"),
            Some("2024-05-01T09:00:00Z"),
        );
        assert_eq!(backwards.duration_ms(), None);
        let mut nominal = run("START", None, None);
        nominal.facets.insert(
            "nominalTime".into(),
            serde_json::json!({"nominalStartTime": "2024-05-01T00:00:00Z"}),
        );
        assert_eq!(
            nominal.nominal_times(),
            (Some("2024-05-01T00:00:00Z"), None)
        );
    }

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/openlineage");

    fn read(path: &Path) -> Value {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    }

    fn data(rel: &str) -> Value {
        read(&Path::new(DATA).join(rel))
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut todo = vec![dir.to_path_buf()];
        while let Some(d) = todo.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    todo.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    out.push(path);
                }
            }
        }
        out.sort();
        out
    }

    fn minimal_run() -> Value {
        json!({
            "eventType": "START",
            "eventTime": "2024-05-01T12:00:00Z",
            "producer": "https://example.com/producer",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": "0190c9b2-6f6e-7cd1-a1f5-3c0b4f9c2a11"},
            "job": {"namespace": "airflow", "name": "daily.load"},
            "inputs": [{"namespace": "postgres://db:5432", "name": "public.src"}],
            "outputs": [{"namespace": "postgres://db:5432", "name": "public.dst"}]
        })
    }

    fn problem_paths(v: &Value) -> Vec<String> {
        let mut paths: Vec<String> = parse_event(v)
            .expect_err("the event should be rejected")
            .into_iter()
            .map(|p| p.path)
            .collect();
        paths.sort();
        paths
    }

    fn plan_of(v: &Value) -> IngestPlan {
        plan(&parse_event(v).unwrap_or_else(|p| panic!("rejected: {p:?}")))
    }

    fn patch<'a>(plan: &'a IngestPlan, id: &str) -> &'a AssetPatch {
        plan.assets
            .iter()
            .find(|a| a.id == id)
            .unwrap_or_else(|| panic!("no patch for {id} in {:?}", plan.assets))
    }

    fn derives<'a>(plan: &'a IngestPlan, from: &str, to: &str) -> &'a Edge {
        plan.edges
            .iter()
            .find(|e| e.kind == EdgeKind::Derives && e.from == from && e.to == to)
            .unwrap_or_else(|| panic!("no derives edge {from} -> {to}"))
    }

    fn mapping(from: &str, to: &str, transform: Option<&str>) -> ColumnMapping {
        ColumnMapping {
            from: from.into(),
            to: to.into(),
            transform: transform.map(str::to_string),
        }
    }

    /// The integration fixtures are expected-output templates without the
    /// envelope a real event has, and with placeholders for run ids and
    /// times; this supplies what is missing so that they can be parsed.
    fn completed(mut v: Value) -> Value {
        let o = v.as_object_mut().unwrap();
        if o.get("eventTime")
            .and_then(Value::as_str)
            .is_none_or(|t| parse_time(t).is_none())
        {
            o.insert("eventTime".into(), json!("2024-05-01T12:00:00Z"));
        }
        o.entry("producer").or_insert(json!(
            "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/integration/hive"
        ));
        o.entry("schemaURL").or_insert(json!(
            "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
        ));
        let run = o.get_mut("run").unwrap().as_object_mut().unwrap();
        if !run
            .get("runId")
            .and_then(Value::as_str)
            .is_some_and(is_uuid)
        {
            run.insert(
                "runId".into(),
                json!("7a3e9c1d-0b2f-4c5e-8d6a-1f2e3d4c5b6a"),
            );
        }
        v
    }

    #[test]
    fn example_events_parse_except_the_invalid_ones() {
        let files = files_under(&Path::new(DATA).join("events"));
        assert_eq!(files.len(), 15);
        let mut rejected = Vec::new();
        for f in &files {
            let name = f.file_name().unwrap().to_str().unwrap().to_string();
            match parse_event(&read(f)) {
                Ok(e) => {
                    // Every accepted event must also map onto assets that the
                    // catalog's own validation accepts.
                    let p = plan(&e);
                    for a in &p.assets {
                        a.apply(None)
                            .validate()
                            .unwrap_or_else(|err| panic!("{name}: {err}"));
                    }
                    for edge in &p.edges {
                        edge.to_input()
                            .into_edge()
                            .unwrap_or_else(|err| panic!("{name}: {err}"));
                    }
                }
                Err(problems) => rejected.push((name, problems)),
            }
        }
        let names: Vec<&str> = rejected.iter().map(|(n, _)| n.as_str()).collect();
        // event_no_run_id.json is the fluentd proxy's one invalid event;
        // nominal_time_without_end.json is a NominalTimeRunFacet, not an
        // event. The event_invalid_*_facet files break only their facets'
        // own schemas, which the core spec does not impose, so they pass.
        assert_eq!(
            names,
            ["nominal_time_without_end.json", "event_no_run_id.json"]
        );
        assert_eq!(
            rejected[1].1,
            vec![Problem::new("run.runId", "is required")]
        );
        let facet_paths: Vec<&str> = rejected[0].1.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(facet_paths, ["eventTime", "producer", "schemaURL", ""]);
    }

    #[test]
    fn parsed_events_carry_their_parts() {
        let e = parse_event(&data("events/client/python/tests/example_full_event.json")).unwrap();
        assert_eq!(e.kind, EventKind::Run);
        assert_eq!(e.event_type.as_deref(), Some("COMPLETE"));
        assert_eq!(e.event_time, "2020-12-28T19:51:01.641Z");
        assert_eq!(
            e.run_id.as_deref(),
            Some("ea041791-68bc-4ae1-bd89-4c8106a157e4")
        );
        assert_eq!(
            e.run_facets.keys().collect::<Vec<_>>(),
            ["nominalTime", "parent", "tags"]
        );
        let (ns, name, facets) = e.job.as_ref().unwrap();
        assert_eq!(
            (ns.as_str(), name.as_str()),
            ("my-scheduler-namespace", "myjob.mytask")
        );
        assert!(facets.contains_key("documentation"));
        assert_eq!(e.inputs.len(), 1);
        assert!(e.inputs[0].io_facets.contains_key("dataQualityAssertions"));
        assert!(e.outputs[0].io_facets.contains_key("outputStatistics"));

        let d = parse_event(&data(
            "events/client/python/tests/serde_example_dataset_event.json",
        ))
        .unwrap();
        assert_eq!(d.kind, EventKind::Dataset);
        assert_eq!((d.event_type, d.run_id, d.job), (None, None, None));
        assert_eq!(d.dataset.unwrap().name, "name");

        let j = parse_event(&data(
            "events/client/python/tests/serde_example_job_event.json",
        ))
        .unwrap();
        assert_eq!(j.kind, EventKind::Job);
        assert_eq!(j.event_type, None);
        assert_eq!(j.inputs[0].name, "dataset_a");
        assert_eq!(j.outputs[0].name, "dataset_b");
    }

    #[test]
    fn facets_that_break_their_own_schema_are_kept() {
        let dir = "events/proxy/fluentd/events/";
        let p = plan_of(&data(&format!("{dir}event_invalid_dataset_facet.json")));
        let out = patch(
            &p,
            &dataset_asset_id("my-datasource-namespace", "instance.schema.output-1"),
        );
        assert_eq!(
            out.facets["ownership"]["owners"],
            json!([{"no-name": "no-name-owner"}])
        );
        // Owners without names say nothing rather than "no owners".
        assert_eq!(out.owners, None);

        let p = plan_of(&data(&format!("{dir}event_invalid_run_facet.json")));
        let run = p.run.unwrap();
        assert_eq!(
            run.facets["parent"]["run"],
            json!({"noRunId": "invalid run id"})
        );

        let p = plan_of(&data(&format!(
            "{dir}event_invalid_output_dataset_facet.json"
        )));
        let out = patch(
            &p,
            &dataset_asset_id("my-datasource-namespace", "instance.schema.output-1"),
        );
        assert_eq!(out.facets["output:outputStatistics"]["rowCount"], "wrong");

        let p = plan_of(&data(&format!(
            "{dir}event_invalid_input_dataset_facet.json"
        )));
        let input = patch(
            &p,
            &dataset_asset_id("my-datasource-namespace", "instance.schema.input-1"),
        );
        assert_eq!(input.facets["input:dataQualityMetrics"]["noRowCount"], 1000);

        let p = plan_of(&data(&format!("{dir}event_invalid_job_facet.json")));
        let job = patch(&p, &job_asset_id("my-scheduler-namespace", "myjob"));
        assert!(job.facets["ownership"].is_object());
    }

    /// Where a facet example goes in an event, from its folder's name:
    /// "run", "job", "dataset", "input" or "output".
    fn placement(folder: &str, facet: &Value) -> &'static str {
        if folder == "LineageFacet" {
            // This folder holds both the job and the dataset variant; the
            // schema URL says which.
            let url = facet["_schemaURL"].as_str().unwrap();
            return if url.ends_with("LineageDatasetFacet") {
                "dataset"
            } else {
                "job"
            };
        }
        for (suffix, place) in [
            ("InputDatasetFacet", "input"),
            ("OutputDatasetFacet", "output"),
            ("DatasetFacet", "dataset"),
            ("JobFacet", "job"),
            ("RunFacet", "run"),
        ] {
            if folder.ends_with(suffix) {
                return place;
            }
        }
        panic!("no placement for facet folder {folder}");
    }

    #[test]
    fn every_facet_example_is_accepted_and_kept_verbatim() {
        let root = Path::new(DATA).join("spec/tests");
        let mut seen = BTreeSet::new();
        for file in files_under(&root) {
            let rel = file.strip_prefix(&root).unwrap();
            let Some(folder) = rel
                .parent()
                .and_then(Path::to_str)
                .filter(|f| !f.is_empty())
            else {
                continue; // example_full_event.json, an event; see below.
            };
            let example = read(&file);
            let (name, facet) = example.as_object().unwrap().iter().next().unwrap();
            let place = placement(folder, facet);
            seen.insert(place);
            let mut event = minimal_run();
            let facet_map = json!({ name.as_str(): facet });
            match place {
                "run" => event["run"]["facets"] = facet_map,
                "job" => event["job"]["facets"] = facet_map,
                "dataset" => event["outputs"][0]["facets"] = facet_map,
                "input" => event["inputs"][0]["inputFacets"] = facet_map,
                _ => event["outputs"][0]["outputFacets"] = facet_map,
            }
            let p = plan_of(&event);
            let dst = dataset_asset_id("postgres://db:5432", "public.dst");
            let src = dataset_asset_id("postgres://db:5432", "public.src");
            let kept = match place {
                "run" => p.run.as_ref().unwrap().facets.get(name),
                "job" => patch(&p, &job_asset_id("airflow", "daily.load"))
                    .facets
                    .get(name),
                "dataset" => patch(&p, &dst).facets.get(name),
                "input" => patch(&p, &src).facets.get(&format!("input:{name}")),
                _ => patch(&p, &dst).facets.get(&format!("output:{name}")),
            };
            assert_eq!(kept, Some(facet), "{}", rel.display());
            // And the stored asset keeps it too.
            if matches!(place, "dataset" | "output") {
                let key = if place == "dataset" {
                    name.clone()
                } else {
                    format!("output:{name}")
                };
                let asset = patch(&p, &dst).apply(None);
                assert_eq!(
                    &asset.properties["openlineage"][&key],
                    facet,
                    "{}",
                    rel.display()
                );
                asset.validate().unwrap();
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        plan_of(&data("spec/tests/example_full_event.json"));
    }

    #[test]
    fn schema_facet_example_gives_flattened_fields() {
        let mut event = minimal_run();
        event["outputs"][0]["facets"] = data("spec/tests/SchemaDatasetFacet/1.json");
        let p = plan_of(&event);
        let schema = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"))
            .schema
            .clone()
            .unwrap();
        let names: Vec<&str> = schema.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "user_id",
                "counterparty_id",
                "currency",
                "amount",
                "phones",
                "phones._element",
                "addresses",
                "addresses.type",
                "addresses.country",
                "addresses.zip",
                "addresses.state",
                "addresses.street",
                "custom_properties",
                "custom_properties.key",
                "custom_properties.value",
                "custom_properties.value._0",
                "custom_properties.value._1",
            ]
        );
        assert_eq!(schema[0], Field::new("user_id", "int64", true));
        assert_eq!(schema[5].data_type, "string");
        assert_eq!(schema[5].description, "Phone number");
        assert_eq!(schema[6].data_type, "struct");
    }

    #[test]
    fn schema_fields_without_a_type_get_unknown() {
        let mut event = minimal_run();
        event["outputs"][0]["facets"] = json!({"schema": {"fields": [{"name": "location_id"}, {"name": "location_id"}, {"type": "int"}]}});
        let p = plan_of(&event);
        let schema = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"))
            .schema
            .clone();
        assert_eq!(
            schema,
            Some(vec![Field::new("location_id", "unknown", true)])
        );
    }

    #[test]
    fn column_lineage_example_gives_derives_edges() {
        let mut event = minimal_run();
        event["outputs"][0]["facets"] = data("spec/tests/ColumnLineageDatasetFacet/1.json");
        let p = plan_of(&event);
        let dst = dataset_asset_id("postgres://db:5432", "public.dst");
        let customers = dataset_asset_id("SnowflakeOpenLineage", "CUSTOMERS");
        let discounts = dataset_asset_id("SnowflakeOpenLineage", "DISCOUNTS");
        let e = derives(&p, &customers, &dst);
        assert_eq!(e.id, edge_id(&customers, EdgeKind::Derives, &dst));
        // By hand from the file: NAME reads CUSTOMERS.NAME directly and
        // CUSTOMERS.ID through the join, and every output column joins on
        // CUSTOMERS.ID.
        assert_eq!(
            e.columns,
            vec![
                mapping("ID", "AMOUNT_OFF", Some("INDIRECT/JOIN")),
                mapping("ID", "ENDS_AT", Some("INDIRECT/JOIN")),
                mapping("ID", "NAME", Some("INDIRECT/JOIN")),
                mapping("ID", "STARTS_AT", Some("INDIRECT/JOIN")),
                mapping("NAME", "NAME", Some("DIRECT/IDENTITY")),
            ]
        );
        let e = derives(&p, &discounts, &dst);
        assert!(e.columns.contains(&mapping(
            "AMOUNT_OFF",
            "AMOUNT_OFF",
            Some("DIRECT/IDENTITY")
        )));
        assert!(e
            .columns
            .contains(&mapping("CUSTOMERS_ID", "NAME", Some("INDIRECT/JOIN"))));
        assert_eq!(e.columns.len(), 7);
        // Inputs named only by the facet still get a bare patch.
        let bare = patch(&p, &customers);
        assert_eq!(
            (bare.kind, bare.namespace.as_str(), bare.name.as_str()),
            (AssetKind::Dataset, "SnowflakeOpenLineage", "CUSTOMERS")
        );
        assert!(bare.facets.is_empty() && bare.schema.is_none());
        assert_eq!(
            p.edges
                .iter()
                .filter(|e| e.kind == EdgeKind::Derives)
                .count(),
            2
        );

        let mut event = minimal_run();
        event["outputs"][0]["facets"] = data("spec/tests/ColumnLineageDatasetFacet/2.json");
        let p = plan_of(&event);
        let people = dataset_asset_id(
            "s3://test-bucket",
            "/iceberg_warehouse/some-database/people",
        );
        assert_eq!(
            derives(&p, &people, &dst).columns,
            vec![
                mapping("age", "ageNextYear", Some("DIRECT/TRANSFORMATION")),
                mapping("first_name", "firstName", Some("DIRECT/IDENTITY")),
                mapping("id", "id", Some("DIRECT/IDENTITY")),
                mapping("last_name", "lastName", Some("DIRECT/IDENTITY")),
            ]
        );
    }

    #[test]
    fn legacy_transformation_type_is_the_fallback() {
        let mut event = minimal_run();
        event["outputs"][0]["facets"] = json!({"columnLineage": {"fields": {
            "total": {
                "inputFields": [
                    {"namespace": "postgres://db:5432", "name": "public.src", "field": "amount", "transformations": []},
                    {"namespace": "postgres://db:5432", "name": "public.src", "field": "amount"}
                ],
                "transformationType": "IDENTITY",
                "transformationDescription": "SELECT amount"
            },
            "other": {"inputFields": [{"namespace": "postgres://db:5432", "name": "public.src", "field": "x"}]},
            "self": {"inputFields": [{"namespace": "postgres://db:5432", "name": "public.dst", "field": "x"}]}
        }}});
        let p = plan_of(&event);
        let src = dataset_asset_id("postgres://db:5432", "public.src");
        let dst = dataset_asset_id("postgres://db:5432", "public.dst");
        // The two inputs give the same mapping, which is kept once.
        assert_eq!(
            derives(&p, &src, &dst).columns,
            vec![
                mapping("amount", "total", Some("IDENTITY/SELECT amount")),
                mapping("x", "other", None),
            ]
        );
        // A dataset feeding itself gives no edge.
        assert!(!p.edges.iter().any(|e| e.from == e.to));
    }

    #[test]
    fn hive_integration_outputs_give_derives_edges() {
        let dir = Path::new(DATA).join(
            "column-lineage-shapes/integration/hive/hive-openlineage-hook/integrations/container",
        );
        let files = files_under(&dir);
        assert_eq!(files.len(), 11);
        for f in &files {
            let p = plan_of(&completed(read(f)));
            let e = parse_event(&completed(read(f))).unwrap();
            for out in &e.outputs {
                let Some(fields) = out.facets["columnLineage"]["fields"].as_object() else {
                    continue;
                };
                let to = dataset_asset_id(&out.namespace, &out.name);
                let mapped: BTreeSet<&str> = p
                    .edges
                    .iter()
                    .filter(|e| e.kind == EdgeKind::Derives && e.to == to)
                    .flat_map(|e| e.columns.iter().map(|m| m.to.as_str()))
                    .collect();
                let want: BTreeSet<&str> = fields
                    .iter()
                    .filter(|(_, s)| s["inputFields"].as_array().is_some_and(|a| !a.is_empty()))
                    .map(|(k, _)| k.as_str())
                    .collect();
                assert_eq!(mapped, want, "{}", f.display());
            }
            for edge in &p.edges {
                let from = p.assets.iter().find(|a| a.id == edge.from).unwrap();
                let to = p.assets.iter().find(|a| a.id == edge.to).unwrap();
                assert!(edge.kind.allows(from.kind, to.kind), "{}", f.display());
            }
        }

        let p = plan_of(&completed(read(
            &dir.join("cllSimpleInsertFromTableComplete.json"),
        )));
        let t1 = dataset_asset_id("hive://localhost:9083", "test.t1");
        let t2 = dataset_asset_id("hive://localhost:9083", "test.t2");
        assert_eq!(
            derives(&p, &t2, &t1).columns,
            vec![
                mapping("a", "a", Some("DIRECT/IDENTITY")),
                mapping("b", "b", Some("DIRECT/TRANSFORMATION")),
            ]
        );
        let job = job_asset_id("default", "query.test.t1");
        assert_eq!(
            p.edges
                .iter()
                .map(|e| (e.from.as_str(), e.kind, e.to.as_str()))
                .collect::<BTreeSet<_>>(),
            BTreeSet::from([
                (t2.as_str(), EdgeKind::Reads, job.as_str()),
                (job.as_str(), EdgeKind::Writes, t1.as_str()),
                (t2.as_str(), EdgeKind::Derives, t1.as_str()),
            ])
        );

        // Dataset-level lineage (the join keys) adds no column mappings.
        let p = plan_of(&completed(read(&dir.join("cllCtasWithJoinsComplete.json"))));
        let xxx = dataset_asset_id("hive://localhost:9083", "test.xxx");
        let t1 = dataset_asset_id("hive://localhost:9083", "test.t1");
        assert_eq!(
            derives(&p, &t1, &xxx).columns,
            vec![mapping("id", "id", Some("DIRECT/TRANSFORMATION"))]
        );
        assert_eq!(
            derives(&p, &t2, &xxx).columns,
            vec![mapping("name", "name", Some("DIRECT/IDENTITY"))]
        );
    }

    #[test]
    fn dbt_integration_events_give_derives_edges_without_transforms() {
        let events = data(
            "column-lineage-shapes/integration/common/tests/dbt/structured_logs/bigquery/run/results/successful_run_ol_events.json",
        );
        let events = events.as_array().unwrap();
        assert_eq!(events.len(), 4);
        let plans: Vec<IngestPlan> = events
            .iter()
            .map(|e| plan_of(&completed(e.clone())))
            .collect();
        let raw = dataset_asset_id("bigquery", "example-bigquery-project.raw.raw_stores");
        let stg = dataset_asset_id(
            "bigquery",
            "example-bigquery-project.jaffle_shop.stg_locations",
        );
        assert_eq!(
            derives(&plans[2], &raw, &stg).columns,
            vec![
                mapping("id", "location_id", None),
                mapping("name", "location_name", None),
                mapping("tax_rate", "tax_rate", None),
            ]
        );
        assert!(plans[1].edges.iter().all(|e| e.kind != EdgeKind::Derives));
        assert_eq!(
            patch(&plans[2], &stg).schema,
            Some(vec![Field::new("location_id", "unknown", true)])
        );
        assert_eq!(plans[3].run.as_ref().unwrap().event_type, "COMPLETE");
    }

    #[test]
    fn malformed_events_are_rejected_at_precise_paths() {
        type Breakage = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Breakage)> = vec![
            (
                "run.runId",
                Box::new(|e| {
                    e["run"].as_object_mut().unwrap().remove("runId");
                }),
            ),
            (
                "run.runId",
                Box::new(|e| e["run"]["runId"] = json!("run-1")),
            ),
            (
                "eventTime",
                Box::new(|e| e["eventTime"] = json!("yesterday")),
            ),
            (
                "eventTime",
                Box::new(|e| e["eventTime"] = json!(1714564800)),
            ),
            (
                "eventTime",
                Box::new(|e| e["eventTime"] = json!("2024-02-30T12:00:00Z")),
            ),
            ("producer", Box::new(|e| e["producer"] = json!(42))),
            ("producer", Box::new(|e| e["producer"] = json!("not a uri"))),
            (
                "schemaURL",
                Box::new(|e| {
                    e.as_object_mut().unwrap().remove("schemaURL");
                }),
            ),
            (
                "inputs",
                Box::new(|e| e["inputs"] = json!({"namespace": "a", "name": "b"})),
            ),
            (
                "inputs[0].name",
                Box::new(|e| {
                    e["inputs"][0].as_object_mut().unwrap().remove("name");
                }),
            ),
            (
                "outputs[0].namespace",
                Box::new(|e| e["outputs"][0]["namespace"] = json!(7)),
            ),
            (
                "outputs[0]",
                Box::new(|e| e["outputs"][0] = json!("public.dst")),
            ),
            ("eventType", Box::new(|e| e["eventType"] = json!("DONE"))),
            (
                "job",
                Box::new(|e| {
                    e.as_object_mut().unwrap().remove("job");
                }),
            ),
            ("job.name", Box::new(|e| e["job"]["name"] = json!(""))),
            ("job.facets", Box::new(|e| e["job"]["facets"] = json!([]))),
            (
                "run.facets.nominalTime",
                Box::new(|e| e["run"]["facets"] = json!({"nominalTime": "2024-05-01"})),
            ),
            (
                "inputs[0].inputFacets.stats",
                Box::new(|e| e["inputs"][0]["inputFacets"] = json!({"stats": 3})),
            ),
            (
                "outputs[0].facets.schema._deleted",
                Box::new(|e| e["outputs"][0]["facets"] = json!({"schema": {"_deleted": "yes"}})),
            ),
        ];
        for (path, break_it) in cases {
            let mut e = minimal_run();
            break_it(&mut e);
            assert_eq!(problem_paths(&e), [path], "{e}");
        }
        assert_eq!(problem_paths(&json!([1])), [""]);
        assert_eq!(
            problem_paths(
                &json!({"eventTime": "2024-05-01T12:00:00Z", "producer": "urn:p", "schemaURL": "urn:s", "job": {"namespace": "a", "name": "b"}, "dataset": {"namespace": "a", "name": "b"}})
            ),
            ["dataset"]
        );
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let mut e = minimal_run();
        e["eventTime"] = json!("yesterday");
        e["producer"] = json!(42);
        let problems = parse_event(&e).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].path, "eventTime");
        assert!(
            problems[0].message.contains("yesterday"),
            "{}",
            problems[0].message
        );
        assert_eq!(
            problems[1],
            Problem::new("producer", "must be a string, not a number")
        );

        let mut e = minimal_run();
        e["run"] = json!({});
        e["inputs"][0] = json!({"namespace": 1});
        e["eventType"] = json!("DONE");
        assert_eq!(
            problem_paths(&e),
            [
                "eventType",
                "inputs[0].name",
                "inputs[0].namespace",
                "run.runId"
            ]
        );
    }

    #[test]
    fn empty_facets_and_empty_schema_fields_are_accepted() {
        // As the official Python client sends them.
        let mut e = minimal_run();
        e["run"]["facets"] = json!({});
        e["job"]["facets"] = json!({});
        e["inputs"][0]["facets"] = json!({});
        e["inputs"][0]["inputFacets"] = json!({});
        e["outputs"][0]["facets"] = json!({"schema": {
            "_producer": "https://github.com/OpenLineage/OpenLineage/tree/1.0.0/client/python",
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
            "fields": []
        }});
        let p = plan_of(&e);
        let dst = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"));
        // An empty schema says nothing, so it cannot wipe a known one.
        assert_eq!(dst.schema, None);
        assert!(dst.facets["schema"]["fields"]
            .as_array()
            .unwrap()
            .is_empty());

        // Nested `fields: []` of a column is no child.
        let p = plan_of(&data("events/client/python/tests/example_full_event.json"));
        let t = patch(
            &p,
            &dataset_asset_id("my-datasource-namespace", "instance.schema.table"),
        );
        assert_eq!(
            t.schema,
            Some(vec![Field {
                description: "string".into(),
                ..Field::new("column1", "VARCHAR", true)
            }])
        );
    }

    #[test]
    fn times_parse_as_instants() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            parse_time("1970-01-01T01:00:00.5+01:00"),
            Some((0, 500_000_000))
        );
        assert_eq!(parse_time("2000-03-01T00:00:00z"), Some((951_868_800, 0)));
        assert_eq!(
            parse_time("2024-02-29T00:00:00-00:30"),
            Some((1_709_166_600, 0))
        );
        // Offset-less, as the Python client writes naive datetimes: UTC.
        assert_eq!(
            parse_time("2021-11-03T10:53:52.427343"),
            parse_time("2021-11-03T10:53:52.427343Z")
        );
        assert_eq!(
            parse_time("2021-11-03T10:53:52.1234567891Z").unwrap().1,
            123_456_789
        );
        for bad in [
            "yesterday",
            "2020-12-28",
            "2023-02-29T00:00:00Z",
            "2020-12-28T24:00:00Z",
            "2020-12-28 19:52:00Z",
            "2020-12-28T19:52:00.Z",
            "2020-12-28T19:52:00+1000",
            "2020-12-28T19:52:00Zjunk",
            "2020-13-01T00:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(
            time_cmp("2020-12-28T19:52:00+10:00", "2020-12-28T10:00:00Z"),
            Ordering::Less
        );
    }

    fn update(event_type: &str, time: &str, facets: Value) -> RunUpdate {
        RunUpdate {
            run_id: "d46e465b-d358-4d32-83d4-df660ff614dd".into(),
            job: job_asset_id("airflow", "daily.load"),
            event_type: event_type.into(),
            event_time: time.into(),
            facets: facets.as_object().unwrap().clone(),
        }
    }

    fn fold(updates: &[&RunUpdate]) -> RunRecord {
        updates
            .iter()
            .fold(None, |r, u| Some(merge_run(r, u)))
            .unwrap()
    }

    fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
        if items.len() <= 1 {
            return vec![items.to_vec()];
        }
        let mut out = Vec::new();
        for i in 0..items.len() {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            for mut p in permutations(&rest) {
                p.insert(0, first.clone());
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn runs_merge_in_any_order() {
        let start = update(
            "START",
            "2024-05-01T12:00:00Z",
            json!({"nominalTime": {"nominalStartTime": "2024-05-01T00:00:00Z"}, "spark": {"v": 1}}),
        );
        let running = update(
            "RUNNING",
            "2024-05-01T12:05:00Z",
            json!({"spark": {"v": 2}}),
        );
        // Written with an offset: later than RUNNING as an instant, though
        // its text sorts first.
        let complete = update(
            "COMPLETE",
            "2024-05-01T14:10:00+02:00",
            json!({"spark": {"v": 3}}),
        );
        let other = update("OTHER", "2024-05-01T13:00:00Z", json!({"extra": true}));
        let all = [&start, &running, &complete, &other, &start];
        let want = fold(&all);
        assert_eq!(want.state, "COMPLETE");
        assert_eq!(want.started_at.as_deref(), Some("2024-05-01T12:00:00Z"));
        assert_eq!(want.ended_at.as_deref(), Some("2024-05-01T14:10:00+02:00"));
        assert_eq!(
            want.events,
            vec![
                ("START".to_string(), "2024-05-01T12:00:00Z".to_string()),
                ("RUNNING".to_string(), "2024-05-01T12:05:00Z".to_string()),
                (
                    "COMPLETE".to_string(),
                    "2024-05-01T14:10:00+02:00".to_string()
                ),
                ("OTHER".to_string(), "2024-05-01T13:00:00Z".to_string()),
            ]
        );
        assert_eq!(want.facets["spark"], json!({"v": 3}));
        assert_eq!(want.facets["extra"], json!(true));
        assert!(want.facets.contains_key("nominalTime"));
        let perms = permutations(&all);
        assert_eq!(perms.len(), 120);
        for order in perms {
            assert_eq!(
                fold(&order),
                want,
                "{:?}",
                order.iter().map(|u| &u.event_type).collect::<Vec<_>>()
            );
        }
        // Applying an update again changes nothing.
        assert_eq!(merge_run(Some(want.clone()), &complete), want);
        assert_eq!(merge_run(Some(want.clone()), &running), want);
    }

    #[test]
    fn run_state_follows_precedence() {
        let start = update("START", "2024-05-01T12:00:00Z", json!({}));
        let running = update("RUNNING", "2024-05-01T12:05:00Z", json!({}));
        let r = fold(&[&running, &start]);
        assert_eq!((r.state.as_str(), r.ended_at.as_deref()), ("RUNNING", None));
        // A terminal state beats a later RUNNING.
        let fail = update(
            "FAIL",
            "2024-05-01T12:01:00Z",
            json!({"errorMessage": {"message": "boom"}}),
        );
        let r = fold(&[&fail, &running, &start]);
        assert_eq!(r.state, "FAIL");
        assert_eq!(r.ended_at.as_deref(), Some("2024-05-01T12:01:00Z"));
        assert_eq!(r.facets["errorMessage"]["message"], "boom");
        // Among terminal states the latest wins.
        let abort = update("ABORT", "2024-05-01T12:02:00Z", json!({}));
        assert_eq!(fold(&[&abort, &fail]).state, "ABORT");
        assert_eq!(fold(&[&fail, &abort]).state, "ABORT");
        // OTHER carries facets but is a state only when nothing else is.
        let other = update("OTHER", "2024-05-01T13:00:00Z", json!({}));
        assert_eq!(fold(&[&start, &other]).state, "START");
        assert_eq!(fold(&[&other]).state, "OTHER");
        assert_eq!(fold(&[&other]).started_at, None);
    }

    proptest! {
        #[test]
        fn run_merging_is_order_independent(
            picks in proptest::collection::vec((0usize..6, 0u32..4, 0u8..3), 1..8),
            seed in any::<u64>(),
        ) {
            let updates: Vec<RunUpdate> = picks
                .iter()
                .map(|&(t, minute, v)| update(
                    EVENT_TYPES[t],
                    &format!("2024-05-01T12:0{minute}:00Z"),
                    json!({"f": v, format!("g{t}"): minute}),
                ))
                .collect();
            let forward: Vec<&RunUpdate> = updates.iter().collect();
            let mut shuffled = forward.clone();
            // A seeded Fisher-Yates shuffle, to try arbitrary orders.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let a = fold(&forward);
            prop_assert_eq!(&a, &fold(&shuffled));
            let mut twice = forward.clone();
            twice.extend(forward.iter().copied());
            prop_assert_eq!(&a, &fold(&twice));
        }
    }

    fn stored_asset() -> Asset {
        let mut a =
            AssetPatch::bare(AssetKind::Dataset, "postgres://db:5432", "public.dst").apply(None);
        a.description = "kept".into();
        a.owners = vec!["team:data".into()];
        a.schema = vec![Field::new("id", "bigint", false)];
        a.tags = vec!["gold".into()];
        a.version = 7;
        a.created_at = Some("2024-01-01T00:00:00Z".into());
        a.properties.insert(
            "openlineage".into(),
            json!({"storage": {"fileFormat": "parquet"}, "dataSource": {"uri": "x"}}),
        );
        a
    }

    #[test]
    fn patches_without_values_keep_what_is_stored() {
        let old = stored_asset();
        let p = AssetPatch::bare(AssetKind::Dataset, "postgres://db:5432", "public.dst");
        assert_eq!(p.apply(Some(&old)), old);
        let new = p.apply(None);
        assert_eq!(
            (new.description.as_str(), new.owners.len(), new.schema.len()),
            ("", 0, 0)
        );
        assert_eq!(new.id, dataset_asset_id("postgres://db:5432", "public.dst"));
        assert!(new.properties.is_empty());
    }

    #[test]
    fn patches_with_values_replace_and_merge_facets() {
        let old = stored_asset();
        let mut p = AssetPatch::bare(AssetKind::Dataset, "postgres://db:5432", "public.dst");
        p.description = Some("new".into());
        p.owners = Some(vec!["user:ann".into()]);
        p.schema = Some(vec![Field::new("id", "int", true)]);
        p.dataset_version = Some("42".into());
        p.facets
            .insert("storage".into(), json!({"fileFormat": "delta"}));
        p.facets
            .insert("dataSource".into(), json!({"_deleted": true}));
        p.facets
            .insert("output:outputStatistics".into(), json!({"rowCount": 3}));
        let a = p.apply(Some(&old));
        assert_eq!(a.description, "new");
        assert_eq!(a.owners, ["user:ann"]);
        assert_eq!(a.schema, [Field::new("id", "int", true)]);
        assert_eq!(a.properties["datasetVersion"], "42");
        assert_eq!(
            a.properties["openlineage"],
            json!({"storage": {"fileFormat": "delta"}, "output:outputStatistics": {"rowCount": 3}})
        );
        assert_eq!(
            (a.version, a.created_at.as_deref(), a.tags.clone()),
            (7, Some("2024-01-01T00:00:00Z"), vec!["gold".to_string()])
        );
        assert_eq!(
            a.changed_fields(&old),
            ["description", "owners", "schema", "properties"]
        );
    }

    #[test]
    fn facets_fill_the_catalog_fields() {
        let mut e = minimal_run();
        e["outputs"][0]["facets"] = json!({
            "documentation": {"description": "Daily totals"},
            "ownership": {"owners": [{"name": "team:data"}, {"name": "team:data"}, {"name": "user:ann", "type": "MAINTAINER"}]},
            "version": {"datasetVersion": "17"},
            "custom_thing": {"anything": [1, 2]}
        });
        e["job"]["facets"] =
            json!({"documentation": {"description": "Loads daily"}, "ownership": {"owners": []}});
        let p = plan_of(&e);
        let dst = patch(&p, &dataset_asset_id("postgres://db:5432", "public.dst"));
        assert_eq!(dst.description.as_deref(), Some("Daily totals"));
        assert_eq!(
            dst.owners,
            Some(vec!["team:data".to_string(), "user:ann".to_string()])
        );
        assert_eq!(dst.dataset_version.as_deref(), Some("17"));
        assert_eq!(dst.facets["custom_thing"], json!({"anything": [1, 2]}));
        let job = patch(&p, &job_asset_id("airflow", "daily.load"));
        assert_eq!(job.kind, AssetKind::Workflow);
        assert_eq!(job.description.as_deref(), Some("Loads daily"));
        assert_eq!(job.owners, Some(vec![]));
        assert_eq!(job.schema, None);
    }

    #[test]
    fn plans_are_sorted_and_shaped_by_event_kind() {
        let e = data("events/proxy/fluentd/events/event_simple.json");
        let p = plan_of(&e);
        let ids: Vec<&str> = p.assets.iter().map(|a| a.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert_eq!(ids.len(), 4);
        let job = job_asset_id("my-scheduler-namespace", "myjob");
        let in1 = dataset_asset_id("my-datasource-namespace", "instance.schema.input-1");
        let out = dataset_asset_id("my-datasource-namespace", "instance.schema.output-1");
        assert_eq!(job, "workflow:my-scheduler-namespace:myjob");
        let edge_ids: Vec<&str> = p.edges.iter().map(|e| e.id.as_str()).collect();
        let mut sorted = edge_ids.clone();
        sorted.sort();
        assert_eq!(edge_ids, sorted);
        assert_eq!(p.edges.len(), 3);
        assert!(p
            .edges
            .iter()
            .any(|e| e.id == edge_id(&in1, EdgeKind::Reads, &job) && e.from == in1));
        assert!(p
            .edges
            .iter()
            .any(|e| e.id == edge_id(&job, EdgeKind::Writes, &out) && e.to == out));
        assert!(p
            .edges
            .iter()
            .all(|e| e.first_seen.is_none() && e.last_seen.is_none()));
        let run = p.run.unwrap();
        assert_eq!(
            (
                run.run_id.as_str(),
                run.job.as_str(),
                run.event_type.as_str()
            ),
            (
                "41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7",
                job.as_str(),
                "COMPLETE"
            )
        );
        assert_eq!(plan_of(&e), plan_of(&e));

        // A dataset event: its dataset only.
        let p = plan_of(&data(
            "events/client/python/tests/serde_example_dataset_event.json",
        ));
        assert_eq!(p.assets.len(), 1);
        assert_eq!(p.assets[0].id, dataset_asset_id("openlineage", "name"));
        assert_eq!(p.assets[0].schema.as_ref().unwrap().len(), 2);
        assert!(p.edges.is_empty() && p.run.is_none());

        // A job event: job and edges, no run.
        let p = plan_of(&data(
            "events/client/python/tests/serde_example_job_event.json",
        ));
        assert_eq!(p.assets.len(), 3);
        assert_eq!(p.edges.len(), 2);
        assert!(p.run.is_none());

        // A run event without eventType updates its run as OTHER.
        let mut e = minimal_run();
        e.as_object_mut().unwrap().remove("eventType");
        assert_eq!(plan_of(&e).run.unwrap().event_type, "OTHER");
    }

    #[test]
    fn a_dataset_both_read_and_written_gets_one_patch() {
        let p = plan_of(&data("events/proxy/fluentd/events/event_full.json"));
        let t = dataset_asset_id("my-datasource-namespace", "instance.schema.table");
        assert_eq!(p.assets.iter().filter(|a| a.id == t).count(), 1);
        let t = patch(&p, &t);
        assert!(t.facets.contains_key("input:dataQualityMetrics"));
        assert!(t.facets.contains_key("output:outputStatistics"));
        assert_eq!(t.facets["additionalProp1"]["additionalProp1"], json!({}));
        assert_eq!(
            t.description.as_deref(),
            Some("canonical representation of entity Foo")
        );
        // Read and written, but no derives edge onto itself.
        assert_eq!(p.edges.len(), 2);
    }
}
