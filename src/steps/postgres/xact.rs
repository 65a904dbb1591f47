//! What identifies an attempt's work on the server, and what the server
//! can say about it afterwards: the session (backend) it ran on, and the
//! fate of a transaction by its id (`txid_current()` / `txid_status()`,
//! PostgreSQL 10 and later, the same as `pg_current_xact_id()` /
//! `pg_xact_status()` of PostgreSQL 13). Shared by `postgres.exec`, the
//! database actions and `postgres.copy_table`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnection;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::db_error;
use crate::steps::outcome::StepError;

/// How often a session or a transaction is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);
/// How long a terminated session may take to go.
const TERMINATE_WAIT: Duration = Duration::from_secs(10);

/// A server session, beyond its reusable pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Backend {
    pub pid: i32,
    /// `backend_start`, in microseconds since the epoch.
    pub started_us: i64,
}

/// The id of the open transaction (assigned now if it has none yet).
pub(super) async fn current_xid(conn: &mut PgConnection, url: &str) -> Result<i64, StepError> {
    sqlx::query_scalar::<_, i64>("SELECT txid_current()")
        .fetch_one(conn)
        .await
        .map_err(|e| db_error("cannot read the transaction id", url, &e))
}

/// What became of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    Committed,
    Aborted,
    InProgress,
    /// Too old for the server to remember, or never assigned.
    Unknown,
}

impl Fate {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Fate::Committed => "committed",
            Fate::Aborted => "aborted",
            Fate::InProgress => "still in progress",
            Fate::Unknown => "unknown to the server",
        }
    }
}

pub(super) async fn fate(conn: &mut PgConnection, url: &str, xid: i64) -> Result<Fate, StepError> {
    let status = sqlx::query_scalar::<_, Option<String>>("SELECT txid_status($1)")
        .bind(xid)
        .fetch_one(conn)
        .await
        .map_err(|e| db_error(&format!("cannot ask for the status of transaction {xid}"), url, &e))?;
    Ok(match status.as_deref() {
        Some("committed") => Fate::Committed,
        Some("aborted") => Fate::Aborted,
        Some(_) => Fate::InProgress,
        None => Fate::Unknown,
    })
}

/// The fate of `xid` once it is no longer in progress, waiting up to `wait`.
pub(super) async fn final_fate(
    conn: &mut PgConnection,
    url: &str,
    xid: i64,
    wait: Duration,
    cancel: &CancellationToken,
) -> Result<Fate, StepError> {
    let deadline = Instant::now() + wait;
    loop {
        let fate = fate(conn, url, xid).await?;
        if fate != Fate::InProgress || Instant::now() >= deadline {
            return Ok(fate);
        }
        pause(cancel).await?;
    }
}

async fn pause(cancel: &CancellationToken) -> Result<(), StepError> {
    tokio::select! {
        () = tokio::time::sleep(POLL) => Ok(()),
        () = cancel.cancelled() => Err(StepError::Cancelled),
    }
}

/// Whether the session is still there (and not a new one on its pid).
async fn alive(conn: &mut PgConnection, url: &str, backend: Backend) -> Result<bool, StepError> {
    sqlx::query_scalar::<_, i32>(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND (extract(epoch FROM backend_start) * 1000000)::int8 = $2",
    )
    .bind(backend.pid)
    .bind(backend.started_us)
    .fetch_optional(conn)
    .await
    .map(|found| found.is_some())
    .map_err(|e| db_error("cannot look at the interrupted session", url, &e))
}

/// Makes sure the session an interrupted attempt ran on is gone: waits
/// for it up to `grace` (it may be finishing a statement the server has
/// not yet noticed nobody waits for), then terminates it. Says what it did.
pub(super) async fn end_session(
    conn: &mut PgConnection,
    url: &str,
    backend: Backend,
    grace: Duration,
    cancel: &CancellationToken,
) -> Result<String, StepError> {
    let started = Instant::now();
    while alive(conn, url, backend).await? {
        if started.elapsed() >= grace {
            return terminate(conn, url, backend, grace, cancel).await;
        }
        pause(cancel).await?;
    }
    Ok(if started.elapsed() < POLL {
        format!("its session (pid {}) had ended", backend.pid)
    } else {
        format!(
            "its session (pid {}) ended after {} ms",
            backend.pid,
            started.elapsed().as_millis()
        )
    })
}

async fn terminate(
    conn: &mut PgConnection,
    url: &str,
    backend: Backend,
    grace: Duration,
    cancel: &CancellationToken,
) -> Result<String, StepError> {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE pid = $1 AND (extract(epoch FROM backend_start) * 1000000)::int8 = $2",
    )
    .bind(backend.pid)
    .bind(backend.started_us)
    .execute(&mut *conn)
    .await
    .map_err(|e| db_error(&format!("cannot terminate session {}", backend.pid), url, &e))?;
    let deadline = Instant::now() + TERMINATE_WAIT;
    while alive(conn, url, backend).await? {
        if Instant::now() >= deadline {
            return Err(StepError::failed(format!(
                "session {} of the interrupted attempt is still there after being terminated",
                backend.pid
            )));
        }
        pause(cancel).await?;
    }
    Ok(format!(
        "its session (pid {}) was still running after {} ms (`--kill-grace`): terminated it",
        backend.pid,
        grace.as_millis()
    ))
}
