//! `postgres.copy_table`: a table copied between databases with `COPY`, in
//! batches by key, resumable after a crash without duplicating a row.
//!
//! Each batch is a key range `(last, upper]`: `upper` is the key of the
//! `batch_size`-th next source row (the last one, near the end). The rows
//! of that range stream from `COPY (SELECT …) TO STDOUT` on the source
//! into `COPY … FROM STDIN` on the target, inside one target transaction.
//! Because a batch is a range, not a `LIMIT`, rows sharing a key always
//! travel together, and the recorded key says exactly what was copied.
//!
//! Progress, in the state store: `{ "last_key", "copied", "pending" }`.
//! A batch goes like this:
//!
//! 1. `BEGIN` on the target; note the transaction id (`txid_current()`).
//! 2. Stream the rows.
//! 3. Save `pending = { xid, upper, rows }`.
//! 4. `COMMIT`.
//! 5. Save `last_key = upper`, `copied += rows`, no `pending`.
//!
//! A crash before 3 leaves an uncommitted transaction, which the server
//! rolls back when the connection drops: nothing was written, and progress
//! still says `last_key`. A crash between 3 and 5 leaves a `pending` batch
//! that may or may not be committed; on resume, `txid_status(xid)` on the
//! target (PostgreSQL 10 or later) says which (`committed` → move on past
//! `upper`; `aborted` → copy it again). So every batch lands exactly once,
//! without touching rows of the target that this step did not write.
//!
//! Keys: `smallint`, `integer`, `bigint`, `numeric`, `text`, `varchar` and
//! `uuid` columns, whose text form converts back to the same value. The key
//! is saved as text and compared as `'…'::type` (`COPY` takes no bind
//! parameters, so the bound is a quoted literal). It must not be NULL.
//!
//! Speed: a reader streams batch after batch from the source while a
//! writer loads and commits them on the target (a small channel of chunks
//! between them), and the data goes in binary form when both sides agree on
//! every column type (see [`binary_compatible`]). A dropped step is safe:
//! closing the target connection rolls the open batch back.

use futures_util::StreamExt;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::mpsc::{Receiver, Sender};

use super::PostgresCopyTable;
use super::connection::{close, connect, db_error};
use super::probes::count_rows;
use super::sequences::Sequences;
use super::sql::{quote_ident, quote_literal, quote_qualified};
use super::xact::{Fate, final_fate};
use crate::steps::ActionKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::{Applied, Settlement, StepError, Verdict};

const DEFAULT_BATCH_SIZE: u32 = 50_000;
/// Bytes gathered before they are sent on to the target.
const CHUNK: usize = 1 << 20;
/// Chunks read from the source but not yet written to the target: enough
/// to keep the source busy while the target commits a batch.
const IN_FLIGHT: usize = 8;
/// Key types whose text form casts back to the same value.
const KEY_TYPES: [&str; 7] = ["int2", "int4", "int8", "numeric", "text", "varchar", "uuid"];
/// How long a crashed batch's transaction may stay open on the target.
const PENDING_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// What flows from the source reader to the target writer.
enum Chunk {
    Data(Vec<u8>),
    /// The batch up to this key was read whole: it can be committed.
    End {
        upper: String,
    },
}

/// What is saved in the state store after every batch.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Checkpoint {
    /// The key of the last row copied, as text.
    last_key: Option<String>,
    /// Rows copied so far.
    copied: u64,
    /// A batch whose commit may or may not have happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    xid: i64,
    upper: String,
    rows: u64,
}

/// The copy, in SQL terms: quoted names, worked out once.
#[derive(Debug)]
struct Shape {
    source: String,
    target: String,
    /// `"a", "b"`.
    columns: String,
    /// Copy in PostgreSQL's binary format (see [`binary_compatible`]).
    binary: bool,
    key: String,
    /// The key's type, as `format_type` writes it (`bigint`, `character varying(40)`).
    key_type: String,
    filter: Option<String>,
}

impl Shape {
    /// `(filter) AND key > 'last' AND key <= 'upper'`, as far as given.
    fn conditions(&self, after: Option<&str>, up_to: Option<&str>) -> String {
        let mut conditions = Vec::new();
        if let Some(filter) = &self.filter {
            conditions.push(format!("({filter})"));
        }
        if let Some(after) = after {
            conditions.push(format!("{} > {}::{}", self.key, quote_literal(after), self.key_type));
        }
        if let Some(up_to) = up_to {
            conditions.push(format!("{} <= {}::{}", self.key, quote_literal(up_to), self.key_type));
        }
        if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        }
    }

    /// The key closing the next batch: that of the `batch_size`-th row
    /// after `after`, or of the last row; `None` when no row is left. The
    /// outer `ORDER BY` names `batch.key`: a bare name would sort by the
    /// text output column.
    fn upper_bound_sql(&self, after: Option<&str>) -> String {
        format!(
            "SELECT batch.{key}::text AS upper_key \
             FROM (SELECT {key} FROM {source}{conditions} ORDER BY {key} LIMIT $1) AS batch \
             ORDER BY batch.{key} DESC LIMIT 1",
            key = self.key,
            source = self.source,
            conditions = self.conditions(after, None),
        )
    }

    fn format(&self) -> &'static str {
        if self.binary { " (FORMAT binary)" } else { "" }
    }

    fn copy_out_sql(&self, after: Option<&str>, upper: &str) -> String {
        format!(
            "COPY (SELECT {columns} FROM {source}{conditions} ORDER BY {key}) TO STDOUT{format}",
            columns = self.columns,
            source = self.source,
            conditions = self.conditions(after, Some(upper)),
            key = self.key,
            format = self.format(),
        )
    }

    fn copy_in_sql(&self) -> String {
        format!("COPY {} ({}) FROM STDIN{}", self.target, self.columns, self.format())
    }
}

impl PostgresCopyTable {
    fn target_table(&self) -> &str {
        self.target_table.as_deref().unwrap_or(&self.table)
    }

    /// Names, columns, key and format, from both catalogs.
    async fn shape(&self, source: &mut PgConnection, target: &mut PgConnection) -> Result<Shape, StepError> {
        let table = quote_qualified(&self.table).map_err(StepError::failed)?;
        let target_table = quote_qualified(self.target_table()).map_err(StepError::failed)?;
        let wanted = (!self.columns.is_empty()).then_some(self.columns.as_slice());
        let source_columns = columns(source, &self.source, &table, &self.table, wanted).await?;
        let names: Vec<String> = source_columns.iter().map(|c| c.name.clone()).collect();
        let target_columns = columns(target, &self.target, &target_table, self.target_table(), Some(&names)).await?;
        let binary = binary_compatible(&source_columns, &target_columns)
            && major_version(source, &self.source).await? == major_version(target, &self.target).await?;
        let (key_name, key_type) = self.key(source, &table).await?;
        Ok(Shape {
            source: table,
            target: target_table,
            columns: names.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", "),
            binary,
            key: quote_ident(&key_name),
            key_type,
            filter: self.filter.clone(),
        })
    }

    /// The key column and its type: `key`, else the single-column primary key.
    async fn key(&self, source: &mut PgConnection, table: &str) -> Result<(String, String), StepError> {
        let url = &self.source;
        let rows: Vec<(String, String, String)> = match &self.key {
            Some(key) => sqlx::query_as(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text \
                 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
            )
            .bind(table)
            .bind(key),
            None => sqlx::query_as(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text \
                 FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY a.attnum",
            )
            .bind(table),
        }
        .fetch_all(&mut *source)
        .await
        .map_err(|e| db_error(&format!("cannot find the key of `{}`", self.table), url, &e))?;
        let key = match (rows.as_slice(), &self.key) {
            ([row], _) => row,
            ([], Some(key)) => {
                return Err(StepError::failed(format!(
                    "`{}` has no column `{key}` to use as `key`",
                    self.table
                )));
            }
            ([], None) => {
                return Err(StepError::with_detail(
                    format!("`{}` has no primary key to copy it in order", self.table),
                    vec!["hint: set `key` to a unique, non-null column".into()],
                ));
            }
            (rows, _) => {
                let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                return Err(StepError::with_detail(
                    format!(
                        "the primary key of `{}` has several columns ({})",
                        self.table,
                        names.join(", ")
                    ),
                    vec!["hint: set `key` to a unique, non-null column".into()],
                ));
            }
        };
        let (name, format, type_name) = key;
        if !KEY_TYPES.contains(&type_name.as_str()) {
            return Err(StepError::with_detail(
                format!("key `{name}` is of type {format}, which copy_table cannot use as a key"),
                vec!["hint: choose a key of type integer, bigint, smallint, numeric, text, varchar or uuid".into()],
            ));
        }
        Ok((name.clone(), format.clone()))
    }

    /// The key closing the next batch, if any row is left.
    async fn upper_bound(
        &self,
        source: &mut PgConnection,
        shape: &Shape,
        after: Option<&str>,
    ) -> Result<Option<String>, StepError> {
        let batch = i64::from(self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE).max(1));
        sqlx::query_scalar::<_, String>(AssertSqlSafe(shape.upper_bound_sql(after)))
            .bind(batch)
            .fetch_optional(source)
            .await
            .map_err(|e| db_error("cannot find the next batch", &self.source, &e))
    }

    /// Reads batch after batch from the source, each as `Data` chunks then
    /// `End`, until no row is left (the channel then closes). Returns early,
    /// without error, when the writer has stopped.
    async fn read_batches(
        &self,
        source: &mut PgConnection,
        shape: &Shape,
        mut after: Option<String>,
        sender: Sender<Chunk>,
    ) -> Result<(), StepError> {
        while let Some(upper) = self.upper_bound(source, shape, after.as_deref()).await? {
            let mut rows = source
                .copy_out_raw(&shape.copy_out_sql(after.as_deref(), &upper))
                .await
                .map_err(|e| db_error("cannot start COPY", &self.source, &e))?;
            let mut buffer = Vec::with_capacity(CHUNK + (64 << 10));
            while let Some(data) = rows.next().await {
                let data = data.map_err(|e| db_error("reading the rows failed", &self.source, &e))?;
                buffer.extend_from_slice(&data);
                if buffer.len() >= CHUNK {
                    let full = std::mem::replace(&mut buffer, Vec::with_capacity(CHUNK + (64 << 10)));
                    if sender.send(Chunk::Data(full)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            drop(rows);
            if !buffer.is_empty() && sender.send(Chunk::Data(buffer)).await.is_err() {
                return Ok(());
            }
            if sender.send(Chunk::End { upper: upper.clone() }).await.is_err() {
                return Ok(());
            }
            after = Some(upper);
        }
        Ok(())
    }

    /// Writes each batch that arrives in its own target transaction and
    /// checkpoints it (see the module documentation for the order).
    async fn write_batches(
        &self,
        target: &mut PgConnection,
        (shape, sequences): (&Shape, &Sequences),
        mut receiver: Receiver<Chunk>,
        checkpoint: &mut Checkpoint,
        ctx: &StepContext,
    ) -> Result<(), StepError> {
        let failed = |e: sqlx::Error| db_error("writing the rows failed", &self.target, &e);
        let mut next = receiver.recv().await;
        while let Some(mut chunk) = next {
            let started = std::time::Instant::now();
            let mut tx = target
                .begin()
                .await
                .map_err(|e| db_error("cannot start a transaction", &self.target, &e))?;
            let xid = sqlx::query_scalar::<_, i64>("SELECT txid_current()")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| db_error("cannot start a transaction", &self.target, &e))?;
            let mut copy_in = tx
                .copy_in_raw(&shape.copy_in_sql())
                .await
                .map_err(|e| db_error("cannot start COPY", &self.target, &e))?;
            let (upper, rows) = loop {
                match chunk {
                    Chunk::Data(data) => {
                        copy_in.send(data).await.map_err(failed)?;
                    }
                    Chunk::End { upper } => break (upper, copy_in.finish().await.map_err(failed)?),
                }
                chunk = match receiver.recv().await {
                    Some(chunk) => chunk,
                    None => {
                        // The reader failed mid-batch; its error is reported.
                        let _ = copy_in.abort("planrun: reading the source failed").await;
                        return Err(StepError::failed("the copy stopped: reading the source failed"));
                    }
                };
            };
            // The last batch (the reader has nothing more) moves the
            // sequences in its own transaction: every row there implies the
            // sequences past them.
            next = receiver.recv().await;
            if next.is_none() {
                sequences.raise(&mut tx, ctx).await?;
            }
            checkpoint.pending = Some(Pending {
                xid,
                upper: upper.clone(),
                rows,
            });
            save(ctx, checkpoint).await?;
            tx.commit()
                .await
                .map_err(|e| db_error("cannot commit the batch", &self.target, &e))?;
            crate::failpoint::hit("postgres.copy_table:committed");
            checkpoint.pending = None;
            checkpoint.last_key = Some(upper);
            checkpoint.copied += rows;
            save(ctx, checkpoint).await?;
            ctx.log.line(&format!(
                "copied {rows} row(s) up to key {} in {} ms ({} in all)",
                checkpoint.last_key.as_deref().unwrap_or_default(),
                started.elapsed().as_millis(),
                checkpoint.copied
            ));
        }
        Ok(())
    }

    /// Settles a batch an earlier attempt left pending: committed or not?
    async fn settle(
        &self,
        target: &mut PgConnection,
        checkpoint: &mut Checkpoint,
        ctx: &StepContext,
    ) -> Result<(), StepError> {
        let Some(pending) = checkpoint.pending.take() else {
            return Ok(());
        };
        let fate = final_fate(target, &self.target, pending.xid, PENDING_WAIT, &ctx.cancel).await?;
        match fate {
            Fate::Committed => {
                ctx.log.line(&format!(
                    "the interrupted batch up to key {} was committed ({} rows)",
                    pending.upper, pending.rows
                ));
                checkpoint.last_key = Some(pending.upper);
                checkpoint.copied += pending.rows;
                save(ctx, checkpoint).await
            }
            Fate::Aborted => {
                ctx.log
                    .line("the interrupted batch was not committed: copying it again");
                save(ctx, checkpoint).await
            }
            Fate::InProgress => Err(StepError::failed(format!(
                "the transaction {} of the interrupted batch is still in progress on the target",
                pending.xid
            ))),
            Fate::Unknown => {
                // Running the step again would ask the same question:
                // only starting the copy over, on a clean target, is safe.
                let after = checkpoint
                    .last_key
                    .as_deref()
                    .map_or_else(|| "from the first row".to_string(), |key| format!("after key {key}"));
                Err(StepError::with_detail(
                    format!(
                        "the target no longer knows whether transaction {} (the interrupted batch {after} up to key \
                         {}) committed, so the copy cannot tell where to go on",
                        pending.xid, pending.upper
                    ),
                    vec![format!(
                        "hint: delete the rows this copy wrote to `{}` (every batch up to key {}), then start the \
                         copy over from the first key with `planrun resume --rerun {}`, which discards its saved \
                         progress",
                        self.target_table(),
                        pending.upper,
                        ctx.step_id
                    )],
                ))
            }
        }
    }

    /// Without `where`: source rows against target rows. With `where`:
    /// source rows matching it against the rows this copy wrote (counted
    /// in the checkpoint, so across resumes too), since the filter's
    /// columns may not have been copied; and the target must still hold at
    /// least that many rows.
    async fn verify(
        &self,
        source: &mut PgConnection,
        target: &mut PgConnection,
        copied: u64,
        ctx: &StepContext,
    ) -> Result<(), StepError> {
        let target_table = self.target_table();
        let (expected, actual) = tokio::join!(
            count_rows(source, &self.source, &self.table, self.filter.as_deref()),
            count_rows(target, &self.target, target_table, None)
        );
        let (expected, actual) = (expected?, actual?);
        let Some(filter) = self.filter.as_deref() else {
            ctx.log
                .line(&format!("verified: {expected} source row(s), {actual} target row(s)"));
            return if expected == actual {
                Ok(())
            } else {
                Err(StepError::failed(format!(
                    "row counts differ after the copy: {expected} in the source `{}`, {actual} in the target \
                     `{target_table}`",
                    self.table
                )))
            };
        };
        let copied = i64::try_from(copied).unwrap_or(i64::MAX);
        ctx.log.line(&format!(
            "verified: {expected} source row(s) match `where`, {copied} copied, {actual} target row(s) in all"
        ));
        if expected != copied {
            Err(StepError::failed(format!(
                "row counts differ after the copy: {expected} row(s) of the source `{}` match `{filter}`, but \
                 {copied} were copied",
                self.table
            )))
        } else if actual < copied {
            Err(StepError::failed(format!(
                "the target `{target_table}` holds {actual} row(s), fewer than the {copied} copied to it"
            )))
        } else {
            Ok(())
        }
    }
}

/// A column and the OID of its type.
#[derive(Debug, Clone, PartialEq)]
struct Column {
    name: String,
    type_oid: i64,
}

/// The columns of `table` (`quoted`), in table order, or those `wanted`, in
/// that order; an error names a column the table lacks.
async fn columns(
    conn: &mut PgConnection,
    url: &str,
    quoted: &str,
    table: &str,
    wanted: Option<&[String]>,
) -> Result<Vec<Column>, StepError> {
    let exists = sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
        .bind(quoted)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db_error(&format!("cannot look up `{table}`"), url, &e))?;
    if !exists {
        return Err(StepError::failed(format!(
            "table `{table}` does not exist on {}",
            crate::redact::credentials::display_url(url)
        )));
    }
    let all: Vec<(String, i64)> = sqlx::query_as(
        "SELECT attname::text, atttypid::int8 FROM pg_attribute WHERE attrelid = to_regclass($1) \
         AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
    )
    .bind(quoted)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error(&format!("cannot list the columns of `{table}`"), url, &e))?;
    let all: Vec<Column> = all
        .into_iter()
        .map(|(name, type_oid)| Column { name, type_oid })
        .collect();
    let Some(wanted) = wanted else {
        return Ok(all);
    };
    wanted
        .iter()
        .map(|name| {
            all.iter().find(|c| &c.name == name).cloned().ok_or_else(|| {
                StepError::failed(format!(
                    "table `{table}` on {} has no column `{name}`",
                    crate::redact::credentials::display_url(url)
                ))
            })
        })
        .collect()
}

/// Binary `COPY` is about twice as fast to load as text, but it carries
/// type-specific bytes (and element type OIDs inside arrays), so it is used
/// only when every column has the same built-in type on both sides (OIDs
/// below 10000 are fixed by PostgreSQL itself) and, see `shape`, both
/// servers run the same major version. Anything else goes as text, which
/// the target converts like an `INSERT` would.
fn binary_compatible(source: &[Column], target: &[Column]) -> bool {
    const FIRST_USER_OID: i64 = 10_000;
    source.len() == target.len()
        && source
            .iter()
            .zip(target)
            .all(|(s, t)| s.type_oid == t.type_oid && s.type_oid < FIRST_USER_OID)
}

async fn major_version(conn: &mut PgConnection, url: &str) -> Result<i32, StepError> {
    sqlx::query_scalar::<_, i32>("SELECT current_setting('server_version_num')::int / 10000")
        .fetch_one(conn)
        .await
        .map_err(|e| db_error("cannot read the server version", url, &e))
}

async fn save(ctx: &StepContext, checkpoint: &Checkpoint) -> Result<(), StepError> {
    let value = serde_json::to_value(checkpoint).map_err(|e| StepError::failed(e.to_string()))?;
    ctx.progress.save(&value).await.map_err(StepError::failed)
}

impl ActionKind for PostgresCopyTable {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let mut source = connect(&self.source).await?;
        let mut target = connect(&self.target).await?;
        let shape = self.shape(&mut source, &mut target).await?;
        let mut checkpoint: Checkpoint = ctx
            .progress
            .saved()
            .and_then(|saved| serde_json::from_value(saved).ok())
            .unwrap_or_default();
        self.settle(&mut target, &mut checkpoint, ctx).await?;
        ctx.log.line(&format!(
            "copying {} to {} by key {} ({}), batches of {}, {} format",
            self.table,
            self.target_table(),
            shape.key,
            shape.key_type,
            self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
            if shape.binary { "binary" } else { "text" }
        ));
        if let Some(last) = &checkpoint.last_key {
            ctx.log.line(&format!(
                "resuming after key {last} ({} row(s) already copied)",
                checkpoint.copied
            ));
        }
        // The source is read batch after batch while the target writes and
        // commits: neither server waits on the other, not even at a commit.
        let (sender, receiver) = tokio::sync::mpsc::channel::<Chunk>(IN_FLIGHT);
        let after = checkpoint.last_key.clone();
        let sequences = self
            .sequences(&mut source, &mut target, (&shape.source, &shape.target))
            .await?;
        let (read, write) = tokio::join!(
            self.read_batches(&mut source, &shape, after, sender),
            self.write_batches(&mut target, (&shape, &sequences), receiver, &mut checkpoint, ctx),
        );
        // A reader's error comes first: the writer only saw the channel close.
        read?;
        write?;
        self.verify(&mut source, &mut target, checkpoint.copied, ctx).await?;
        // Nothing was left to copy (an empty table, or a resume after the
        // last batch): the sequences may still lag behind.
        sequences.raise(&mut target, ctx).await?;
        close(source).await;
        close(target).await;
        Ok(Applied {
            outputs: IndexMap::from([("rows".to_string(), checkpoint.copied.to_string())]),
            undo: None,
        })
    }

    /// An interrupted copy continues from its checkpoint, which settles a
    /// pending batch by its transaction id: nothing to ask beforehand.
    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
        let checkpoint: Checkpoint = ctx
            .progress
            .saved()
            .and_then(|saved| serde_json::from_value(saved).ok())
            .unwrap_or_default();
        let asked = "how far the copy got (its checkpoint, saved after each batch)";
        if checkpoint.copied == 0 && checkpoint.pending.is_none() {
            return Ok(Settlement::new(asked, "no batch was committed", Verdict::Nothing));
        }
        let key = checkpoint.last_key.as_deref().unwrap_or("(none)");
        let mut found = format!("{} row(s) copied up to key {key}", checkpoint.copied);
        if let Some(pending) = &checkpoint.pending {
            found.push_str(&format!(
                ", and a batch up to key {} whose transaction {} is settled when the copy goes on",
                pending.upper, pending.xid
            ));
        }
        Ok(Settlement::new(
            asked,
            format!("{found}: it continues from there"),
            Verdict::Partly,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(filter: Option<&str>) -> Shape {
        Shape {
            source: r#""public"."users""#.into(),
            target: r#""users""#.into(),
            columns: r#""id", "name""#.into(),
            binary: false,
            key: r#""id""#.into(),
            key_type: "text".into(),
            filter: filter.map(String::from),
        }
    }

    #[test]
    fn batches_are_key_ranges_with_quoted_bounds() {
        let sql = shape(Some("tenant = 1")).copy_out_sql(Some("O'Brien"), "Z");
        assert_eq!(
            sql,
            r#"COPY (SELECT "id", "name" FROM "public"."users" WHERE (tenant = 1) AND "id" > 'O''Brien'::text AND "id" <= 'Z'::text ORDER BY "id") TO STDOUT"#
        );
        let first = shape(None).copy_out_sql(None, "10");
        assert!(first.contains(r#"WHERE "id" <= '10'::text ORDER BY"#), "{first}");
        assert_eq!(shape(None).copy_in_sql(), r#"COPY "users" ("id", "name") FROM STDIN"#);
    }

    #[test]
    fn the_upper_bound_is_the_last_key_of_the_next_batch() {
        let sql = shape(None).upper_bound_sql(Some("a"));
        assert_eq!(
            sql,
            r#"SELECT batch."id"::text AS upper_key FROM (SELECT "id" FROM "public"."users" WHERE "id" > 'a'::text ORDER BY "id" LIMIT $1) AS batch ORDER BY batch."id" DESC LIMIT 1"#
        );
    }

    #[test]
    fn binary_only_for_the_same_built_in_types() {
        let column = |name: &str, type_oid| Column {
            name: name.into(),
            type_oid,
        };
        let source = [column("id", 20), column("name", 25)];
        assert!(binary_compatible(&source, &[column("id", 20), column("name", 25)]));
        assert!(!binary_compatible(&source, &[column("id", 23), column("name", 25)]));
        assert!(!binary_compatible(&[column("mood", 16_500)], &[column("mood", 16_500)]));
        let mut binary = shape(None);
        binary.binary = true;
        assert!(binary.copy_in_sql().ends_with("FROM STDIN (FORMAT binary)"));
        assert!(binary.copy_out_sql(None, "1").ends_with("TO STDOUT (FORMAT binary)"));
    }

    #[test]
    fn checkpoints_round_trip_without_pending() {
        let checkpoint = Checkpoint {
            last_key: Some("42".into()),
            copied: 42,
            pending: None,
        };
        let value = serde_json::to_value(&checkpoint).expect("serialise");
        assert_eq!(value, serde_json::json!({ "last_key": "42", "copied": 42 }));
        assert_eq!(serde_json::from_value::<Checkpoint>(value).ok(), Some(checkpoint));
    }
}
