//! Errors of the state store.

use crate::state::lock::LockInfo;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state at `{location}`: {reason}")]
    Open { location: String, reason: String },
    #[error("the state is locked by {0}")]
    Locked(Box<LockInfo>),
    #[error("state store error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the state is damaged: {0}")]
    Corrupt(String),
    #[error("the state was written by a newer planrun (schema {found}, this planrun reads up to {supported})")]
    TooNew { found: i64, supported: i64 },
    #[error("no run `{0}` in the state")]
    NoSuchRun(String),
}

impl StateError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> StateError {
        StateError::Corrupt(what.to_string())
    }
}
