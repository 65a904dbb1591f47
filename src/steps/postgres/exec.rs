//! `postgres.exec`: SQL that runs once, even when planrun dies during it.
//!
//! Before its point of no return, every attempt records evidence in the
//! step's progress (see [`Record`]): the server session it runs on, a
//! hash of the script, how many of the script's units (see `script`)
//! have committed, and, just before each `COMMIT`, the id of the
//! transaction being committed. Afterwards the server answers:
//!
//! 1. The interrupted attempt's session is waited for (up to
//!    `--kill-grace`) and then terminated, so nothing of it still runs.
//! 2. `txid_status()` of the recorded transaction: committed → that unit
//!    took effect; aborted → it did not; unknown (too old) → nobody can
//!    tell, and the step's `idempotent`/`check` or an operator decides.
//!
//! With `transaction = true` the script is one unit. With `transaction =
//! false` each statement (or `BEGIN … COMMIT` block of the script) is
//! one, tried in its own transaction so it too is settled by its id; a
//! statement PostgreSQL refuses to run in a transaction block (`CREATE
//! DATABASE`, `CREATE INDEX CONCURRENTLY`, `VACUUM`, a procedure that
//! commits) runs on its own instead; if planrun dies during it, nobody can
//! tell whether it finished, and the step's `idempotent`, its `check` or an
//! operator decides (run again, it starts at that statement). The next attempt of the step starts after the last unit
//! that committed: it settles the previous attempt's record first, the
//! same way, so a retry after a timeout never runs a committed unit again.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::connection::{APPLICATION, close, db_error, sqlstate};
use super::locks::{Watch, configure, statement_error};
use super::pool;
use super::script::{End, Unit, single_transaction, units};
use super::xact::{Backend, Fate, current_xid, end_session, final_fate};
use super::{PostgresExec, display_url};
use crate::digest::text_hash;
use crate::failpoint;
use crate::steps::ActionKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::{Applied, Settlement, StepError, Verdict, save_evidence, saved_evidence, which_attempt};

/// SQLSTATEs of a statement that cannot run inside a transaction block
/// (`active_sql_transaction`, and `invalid_transaction_termination` from a
/// procedure that commits).
const NOT_IN_A_TRANSACTION: [&str; 2] = ["25001", "2D000"];

/// The evidence of an attempt, saved as the step's `evidence` progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    backend: Backend,
    /// [`text_hash`] of the script.
    script: String,
    /// Units in the script (1 with `transaction = true`).
    units: usize,
    /// The units before this one have committed...
    next: usize,
    /// ...affecting this many rows.
    rows: u64,
    /// Unit `next`, run and maybe committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    /// "statement 3", "statements 4–9", "the script".
    unit: String,
    /// Its transaction; `None` when it ran outside one.
    xid: Option<i64>,
    rows: u64,
}

/// The script, ready to run.
enum Script {
    /// `transaction = true`: the SQL of the one transaction.
    One(String),
    Units(Vec<Unit>),
}

impl Script {
    fn units(&self) -> usize {
        match self {
            Script::One(_) => 1,
            Script::Units(units) => units.len(),
        }
    }
}

/// Where the earlier attempts left the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// All of it committed, affecting this many rows.
    Done(u64),
    /// The units before `next` committed, affecting `rows` rows.
    At { next: usize, rows: u64 },
    /// Nobody can tell; the units before `next` committed.
    Unknown { next: usize, rows: u64 },
}

fn applied(rows: u64) -> Applied {
    Applied {
        outputs: IndexMap::from([("rows_affected".to_string(), rows.to_string())]),
        undo: None,
    }
}

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
    fn source(&self, ctx: &StepContext) -> Result<(String, String), StepError> {
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

    fn parse(&self, sql: &str) -> Result<Script, StepError> {
        let hint = |message: String, hint: &str| StepError::with_detail(message, vec![format!("hint: {hint}")]);
        if self.transaction {
            let one = single_transaction(sql).map_err(|message| {
                hint(
                    message,
                    "remove it, or set `transaction = false` to run the script's own BEGIN … COMMIT blocks",
                )
            })?;
            Ok(Script::One(one.unwrap_or_else(|| sql.to_string())))
        } else {
            units(sql)
                .map(Script::Units)
                .map_err(|message| hint(message, "balance each BEGIN with a COMMIT or a ROLLBACK"))
        }
    }

    /// Settles the attempt `evidence` describes, for a step whose script
    /// hashes to `digest`.
    async fn inspect(
        &self,
        ctx: &StepContext,
        evidence: &Value,
        digest: &str,
    ) -> Result<(Settlement, Left), StepError> {
        let asked = format!(
            "{} (recorded by {})",
            evidence["ask"].as_str().unwrap_or("where the SQL stopped"),
            which_attempt(ctx, evidence)
        );
        let record = match serde_json::from_value::<Record>(evidence.clone()) {
            Ok(record) if record.script == digest => record,
            Ok(_) => {
                let found = "the SQL changed since that attempt: its record does not describe it";
                return Ok((
                    Settlement::new(asked, found, Verdict::Unknown),
                    Left::Unknown { next: 0, rows: 0 },
                ));
            }
            Err(error) => return Err(StepError::failed(format!("unreadable evidence: {error}"))),
        };
        // The recorded session may be one of ours, kept idle since: closed
        // first, so waiting for it to end does not wait on ourselves.
        let mut conn = pool::connect_alone(&self.url).await?;
        let ended = end_session(&mut conn, &self.url, record.backend, ctx.kill_grace, &ctx.cancel).await;
        let answer = match ended {
            Ok(ended) => self
                .fate_of(&mut conn, ctx, &record)
                .await
                .map(|(found, left)| (format!("{ended}; {found}"), left)),
            Err(error) => Err(error),
        };
        close(conn).await;
        let (found, left) = answer?;
        let verdict = match left {
            Left::Done(rows) => Verdict::Done(applied(rows)),
            Left::At { next: 0, .. } => Verdict::Nothing,
            Left::At { .. } => Verdict::Partly,
            Left::Unknown { .. } => Verdict::Unknown,
        };
        Ok((Settlement::new(asked, found, verdict), left))
    }

    /// What became of the pending unit of `record`, in words.
    async fn fate_of(
        &self,
        conn: &mut PgConnection,
        ctx: &StepContext,
        record: &Record,
    ) -> Result<(String, Left), StepError> {
        let (next, rows) = (record.next, record.rows);
        let (found, left) = match &record.pending {
            None => (
                format!(
                    "nothing was being committed; {next} of {} unit(s) had committed",
                    record.units
                ),
                Left::At { next, rows },
            ),
            // Nothing records whether it finished, and running it again is
            // not harmless (a procedure that commits runs twice; an
            // interrupted `CREATE INDEX CONCURRENTLY` leaves an invalid
            // index that `IF NOT EXISTS` would keep): the step's
            // `idempotent`, its `check` or an operator decides.
            Some(Pending { unit, xid: None, .. }) => (
                format!(
                    "{unit} ran outside a transaction, so whether it finished cannot be known \
                     ({next} of {} unit(s) had committed before it)",
                    record.units
                ),
                Left::Unknown { next, rows },
            ),
            Some(Pending {
                unit,
                xid: Some(xid),
                rows: more,
            }) => {
                let fate = final_fate(conn, &self.url, *xid, ctx.kill_grace, &ctx.cancel).await?;
                let found = format!("transaction {xid} ({unit}) {}", fate.as_str());
                match fate {
                    Fate::Committed => (
                        found,
                        Left::At {
                            next: next + 1,
                            rows: rows + more,
                        },
                    ),
                    Fate::Aborted => (found, Left::At { next, rows }),
                    Fate::InProgress | Fate::Unknown => (found, Left::Unknown { next, rows }),
                }
            }
        };
        Ok(match left {
            Left::At { next, rows, .. } if next >= record.units => (found, Left::Done(rows)),
            other => (found, other),
        })
    }

    /// Where to start: after what earlier attempts committed.
    async fn start(&self, ctx: &StepContext, digest: &str) -> Result<Left, StepError> {
        let Some(evidence) = saved_evidence(ctx) else {
            return Ok(Left::At { next: 0, rows: 0 });
        };
        let (settlement, left) = self.inspect(ctx, &evidence, digest).await?;
        ctx.log.line(&format!(
            "an earlier attempt was asked about: {}: {}",
            settlement.asked, settlement.found
        ));
        Ok(left)
    }
}

impl ActionKind for PostgresExec {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let (sql, origin) = self.source(ctx)?;
        let digest = text_hash(&sql);
        let script = self.parse(&sql)?;
        let (next, rows) = match self.start(ctx, &digest).await? {
            Left::Done(rows) => {
                ctx.log.line("the SQL already took effect: it is not run again");
                return Ok(applied(rows));
            }
            Left::At { next, rows, .. } => (next, rows),
            Left::Unknown { next, rows } if self.script_unchanged(ctx, &digest) => (next, rows),
            Left::Unknown { .. } => (0, 0),
        };
        if mentions_databases(&sql) {
            // `DROP DATABASE` and the like fail on a database with other
            // sessions: ours, kept idle, go first.
            pool::close_idle().await;
        }
        let mut conn = pool::acquire(&self.url, APPLICATION).await?;
        let backend = configure(&mut conn, &self.url, self.lock_timeout(), ctx.timeout).await?;
        let mut attempt = Attempt {
            exec: self,
            ctx,
            watch: Watch::start(&self.url, backend.pid, self.lock_timeout()),
            conn,
            record: Record {
                backend,
                script: digest,
                units: script.units(),
                next,
                rows,
                pending: None,
            },
        };
        attempt.save().await?;
        let result = match &script {
            Script::One(body) => attempt.one_transaction(body, &origin).await,
            Script::Units(units) => attempt.unit_by_unit(units, &origin).await,
        };
        let Attempt { conn, watch, .. } = attempt;
        drop(watch);
        // Only a connection that ended cleanly serves the next step.
        if result.is_ok() {
            pool::release(conn, &self.url, APPLICATION).await;
        } else {
            close(conn).await;
        }
        let rows = result?;
        ctx.log.line(&format!("done: {rows} row(s) affected"));
        Ok(applied(rows))
    }

    /// The SQL runs only after its session is saved as evidence (what
    /// comes before reads, or ends a dead attempt's session).
    fn writes_before_effects(&self) -> bool {
        true
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
        let Some(evidence) = saved_evidence(ctx) else {
            return Ok(Settlement::no_evidence());
        };
        let digest = match self.source(ctx) {
            Ok((sql, _)) => text_hash(&sql),
            Err(error) => {
                let reason = match error {
                    StepError::Failed { message, .. } => message,
                    _ => "cannot read the SQL".into(),
                };
                return Ok(Settlement::new("what the SQL is now", reason, Verdict::Unknown));
            }
        };
        Ok(self.inspect(ctx, &evidence, &digest).await?.0)
    }
}

impl PostgresExec {
    fn script_unchanged(&self, ctx: &StepContext, digest: &str) -> bool {
        saved_evidence(ctx).is_some_and(|evidence| evidence["script"].as_str() == Some(digest))
    }
}

/// One attempt's session and evidence.
struct Attempt<'a> {
    exec: &'a PostgresExec,
    ctx: &'a StepContext,
    conn: PgConnection,
    watch: Watch,
    record: Record,
}

impl Attempt<'_> {
    /// The question a later command will ask, given where the attempt is.
    fn ask(&self) -> String {
        let url = display_url(&self.exec.url);
        match &self.record.pending {
            Some(Pending { xid: Some(xid), .. }) => format!("whether transaction {xid} committed on {url}"),
            Some(Pending { unit, xid: None, .. }) => {
                format!("whether {unit}, run outside a transaction, finished on {url}")
            }
            None => format!(
                "where the SQL stopped on {url} (session {}, {} of {} unit(s) committed)",
                self.record.backend.pid, self.record.next, self.record.units
            ),
        }
    }

    async fn save(&self) -> Result<(), StepError> {
        let fields = serde_json::to_value(&self.record).map_err(|e| StepError::failed(e.to_string()))?;
        save_evidence(self.ctx, &self.ask(), fields).await
    }

    /// Runs `sql` on the session; a failure names what blocked it.
    async fn run(&mut self, sql: String, what: &str) -> Result<u64, (StepError, Option<String>)> {
        let url = &self.exec.url;
        match sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut self.conn).await {
            Ok(result) => Ok(result.rows_affected()),
            Err(error) => Err((
                statement_error(what, url, &error, &self.watch, self.exec.lock_timeout()),
                sqlstate(&error),
            )),
        }
    }

    async fn rollback(&mut self) {
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await;
    }

    /// Records the transaction of unit `name`, then commits it.
    async fn commit(&mut self, name: &str, rows: u64) -> Result<(), StepError> {
        let xid = current_xid(&mut self.conn, &self.exec.url).await?;
        self.record.pending = Some(Pending {
            unit: name.to_string(),
            xid: Some(xid),
            rows,
        });
        self.save().await?;
        sqlx::raw_sql("COMMIT")
            .execute(&mut self.conn)
            .await
            .map_err(|e| db_error("cannot commit", &self.exec.url, &e))?;
        self.record.next += 1;
        self.record.rows += rows;
        self.record.pending = None;
        Ok(())
    }

    async fn one_transaction(&mut self, body: &str, origin: &str) -> Result<u64, StepError> {
        let url = display_url(&self.exec.url);
        self.ctx
            .log
            .line(&format!("running {origin} in one transaction on {url}"));
        let rows = match self
            .run(format!("BEGIN;\n{body}"), "the SQL failed (rolled back)")
            .await
        {
            Ok(rows) => rows,
            Err((error, _)) => {
                self.rollback().await;
                return Err(error);
            }
        };
        self.commit("the script", rows).await?;
        failpoint::hit("postgres.exec:committed");
        Ok(self.record.rows)
    }

    async fn unit_by_unit(&mut self, units: &[Unit], origin: &str) -> Result<u64, StepError> {
        let url = display_url(&self.exec.url);
        let count = units.last().map_or(0, |unit| unit.last);
        if let Some(after) = self.record.next.checked_sub(1).and_then(|last| units.get(last)) {
            self.ctx.log.line(&format!(
                "{} of {origin} committed before: going on after it",
                after.name()
            ));
        } else {
            self.ctx
                .log
                .line(&format!("running {origin} statement by statement on {url}"));
        }
        for unit in units.iter().skip(self.record.next) {
            let block = if unit.block { " (a transaction block)" } else { "" };
            let first = unit.statements.first().map(String::as_str).unwrap_or_default();
            self.ctx
                .log
                .line(&format!("{} of {count}{block}: {}", unit.name(), headline(first)));
            self.unit(unit, count).await?;
            failpoint::hit("postgres.exec:statement-done");
        }
        Ok(self.record.rows)
    }

    /// One unit in a transaction of its own, else (a statement PostgreSQL
    /// will not run in one) alone.
    async fn unit(&mut self, unit: &Unit, count: usize) -> Result<(), StepError> {
        let what = format!("{} of {count} failed", unit.name());
        let rows = match self.run(format!("BEGIN;\n{}", unit.sql()), &what).await {
            Ok(rows) => rows,
            Err((_, Some(code))) if !unit.block && NOT_IN_A_TRANSACTION.contains(&code.as_str()) => {
                self.rollback().await;
                return self.alone(unit, &what).await;
            }
            Err((error, _)) => {
                self.rollback().await;
                return Err(error);
            }
        };
        if unit.end == End::Rollback {
            self.rollback().await;
            self.ctx
                .log
                .line(&format!("{} ended in ROLLBACK: nothing to commit", unit.name()));
            self.record.next += 1;
            return Ok(());
        }
        self.commit(&unit.name(), rows).await
    }

    /// A statement outside any transaction: recorded as in flight first.
    async fn alone(&mut self, unit: &Unit, what: &str) -> Result<(), StepError> {
        self.ctx.log.line(&format!(
            "{} cannot run in a transaction: running it on its own",
            unit.name()
        ));
        self.record.pending = Some(Pending {
            unit: unit.name(),
            xid: None,
            rows: 0,
        });
        self.save().await?;
        let result = self.run(unit.sql(), what).await;
        self.record.pending = None;
        let rows = match result {
            Ok(rows) => rows,
            Err((error, _)) => {
                // It failed, so it did not happen: say so before failing.
                self.save().await?;
                return Err(error);
            }
        };
        self.record.next += 1;
        self.record.rows += rows;
        self.save().await
    }
}

/// Whether `sql` may act on whole databases (`DROP DATABASE`, `ALTER
/// DATABASE … RENAME`, `CREATE DATABASE … TEMPLATE`).
fn mentions_databases(sql: &str) -> bool {
    sql.to_ascii_lowercase().contains("database")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headlines_are_one_short_line() {
        assert_eq!(headline("\n  CREATE TABLE t (\n  id int)"), "CREATE TABLE t (");
        assert_eq!(headline(&"x".repeat(100)).chars().count(), 81);
    }

    #[test]
    fn records_read_back() {
        let record = Record {
            backend: Backend {
                pid: 42,
                started_us: 1_700_000_000_000_000,
            },
            script: "abc".into(),
            units: 3,
            next: 1,
            rows: 7,
            pending: Some(Pending {
                unit: "statement 2".into(),
                xid: Some(991),
                rows: 2,
            }),
        };
        let value = serde_json::to_value(&record).expect("serialise");
        assert_eq!(serde_json::from_value::<Record>(value).ok(), Some(record));
    }
}
