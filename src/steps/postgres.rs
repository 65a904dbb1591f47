//! PostgreSQL probes and actions (sqlx). The data of each kind is here;
//! the behaviour is in the submodules: `probes`, `exec` (`postgres.exec`),
//! `actions` (databases) and `copy` (`postgres.copy_table`, with
//! `sequences`), on top of
//! `sql` (quoting, splitting), `script` (transaction control in scripts),
//! `locks` (timeouts, blocking sessions), `xact` (sessions and
//! transaction ids, to settle an interrupted attempt) and `connection`
//! (connecting, and keeping passwords out of messages).

mod actions;
mod connection;
mod copy;
mod exec;
mod locks;
pub(crate) mod pool;
mod probes;
mod script;
mod sequences;
mod sql;
mod xact;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::redact::credentials::display_url;
use crate::steps::FieldChecks;
use crate::steps::KindSpec;
use crate::units::duration::Duration;

const SCHEMES: [&str; 2] = ["postgres", "postgresql"];

/// Passes when a connection can be opened (retrying up to `wait`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresConnect {
    /// Connection URL, `postgres://user@host:port/db`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
}

impl KindSpec for PostgresConnect {
    fn summary(&self) -> String {
        format!("connect {}", display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RowsExpectation {
    /// At least one row (the default with `sql`).
    Rows,
    /// No rows at all.
    NoRows,
    /// The SQL runs without error, whatever it returns (the default with
    /// `file`): a verify script that raises an error when a change is missing.
    Ok,
}

/// Runs SQL in a read-only transaction that is always rolled back, and
/// checks its result: rows, no rows, no error (`expect = "ok"`), or with
/// `equals`, the first column of the first row as text. The SQL is inline
/// (`sql`) or a script (`file`); transaction control in it (`BEGIN`,
/// `COMMIT`, `ROLLBACK`) is left out, so it cannot end that transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresQuery {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// A file of SQL statements (relative to the working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Default: `rows` with `sql`, `ok` with `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<RowsExpectation>,
    /// The single value the query must return, compared as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

impl PostgresQuery {
    pub(crate) fn expectation(&self) -> RowsExpectation {
        self.expect.unwrap_or(if self.file.is_some() {
            RowsExpectation::Ok
        } else {
            RowsExpectation::Rows
        })
    }
}

impl KindSpec for PostgresQuery {
    fn summary(&self) -> String {
        let expect = match (&self.equals, self.expectation()) {
            (Some(value), _) => format!("= {value:?}"),
            (None, RowsExpectation::Rows) => "returns rows".into(),
            (None, RowsExpectation::NoRows) => "returns no rows".into(),
            (None, RowsExpectation::Ok) => "runs without error".into(),
        };
        let what = match (&self.sql, &self.file) {
            (Some(sql), _) => sql.trim().to_string(),
            (None, Some(file)) => format!("SQL from {file}"),
            (None, None) => String::new(),
        };
        format!("{}: {what} {expect}", display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.exactly_one(&[("sql", self.sql.is_some()), ("file", self.file.is_some())]);
        if let Some(sql) = &self.sql {
            check.non_empty("sql", sql);
        }
        if let Some(file) = &self.file {
            check.non_empty("file", file);
        }
        if self.expect.is_some() && self.equals.is_some() {
            check.error(
                "equals",
                "`expect` and `equals` cannot be used together",
                "`equals` already implies one row",
            );
        }
    }
}

/// Passes when the database, schema or table exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresExists {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// A table name, optionally schema-qualified (`public.users`); names
    /// are case-sensitive, taken as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

impl KindSpec for PostgresExists {
    fn summary(&self) -> String {
        let what = match (&self.database, &self.schema, &self.table) {
            (Some(db), ..) => format!("database {db}"),
            (None, Some(schema), _) => format!("schema {schema}"),
            (None, None, Some(table)) => format!("table {table}"),
            _ => String::new(),
        };
        format!("{what} exists on {}", display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.exactly_one(&[
            ("database", self.database.is_some()),
            ("schema", self.schema.is_some()),
            ("table", self.table.is_some()),
        ]);
    }
}

/// A table on some database, optionally filtered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableRef {
    pub url: String,
    pub table: String,
    /// SQL condition rows must satisfy.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// Passes when a table's row count equals a number, or another table's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresRowCount {
    pub url: String,
    pub table: String,
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<i64>,
    /// Compare with the row count of this table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_as: Option<TableRef>,
}

impl KindSpec for PostgresRowCount {
    fn summary(&self) -> String {
        let other = match (&self.equals, &self.same_as) {
            (Some(n), _) => n.to_string(),
            (None, Some(other)) => format!("count({}) on {}", other.table, display_url(&other.url)),
            (None, None) => String::new(),
        };
        format!("count({}) on {} = {other}", self.table, display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.exactly_one(&[("equals", self.equals.is_some()), ("same_as", self.same_as.is_some())]);
        if let Some(other) = &self.same_as {
            check.url("same_as", &other.url, &SCHEMES);
        }
    }
}

/// Executes SQL, inline or from a file; in one transaction unless
/// `transaction = false` (needed for `CREATE DATABASE` and the like), when
/// each statement runs on its own, in order. Output: `rows_affected`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresExec {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// A file of SQL statements (relative to the working directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub transaction: bool,
    /// How long a statement may wait for a lock before it fails (and the
    /// step's `retry` policy tries again); default 3s, `"0s"` waits forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_timeout: Option<Duration>,
}

impl PostgresExec {
    pub(crate) fn lock_timeout(&self) -> std::time::Duration {
        self.lock_timeout.map_or(locks::DEFAULT_LOCK_TIMEOUT, Duration::std)
    }
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(value: &bool) -> bool {
    *value
}

impl KindSpec for PostgresExec {
    fn summary(&self) -> String {
        let what = match (&self.sql, &self.file) {
            (Some(sql), _) => sql.trim().to_string(),
            (None, Some(file)) => format!("SQL from {file}"),
            (None, None) => String::new(),
        };
        let tx = if self.transaction { "" } else { " (no transaction)" };
        format!("{}: {what}{tx}", display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.exactly_one(&[("sql", self.sql.is_some()), ("file", self.file.is_some())]);
        if let Some(timeout) = self.lock_timeout
            && timeout.as_millis() > locks::MAX_LOCK_TIMEOUT_MS
        {
            check.error(
                "lock_timeout",
                format!("`lock_timeout` {timeout} is out of range"),
                "PostgreSQL takes at most 24 days; use a few seconds, like \"5s\", or \"0s\" to wait forever",
            );
        }
    }
}

/// Creates a database (if it does not exist). Undone by dropping it, when
/// this step created it; a database that existed before is left alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresCreateDatabase {
    /// A URL to the server (any existing database, like `postgres`).
    pub url: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl KindSpec for PostgresCreateDatabase {
    fn summary(&self) -> String {
        format!("create database {} on {}", self.name, display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.non_empty("name", &self.name);
    }
}

/// Drops a database if it exists. Irreversible: give it a `rollback`, or
/// a backup step before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresDropDatabase {
    pub url: String,
    pub name: String,
    /// Terminate other sessions first (`WITH (FORCE)`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

impl KindSpec for PostgresDropDatabase {
    fn summary(&self) -> String {
        format!("drop database {} on {}", self.name, display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.non_empty("name", &self.name);
    }
}

/// Copies a table between databases with `COPY`, in batches ordered by the
/// key; the last copied key is checkpointed after each batch, so an
/// interrupted copy resumes where it stopped, without copying a row twice.
/// Binary `COPY` when both sides have the same built-in column types (and
/// server major version), text otherwise. Row counts are verified at the
/// end (`where` applies to the target too, when it has those columns).
/// Output: `rows`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PostgresCopyTable {
    /// Source database URL.
    pub source: String,
    /// Target database URL; the target table must exist.
    pub target: String,
    /// Table to read, optionally schema-qualified; names are case-sensitive.
    pub table: String,
    /// Table to write (default: same name as `table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_table: Option<String>,
    /// Columns to copy (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Only rows matching this SQL condition.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Key column (default: the single-column primary key): `smallint`,
    /// `integer`, `bigint`, `numeric`, `text`, `varchar` or `uuid`, never
    /// NULL. Rows sharing a key value travel in the same batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Rows per batch (default 50000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
}

impl KindSpec for PostgresCopyTable {
    fn summary(&self) -> String {
        let target = self.target_table.as_deref().unwrap_or(&self.table);
        let mut out = format!(
            "copy {} from {} to {target} on {}",
            self.table,
            display_url(&self.source),
            display_url(&self.target)
        );
        if let Some(filter) = &self.filter {
            out.push_str(&format!(" where {filter}"));
        }
        out
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("source", &self.source, &SCHEMES);
        check.url("target", &self.target, &SCHEMES);
        check.non_empty("table", &self.table);
        if self.batch_size == Some(0) {
            check.error("batch_size", "`batch_size` is 0", "use at least 1 (default 50000)");
        }
    }
}
