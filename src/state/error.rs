//! Errors of the state store.

use crate::state::lock::LockInfo;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state at `{location}`: {reason}")]
    Open { location: String, reason: String },
    #[error("the state is locked by {0}")]
    Locked(Box<LockInfo>),
    #[error("state store error: {}", sqlx_error_text(.0))]
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

/// A driver error without its wrapping: the server's own message (and its
/// detail and hint, from PostgreSQL), or the I/O error.
pub(crate) fn sqlx_error_text(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => {
            let mut text = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = pg.hint() {
                    text.push_str(&format!("; hint: {hint}"));
                }
            }
            text
        }
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}
