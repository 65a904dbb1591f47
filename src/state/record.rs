//! What the store keeps: runs, their steps, and the event journal.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::state::status::{RunOutcome, StepStatus};
use crate::supervise::ProcessGroup;

/// One execution of a plan, from `apply` to its end (through any number of
/// `resume`s). The plan's source and var overrides are kept so `rollback`
/// and `resume` use exactly what was applied; secrets are never stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub id: String,
    pub plan_name: String,
    /// The plan file as given to `apply`.
    pub plan_path: String,
    /// SHA-256 of the plan file applied.
    pub plan_hash: String,
    #[serde(skip)]
    pub plan_source: String,
    /// Var overrides given on the command line (`--var`, `--var-file`).
    pub overrides: IndexMap<String, String>,
    /// Every var as resolved for this run.
    pub vars: IndexMap<String, serde_json::Value>,
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: RunOutcome,
}

/// The plan file a run follows, as `set_plan` replaces it.
pub struct PlanFile<'a> {
    pub path: &'a str,
    /// SHA-256 of `source`.
    pub hash: &'a str,
    pub source: &'a str,
}

/// The state of one step in one run.
///
/// SQLite's store reads it as a JSON array of these fields in this order
/// (`state::sqlite`'s `steps_fields!`): a new field goes last, with
/// `#[serde(default)]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step_id: String,
    /// Position in the plan's execution order (for stable listings).
    pub position: u32,
    pub status: StepStatus,
    /// Tries of `run` so far.
    pub attempts: u32,
    /// Hash of the step's definition when it last ran (for drift).
    pub definition_hash: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// `KEY=value` lines the step wrote to `$PLANRUN_OUTPUT`.
    pub outputs: IndexMap<String, String>,
    /// Why it failed (redacted), with the tail of its log.
    pub error: Option<String>,
    /// What a kind with built-in undo needs to undo exactly what it did.
    pub undo: Option<serde_json::Value>,
    /// Where a long action got to (a table copy's last key), so a resumed
    /// run continues from there.
    pub progress: Option<serde_json::Value>,
    /// The process group the step's action runs in, recorded before its
    /// command starts and cleared when it ends: found by a later command,
    /// it may still be alive (see `exec::leftovers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessGroup>,
}

impl StepRecord {
    pub fn pending(step_id: &str, position: u32, definition_hash: String) -> StepRecord {
        StepRecord {
            step_id: step_id.to_string(),
            position,
            status: StepStatus::Pending,
            attempts: 0,
            definition_hash,
            started_at: None,
            finished_at: None,
            outputs: IndexMap::new(),
            error: None,
            undo: None,
            progress: None,
            process: None,
        }
    }
}

/// An entry of the append-only journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub seq: i64,
    pub run_id: String,
    pub at: String,
    pub step_id: Option<String>,
    pub kind: String,
    pub message: String,
}

/// A journal entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub step_id: Option<String>,
    pub kind: &'static str,
    pub message: String,
}

impl NewEvent {
    pub fn run(kind: &'static str, message: impl Into<String>) -> NewEvent {
        NewEvent {
            step_id: None,
            kind,
            message: message.into(),
        }
    }

    pub fn step(step_id: &str, kind: &'static str, message: impl Into<String>) -> NewEvent {
        NewEvent {
            step_id: Some(step_id.to_string()),
            kind,
            message: message.into(),
        }
    }
}

/// The current time as RFC 3339, as stored.
pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}
