//! Talking to the broker: connections, channels, and errors that name what
//! failed without showing the password.

use lapin::options::{ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ErrorKind, ExchangeKind};

use crate::redact::credentials::{display_url, scrub};
use crate::steps::outcome::StepError;

/// An open connection, and the URL it came from (for messages).
pub(super) struct Broker {
    connection: Connection,
    url: String,
}

impl Broker {
    pub(super) async fn connect(url: &str) -> Result<Broker, StepError> {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .map_err(|error| failure("cannot connect", url, &error))?;
        Ok(Broker {
            connection,
            url: url.to_string(),
        })
    }

    pub(super) fn shown(&self) -> String {
        display_url(&self.url)
    }

    /// `what` failed, as a step error.
    pub(super) fn error(&self, what: &str, error: &lapin::Error) -> StepError {
        failure(what, &self.url, error)
    }

    /// A new channel. A failed declare closes its channel, so each check
    /// that may fail gets its own.
    pub(super) async fn channel(&self) -> Result<Channel, StepError> {
        self.connection
            .create_channel()
            .await
            .map_err(|error| self.error("cannot open a channel", &error))
    }

    /// Whether the exchange exists (a passive declare).
    pub(super) async fn exchange_exists(&self, name: &str) -> Result<bool, StepError> {
        let channel = self.channel().await?;
        let options = ExchangeDeclareOptions {
            passive: true,
            ..ExchangeDeclareOptions::default()
        };
        let result = channel
            .exchange_declare(name.into(), ExchangeKind::Direct, options, FieldTable::default())
            .await;
        self.existence(channel, result, &format!("exchange `{name}`")).await
    }

    /// Whether the queue exists (a passive declare).
    pub(super) async fn queue_exists(&self, name: &str) -> Result<bool, StepError> {
        let channel = self.channel().await?;
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let result = channel
            .queue_declare(name.into(), options, FieldTable::default())
            .await
            .map(|_| ());
        self.existence(channel, result, &format!("queue `{name}`")).await
    }

    async fn existence(
        &self,
        channel: Channel,
        result: Result<(), lapin::Error>,
        what: &str,
    ) -> Result<bool, StepError> {
        match result {
            Ok(()) => {
                close_channel(channel).await;
                Ok(true)
            }
            Err(error) if is_not_found(&error) => Ok(false),
            Err(error) => Err(self.error(&format!("cannot look up {what}"), &error)),
        }
    }

    pub(super) async fn close(self) {
        let _ = self.connection.close(200, "OK".into()).await;
    }
}

pub(super) async fn close_channel(channel: Channel) {
    let _ = channel.close(200, "OK".into()).await;
}

/// The broker answered 404 NOT_FOUND (which also closed the channel).
pub(super) fn is_not_found(error: &lapin::Error) -> bool {
    matches!(error.kind(), ErrorKind::ProtocolError(amqp)
        if *amqp.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}

fn failure(what: &str, url: &str, error: &lapin::Error) -> StepError {
    StepError::failed(format!(
        "{what} on {}: {}",
        display_url(url),
        scrub(&error.to_string(), url)
    ))
}
