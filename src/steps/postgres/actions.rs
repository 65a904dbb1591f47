//! PostgreSQL actions on databases: create and drop them. Each records
//! its session before the statement, and is settled after a crash by
//! whether the database exists, once that session is gone.

use indexmap::IndexMap;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::connection::{close, db_error, db_message, sqlstate};
use super::locks::configure;
use super::pool;
use super::sql::quote_ident;
use super::xact::{Backend, end_session};
use super::{PostgresCreateDatabase, PostgresDropDatabase, display_url};
use crate::failpoint;
use crate::steps::ActionKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::{
    Applied, Settlement, StepError, Verdict, evidence, save_undo, saved_evidence, saved_undo, which_attempt,
};

/// SQLSTATE `duplicate_database`.
const DUPLICATE_DATABASE: &str = "42P04";
/// SQLSTATE `object_in_use`: other sessions are connected.
const OBJECT_IN_USE: &str = "55006";

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

/// Records the session about to run a database statement, with the
/// undo record when it is new, before the statement runs.
async fn record_session(
    ctx: &StepContext,
    conn: &mut PgConnection,
    url: &str,
    name: &str,
    undo: Option<&Value>,
) -> Result<(), StepError> {
    let backend = configure(conn, url, std::time::Duration::ZERO, ctx.timeout).await?;
    let ask = format!("whether database `{name}` exists on {}", display_url(url));
    let fields = json!({ "backend": backend, "database": name });
    let mut entries = vec![("evidence", evidence(ctx, &ask, fields))];
    if let Some(undo) = undo {
        entries.push(("undo", undo.clone()));
    }
    ctx.progress.save_entries(entries).await.map_err(StepError::failed)
}

/// Settles a database action: once the attempt's session is gone, does
/// the database exist? `verdict` says what that means.
async fn settle_database(
    ctx: &StepContext,
    url: &str,
    name: &str,
    verdict: impl FnOnce(bool) -> Verdict,
) -> Result<Settlement, StepError> {
    let Some(evidence) = saved_evidence(ctx) else {
        return Ok(Settlement::no_evidence());
    };
    let asked = format!(
        "{} (recorded by {})",
        evidence["ask"].as_str().unwrap_or("whether the database exists"),
        which_attempt(ctx, &evidence)
    );
    let backend: Option<Backend> = serde_json::from_value(evidence["backend"].clone()).ok();
    let (Some(backend), Some(name)) = (backend, evidence["database"].as_str().filter(|n| *n == name)) else {
        let found = "the step changed since that attempt: its record does not describe it";
        return Ok(Settlement::new(asked, found, Verdict::Unknown));
    };
    // Our idle sessions go first: the recorded one may be one.
    let mut conn = pool::connect_alone(url).await?;
    let ended = end_session(&mut conn, url, backend, ctx.kill_grace, &ctx.cancel).await;
    let exists = match ended {
        Ok(ended) => database_exists(&mut conn, url, name)
            .await
            .map(|exists| (ended, exists)),
        Err(error) => Err(error),
    };
    close(conn).await;
    let (ended, exists) = exists?;
    let found = format!(
        "{ended}; the database {}",
        if exists { "exists" } else { "does not exist" }
    );
    Ok(Settlement::new(asked, found, verdict(exists)))
}

impl ActionKind for PostgresCreateDatabase {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let (url, name) = (&self.url, &self.name);
        // A database with sessions cannot be a template or be dropped: our
        // idle ones go first.
        let mut conn = pool::connect_alone(url).await?;
        let exists = database_exists(&mut conn, url, name).await?;
        let saved = saved_undo(ctx);
        let mut record = saved.clone().unwrap_or_else(|| json!({ "created": !exists }));
        if exists {
            if saved.is_none() {
                save_undo(ctx, &record).await?;
            }
            ctx.log
                .line(&format!("database `{name}` already exists: nothing to do"));
        } else {
            record_session(ctx, &mut conn, url, name, saved.is_none().then_some(&record)).await?;
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
            failpoint::hit("postgres.create_database:created");
        }
        close(conn).await;
        Ok(Applied {
            outputs: IndexMap::new(),
            undo: Some(record),
        })
    }

    fn has_builtin_undo(&self) -> bool {
        true
    }

    async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
        let name = &self.name;
        if record["created"] != json!(true) {
            ctx.log
                .line(&format!("database `{name}` existed before this run: left in place"));
            return Ok(());
        }
        let mut conn = pool::connect_alone(&self.url).await?;
        drop_database(&mut conn, &self.url, name, false).await?;
        close(conn).await;
        ctx.log
            .line(&format!("dropped database `{name}` (this run created it)"));
        Ok(())
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
        settle_database(ctx, &self.url, &self.name, |exists| {
            if exists {
                Verdict::Done(Applied {
                    outputs: IndexMap::new(),
                    undo: saved_undo(ctx),
                })
            } else {
                Verdict::Nothing
            }
        })
        .await
    }
}

impl ActionKind for PostgresDropDatabase {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let (url, name) = (&self.url, &self.name);
        let mut conn = pool::connect_alone(url).await?;
        if database_exists(&mut conn, url, name).await? {
            record_session(ctx, &mut conn, url, name, None).await?;
            drop_database(&mut conn, url, name, self.force).await?;
            failpoint::hit("postgres.drop_database:dropped");
            ctx.log
                .line(&format!("dropped database `{name}` on {}", display_url(url)));
        } else {
            ctx.log
                .line(&format!("database `{name}` does not exist: nothing to do"));
        }
        close(conn).await;
        Ok(Applied::default())
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
        settle_database(ctx, &self.url, &self.name, |exists| {
            if exists {
                Verdict::Nothing
            } else {
                Verdict::Done(Applied::default())
            }
        })
        .await
    }
}
