//! What both backends store the same way: JSON-encoded columns, rows of
//! the runs and events tables, and the schema version check.

use std::str::FromStr;

use indexmap::IndexMap;
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::state::error::StateError;
use crate::state::record::{EventRecord, RunRecord};
use crate::state::status::RunOutcome;
use crate::state::store::Result;

/// The version of the tables this planrun writes (both backends).
/// 2: `steps.process`, the process group of a running step.
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// The first version whose steps have a `process` column.
pub(crate) const PROCESS_COLUMN: i64 = 2;

pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StateError::corrupt(format!("{what}: {e}")))
}

/// Judges the stored `schema_version`: `Ok(None)` when there is none yet
/// (a new state: record ours), else the version found, which this planrun
/// can read (and migrate).
pub(crate) fn stored_version(found: Option<String>) -> Result<Option<i64>> {
    match found.map(|v| v.parse::<i64>()) {
        None => Ok(None),
        Some(Ok(found)) if found > SCHEMA_VERSION => Err(StateError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(Ok(found)) => Ok(Some(found)),
        Some(Err(_)) => Err(StateError::corrupt("schema_version is not a number")),
    }
}

/// A run from a row of either backend's runs table (the same columns);
/// `plan_source` is left empty unless `with_source`.
pub(crate) fn run_from_row<'r, R>(row: &'r R, with_source: bool) -> Result<RunRecord>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let text = |column: &'static str| row.try_get::<String, _>(column);
    Ok(RunRecord {
        id: text("id")?,
        plan_name: text("plan_name")?,
        plan_path: text("plan_path")?,
        plan_hash: text("plan_hash")?,
        plan_source: if with_source {
            text("plan_source")?
        } else {
            String::new()
        },
        overrides: parse_json(&text("overrides")?, "run overrides")?,
        vars: parse_json::<IndexMap<String, Value>>(&text("vars")?, "run vars")?,
        user: text("run_user")?,
        host: text("host")?,
        pid: u32::try_from(row.try_get::<i64, _>("pid")?).unwrap_or(0),
        started_at: text("started_at")?,
        finished_at: row.try_get("finished_at")?,
        outcome: RunOutcome::from_str(&text("outcome")?).map_err(StateError::corrupt)?,
    })
}

/// A journal entry from a row of either backend's events table.
pub(crate) fn event_from_row<'r, R>(row: &'r R) -> Result<EventRecord>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(EventRecord {
        seq: row.try_get("seq")?,
        run_id: row.try_get("run_id")?,
        at: row.try_get("at")?,
        step_id: row.try_get("step_id")?,
        kind: row.try_get("kind")?,
        message: row.try_get("message")?,
    })
}
