//! What the engine tells the outside world. The engine never prints: it
//! emits events to a [`Reporter`], and the CLI decides how to show them
//! (progress bars, plain lines, JSON Lines).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::state::{RunOutcome, StepStatus};

/// One thing that happened. Serialized as one JSON object per line with
/// an `event` tag (see `docs/events.md`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    RunStarted {
        run_id: String,
        plan: String,
        steps: usize,
        /// Steps this command will try to run.
        to_run: usize,
        resumed: bool,
        parallelism: usize,
    },
    /// Something worth knowing that is not an error (a stale lock taken
    /// over, drift accepted, steps that joined the run).
    Notice {
        message: String,
    },
    PreflightChecked {
        id: String,
        description: Option<String>,
        passed: bool,
        error: Option<String>,
        help: Option<String>,
    },
    StepStarted {
        step: String,
        description: Option<String>,
    },
    /// An attempt of the step's `run` begins (checkpointed as running).
    StepRunning {
        step: String,
        attempt: u32,
        attempts: u32,
    },
    StepRetrying {
        step: String,
        attempt: u32,
        delay_ms: u64,
        error: String,
    },
    StepFinished {
        step: String,
        status: StepStatus,
        elapsed_ms: u64,
        error: Option<String>,
        /// The last lines of the step's log, on failure.
        log_tail: Vec<String>,
        help: Option<String>,
        log: Option<String>,
    },
    /// A step stopped while running was asked whether its attempt took
    /// effect (by `resume`, before deciding what to run, and by
    /// `rollback`). `verdict`: `took_effect` (not run again; its `verify`
    /// runs), `no_effect` or `partly` (run again, continuing where it
    /// stopped), `unknown` (its `idempotent` or `check`, else an operator,
    /// decides).
    StepSettled {
        step: String,
        attempt: u32,
        asked: String,
        found: String,
        verdict: String,
    },
    /// Dependents of a failed step that will not run.
    StepsBlocked {
        by: String,
        steps: Vec<String>,
    },
    /// A manual gate nobody could approve: the run pauses there.
    AwaitingApproval {
        step: String,
        instructions: String,
    },
    RollbackStarted {
        run_id: String,
        steps: usize,
        /// Steps that ran but have nothing to undo them.
        without_rollback: Vec<String>,
    },
    RunFinished {
        run_id: String,
        outcome: RunOutcome,
        counts: BTreeMap<StepStatus, usize>,
        elapsed_ms: u64,
    },
    /// Every `--heartbeat` while steps run longer than it: what runs, for
    /// how long, and how far a long step got (a table copy's rows).
    Heartbeat {
        steps: Vec<Beat>,
    },
}

/// One running step in a [`Event::Heartbeat`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Beat {
    pub step: String,
    pub elapsed_ms: u64,
    /// Rows copied so far, for a step that copies rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Rows per second since the step started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_per_second: Option<u64>,
}

pub(crate) trait Reporter: Send + Sync {
    fn report(&self, event: &Event);
}
