//! The validated plan: what later phases (graph, preview, execution) use.
//! Everything here has been checked once; nothing downstream re-checks it.

use std::ops::Range;

use indexmap::IndexMap;
use serde::Serialize;
use toml::Spanned;

use crate::plan::raw::{SecretSource, VarValue};
use crate::plan::source::Source;
use crate::steps::{Action, Probe};
use crate::units::duration::Duration;

pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
pub(crate) const DEFAULT_PHASE: &str = "main";

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub source: Source,
    pub name: String,
    pub description: Option<String>,
    pub parallelism: Option<usize>,
    /// Resolved values (overrides applied).
    pub vars: IndexMap<String, VarValue>,
    pub secrets: IndexMap<String, SecretSource>,
    pub preflight: Vec<Preflight>,
    /// In declaration order; a step's index here is its node in the graph.
    pub steps: Vec<Step>,
    /// Phase names in order of first appearance.
    pub phases: Vec<String>,
}

impl Plan {
    /// Passwords typed into plain vars as part of a URL: not declared
    /// secrets, but kept out of logs, errors, previews and state all the same.
    pub(crate) fn typed_passwords(&self) -> Vec<String> {
        self.vars
            .values()
            .filter_map(|value| match value {
                VarValue::String(text) if text.contains("://") => Some(text),
                _ => None,
            })
            .flat_map(|text| crate::redact::credentials::passwords(text))
            // A `${secrets.…}` reference is not the password itself.
            .filter(|password| !password.contains("${") && !password.contains("%7B"))
            .collect()
    }

    pub(crate) fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|step| step.id == id)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Preflight {
    pub id: String,
    pub description: Option<String>,
    pub probe: Spanned<Probe>,
    pub help: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub id: String,
    /// Span of the id in `[steps.<id>]`.
    pub span: Range<usize>,
    pub phase: String,
    pub description: Option<String>,
    pub depends_on: Vec<Spanned<String>>,
    pub check: Option<Spanned<Probe>>,
    pub preconditions: Vec<Spanned<Probe>>,
    pub run: Option<Spanned<Action>>,
    pub verify: Vec<Spanned<Probe>>,
    pub rollback: Option<Spanned<Action>>,
    pub timeout: Duration,
    pub retry: Retry,
    pub idempotent: bool,
    pub help: Option<String>,
    /// `${steps.ID.outputs.KEY}` references in this step, for the ancestry check.
    pub output_refs: Vec<(String, Range<usize>)>,
}

impl Step {
    /// Whether rolling this step back does something: an explicit rollback,
    /// or an action that undoes itself.
    pub(crate) fn can_roll_back(&self) -> bool {
        self.rollback.is_some() || self.run.as_ref().is_some_and(|run| run.get_ref().has_builtin_undo())
    }

    pub(crate) fn probes(&self) -> impl Iterator<Item = &Spanned<Probe>> {
        self.check.iter().chain(&self.preconditions).chain(&self.verify)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Retry {
    pub attempts: u32,
    pub delay: Duration,
    pub backoff: f64,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 1,
            delay: Duration::from_secs(1),
            backoff: 2.0,
        }
    }
}

impl Retry {
    /// The pause before try number `attempt` (2 = the first retry).
    pub(crate) fn delay_before(&self, attempt: u32) -> std::time::Duration {
        let exponent = i32::try_from(attempt.saturating_sub(2)).unwrap_or(i32::MAX);
        self.delay.std().mul_f64(self.backoff.powi(exponent).min(1e6))
    }
}
