//! PostgreSQL probes. Each reads in a `READ ONLY` transaction, so a probe
//! cannot change the database even when its SQL tries to.

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Row};

use super::connection::{APPLICATION, close, connect, db_error};
use super::pool;
use super::script::without_control;
use super::sql::quote_qualified;
use super::{PostgresConnect, PostgresExists, PostgresQuery, PostgresRowCount, RowsExpectation, display_url};
use crate::redact::credentials::scrub;
use crate::steps::ProbeKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::StepError;
use crate::steps::wait;
use crate::units::duration::Duration;

/// SQLSTATE `read_only_sql_transaction`.
const READ_ONLY_SQL_TRANSACTION: &str = "25006";

/// A connection inside `BEGIN READ ONLY` (one kept from an earlier step,
/// see [`pool`]); give it back to [`done`]. Dropped early (on an error),
/// the connection closes and the server rolls the transaction back.
pub(super) async fn read_only(url: &str) -> Result<PgConnection, StepError> {
    begin_read_only(pool::acquire(url, APPLICATION).await?, url).await
}

async fn begin_read_only(mut conn: PgConnection, url: &str) -> Result<PgConnection, StepError> {
    sqlx::raw_sql("BEGIN READ ONLY")
        .execute(&mut conn)
        .await
        .map_err(|e| db_error("cannot start a read-only transaction", url, &e))?;
    Ok(conn)
}

/// Rolls back and gives the connection to the next step (or closes it,
/// when even the rollback fails).
pub(super) async fn done(mut conn: PgConnection, url: &str) {
    match sqlx::raw_sql("ROLLBACK").execute(&mut conn).await {
        Ok(_) => pool::release(conn, url, APPLICATION).await,
        Err(_) => close(conn).await,
    }
}

/// The number of rows of `table` (matching `filter`).
pub(super) async fn count_rows(
    conn: &mut PgConnection,
    url: &str,
    table: &str,
    filter: Option<&str>,
) -> Result<i64, StepError> {
    let quoted = quote_qualified(table).map_err(StepError::failed)?;
    let sql = match filter {
        Some(filter) => format!("SELECT count(*) FROM {quoted} WHERE ({filter})"),
        None => format!("SELECT count(*) FROM {quoted}"),
    };
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql))
        .fetch_one(conn)
        .await
        .map_err(|e| db_error(&format!("cannot count the rows of `{table}`"), url, &e))
}

impl ProbeKind for PostgresConnect {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        wait::until(ctx, self.wait.map(Duration::std), wait::DEFAULT_INTERVAL, || async {
            // A new connection: this probe asks whether one can be opened.
            let mut conn = begin_read_only(connect(&self.url).await?, &self.url).await?;
            let version = sqlx::query_scalar::<_, String>("SHOW server_version")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| db_error("cannot query", &self.url, &e))?;
            done(conn, &self.url).await;
            ctx.log.line(&format!(
                "connected to {} (PostgreSQL {version})",
                display_url(&self.url)
            ));
            Ok(())
        })
        .await
    }
}

/// The first column of a row as text. Rows from the simple query protocol
/// (`raw_sql`) arrive in text format, whatever the column type.
fn first_value(row: &PgRow) -> Result<Option<String>, sqlx::Error> {
    row.try_get_unchecked::<Option<String>, _>(0)
}

impl PostgresQuery {
    /// The statements to run, without transaction control, and where they come from.
    fn statements(&self, ctx: &StepContext) -> Result<(Vec<String>, String), StepError> {
        let (sql, origin) = match (&self.sql, &self.file) {
            (Some(sql), _) => (sql.clone(), "the query".to_string()),
            (None, Some(file)) => {
                let path = ctx.path(file);
                let sql = std::fs::read_to_string(&path)
                    .map_err(|e| StepError::failed(format!("cannot read `{}`: {e}", path.display())))?;
                (sql, format!("`{}`", path.display()))
            }
            (None, None) => return Err(StepError::failed("no SQL to run")),
        };
        let statements = without_control(&sql).map_err(StepError::failed)?;
        Ok((statements, origin))
    }

    /// Runs every statement in the probe's read-only transaction; the rows
    /// of all of them.
    async fn rows(
        &self,
        conn: &mut PgConnection,
        statements: Vec<String>,
        origin: &str,
    ) -> Result<Vec<PgRow>, StepError> {
        let count = statements.len();
        let mut rows = Vec::new();
        for (index, statement) in statements.into_iter().enumerate() {
            let what = if count == 1 {
                format!("{origin} failed")
            } else {
                format!("{origin} failed at statement {} of {count}", index + 1)
            };
            let found = sqlx::raw_sql(AssertSqlSafe(statement))
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| probe_error(&what, &self.url, &e))?;
            rows.extend(found);
        }
        Ok(rows)
    }
}

/// A failed probe statement; writing is refused by the read-only transaction.
fn probe_error(what: &str, url: &str, error: &sqlx::Error) -> StepError {
    let message = super::connection::db_message(what, url, error);
    if super::connection::sqlstate(error).as_deref() == Some(READ_ONLY_SQL_TRANSACTION) {
        return StepError::with_detail(
            message,
            vec!["hint: probes run in a read-only transaction that is rolled back: they cannot write".into()],
        );
    }
    StepError::failed(message)
}

impl ProbeKind for PostgresQuery {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let (statements, origin) = self.statements(ctx)?;
        let url = &self.url;
        let mut conn = read_only(url).await?;
        let rows = self.rows(&mut conn, statements, &origin).await;
        done(conn, url).await;
        let rows = rows?;
        if self.expectation() == RowsExpectation::Ok && self.equals.is_none() {
            ctx.log.line(&format!("{origin} ran without error (rolled back)"));
            return Ok(());
        }
        ctx.log.line(&format!("the query returned {} row(s)", rows.len()));
        if let Some(expected) = &self.equals {
            let Some(row) = rows.first() else {
                return Err(StepError::failed(format!(
                    "the query returned no rows, expected {expected:?}"
                )));
            };
            let value = first_value(row).map_err(|e| StepError::failed(scrub(&e.to_string(), url)))?;
            return match value {
                Some(value) if &value == expected => Ok(()),
                Some(value) => Err(StepError::failed(format!(
                    "the query returned {value:?}, expected {expected:?}"
                ))),
                None => Err(StepError::failed(format!(
                    "the query returned NULL, expected {expected:?}"
                ))),
            };
        }
        match (self.expectation(), rows.is_empty()) {
            (RowsExpectation::Rows, false) | (RowsExpectation::NoRows, true) | (RowsExpectation::Ok, _) => Ok(()),
            (RowsExpectation::Rows, true) => Err(StepError::failed("the query returned no rows")),
            (RowsExpectation::NoRows, false) => Err(StepError::failed(format!(
                "the query returned {} row(s), expected none",
                rows.len()
            ))),
        }
    }
}

impl PostgresExists {
    /// What is looked for, and whether it is there.
    async fn look_up(&self, conn: &mut PgConnection) -> Result<(String, bool), StepError> {
        let url = &self.url;
        let (what, sql, name) = match (&self.database, &self.schema, &self.table) {
            (Some(database), ..) => (
                format!("database `{database}`"),
                "SELECT 1 FROM pg_database WHERE datname = $1",
                database.clone(),
            ),
            (None, Some(schema), _) => (
                format!("schema `{schema}`"),
                "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                schema.clone(),
            ),
            (None, None, Some(table)) => {
                let what = format!("table `{table}`");
                let quoted = quote_qualified(table).map_err(StepError::failed)?;
                let kind = sqlx::query_scalar::<_, i8>("SELECT relkind FROM pg_class WHERE oid = to_regclass($1)")
                    .bind(quoted)
                    .fetch_optional(conn)
                    .await
                    .map_err(|e| db_error(&format!("cannot look up {what}"), url, &e))?;
                return match kind.and_then(|k| u8::try_from(k).ok()) {
                    None => Ok((what, false)),
                    Some(b'r' | b'p') => Ok((what, true)),
                    Some(other) => Err(StepError::failed(format!(
                        "`{table}` exists but is not a table (relkind `{}`)",
                        char::from(other)
                    ))),
                };
            }
            (None, None, None) => return Err(StepError::failed("nothing to look for")),
        };
        let found = sqlx::query_scalar::<_, i32>(sql)
            .bind(name)
            .fetch_optional(conn)
            .await
            .map_err(|e| db_error(&format!("cannot look up {what}"), url, &e))?;
        Ok((what, found.is_some()))
    }
}

impl ProbeKind for PostgresExists {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let mut conn = read_only(&self.url).await?;
        let looked_up = self.look_up(&mut conn).await;
        done(conn, &self.url).await;
        let (what, found) = looked_up?;
        if found {
            ctx.log.line(&format!("{what} exists on {}", display_url(&self.url)));
            Ok(())
        } else {
            Err(StepError::failed(format!(
                "{what} does not exist on {}",
                display_url(&self.url)
            )))
        }
    }
}

/// `count(table)` on `url`, read only.
async fn count_on(url: &str, table: &str, filter: Option<&str>) -> Result<i64, StepError> {
    let mut conn = read_only(url).await?;
    let count = count_rows(&mut conn, url, table, filter).await;
    done(conn, url).await;
    count
}

impl ProbeKind for PostgresRowCount {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let count = count_on(&self.url, &self.table, self.filter.as_deref()).await?;
        let here = format!("count({}) on {}", self.table, display_url(&self.url));
        ctx.log.line(&format!("{here} = {count}"));
        if let Some(expected) = self.equals {
            return if count == expected {
                Ok(())
            } else {
                Err(StepError::failed(format!("{here} is {count}, expected {expected}")))
            };
        }
        let Some(other) = &self.same_as else {
            return Err(StepError::failed("nothing to compare the count with"));
        };
        let there = count_on(&other.url, &other.table, other.filter.as_deref()).await?;
        let other_name = format!("count({}) on {}", other.table, display_url(&other.url));
        ctx.log.line(&format!("{other_name} = {there}"));
        if count == there {
            Ok(())
        } else {
            Err(StepError::failed(format!(
                "{here} is {count} but {other_name} is {there}"
            )))
        }
    }
}
