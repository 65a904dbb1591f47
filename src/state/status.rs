//! The status of a step within a run, and the outcome of a run.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a step stands. Every change is checkpointed before the engine
/// moves on; `Running` is durable before the step's side effect starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not started (or reset by `mark --pending`).
    Pending,
    /// Its `run` has started and not finished. Found in the store by a
    /// later command, it means the process died: the step was interrupted.
    Running,
    /// `run` and `verify` passed.
    Succeeded,
    /// `check` passed, so `run` was skipped.
    Satisfied,
    Failed,
    /// A dependency failed, so it could not run.
    Blocked,
    /// Stopped by a signal while running.
    Interrupted,
    /// Its rollback has started and not finished.
    RollingBack,
    RolledBack,
    RollbackFailed,
}

impl StepStatus {
    pub const ALL: [StepStatus; 10] = [
        StepStatus::Pending,
        StepStatus::Running,
        StepStatus::Succeeded,
        StepStatus::Satisfied,
        StepStatus::Failed,
        StepStatus::Blocked,
        StepStatus::Interrupted,
        StepStatus::RollingBack,
        StepStatus::RolledBack,
        StepStatus::RollbackFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Satisfied => "satisfied",
            StepStatus::Failed => "failed",
            StepStatus::Blocked => "blocked",
            StepStatus::Interrupted => "interrupted",
            StepStatus::RollingBack => "rolling_back",
            StepStatus::RolledBack => "rolled_back",
            StepStatus::RollbackFailed => "rollback_failed",
        }
    }

    /// Done for the purpose of its dependents.
    pub fn is_done(self) -> bool {
        matches!(self, StepStatus::Succeeded | StepStatus::Satisfied)
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StepStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<StepStatus, String> {
        StepStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown step status `{text}`"))
    }
}

/// How a run ended, or `Running` while it goes on (or after its process died).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    /// Stopped at a manual gate that nobody approved.
    Paused,
    /// A rollback started and has not finished; `planrun rollback` continues it.
    RollingBack,
    RolledBack,
    RollbackFailed,
    /// Given up by `apply --abandon`; never resumed.
    Abandoned,
}

impl RunOutcome {
    pub const ALL: [RunOutcome; 9] = [
        RunOutcome::Running,
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::Interrupted,
        RunOutcome::Paused,
        RunOutcome::RollingBack,
        RunOutcome::RolledBack,
        RunOutcome::RollbackFailed,
        RunOutcome::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Paused => "paused",
            RunOutcome::RollingBack => "rolling_back",
            RunOutcome::RolledBack => "rolled_back",
            RunOutcome::RollbackFailed => "rollback_failed",
            RunOutcome::Abandoned => "abandoned",
        }
    }

    /// A run `resume` can continue.
    pub fn is_unfinished(self) -> bool {
        matches!(
            self,
            RunOutcome::Running | RunOutcome::Failed | RunOutcome::Interrupted | RunOutcome::Paused
        )
    }
}

impl fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunOutcome {
    type Err = String;

    fn from_str(text: &str) -> Result<RunOutcome, String> {
        RunOutcome::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == text)
            .ok_or_else(|| format!("unknown run outcome `{text}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in StepStatus::ALL {
            assert_eq!(status.as_str().parse::<StepStatus>(), Ok(status));
        }
        for outcome in RunOutcome::ALL {
            assert_eq!(outcome.as_str().parse::<RunOutcome>(), Ok(outcome));
        }
    }
}
