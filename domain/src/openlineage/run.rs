//! Run records: every state update of a run folded into one record that
//! arrival order cannot change.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::time::{parse_time, time_cmp};

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
