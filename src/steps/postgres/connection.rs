//! Opening connections; every message about them goes through
//! [`scrub`], so a password in the URL never shows, declared secret or not.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

use crate::redact::credentials::{display_url, scrub};
use crate::steps::outcome::StepError;

/// A database error as a step failure: `what` failed on `url`, with the
/// password scrubbed from everything the driver said.
pub(crate) fn db_error(what: &str, url: &str, error: &sqlx::Error) -> StepError {
    StepError::failed(db_message(what, url, error))
}

pub(crate) fn db_message(what: &str, url: &str, error: &sqlx::Error) -> String {
    let detail = match error {
        sqlx::Error::Database(db) => {
            let mut text = db.message().to_string();
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                if let Some(detail) = pg.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                if let Some(hint) = pg.hint() {
                    text.push_str(&format!("; hint: {hint}"));
                }
            }
            text
        }
        other => other.to_string(),
    };
    format!("{what} on {}: {}", display_url(url), scrub(&detail, url))
}

/// How planrun's connections are named in `pg_stat_activity`.
pub(crate) const APPLICATION: &str = "planrun";

/// A connection to `url`, named `planrun` in `pg_stat_activity`.
pub(crate) async fn connect(url: &str) -> Result<PgConnection, StepError> {
    connect_as(url, APPLICATION).await
}

/// A connection to `url`, named `application` in `pg_stat_activity`.
pub(crate) async fn connect_as(url: &str, application: &str) -> Result<PgConnection, StepError> {
    connect_with(url, application, |options| options).await
}

/// [`connect_as`], with the options `adjust` makes of the URL's.
pub(crate) async fn connect_with(
    url: &str,
    application: &str,
    adjust: impl FnOnce(PgConnectOptions) -> PgConnectOptions,
) -> Result<PgConnection, StepError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|error| {
            StepError::failed(format!(
                "invalid URL {}: {}",
                display_url(url),
                scrub(&error.to_string(), url)
            ))
        })?
        .application_name(application)
        .disable_statement_logging();
    adjust(options)
        .connect()
        .await
        .map_err(|error| db_error("cannot connect", url, &error))
}

/// Closes politely; a failure to say goodbye changes nothing.
pub(crate) async fn close(connection: PgConnection) {
    let _ = connection.close().await;
}

/// The SQLSTATE of a database error.
pub(crate) fn sqlstate(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) => db.code().map(std::borrow::Cow::into_owned),
        _ => None,
    }
}
