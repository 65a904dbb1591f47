//! Why an engine command could not do its work (as opposed to a step
//! failing, which is an outcome).

use crate::exec::walk::Panicked;
use crate::state::{RunOutcome, StateError, StepRecord};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot read the secrets:\n  {}", .0.join("\n  "))]
    Secrets(Vec<String>),
    #[error(
        "run `{run_id}` of plan `{plan}` is unfinished ({outcome}); continue it with `planrun resume`, undo it with `planrun rollback`, or start over with `planrun apply --abandon`"
    )]
    Unfinished {
        run_id: String,
        plan: String,
        outcome: RunOutcome,
    },
    #[error("{0}")]
    NothingToDo(String),
    #[error(
        "the plan changed since these steps ran:\n{}\nkeep them as done with `--accept-drift`, or run them and everything after them again with `--rerun STEP`",
        .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
    )]
    Drift(Vec<String>),
    #[error(
        "these steps were interrupted while running and are not safe to run again:\n{}\ncheck what they did, then record your decision with `planrun mark STEP --done` or `planrun mark STEP --pending`",
        .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
    )]
    NeedsDecision(Vec<String>),
    #[error(
        "processes of an interrupted step are still alive after SIGKILL:\n{}\nnothing was decided about these steps; run the command again once they are gone",
        .0.iter().map(|s| format!("  - {s}")).collect::<Vec<_>>().join("\n")
    )]
    StillRunning(Vec<String>),
    #[error("{0}")]
    Usage(String),
    /// The command was interrupted before it decided anything.
    #[error("{0}")]
    Interrupted(String),
    /// A step's task panicked: a bug, reported as one (the state is intact).
    #[error(
        "planrun has a bug: the task of step `{step}` panicked: {message}\nthe state is saved as it was before the panic; `planrun status` shows it and `planrun resume` continues. Please report this, with the output of `planrun status --json`"
    )]
    Bug { step: String, message: String },
}

/// Why a walk (forward or reverse) stopped short of an outcome.
pub(crate) enum WalkError {
    State(StateError),
    Panicked(Panicked),
}

impl From<StateError> for WalkError {
    fn from(error: StateError) -> Self {
        WalkError::State(error)
    }
}

impl From<Panicked> for WalkError {
    fn from(panicked: Panicked) -> Self {
        WalkError::Panicked(panicked)
    }
}

impl WalkError {
    /// A panic names its step: a bug in planrun, not a damaged state.
    pub(crate) fn into_exec(self, rt: &crate::exec::runtime::Runtime, records: &[StepRecord]) -> ExecError {
        match self {
            WalkError::State(error) => error.into(),
            WalkError::Panicked(panicked) => ExecError::Bug {
                step: records
                    .get(panicked.step)
                    .map_or_else(|| "?".to_string(), |record| record.step_id.clone()),
                message: rt.redactor.redact(&panicked.message).into_owned(),
            },
        }
    }
}
