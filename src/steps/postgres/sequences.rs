//! The target's sequences behind the copied columns (`serial`,
//! `bigserial`, identity) of `postgres.copy_table`, moved past the copied
//! keys so the first insert after the migration does not collide with a
//! copied row. They move in the same transaction as the copy's last batch:
//! once every row is there, so are the sequences (a `check` that counts
//! rows stays sound after a crash). A sequence is only ever raised: to the
//! largest value in the target column, or further, to the source
//! sequence's own last value (ids handed out and then deleted in the source
//! are not handed out again).

use sqlx::postgres::PgConnection;

use super::PostgresCopyTable;
use super::connection::db_error;
use crate::steps::context::StepContext;
use crate::steps::outcome::StepError;

/// The sequences to move, worked out once before the copy.
pub(super) struct Sequences {
    /// The target table, quoted and qualified.
    table: String,
    url: String,
    moves: Vec<Move>,
}

struct Move {
    column: String,
    sequence: String,
    /// The last value the source's own sequence handed out.
    handed_out: Option<i64>,
}

/// The sequence owned by `column` of `table` (a quoted, qualified name).
async fn owned_sequence(
    conn: &mut PgConnection,
    url: &str,
    table: &str,
    column: &str,
) -> Result<Option<String>, StepError> {
    sqlx::query_scalar::<_, Option<String>>("SELECT pg_get_serial_sequence($1, $2)")
        .bind(table)
        .bind(column)
        .fetch_one(conn)
        .await
        .map_err(|e| db_error(&format!("cannot look up the sequence of `{column}`"), url, &e))
}

/// The last value a sequence handed out (`None` before its first).
async fn last_value(conn: &mut PgConnection, url: &str, sequence: &str) -> Result<Option<i64>, StepError> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT pg_sequence_last_value($1::regclass)")
        .bind(sequence)
        .fetch_one(conn)
        .await
        .map_err(|e| db_error(&format!("cannot read sequence `{sequence}`"), url, &e))
}

impl PostgresCopyTable {
    /// The sequences of the copied columns of the target (`target` is its
    /// quoted, qualified name; `source` the source table's).
    pub(super) async fn sequences(
        &self,
        source_conn: &mut PgConnection,
        target_conn: &mut PgConnection,
        (source, target): (&str, &str),
    ) -> Result<Sequences, StepError> {
        let columns: Vec<String> = sqlx::query_scalar(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 \
             AND NOT attisdropped AND pg_get_serial_sequence($1, attname::text) IS NOT NULL ORDER BY attnum",
        )
        .bind(target)
        .fetch_all(&mut *target_conn)
        .await
        .map_err(|e| db_error("cannot list the target's sequences", &self.target, &e))?;
        let mut moves = Vec::new();
        for column in columns
            .into_iter()
            .filter(|c| self.columns.is_empty() || self.columns.contains(c))
        {
            let Some(sequence) = owned_sequence(target_conn, &self.target, target, &column).await? else {
                continue;
            };
            let handed_out = match owned_sequence(source_conn, &self.source, source, &column).await? {
                Some(source_sequence) => last_value(source_conn, &self.source, &source_sequence).await?,
                None => None,
            };
            moves.push(Move {
                column,
                sequence,
                handed_out,
            });
        }
        Ok(Sequences {
            table: target.to_string(),
            url: self.target.clone(),
            moves,
        })
    }
}

impl Sequences {
    /// Raises each sequence past the rows the target holds now (on `conn`,
    /// inside the caller's transaction when it has one).
    pub(super) async fn raise(&self, conn: &mut PgConnection, ctx: &StepContext) -> Result<(), StepError> {
        for Move {
            column,
            sequence,
            handed_out,
        } in &self.moves
        {
            let quoted = super::sql::quote_ident(column);
            let largest: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT max({quoted})::int8 FROM {}",
                self.table
            )))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| db_error(&format!("cannot read the largest `{column}`"), &self.url, &e))?;
            let Some(wanted) = largest.max(*handed_out) else {
                continue;
            };
            let current = last_value(conn, &self.url, sequence).await?;
            if current.is_some_and(|current| current >= wanted) {
                continue;
            }
            sqlx::query("SELECT setval($1::regclass, $2, true)")
                .bind(sequence)
                .bind(wanted)
                .execute(&mut *conn)
                .await
                .map_err(|e| db_error(&format!("cannot set sequence `{sequence}`"), &self.url, &e))?;
            ctx.log.line(&format!(
                "sequence {sequence} of `{column}` set to {wanted}: the next insert gets {}",
                wanted.saturating_add(1)
            ));
        }
        Ok(())
    }
}
