//! PostgreSQL actions: run SQL, create and drop databases.

use indexmap::IndexMap;
use serde_json::{Value, json};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use super::connection::{close, connect, db_error, db_message, sqlstate};
use super::sql::{quote_ident, split_statements};
use super::{PostgresCreateDatabase, PostgresDropDatabase, PostgresExec, display_url};
use crate::exec::context::StepContext;
use crate::steps::outcome::{Applied, Perform, StepError, Undo, save_undo, saved_undo};

/// SQLSTATE `duplicate_database`.
const DUPLICATE_DATABASE: &str = "42P04";
/// SQLSTATE `object_in_use`: other sessions are connected.
const OBJECT_IN_USE: &str = "55006";

/// The first line of a statement, short enough for a log line.
fn headline(statement: &str) -> String {
    let line = statement
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line.to_string()
    }
}

impl PostgresExec {
    /// The SQL to run and where it comes from.
    fn script(&self, ctx: &StepContext) -> Result<(String, String), StepError> {
        match (&self.sql, &self.file) {
            (Some(sql), _) => Ok((sql.clone(), "inline SQL".into())),
            (None, Some(file)) => {
                let path = ctx.path(file);
                let sql = std::fs::read_to_string(&path)
                    .map_err(|e| StepError::failed(format!("cannot read `{}`: {e}", path.display())))?;
                Ok((sql, format!("`{}`", path.display())))
            }
            (None, None) => Err(StepError::failed("no SQL to run")),
        }
    }

    async fn in_transaction(&self, conn: &mut PgConnection, sql: String) -> Result<u64, StepError> {
        let url = &self.url;
        let mut tx = conn
            .begin()
            .await
            .map_err(|e| db_error("cannot start a transaction", url, &e))?;
        let result = sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("the SQL failed (rolled back)", url, &e))?;
        tx.commit().await.map_err(|e| db_error("cannot commit", url, &e))?;
        Ok(result.rows_affected())
    }

    /// Each statement on its own, as `psql` would run the file.
    async fn one_by_one(&self, conn: &mut PgConnection, sql: &str, ctx: &StepContext) -> Result<u64, StepError> {
        let statements = split_statements(sql);
        let count = statements.len();
        let mut rows = 0;
        for (index, statement) in statements.into_iter().enumerate() {
            let number = index + 1;
            ctx.log
                .line(&format!("statement {number} of {count}: {}", headline(&statement)));
            let result = sqlx::raw_sql(AssertSqlSafe(statement))
                .execute(&mut *conn)
                .await
                .map_err(|e| db_error(&format!("statement {number} of {count} failed"), &self.url, &e))?;
            rows += result.rows_affected();
        }
        Ok(rows)
    }
}

impl Perform for PostgresExec {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let (sql, origin) = self.script(ctx)?;
        let mut conn = connect(&self.url).await?;
        let rows = if self.transaction {
            ctx.log.line(&format!(
                "running {origin} in one transaction on {}",
                display_url(&self.url)
            ));
            self.in_transaction(&mut conn, sql).await?
        } else {
            ctx.log.line(&format!(
                "running {origin} statement by statement on {}",
                display_url(&self.url)
            ));
            self.one_by_one(&mut conn, &sql, ctx).await?
        };
        close(conn).await;
        ctx.log.line(&format!("done: {rows} row(s) affected"));
        Ok(Applied {
            outputs: IndexMap::from([("rows_affected".to_string(), rows.to_string())]),
            undo: None,
        })
    }
}

async fn database_exists(conn: &mut PgConnection, url: &str, name: &str) -> Result<bool, StepError> {
    sqlx::query_scalar::<_, i32>("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(conn)
        .await
        .map(|found| found.is_some())
        .map_err(|e| db_error(&format!("cannot look up database `{name}`"), url, &e))
}

/// `DROP DATABASE IF EXISTS`, with a hint when sessions hold it open.
async fn drop_database(conn: &mut PgConnection, url: &str, name: &str, force: bool) -> Result<(), StepError> {
    let mut sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(name));
    if force {
        sql.push_str(" WITH (FORCE)");
    }
    match sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await {
        Ok(_) => Ok(()),
        Err(error) if !force && sqlstate(&error).as_deref() == Some(OBJECT_IN_USE) => Err(StepError::with_detail(
            db_message(&format!("cannot drop database `{name}`"), url, &error),
            vec![
                "hint: other sessions use it; stop them, or drop it with `postgres.drop_database` and `force = true`"
                    .into(),
            ],
        )),
        Err(error) => Err(db_error(&format!("cannot drop database `{name}`"), url, &error)),
    }
}

impl Perform for PostgresCreateDatabase {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let (url, name) = (&self.url, &self.name);
        let mut conn = connect(url).await?;
        let exists = database_exists(&mut conn, url, name).await?;
        let mut record = match saved_undo(ctx) {
            Some(record) => record,
            None => {
                let record = json!({ "created": !exists });
                save_undo(ctx, &record).await?;
                record
            }
        };
        if exists {
            ctx.log
                .line(&format!("database `{name}` already exists: nothing to do"));
        } else {
            let mut sql = format!("CREATE DATABASE {}", quote_ident(name));
            if let Some(owner) = &self.owner {
                sql.push_str(&format!(" OWNER {}", quote_ident(owner)));
            }
            match sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await {
                Ok(_) => ctx
                    .log
                    .line(&format!("created database `{name}` on {}", display_url(url))),
                Err(error) if sqlstate(&error).as_deref() == Some(DUPLICATE_DATABASE) => {
                    // Created by someone else between the look-up and now: not ours to drop.
                    record = json!({ "created": false });
                    save_undo(ctx, &record).await?;
                    ctx.log
                        .line(&format!("database `{name}` was created meanwhile by someone else"));
                }
                Err(error) => return Err(db_error(&format!("cannot create database `{name}`"), url, &error)),
            }
        }
        close(conn).await;
        Ok(Applied {
            outputs: IndexMap::new(),
            undo: Some(record),
        })
    }
}

impl Undo for PostgresCreateDatabase {
    async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
        let name = &self.name;
        if record["created"] != json!(true) {
            ctx.log
                .line(&format!("database `{name}` existed before this run: left in place"));
            return Ok(());
        }
        let mut conn = connect(&self.url).await?;
        drop_database(&mut conn, &self.url, name, false).await?;
        close(conn).await;
        ctx.log
            .line(&format!("dropped database `{name}` (this run created it)"));
        Ok(())
    }
}

impl Perform for PostgresDropDatabase {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let (url, name) = (&self.url, &self.name);
        let mut conn = connect(url).await?;
        if database_exists(&mut conn, url, name).await? {
            drop_database(&mut conn, url, name, self.force).await?;
            ctx.log
                .line(&format!("dropped database `{name}` on {}", display_url(url)));
        } else {
            ctx.log
                .line(&format!("database `{name}` does not exist: nothing to do"));
        }
        close(conn).await;
        Ok(Applied::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_are_one_short_line() {
        assert_eq!(headline("\n  CREATE TABLE t (\n  id int)"), "CREATE TABLE t (");
        assert_eq!(headline(&"x".repeat(100)).chars().count(), 81);
    }
}
