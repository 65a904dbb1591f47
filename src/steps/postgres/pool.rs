//! Connections kept between steps, per URL, for a moment.
//!
//! Connecting costs a round trip or three and the server's password
//! hashing (SCRAM): most of what a small `postgres.exec` or a
//! `postgres.query` verify costs. A connection that ended cleanly (its
//! transaction committed or rolled back) is reset with `DISCARD ALL`
//! (settings, temporary tables, advisory locks, prepared statements: the
//! next user sees a new session) and kept for [`KEEP_IDLE`], so the next
//! step on the same URL takes it. One that failed is closed, never kept.
//!
//! Kept that briefly, an idle connection never stands in anyone's way for
//! long: `DROP DATABASE`, `ALTER DATABASE … RENAME` and `CREATE DATABASE …
//! TEMPLATE` (from this plan's `psql` or anyone's) wait up to five seconds
//! for other sessions to leave, and the database kinds close every idle
//! connection before they start. Taking one costs a ping, so a server
//! restarted since is met with a fresh connection, not an error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::connection::{close, connect_with};
use crate::steps::outcome::StepError;

/// How long a connection stays idle before it is closed.
const KEEP_IDLE: Duration = Duration::from_secs(1);

/// How long taking an idle connection waits for its ping.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// An idle connection and the id of its release.
type Kept = (u64, PgConnection);

/// Idle connections by URL and application name, each with the id of its
/// release (the reaper closes it only if it is still that release's).
static IDLE: LazyLock<Mutex<HashMap<String, Vec<Kept>>>> = LazyLock::new(Mutex::default);
static RELEASES: AtomicU64 = AtomicU64::new(0);

fn key(url: &str, application: &str) -> String {
    format!("{application}\u{0}{url}")
}

/// Takes an idle connection under `key` out of the list: the one `release`
/// left, or (with `None`) the one released last.
fn take(key: &str, release: Option<u64>) -> Option<PgConnection> {
    let mut idle = IDLE.lock().ok()?;
    let list = idle.get_mut(key)?;
    let at = match release {
        Some(id) => list.iter().position(|(kept, _)| *kept == id)?,
        None => list.len().checked_sub(1)?,
    };
    let (_, conn) = list.remove(at);
    if list.is_empty() {
        idle.remove(key);
    }
    Some(conn)
}

/// A connection to `url` named `application`: an idle one that still
/// answers, or a new one.
pub(super) async fn acquire(url: &str, application: &str) -> Result<PgConnection, StepError> {
    let key = key(url, application);
    while let Some(mut conn) = take(&key, None) {
        if matches!(tokio::time::timeout(PING_TIMEOUT, conn.ping()).await, Ok(Ok(()))) {
            return Ok(conn);
        }
        // Gone (a restarted server, say): dropped without a goodbye.
    }
    // Unnamed statements only: `DISCARD ALL` drops prepared ones, which a
    // statement cache would go on naming.
    connect_with(url, application, |options| options.statement_cache_capacity(0)).await
}

/// Gives back a connection that ended cleanly (no transaction open); it is
/// reset and kept for [`KEEP_IDLE`], or closed when it cannot be reset.
pub(super) async fn release(mut conn: PgConnection, url: &str, application: &str) {
    if sqlx::raw_sql("DISCARD ALL").execute(&mut conn).await.is_err() {
        close(conn).await;
        return;
    }
    let id = RELEASES.fetch_add(1, Ordering::Relaxed);
    let key = key(url, application);
    match IDLE.lock() {
        Ok(mut idle) => idle.entry(key.clone()).or_default().push((id, conn)),
        Err(_) => return,
    }
    tokio::spawn(async move {
        tokio::time::sleep(KEEP_IDLE).await;
        if let Some(conn) = take(&key, Some(id)) {
            close(conn).await;
        }
    });
}

/// A new connection to `url`, opened once every idle one is closed: for
/// what another session of ours would stand in the way of (dropping a
/// database, using it as a template, waiting for a recorded session).
pub(super) async fn connect_alone(url: &str) -> Result<PgConnection, StepError> {
    close_idle().await;
    super::connection::connect(url).await
}

/// Closes every idle connection (before a database is dropped or created,
/// and when a command ends).
pub(crate) async fn close_idle() {
    let all: Vec<PgConnection> = match IDLE.lock() {
        Ok(mut idle) => idle.drain().flat_map(|(_, list)| list).map(|(_, conn)| conn).collect(),
        Err(_) => return,
    };
    for conn in all {
        close(conn).await;
    }
}
