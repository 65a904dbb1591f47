//! The embedded default backend: one SQLite file in WAL mode.
//!
//! A single connection serialises the writes of one process; other
//! processes read concurrently thanks to WAL, and the `lock` row keeps a
//! second mutating command out. The statements it writes like PostgreSQL
//! are `state::sql`'s.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Sqlite};
use tokio::sync::Mutex;

use crate::state::columns::{
    PROCESS_COLUMN, SCHEMA_VERSION, event_from_row, json, parse_json, run_from_row, stored_version,
};
use crate::state::error::StateError;
use crate::state::location::Sync;
use crate::state::lock::{Acquired, LockInfo};
use crate::state::record::{EventRecord, NewEvent, PlanFile, RunRecord, StepRecord};
use crate::state::sql::{Bound, Dialect, Statements};
use crate::state::status::RunOutcome;
use crate::state::store::{Locker, Result, Storage};
use crate::supervise::ProcessGroup;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    plan_name TEXT NOT NULL,
    plan_path TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    plan_source TEXT NOT NULL,
    overrides TEXT NOT NULL,
    vars TEXT NOT NULL,
    run_user TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(id),
    step_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    definition_hash TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    outputs TEXT NOT NULL,
    error TEXT,
    undo TEXT,
    progress TEXT,
    -- The process group of the running step (JSON), from version 2.
    process TEXT,
    -- The event to journal with this write (see the triggers below).
    journal_kind TEXT,
    journal_message TEXT,
    journal_at TEXT,
    PRIMARY KEY (run_id, step_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    -- Events are never deleted, so the rowid only grows: AUTOINCREMENT
    -- would cost a write to sqlite_sequence on every checkpoint.
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    step_id TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, seq);
-- A checkpoint is one statement: the step's row carries its journal entry
-- and these triggers append it, in the same implicit transaction. One
-- round trip per transition instead of four keeps checkpoints cheap.
CREATE TRIGGER IF NOT EXISTS steps_journal_insert AFTER INSERT ON steps WHEN NEW.journal_kind IS NOT NULL
BEGIN
    INSERT INTO events (run_id, at, step_id, kind, message)
    VALUES (NEW.run_id, NEW.journal_at, NEW.step_id, NEW.journal_kind, NEW.journal_message);
END;
CREATE TRIGGER IF NOT EXISTS steps_journal_update AFTER UPDATE ON steps WHEN NEW.journal_kind IS NOT NULL
BEGIN
    INSERT INTO events (run_id, at, step_id, kind, message)
    VALUES (NEW.run_id, NEW.journal_at, NEW.step_id, NEW.journal_kind, NEW.journal_message);
END;
CREATE TABLE IF NOT EXISTS lock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder_id TEXT NOT NULL,
    info TEXT NOT NULL
);
";

/// The statements shared with PostgreSQL, on these tables.
static SQL: LazyLock<Statements<Sqlite>> = LazyLock::new(|| {
    Statements::new(Dialect {
        meta: "meta",
        runs: "runs",
        steps: "steps",
        events: "events",
        lock: "lock",
        // No `seq` column: the rowid grows with every run.
        runs_order: "rowid",
        // See the triggers above.
        journal_in_step: true,
    })
});

pub struct SqliteStore {
    /// One connection: the writes of one process are serialised anyway,
    /// and a pool's hand-offs cost more than the statements themselves.
    conn: Mutex<SqliteConnection>,
    /// Whether the steps table has `process` (a state of an older version,
    /// opened only to read, has not).
    process_column: bool,
}

/// A step's columns as `json_array` arguments, in the order of
/// [`StepRecord`]'s fields (which it decodes from an array), but `process`.
/// An empty `outputs`, the common case, is not parsed again by `json()`.
macro_rules! steps_fields {
    () => {
        "step_id, position, status, attempts, definition_hash, started_at, finished_at,
         iif(outputs = '{}', json_object(), json(outputs)), error, json(undo), json(progress)"
    };
}

/// The next 1,000 steps of run `$1` after step id `$2`, in the primary
/// key's order.
macro_rules! steps_chunk {
    () => {
        "FROM (SELECT * FROM steps WHERE run_id = $1 AND step_id > $2 ORDER BY step_id LIMIT 1000)"
    };
}

/// Migrations from each older version to the next.
const MIGRATIONS: &[(i64, &str)] = &[(1, "ALTER TABLE steps ADD COLUMN process TEXT")];

impl SqliteStore {
    pub async fn open(path: &Path, sync: Sync) -> Result<SqliteStore> {
        let location = path.display().to_string();
        let fail = |reason: String| StateError::Open {
            location: location.clone(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::state::location::create_dir(parent).map_err(|e| fail(e.to_string()))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                Sync::Normal => SqliteSynchronous::Normal,
                Sync::Full => SqliteSynchronous::Full,
            })
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            process_column: true,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens an existing state to read it: nothing is created, migrated or
    /// written (`plan`, `status`, `runs`, `logs`). `None` when
    /// the file holds no planrun state yet.
    pub async fn open_for_reading(path: &Path) -> Result<Option<SqliteStore>> {
        let location = path.display().to_string();
        // Not SQLite's read-only mode: a read-only connection to a WAL
        // database leaves its `-wal` and `-shm` files behind, where a
        // read-write one that writes nothing removes them on close. No
        // journal mode is set, so not even the header changes.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(Duration::from_secs(30));
        let conn = SqliteConnection::connect_with(&options)
            .await
            .map_err(|e| StateError::Open {
                location: location.clone(),
                reason: e.to_string(),
            })?;
        let mut store = SqliteStore {
            conn: Mutex::new(conn),
            process_column: true,
        };
        let version = SQL.schema_version().fetch_optional(&mut *store.conn.lock().await).await;
        match version {
            // No `meta` table: an empty file, or not ours yet.
            Err(sqlx::Error::Database(error)) if error.message().contains("no such table") => {
                store.close().await;
                Ok(None)
            }
            Ok(None) => {
                store.close().await;
                Ok(None)
            }
            Err(error) => Err(StateError::corrupt(format!(
                "`{location}` is not a planrun state: {error}"
            ))),
            Ok(Some(version)) => {
                store.process_column = stored_version(Some(version))?.is_some_and(|v| v >= PROCESS_COLUMN);
                Ok(Some(store))
            }
        }
    }

    async fn migrate(&self) -> Result<()> {
        // The common case, an existing state of this version, needs no DDL.
        let current = SQL.schema_version().fetch_optional(&mut *self.conn.lock().await).await;
        if let Ok(Some(version)) = current
            && version == SCHEMA_VERSION.to_string()
        {
            return Ok(());
        }
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::raw_sql(SCHEMA).execute(&mut *tx).await?;
        let version = SQL.schema_version().fetch_optional(&mut *tx).await?;
        // A new state's tables are of this version already.
        if let Some(found) = stored_version(version)? {
            for (_, migration) in MIGRATIONS.iter().filter(|(from, _)| *from >= found) {
                sqlx::raw_sql(*migration).execute(&mut *tx).await?;
            }
        }
        SQL.set_schema_version(SCHEMA_VERSION).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.conn.into_inner().close().await;
    }

    /// Runs `update` on the run's row and journals `event`, in one
    /// transaction; a run that is not there is an error.
    async fn update_run(&self, run_id: &str, update: Bound<Sqlite>, event: &NewEvent) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        if update.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StateError::NoSuchRun(run_id.to_string()));
        }
        SQL.insert_event(run_id, event).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Storage for SqliteStore {
    async fn create_run(&self, run: &RunRecord, steps: &[StepRecord]) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
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
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        for step in steps {
            SQL.upsert_step(run_id, step).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One statement: the triggers journal the event.
    async fn put_step(&self, run_id: &str, step: &StepRecord, event: &NewEvent) -> Result<()> {
        SQL.put_step(run_id, step, event)
            .execute(&mut *self.conn.lock().await)
            .await?;
        Ok(())
    }

    async fn put_steps(&self, run_id: &str, checkpoints: &[(StepRecord, NewEvent)]) -> Result<()> {
        if let Some(statement) = SQL.put_steps(run_id, checkpoints) {
            statement.execute(&mut *self.conn.lock().await).await?;
            return Ok(());
        }
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        for (step, event) in checkpoints {
            SQL.put_step(run_id, step, event).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn save_progress(&self, run_id: &str, step_id: &str, progress: &Value) -> Result<()> {
        SQL.save_progress(run_id, step_id, progress)
            .execute(&mut *self.conn.lock().await)
            .await?;
        Ok(())
    }

    async fn set_process(&self, run_id: &str, step_id: &str, group: Option<&ProcessGroup>) -> Result<()> {
        SQL.set_process(run_id, step_id, group)
            .execute(&mut *self.conn.lock().await)
            .await?;
        Ok(())
    }

    async fn append_event(&self, run_id: &str, event: &NewEvent) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        SQL.insert_event(run_id, event).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_outcome(&self, run_id: &str, outcome: RunOutcome, event: &NewEvent) -> Result<()> {
        self.update_run(run_id, SQL.set_outcome(run_id, outcome), event).await
    }

    async fn set_plan(&self, run_id: &str, plan: &PlanFile<'_>, event: &NewEvent) -> Result<()> {
        self.update_run(run_id, SQL.set_plan(run_id, plan), event).await
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        let row = SQL.run(run_id).fetch_optional(&mut *self.conn.lock().await).await?;
        row.map(|row| run_from_row(&row, true)).transpose()
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        let rows = SQL.runs().fetch_all(&mut *self.conn.lock().await).await?;
        rows.iter().map(|row| run_from_row(row, false)).collect()
    }

    /// The steps as JSON, 1,000 to a row, in one read transaction (one
    /// snapshot): handing 20,000 rows one by one from SQLite's thread to
    /// the engine's costs more than parsing them, and one row of all of
    /// them is megabytes that SQLite and sqlx each copy into fresh memory.
    /// Each step is an array of [`StepRecord`]'s fields in their order,
    /// without their names.
    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>> {
        const STEPS: &str = concat!(
            "SELECT json_group_array(json_array(",
            steps_fields!(),
            ", json(process))), max(step_id) ",
            steps_chunk!()
        );
        const STEPS_BEFORE_PROCESS: &str = concat!(
            "SELECT json_group_array(json_array(",
            steps_fields!(),
            ")), max(step_id) ",
            steps_chunk!()
        );
        let query = if self.process_column {
            STEPS
        } else {
            STEPS_BEFORE_PROCESS
        };
        let mut steps: Vec<StepRecord> = Vec::new();
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin().await?;
        let mut after = String::new();
        // Until a read finds no step after the last one.
        while let (Some(chunk), Some(last)) = sqlx::query_as::<_, (Option<String>, Option<String>)>(query)
            .bind(run_id)
            .bind(&after)
            .fetch_one(&mut *tx)
            .await?
        {
            steps.extend(parse_json::<Vec<StepRecord>>(&chunk, "steps")?);
            after = last;
        }
        tx.commit().await?;
        drop(conn);
        steps.sort_by(|a, b| (a.position, &a.step_id).cmp(&(b.position, &b.step_id)));
        Ok(steps)
    }

    async fn events(&self, run_id: &str) -> Result<Vec<EventRecord>> {
        let rows = SQL.events(run_id).fetch_all(&mut *self.conn.lock().await).await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn last_event(&self, run_id: &str) -> Result<Option<i64>> {
        Ok(SQL.last_event(run_id).fetch_one(&mut *self.conn.lock().await).await?)
    }
}

impl Locker for SqliteStore {
    async fn lock(&self, info: &LockInfo) -> Result<Acquired> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let held = SQL.lock_info().fetch_optional(&mut *tx).await?;
        let acquired = match held {
            None => Acquired::Fresh,
            Some(text) => {
                let holder: LockInfo = parse_json(&text, "lock")?;
                if !holder.is_stale_here() {
                    return Err(StateError::Locked(Box::new(holder)));
                }
                Acquired::TookOver(holder)
            }
        };
        sqlx::query("INSERT OR REPLACE INTO lock (id, holder_id, info) VALUES (1, $1, $2)")
            .bind(&info.id)
            .bind(json(info))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(acquired)
    }

    async fn unlock(&self, info: &LockInfo) -> Result<()> {
        SQL.unlock(&info.id).execute(&mut *self.conn.lock().await).await?;
        Ok(())
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>> {
        let mut conn = self.conn.lock().await;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let held = SQL.lock_info().fetch_optional(&mut *tx).await?;
        SQL.remove_lock().execute(&mut *tx).await?;
        tx.commit().await?;
        held.map(|text| parse_json(&text, "lock")).transpose()
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>> {
        let held = SQL.lock_info().fetch_optional(&mut *self.conn.lock().await).await?;
        held.map(|text| parse_json(&text, "lock")).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::conformance;
    use crate::state::record::now;

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("state.db");
        conformance::run(|| async { SqliteStore::open(&path, Sync::Normal).await.expect("open") }).await;
    }

    /// A state written by planrun 0.1 (schema 1, no `process` column) is
    /// read as it is, and migrated by the first command that writes.
    #[tokio::test]
    async fn a_version_1_state_is_read_as_it_is_and_migrated_by_a_writer() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("state.db");
        {
            let store = SqliteStore::open(&path, Sync::Normal).await.expect("open");
            let run = RunRecord {
                id: "old".into(),
                plan_name: "p".into(),
                plan_path: "p.toml".into(),
                plan_hash: String::new(),
                plan_source: String::new(),
                overrides: indexmap::IndexMap::new(),
                vars: indexmap::IndexMap::new(),
                user: "u".into(),
                host: "h".into(),
                pid: 1,
                started_at: now(),
                finished_at: None,
                outcome: RunOutcome::Running,
            };
            store
                .create_run(&run, &[StepRecord::pending("a", 0, String::new())])
                .await
                .expect("create_run");
            let mut conn = store.conn.lock().await;
            sqlx::raw_sql(
                "ALTER TABLE steps DROP COLUMN process; UPDATE meta SET value = '1' WHERE key = 'schema_version'",
            )
            .execute(&mut *conn)
            .await
            .expect("back to version 1");
        }
        let reader = SqliteStore::open_for_reading(&path)
            .await
            .expect("read")
            .expect("a state");
        assert_eq!(reader.steps("old").await.expect("steps")[0].process, None);
        reader.close().await;
        let writer = SqliteStore::open(&path, Sync::Normal).await.expect("migrate");
        writer.set_process("old", "a", None).await.expect("the column exists");
        let version = SQL
            .schema_version()
            .fetch_one(&mut *writer.conn.lock().await)
            .await
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION.to_string());
    }

    #[tokio::test]
    async fn an_unreadable_lock_is_reported_and_can_be_forced_away() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = SqliteStore::open(&dir.path().join("state.db"), Sync::Normal)
            .await
            .expect("open");
        sqlx::query("INSERT INTO lock (id, holder_id, info) VALUES (1, 'x', 'not json')")
            .execute(&mut *store.conn.lock().await)
            .await
            .expect("insert");
        assert!(matches!(store.lock_holder().await, Err(StateError::Corrupt(_))));
        assert!(matches!(store.force_unlock().await, Err(StateError::Corrupt(_))));
        assert!(
            matches!(store.lock_holder().await, Ok(None)),
            "the row is gone all the same"
        );
    }
}
