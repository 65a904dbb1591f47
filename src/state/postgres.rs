//! The shared backend for teams: runs, steps, journal and lock in
//! PostgreSQL, with exactly the semantics of the SQLite store (both pass
//! `state::conformance`; the statements they write alike are
//! `state::sql`'s).
//!
//! The lock is a session-level advisory lock held on a dedicated
//! connection for the whole command, plus a row naming the holder. The
//! advisory lock is what excludes; the row says who. When a holder dies
//! its session ends and the server releases the advisory lock, so the next
//! command takes over (and reports the row it replaced) — unless the row
//! names a process of this host that is still running: then its session
//! ended under it (a server timeout, `pg_terminate_backend`) and it is
//! refused as if the advisory lock were held.
//!
//! The lock's session is kept alive: server timeouts that would end an
//! idle session are turned off on it, and server TCP keepalives are on. A
//! heartbeat checks it every [`HEARTBEAT`]; when the session is gone, it
//! takes the advisory lock again on a new one if the row still names this
//! holder, and otherwise (another command took over, or `unlock --force`
//! removed the lock) cancels [`PostgresStore::lock_lost`], so the command
//! stops.

use std::str::FromStr;
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Row};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::redact::credentials::scrub;
use crate::state::columns::{SCHEMA_VERSION, event_from_row, json, parse_json, run_from_row, stored_version};
use crate::state::error::{StateError, sqlx_error_text};
use crate::state::lock::{Acquired, LockInfo, current_host};
use crate::state::record::{EventRecord, NewEvent, PlanFile, RunRecord, StepRecord};
use crate::state::sql::{Bound, Dialect, Statements};
use crate::state::status::{RunOutcome, StepStatus};
use crate::state::store::{Locker, Result, Storage};
use crate::supervise::ProcessGroup;

/// The advisory lock key: "planrun" in ASCII.
const LOCK_KEY: i64 = 0x0070_6c61_6e72_756e;

/// How long opening the state waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the lock's connection is checked while the lock is held.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// How long a refused command waits for the holder to write its row (it
/// takes the advisory lock first), so the refusal can name it.
const HOLDER_WAIT: Duration = Duration::from_secs(1);

/// Settings that would end the lock's idle session (`idle_session_timeout`
/// exists from PostgreSQL 14: only settings the server has are set), and
/// server TCP keepalives, which notice a vanished holder and keep the idle
/// connection alive through firewalls.
const LOCK_SESSION: &str = "
SELECT set_config(wanted.name, wanted.value, false)
FROM (VALUES ('idle_session_timeout', '0'), ('idle_in_transaction_session_timeout', '0'),
             ('statement_timeout', '0'), ('tcp_keepalives_idle', '60'), ('tcp_keepalives_interval', '10'),
             ('tcp_keepalives_count', '6')) AS wanted (name, value)
JOIN pg_settings ON pg_settings.name = wanted.name";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS planrun_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS planrun_runs (
    seq BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    plan_name TEXT NOT NULL,
    plan_path TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    plan_source TEXT NOT NULL,
    overrides TEXT NOT NULL,
    vars TEXT NOT NULL,
    run_user TEXT NOT NULL,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS planrun_steps (
    run_id TEXT NOT NULL REFERENCES planrun_runs(id),
    step_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    definition_hash TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    outputs TEXT NOT NULL,
    error TEXT,
    undo TEXT,
    progress TEXT,
    -- The process group of the running step (JSON), from version 2.
    process TEXT,
    PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS planrun_events (
    seq BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES planrun_runs(id),
    at TEXT NOT NULL,
    step_id TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS planrun_events_by_run ON planrun_events (run_id, seq);
CREATE TABLE IF NOT EXISTS planrun_lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder_id TEXT NOT NULL,
    backend_pid INTEGER NOT NULL,
    info TEXT NOT NULL
);
";

/// The statements shared with SQLite, on these tables.
static SQL: LazyLock<Statements<Postgres>> = LazyLock::new(|| {
    Statements::new(Dialect {
        meta: "planrun_meta",
        runs: "planrun_runs",
        steps: "planrun_steps",
        events: "planrun_events",
        lock: "planrun_lock",
        runs_order: "seq",
        journal_in_step: false,
    })
});

/// Migrations from each older version to the next.
const MIGRATIONS: &[(i64, &str)] = &[(1, "ALTER TABLE planrun_steps ADD COLUMN IF NOT EXISTS process TEXT")];

pub struct PostgresStore {
    pool: PgPool,
    options: PgConnectOptions,
    /// The connection holding the advisory lock, while this store holds it.
    /// Only the store owns it: the heartbeat holds a weak reference, so
    /// dropping the store drops the connection (and so the lock).
    holder: Arc<Mutex<Option<PgConnection>>>,
    /// Stops the heartbeat, while one runs.
    heartbeat: std::sync::Mutex<Option<CancellationToken>>,
    /// Cancelled when the lock was lost while held.
    lost: CancellationToken,
}

impl PostgresStore {
    /// Connects once first, so a server that is down or refuses the login
    /// says so at once, with its own words (a pool would retry until its
    /// acquire timeout and then only say it timed out).
    pub async fn open(url: &str, shown: &str) -> Result<PostgresStore> {
        let store = PostgresStore::connect(url, shown, true).await?;
        store.ok_or_else(|| StateError::corrupt("the state has no schema after creating it"))
    }

    /// Opens an existing state to read it: no schema is created or
    /// migrated. `None` when the database holds no planrun state.
    pub async fn open_for_reading(url: &str, shown: &str) -> Result<Option<PostgresStore>> {
        PostgresStore::connect(url, shown, false).await
    }

    /// Connects once first (so a bad URL fails at once, with the server's
    /// reason), migrating the schema when `create`, else only reading its
    /// version.
    async fn connect(url: &str, shown: &str, create: bool) -> Result<Option<PostgresStore>> {
        let fail = |reason: String| StateError::Open {
            location: shown.to_string(),
            reason,
        };
        let options = PgConnectOptions::from_str(url).map_err(|e| fail(scrub(&sqlx_error_text(&e), url)))?;
        let mut first = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                fail(format!(
                    "the server did not answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| fail(scrub(&sqlx_error_text(&e), url)))?;
        let found = if create {
            migrate(&mut first).await.map(|()| true)
        } else {
            schema_present(&mut first).await
        };
        let found = found.map_err(|e| match e {
            StateError::Database(e) => fail(scrub(&sqlx_error_text(&e), url)),
            other => other,
        })?;
        let _ = first.close().await;
        if !found {
            return Ok(None);
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options.clone());
        Ok(Some(PostgresStore {
            pool,
            options,
            holder: Arc::new(Mutex::new(None)),
            heartbeat: std::sync::Mutex::new(None),
            lost: CancellationToken::new(),
        }))
    }

    /// Runs `update` on the run's row and journals `event`, in one
    /// transaction; a run that is not there is an error.
    async fn update_run(&self, run_id: &str, update: Bound<Postgres>, event: &NewEvent) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if update.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StateError::NoSuchRun(run_id.to_string()));
        }
        SQL.insert_event(run_id, event).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancelled when this store held the lock and lost it (see the module
    /// documentation): the command must stop.
    pub fn lock_lost(&self) -> CancellationToken {
        self.lost.clone()
    }

    fn stop_heartbeat(&self) {
        if let Some(stop) = self.heartbeat.lock().ok().and_then(|mut running| running.take()) {
            stop.cancel();
        }
    }

    /// Starts the heartbeat unless it runs already.
    fn start_heartbeat(&self, holder_id: &str) {
        let Ok(mut running) = self.heartbeat.lock() else {
            return;
        };
        if running.is_some() {
            return;
        }
        let stop = CancellationToken::new();
        *running = Some(stop.clone());
        tokio::spawn(heartbeat(
            Arc::downgrade(&self.holder),
            self.options.clone(),
            holder_id.to_string(),
            stop,
            self.lost.clone(),
        ));
    }

    pub async fn close(self) {
        self.stop_heartbeat();
        if let Some(connection) = self.holder.lock().await.take() {
            let _ = connection.close().await;
        }
        self.pool.close().await;
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

/// A connection for the lock, set up to stay (see [`LOCK_SESSION`]).
async fn lock_connection(options: &PgConnectOptions) -> Result<PgConnection> {
    let mut connection = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options))
        .await
        .map_err(|_| {
            StateError::Database(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the server did not answer within {}s", CONNECT_TIMEOUT.as_secs()),
            )))
        })??;
    // Best effort, setting by setting: a server that refuses one (no
    // keepalives on its platform) still gives the lock.
    if sqlx::query(LOCK_SESSION).execute(&mut connection).await.is_err() {
        for (name, value) in [
            ("idle_session_timeout", "0"),
            ("idle_in_transaction_session_timeout", "0"),
            ("statement_timeout", "0"),
        ] {
            let _ = sqlx::query("SELECT set_config(name, $2, false) FROM pg_settings WHERE name = $1")
                .bind(name)
                .bind(value)
                .execute(&mut connection)
                .await;
        }
    }
    Ok(connection)
}

/// The `info` of the lock's row, if any.
async fn holder_row(connection: &mut PgConnection) -> Result<Option<LockInfo>> {
    let text = SQL.lock_info().fetch_optional(connection).await?;
    text.map(|text| parse_json::<LockInfo>(&text, "lock")).transpose()
}

/// Checks the lock's session every [`HEARTBEAT`] until `stop`; see the
/// module documentation.
async fn heartbeat(
    holder: Weak<Mutex<Option<PgConnection>>>,
    options: PgConnectOptions,
    holder_id: String,
    stop: CancellationToken,
    lost: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(HEARTBEAT) => {}
        }
        let Some(holder) = holder.upgrade() else { return };
        let mut connection = holder.lock().await;
        if stop.is_cancelled() {
            return;
        }
        let Some(current) = connection.as_mut() else { return };
        if current.ping().await.is_ok() {
            continue;
        }
        match retake(&options, &holder_id).await {
            Retake::Held(fresh) => *connection = Some(fresh),
            // The server cannot be reached, or another command is only
            // looking: try again at the next beat.
            Retake::NotNow => {}
            Retake::Lost => {
                *connection = None;
                lost.cancel();
                return;
            }
        }
    }
}

enum Retake {
    Held(PgConnection),
    NotNow,
    Lost,
}

/// After the lock's session ended: the advisory lock again, on a new
/// connection, if the row still names `holder_id`.
async fn retake(options: &PgConnectOptions, holder_id: &str) -> Retake {
    let Ok(mut connection) = lock_connection(options).await else {
        return Retake::NotNow;
    };
    let attempt = async {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut connection)
            .await?;
        let named: Option<String> = sqlx::query_scalar("SELECT holder_id FROM planrun_lock WHERE id = 1")
            .fetch_optional(&mut connection)
            .await?;
        let ours = named.as_deref() == Some(holder_id);
        Ok::<_, sqlx::Error>(match (locked, ours) {
            (true, true) => {
                sqlx::query("UPDATE planrun_lock SET backend_pid = pg_backend_pid() WHERE id = 1 AND holder_id = $1")
                    .bind(holder_id)
                    .execute(&mut connection)
                    .await?;
                None
            }
            // Someone takes the lock (and will be refused while the row
            // names us, or write its own row): look again later.
            (false, true) => Some(Retake::NotNow),
            _ => Some(Retake::Lost),
        })
    };
    match attempt.await {
        Ok(None) => Retake::Held(connection),
        Ok(Some(outcome)) => {
            let _ = connection.close().await;
            outcome
        }
        Err(_) => {
            let _ = connection.close().await;
            Retake::NotNow
        }
    }
}

async fn migrate(connection: &mut PgConnection) -> Result<()> {
    let mut tx = connection.begin().await?;
    // Two planruns creating the schema at once must not collide.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY + 1)
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
    let version = SQL.schema_version().fetch_optional(&mut *tx).await?;
    let found = stored_version(version)?;
    if found != Some(SCHEMA_VERSION) {
        // A new state's tables are of this version already.
        for (_, migration) in MIGRATIONS
            .iter()
            .filter(|(from, _)| found.is_some_and(|found| *from >= found))
        {
            sqlx::raw_sql(*migration).execute(&mut *tx).await?;
        }
        SQL.set_schema_version(SCHEMA_VERSION).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whether the database holds a planrun state this version can read
/// (read without creating anything).
async fn schema_present(connection: &mut PgConnection) -> Result<bool> {
    let version = SQL.schema_version().fetch_optional(&mut *connection).await;
    match version {
        // 42P01: undefined_table, no state was ever written here.
        Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("42P01") => Ok(false),
        Err(error) => Err(error.into()),
        Ok(None) => Ok(false),
        Ok(Some(version)) => {
            stored_version(Some(version))?;
            Ok(true)
        }
    }
}

fn step_from_row(row: &PgRow) -> Result<StepRecord> {
    let status: String = row.try_get("status")?;
    let outputs: String = row.try_get("outputs")?;
    let undo: Option<String> = row.try_get("undo")?;
    let progress: Option<String> = row.try_get("progress")?;
    // A state of an older version, opened only to read, has no `process`.
    let process: Option<String> = match row.try_get("process") {
        Err(sqlx::Error::ColumnNotFound(_)) => None,
        other => other?,
    };
    Ok(StepRecord {
        step_id: row.try_get("step_id")?,
        position: u32::try_from(row.try_get::<i64, _>("position")?).unwrap_or(u32::MAX),
        status: StepStatus::from_str(&status).map_err(StateError::corrupt)?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        definition_hash: row.try_get("definition_hash")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        outputs: parse_json(&outputs, "step outputs")?,
        error: row.try_get("error")?,
        undo: undo.map(|u| parse_json(&u, "step undo")).transpose()?,
        progress: progress.map(|p| parse_json(&p, "step progress")).transpose()?,
        process: process.map(|p| parse_json(&p, "step process")).transpose()?,
    })
}

impl Storage for PostgresStore {
    async fn create_run(&self, run: &RunRecord, steps: &[StepRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        SQL.insert_run(run).execute(&mut *tx).await?;
        for step in steps {
            SQL.upsert_step(&run.id, step).execute(&mut *tx).await?;
        }
        let created = NewEvent::run("run_created", format!("{} steps", steps.len()));
        SQL.insert_event(&run.id, &created).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for step in steps {
            SQL.upsert_step(run_id, step).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One statement: it inserts the journal entry of the step it wrote.
    async fn put_step(&self, run_id: &str, step: &StepRecord, event: &NewEvent) -> Result<()> {
        SQL.put_step(run_id, step, event).execute(&self.pool).await?;
        Ok(())
    }

    async fn put_steps(&self, run_id: &str, checkpoints: &[(StepRecord, NewEvent)]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for (step, event) in checkpoints {
            SQL.put_step(run_id, step, event).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn save_progress(&self, run_id: &str, step_id: &str, progress: &Value) -> Result<()> {
        SQL.save_progress(run_id, step_id, progress).execute(&self.pool).await?;
        Ok(())
    }

    async fn set_process(&self, run_id: &str, step_id: &str, group: Option<&ProcessGroup>) -> Result<()> {
        SQL.set_process(run_id, step_id, group).execute(&self.pool).await?;
        Ok(())
    }

    async fn append_event(&self, run_id: &str, event: &NewEvent) -> Result<()> {
        SQL.insert_event(run_id, event).execute(&self.pool).await?;
        Ok(())
    }

    async fn set_outcome(&self, run_id: &str, outcome: RunOutcome, event: &NewEvent) -> Result<()> {
        self.update_run(run_id, SQL.set_outcome(run_id, outcome), event).await
    }

    async fn set_plan(&self, run_id: &str, plan: &PlanFile<'_>, event: &NewEvent) -> Result<()> {
        self.update_run(run_id, SQL.set_plan(run_id, plan), event).await
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        let row = SQL.run(run_id).fetch_optional(&self.pool).await?;
        row.map(|row| run_from_row(&row, true)).transpose()
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        let rows = SQL.runs().fetch_all(&self.pool).await?;
        rows.iter().map(|row| run_from_row(row, false)).collect()
    }

    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>> {
        let rows = sqlx::query("SELECT * FROM planrun_steps WHERE run_id = $1 ORDER BY position, step_id")
            .bind(run_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(step_from_row).collect()
    }

    async fn events(&self, run_id: &str) -> Result<Vec<EventRecord>> {
        let rows = SQL.events(run_id).fetch_all(&self.pool).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn last_event(&self, run_id: &str) -> Result<Option<i64>> {
        Ok(SQL.last_event(run_id).fetch_one(&self.pool).await?)
    }
}

impl Locker for PostgresStore {
    async fn lock(&self, info: &LockInfo) -> Result<Acquired> {
        let mut holder = self.holder.lock().await;
        let mut connection = match holder.take() {
            Some(connection) => connection,
            None => lock_connection(&self.options).await?,
        };
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut connection)
            .await?;
        let mut previous = holder_row(&mut connection).await?;
        if !locked {
            // The holder takes the advisory lock, then writes its row: give
            // it a moment, so the refusal can say who it is.
            let deadline = tokio::time::Instant::now() + HOLDER_WAIT;
            while previous.is_none() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
                previous = holder_row(&mut connection).await?;
            }
            let _ = connection.close().await;
            let holder = previous.unwrap_or_else(|| LockInfo {
                id: String::new(),
                operation: "another command".into(),
                user: "someone".into(),
                host: "another host".into(),
                pid: 0,
                pid_start: 0,
                since: "now".into(),
            });
            return Err(StateError::Locked(Box::new(holder)));
        }
        // The advisory lock is free, yet the row names a process of this
        // host that still runs: its session was ended under it (a server
        // timeout, `pg_terminate_backend`), not by its death.
        if let Some(alive) = previous
            .as_ref()
            .filter(|p| p.id != info.id && p.host == current_host() && !p.is_stale_here())
        {
            let alive = alive.clone();
            let _ = connection.close().await;
            return Err(StateError::Locked(Box::new(alive)));
        }
        sqlx::query(
            "INSERT INTO planrun_lock (id, holder_id, backend_pid, info) VALUES (1, $1, pg_backend_pid(), $2)
             ON CONFLICT (id) DO UPDATE SET holder_id = excluded.holder_id, backend_pid = excluded.backend_pid,
                                            info = excluded.info",
        )
        .bind(&info.id)
        .bind(json(info))
        .execute(&mut connection)
        .await?;
        *holder = Some(connection);
        drop(holder);
        self.start_heartbeat(&info.id);
        // The advisory lock was free and the row's process is gone.
        Ok(match previous {
            Some(previous) if previous.id != info.id => Acquired::TookOver(previous),
            _ => Acquired::Fresh,
        })
    }

    async fn unlock(&self, info: &LockInfo) -> Result<()> {
        self.stop_heartbeat();
        SQL.unlock(&info.id).execute(&self.pool).await?;
        if let Some(mut connection) = self.holder.lock().await.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(LOCK_KEY)
                .execute(&mut connection)
                .await;
            let _ = connection.close().await;
        }
        Ok(())
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>> {
        let row: Option<(String, i32)> = sqlx::query_as("SELECT info, backend_pid FROM planrun_lock WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?;
        if let Some((_, backend)) = &row {
            // Ends the holder's session, which releases its advisory lock;
            // waits up to 5 s for it to be gone.
            let _ = sqlx::query("SELECT pg_terminate_backend($1, 5000)")
                .bind(backend)
                .execute(&self.pool)
                .await;
        }
        SQL.remove_lock().execute(&self.pool).await?;
        row.map(|(text, _)| parse_json(&text, "lock")).transpose()
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>> {
        let held = SQL.lock_info().fetch_optional(&self.pool).await?;
        held.map(|text| parse_json(&text, "lock")).transpose()
    }
}
