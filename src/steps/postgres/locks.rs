//! Safe SQL by default: the session settings of `postgres.exec`, and who
//! holds the locks a statement waits for.
//!
//! Every session of `postgres.exec` gets a `lock_timeout` (a statement
//! waiting longer for a lock fails, SQLSTATE 55P03, instead of queueing
//! every later query on that table behind it), a `statement_timeout`
//! equal to the step's timeout (so the server stops the work even if
//! planrun is gone), and on PostgreSQL 14 or later a
//! `client_connection_check_interval`, so a statement whose client died
//! is cancelled within a second instead of running to its end.
//!
//! While a script runs longer than [`WATCH_AFTER`] (from the start with a
//! lock timeout under a second), a second connection
//! looks every [`POLL`] at `pg_blocking_pids()` of the script's session,
//! so that a lock timeout or a deadlock (40P01) names the sessions in the
//! way. Quick scripts never open it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgConnection;
use tokio::task::JoinHandle;

use super::connection::{connect_as, db_error, db_message, sqlstate};
use super::xact::Backend;
use crate::steps::outcome::StepError;

/// The default `lock_timeout` of `postgres.exec`.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(3);
/// The longest `lock_timeout` PostgreSQL takes (`INT_MAX` ms).
pub(crate) const MAX_LOCK_TIMEOUT_MS: u64 = 2_147_483_647;
const WATCH_AFTER: Duration = Duration::from_millis(200);
const SHORT_LOCK_TIMEOUT: Duration = Duration::from_secs(1);
const POLL: Duration = Duration::from_millis(200);
/// SQLSTATE `lock_not_available`.
const LOCK_NOT_AVAILABLE: &str = "55P03";
/// SQLSTATE `deadlock_detected`.
const DEADLOCK: &str = "40P01";

/// Sets `lock_timeout`, `statement_timeout` and, where the server has it,
/// `client_connection_check_interval` for the session; returns the
/// session, for the evidence (one round trip for both).
pub(super) async fn configure(
    conn: &mut PgConnection,
    url: &str,
    lock_timeout: Duration,
    statement_timeout: Duration,
) -> Result<Backend, StepError> {
    let millis = |d: Duration| format!("{}ms", d.as_millis().min(u128::from(MAX_LOCK_TIMEOUT_MS)));
    let (pid, started_us) = sqlx::query_as::<_, (i32, i64)>(
        "SELECT pid, (extract(epoch FROM backend_start) * 1000000)::int8 FROM pg_stat_activity, \
         LATERAL (SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false), \
                         CASE WHEN current_setting('server_version_num')::int >= 140000 \
                              THEN set_config('client_connection_check_interval', '1s', false) END) AS settings \
         WHERE pid = pg_backend_pid()",
    )
    .bind(millis(lock_timeout))
    .bind(millis(statement_timeout))
    .fetch_one(conn)
    .await
    .map_err(|e| db_error("cannot set the session's timeouts", url, &e))?;
    Ok(Backend { pid, started_us })
}

/// Watches who blocks a session, from its own connection, until dropped.
pub(super) struct Watch {
    seen: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Watch {
    /// Watches session `pid` from [`WATCH_AFTER`] on; with a lock timeout
    /// under [`SHORT_LOCK_TIMEOUT`], from the start (connecting, with its
    /// password hashing, takes a good part of such a timeout).
    pub(crate) fn start(url: &str, pid: i32, lock_timeout: Duration) -> Watch {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let after = if !lock_timeout.is_zero() && lock_timeout < SHORT_LOCK_TIMEOUT {
            Duration::ZERO
        } else {
            WATCH_AFTER
        };
        let task = tokio::spawn(watch(url.to_string(), pid, after, seen.clone()));
        Watch { seen, task }
    }

    /// The sessions that blocked the watched one when last seen blocked.
    pub(crate) fn blockers(&self) -> Vec<String> {
        self.seen.lock().map(|seen| seen.clone()).unwrap_or_default()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watch(url: String, pid: i32, after: Duration, seen: Arc<Mutex<Vec<String>>>) {
    tokio::time::sleep(after).await;
    let Ok(mut conn) = connect_as(&url, "planrun-lock-watch").await else {
        return;
    };
    loop {
        if let Ok(blockers) = blockers(&mut conn, pid).await
            && !blockers.is_empty()
            && let Ok(mut seen) = seen.lock()
        {
            *seen = blockers;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One line per session blocking `pid`.
async fn blockers(conn: &mut PgConnection, pid: i32) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(i32, String, String, String, String, i64, String)> = sqlx::query_as(
        "SELECT pid, coalesce(usename::text, '?'), coalesce(nullif(application_name, ''), '?'), \
                coalesce(client_addr::text, 'local'), coalesce(state, '?'), \
                coalesce(extract(epoch FROM now() - coalesce(xact_start, state_change))::int8, 0), \
                left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 120) \
         FROM pg_stat_activity WHERE pid = ANY (pg_blocking_pids($1)) ORDER BY pid",
    )
    .bind(pid)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(pid, user, application, from, state, seconds, query)| {
            format!(
                "blocked by session {pid} (user {user}, application {application}, from {from}), {state} for \
                 {seconds}s; its last query: {query}"
            )
        })
        .collect())
}

/// A failed statement as a step error, naming
/// the blocking sessions when it failed on a lock (55P03) or a deadlock
/// (40P01), which the step's `retry` policy tries again.
pub(super) fn statement_error(
    what: &str,
    url: &str,
    error: &sqlx::Error,
    watch: &Watch,
    lock_timeout: Duration,
) -> StepError {
    let message = db_message(what, url, error);
    let code = sqlstate(error);
    if !matches!(code.as_deref(), Some(LOCK_NOT_AVAILABLE | DEADLOCK)) {
        return StepError::failed(message);
    }
    let mut detail = watch.blockers();
    if detail.is_empty() {
        detail.push("PostgreSQL did not say which sessions were in the way".into());
    }
    let hint = if code.as_deref() == Some(DEADLOCK) {
        "hint: the transaction was rolled back; the step's `retry` policy tries it again".to_string()
    } else {
        format!(
            "hint: a lock was not granted within {} ms (`lock_timeout`); the transaction was rolled back and the \
             step's `retry` policy tries it again",
            lock_timeout.as_millis()
        )
    };
    detail.push(hint);
    StepError::with_detail(message, detail)
}
