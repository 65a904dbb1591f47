//! Reports of a run after the fact, from the state: JUnit XML for a CI's
//! test tab (each step and each verify probe a test case) and Markdown for
//! the pull request. What the state holds is already masked: no secret
//! can appear here.

pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod markdown;

use std::collections::HashMap;

use crate::state::{EventRecord, RunRecord, StepRecord};

/// What the plan a run followed says about one of its steps.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepFacts {
    pub phase: String,
    pub verify: usize,
    /// Whether it has a `check`.
    pub check: bool,
    pub depends_on: Vec<String>,
    /// Its level in the graph (one more than its deepest dependency).
    pub level: usize,
}

/// A run, its journal, and what the plan it followed says about each step.
pub(crate) struct RunReport<'a> {
    pub run: &'a RunRecord,
    pub steps: &'a [StepRecord],
    pub events: &'a [EventRecord],
    /// Per step id (from the plan as applied; absent when it could not be
    /// read again).
    pub plan: HashMap<String, StepFacts>,
    /// Per step id, the last lines of its log (masked when written), where
    /// the logs are at hand.
    pub log_tails: HashMap<String, Vec<String>>,
}

impl RunReport<'_> {
    fn phase(&self, step: &StepRecord) -> &str {
        self.plan
            .get(&step.step_id)
            .map_or("main", |facts| facts.phase.as_str())
    }

    fn verify_count(&self, step: &StepRecord) -> usize {
        self.plan.get(&step.step_id).map_or(0, |facts| facts.verify)
    }
}

/// Seconds between two recorded times, when both are there.
fn seconds(started: Option<&str>, finished: Option<&str>) -> Option<f64> {
    let started: jiff::Timestamp = started?.parse().ok()?;
    let finished: jiff::Timestamp = finished?.parse().ok()?;
    let span = finished.duration_since(started);
    Some(span.as_secs_f64().max(0.0))
}

/// The first line of a stored error, and the rest.
fn split_error(error: Option<&str>) -> (&str, &str) {
    let error = error.unwrap_or_default();
    error.split_once('\n').unwrap_or((error, ""))
}

/// Which verify probe failed, from a stored error (`verify 2 (http) failed: …`).
fn failed_verify(error: Option<&str>) -> Option<usize> {
    let rest = error?.strip_prefix("verify ")?;
    let number = rest.split(' ').next()?;
    number.parse().ok()
}
