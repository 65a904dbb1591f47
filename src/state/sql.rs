//! The statements both backends write alike, with the values they bind.
//!
//! SQLite reads PostgreSQL's numbered parameters too (sqlx-sqlite binds
//! `$N` to the N-th value bound), so most statements differ only in the
//! names of their tables: [`Statements`] are built once per backend from
//! its [`Dialect`] and bind a record's values in one place; the backends
//! only choose the transaction and the connection. What differs stays
//! with its backend: schemas and migrations, reading a run's steps
//! (SQLite: as one JSON value), and taking the lock.

use std::marker::PhantomData;

use serde_json::Value;
use sqlx::query::{Query, QueryScalar};
use sqlx::{Database, Encode, FromRow, Type};

use crate::state::columns::json;
use crate::state::record::{NewEvent, PlanFile, RunRecord, StepRecord, now};
use crate::state::status::RunOutcome;
use crate::supervise::ProcessGroup;

/// What one backend's statements differ in.
#[derive(Clone, Copy)]
pub(crate) struct Dialect {
    pub(crate) meta: &'static str,
    pub(crate) runs: &'static str,
    pub(crate) steps: &'static str,
    pub(crate) events: &'static str,
    pub(crate) lock: &'static str,
    /// The column that lists runs in the order they were created.
    pub(crate) runs_order: &'static str,
    /// Whether a step's row carries the journal entry of its last write,
    /// which triggers append to the journal (SQLite's schema: a checkpoint
    /// is one statement). Else a checkpoint's statement inserts it itself.
    pub(crate) journal_in_step: bool,
}

/// A step's columns, in the order [`Statements`] bind them ($1 to $13).
const STEP_COLUMNS: &str = "run_id, step_id, position, status, attempts, definition_hash, started_at, finished_at,
                            outputs, error, undo, progress, process";
const STEP_VALUES: &str = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13";
/// What an upsert of a step that exists sets: every column but the key.
const STEP_UPDATES: &str = "position = excluded.position, status = excluded.status, attempts = excluded.attempts,
    definition_hash = excluded.definition_hash, started_at = excluded.started_at,
    finished_at = excluded.finished_at, outputs = excluded.outputs, error = excluded.error,
    undo = excluded.undo, progress = excluded.progress, process = excluded.process";

/// The values a checkpoint binds: a step's 13 columns, then its journal
/// entry's time, kind and message ($14 to $16).
const CHECKPOINT_PARAMS: usize = 16;

/// The most checkpoints [`Statements::put_steps`] writes in one statement.
pub(crate) const MAX_PUT_STEPS: usize = 16;

/// `rows` checkpoints and their journal entries in one statement (for a
/// schema whose step row carries its journal entry): one round trip. The
/// rows are written, and their entries journaled by the triggers, in the
/// order given.
fn journaled_put(steps: &str, rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=CHECKPOINT_PARAMS)
                .map(|n| format!("${}", row * CHECKPOINT_PARAMS + n))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO {steps} ({STEP_COLUMNS}, journal_at, journal_kind, journal_message)
         VALUES {}
         ON CONFLICT (run_id, step_id) DO UPDATE SET {STEP_UPDATES},
            journal_at = excluded.journal_at, journal_kind = excluded.journal_kind,
            journal_message = excluded.journal_message",
        values.join(", ")
    )
}

/// One backend's statements (a `static`: `sqlx` takes `&'static str`
/// without copying it).
pub(crate) struct Statements<DB> {
    schema_version: String,
    set_schema_version: String,
    insert_run: String,
    upsert_step: String,
    put_step: String,
    /// `put_steps[n - 2]`: `n` checkpoints in one statement (only where a
    /// step's row carries its journal entry).
    put_steps: Vec<String>,
    save_progress: String,
    set_process: String,
    insert_event: String,
    set_outcome: String,
    set_plan: String,
    run: String,
    runs: String,
    events: String,
    last_event: String,
    lock_info: String,
    unlock: String,
    remove_lock: String,
    database: PhantomData<fn() -> DB>,
}

impl<DB> Statements<DB> {
    pub(crate) fn new(dialect: Dialect) -> Statements<DB> {
        let Dialect {
            meta,
            runs,
            steps,
            events,
            lock,
            runs_order,
            journal_in_step,
        } = dialect;
        let upsert_step = format!(
            "INSERT INTO {steps} ({STEP_COLUMNS}) VALUES ({STEP_VALUES})
             ON CONFLICT (run_id, step_id) DO UPDATE SET {STEP_UPDATES}"
        );
        // Appended to the `SET` of a step write that journals nothing: the
        // row's entry is its last write's, which the update trigger would
        // append again.
        let no_journal = if journal_in_step {
            ", journal_kind = NULL, journal_message = NULL, journal_at = NULL"
        } else {
            ""
        };
        let put_steps = if journal_in_step {
            (2..=MAX_PUT_STEPS).map(|rows| journaled_put(steps, rows)).collect()
        } else {
            Vec::new()
        };
        let put_step = if journal_in_step {
            journaled_put(steps, 1)
        } else {
            format!(
                "WITH step AS ({upsert_step} RETURNING run_id, step_id)
                 INSERT INTO {events} (run_id, at, step_id, kind, message)
                 SELECT run_id, $14, step_id, $15, $16 FROM step"
            )
        };
        Statements {
            schema_version: format!("SELECT value FROM {meta} WHERE key = 'schema_version'"),
            set_schema_version: format!(
                "INSERT INTO {meta} (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            insert_run: format!(
                "INSERT INTO {runs} (id, plan_name, plan_path, plan_hash, plan_source, overrides, vars, run_user, host,
                                     pid, started_at, finished_at, outcome)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            upsert_step: format!("{upsert_step}{no_journal}"),
            put_step,
            put_steps,
            save_progress: format!("UPDATE {steps} SET progress = $1{no_journal} WHERE run_id = $2 AND step_id = $3"),
            set_process: format!("UPDATE {steps} SET process = $1{no_journal} WHERE run_id = $2 AND step_id = $3"),
            insert_event: format!(
                "INSERT INTO {events} (run_id, at, step_id, kind, message) VALUES ($1, $2, $3, $4, $5)"
            ),
            set_outcome: format!("UPDATE {runs} SET outcome = $1, finished_at = $2 WHERE id = $3"),
            set_plan: format!("UPDATE {runs} SET plan_path = $1, plan_hash = $2, plan_source = $3 WHERE id = $4"),
            run: format!("SELECT * FROM {runs} WHERE id = $1"),
            runs: format!(
                "SELECT id, plan_name, plan_path, plan_hash, overrides, vars, run_user, host, pid, started_at,
                        finished_at, outcome
                 FROM {runs} ORDER BY {runs_order}"
            ),
            events: format!("SELECT * FROM {events} WHERE run_id = $1 ORDER BY seq"),
            last_event: format!("SELECT max(seq) FROM {events} WHERE run_id = $1"),
            lock_info: format!("SELECT info FROM {lock} WHERE id = 1"),
            unlock: format!("DELETE FROM {lock} WHERE id = 1 AND holder_id = $1"),
            remove_lock: format!("DELETE FROM {lock} WHERE id = 1"),
            database: PhantomData,
        }
    }
}

/// A statement with its values bound.
pub(crate) type Bound<DB> = Query<'static, DB, <DB as Database>::Arguments>;

/// A statement with its values bound, read as one value.
type Scalar<'q, DB, O> = QueryScalar<'q, DB, O, <DB as Database>::Arguments>;

impl<DB> Statements<DB>
where
    DB: Database,
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    String: for<'a> Encode<'a, DB> + Type<DB>,
    Option<String>: for<'a> Encode<'a, DB> + Type<DB>,
    i64: for<'a> Encode<'a, DB> + Type<DB>,
    (String,): for<'r> FromRow<'r, DB::Row>,
    (Option<i64>,): for<'r> FromRow<'r, DB::Row>,
{
    /// The stored `schema_version`, if any.
    pub(crate) fn schema_version(&'static self) -> Scalar<'static, DB, String> {
        sqlx::query_scalar(self.schema_version.as_str())
    }

    /// Records that the tables are of this planrun's version.
    pub(crate) fn set_schema_version(&'static self, version: i64) -> Bound<DB> {
        sqlx::query(self.set_schema_version.as_str()).bind(version.to_string())
    }

    pub(crate) fn insert_run(&'static self, run: &RunRecord) -> Bound<DB> {
        sqlx::query(self.insert_run.as_str())
            .bind(&run.id)
            .bind(&run.plan_name)
            .bind(&run.plan_path)
            .bind(&run.plan_hash)
            .bind(&run.plan_source)
            .bind(json(&run.overrides))
            .bind(json(&run.vars))
            .bind(&run.user)
            .bind(&run.host)
            .bind(i64::from(run.pid))
            .bind(&run.started_at)
            .bind(&run.finished_at)
            .bind(run.outcome.as_str())
    }

    /// Writes a step without journaling it (a new run's steps, steps
    /// joining on resume).
    pub(crate) fn upsert_step(&'static self, run_id: &str, step: &StepRecord) -> Bound<DB> {
        Self::bind_step(sqlx::query(self.upsert_step.as_str()), run_id, step)
    }

    /// Writes a step and journals `event`, in one statement.
    pub(crate) fn put_step(&'static self, run_id: &str, step: &StepRecord, event: &NewEvent) -> Bound<DB> {
        Self::bind_checkpoint(sqlx::query(self.put_step.as_str()), run_id, step, event)
    }

    /// Writes steps and journals their events, in order, in one statement;
    /// `None` when the backend has no such statement for this many (see
    /// [`MAX_PUT_STEPS`]): write them one by one in a transaction.
    pub(crate) fn put_steps(&'static self, run_id: &str, checkpoints: &[(StepRecord, NewEvent)]) -> Option<Bound<DB>> {
        let statement = self.put_steps.get(checkpoints.len().checked_sub(2)?)?;
        Some(
            checkpoints
                .iter()
                .fold(sqlx::query(statement.as_str()), |query, (step, event)| {
                    Self::bind_checkpoint(query, run_id, step, event)
                }),
        )
    }

    /// Binds a step's columns and its journal entry ($1 to $16).
    fn bind_checkpoint(query: Bound<DB>, run_id: &str, step: &StepRecord, event: &NewEvent) -> Bound<DB> {
        Self::bind_step(query, run_id, step)
            .bind(now())
            .bind(event.kind)
            .bind(event.message.as_str())
    }

    pub(crate) fn save_progress(&'static self, run_id: &str, step_id: &str, progress: &Value) -> Bound<DB> {
        sqlx::query(self.save_progress.as_str())
            .bind(progress.to_string())
            .bind(run_id)
            .bind(step_id)
    }

    pub(crate) fn set_process(&'static self, run_id: &str, step_id: &str, group: Option<&ProcessGroup>) -> Bound<DB> {
        sqlx::query(self.set_process.as_str())
            .bind(group.map(json))
            .bind(run_id)
            .bind(step_id)
    }

    /// Journals `event`, now.
    pub(crate) fn insert_event(&'static self, run_id: &str, event: &NewEvent) -> Bound<DB> {
        sqlx::query(self.insert_event.as_str())
            .bind(run_id)
            .bind(now())
            .bind(&event.step_id)
            .bind(event.kind)
            .bind(event.message.as_str())
    }

    /// Sets the outcome, and `finished_at` (cleared for `Running`).
    pub(crate) fn set_outcome(&'static self, run_id: &str, outcome: RunOutcome) -> Bound<DB> {
        sqlx::query(self.set_outcome.as_str())
            .bind(outcome.as_str())
            .bind((outcome != RunOutcome::Running).then(now))
            .bind(run_id)
    }

    pub(crate) fn set_plan(&'static self, run_id: &str, plan: &PlanFile<'_>) -> Bound<DB> {
        sqlx::query(self.set_plan.as_str())
            .bind(plan.path)
            .bind(plan.hash)
            .bind(plan.source)
            .bind(run_id)
    }

    /// The run's row, every column (see `columns::run_from_row`).
    pub(crate) fn run(&'static self, run_id: &str) -> Bound<DB> {
        sqlx::query(self.run.as_str()).bind(run_id)
    }

    /// Every run's row, oldest first, without `plan_source`.
    pub(crate) fn runs(&'static self) -> Bound<DB> {
        sqlx::query(self.runs.as_str())
    }

    /// The run's journal, in order (see `columns::event_from_row`).
    pub(crate) fn events(&'static self, run_id: &str) -> Bound<DB> {
        sqlx::query(self.events.as_str()).bind(run_id)
    }

    /// The sequence number of the run's latest journal entry.
    pub(crate) fn last_event<'q>(&'static self, run_id: &'q str) -> Scalar<'q, DB, Option<i64>> {
        sqlx::query_scalar(self.last_event.as_str()).bind(run_id)
    }

    /// The lock row's `info` (JSON), if the lock is held.
    pub(crate) fn lock_info(&'static self) -> Scalar<'static, DB, String> {
        sqlx::query_scalar(self.lock_info.as_str())
    }

    /// Removes the lock row if `holder_id` holds it.
    pub(crate) fn unlock(&'static self, holder_id: &str) -> Bound<DB> {
        sqlx::query(self.unlock.as_str()).bind(holder_id)
    }

    /// Removes the lock row, whoever holds it.
    pub(crate) fn remove_lock(&'static self) -> Bound<DB> {
        sqlx::query(self.remove_lock.as_str())
    }

    /// Binds a step's columns ($1 to $13, see [`STEP_COLUMNS`]).
    fn bind_step(query: Bound<DB>, run_id: &str, step: &StepRecord) -> Bound<DB> {
        query
            .bind(run_id)
            .bind(step.step_id.as_str())
            .bind(i64::from(step.position))
            .bind(step.status.as_str())
            .bind(i64::from(step.attempts))
            .bind(step.definition_hash.as_str())
            .bind(&step.started_at)
            .bind(&step.finished_at)
            .bind(json(&step.outputs))
            .bind(&step.error)
            .bind(step.undo.as_ref().map(Value::to_string))
            .bind(step.progress.as_ref().map(Value::to_string))
            .bind(step.process.as_ref().map(json))
    }
}
