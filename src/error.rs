//! Errors that end a command, and the exit code each one means.

use std::process::ExitCode;

use crate::compile::Failed;
use crate::exec::error::ExecError;
use crate::plan::source::LoadError;
use crate::state::StateError;

/// Documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// A step, probe or rollback failed; the state is saved and resumable.
    Failure,
    /// Invalid plan, vars or usage; nothing was written.
    Invalid,
    /// `plan --detailed-exitcode`: steps would run (2, as Terraform's).
    WouldRun,
    /// State conflict: lock held, drift refused, decision needed.
    Conflict,
    /// A bug in planrun (a step's task panicked); the state is intact.
    Bug,
    /// Interrupted by a signal.
    Interrupted,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Invalid | Exit::WouldRun => 2,
            Exit::Conflict => 3,
            Exit::Bug => 70,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("the plan is invalid")]
    Invalid(Box<Failed>),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Exec(#[from] ExecError),
    #[error(transparent)]
    State(#[from] StateError),
    /// A refusal to act on the state, with the holder or reason.
    #[error("{0}")]
    Conflict(String),
}

impl Error {
    pub(crate) fn exit(&self) -> Exit {
        match self {
            Error::Io(_) => Exit::Failure,
            Error::Load(_) | Error::Invalid(_) | Error::Usage(_) => Exit::Invalid,
            Error::Conflict(_) => Exit::Conflict,
            // A state this planrun cannot use is a conflict, not a failed step.
            Error::State(StateError::Locked(_) | StateError::Corrupt(_) | StateError::TooNew { .. }) => Exit::Conflict,
            Error::State(_) => Exit::Failure,
            Error::Exec(error) => match error {
                ExecError::State(StateError::Locked(_) | StateError::Corrupt(_) | StateError::TooNew { .. })
                | ExecError::Unfinished { .. }
                | ExecError::Drift(_)
                | ExecError::NeedsDecision(_)
                | ExecError::StillRunning(_) => Exit::Conflict,
                ExecError::State(_) => Exit::Failure,
                ExecError::Secrets(_) | ExecError::NothingToDo(_) | ExecError::Usage(_) => Exit::Invalid,
                ExecError::Bug { .. } => Exit::Bug,
                ExecError::Interrupted(_) => Exit::Interrupted,
            },
        }
    }
}
