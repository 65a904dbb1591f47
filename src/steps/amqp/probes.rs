//! RabbitMQ probes: reachable, exists, and a publish/consume round trip.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Consumer};

use super::connection::{Broker, close_channel, is_not_found};
use super::{AmqpConnect, AmqpExists, AmqpRoundtrip};
use crate::steps::ProbeKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::StepError;
use crate::steps::wait;
use crate::units::duration::Duration as PlanDuration;

const DEFAULT_ROUNDTRIP_TIMEOUT: Duration = Duration::from_secs(5);

impl ProbeKind for AmqpConnect {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        wait::until(
            ctx,
            self.wait.map(PlanDuration::std),
            wait::DEFAULT_INTERVAL,
            || async {
                let broker = Broker::connect(&self.url).await?;
                ctx.log.line(&format!("connected to {}", broker.shown()));
                broker.close().await;
                Ok(())
            },
        )
        .await
    }
}

impl ProbeKind for AmqpExists {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let broker = Broker::connect(&self.url).await?;
        let (what, found) = match (&self.exchange, &self.queue) {
            (Some(exchange), _) => (
                format!("exchange `{exchange}`"),
                broker.exchange_exists(exchange).await?,
            ),
            (None, Some(queue)) => (format!("queue `{queue}`"), broker.queue_exists(queue).await?),
            (None, None) => return Err(StepError::failed("nothing to look for")),
        };
        let shown = broker.shown();
        broker.close().await;
        if found {
            ctx.log.line(&format!("{what} exists on {shown}"));
            Ok(())
        } else {
            Err(StepError::failed(format!("{what} does not exist on {shown}")))
        }
    }
}

impl AmqpRoundtrip {
    /// The body to send: the one given, or a text no stale message can match.
    fn body(&self, ctx: &StepContext) -> String {
        self.payload.clone().unwrap_or_else(|| {
            format!(
                "planrun roundtrip {}/{} {:016x}",
                ctx.run_id,
                ctx.step_id,
                fastrand::u64(..)
            )
        })
    }

    /// Binds a temporary queue, publishes (confirmed, mandatory), and waits
    /// for the message to come back on the queue.
    async fn exchange(&self, broker: &Broker, channel: &Channel, ctx: &StepContext) -> Result<(), StepError> {
        let consumer = self.consume_bound(broker, channel).await?;
        let body = self.body(ctx);
        let sent = self.publish(broker, channel, &body, ctx).await?;
        self.receive(broker, consumer, &body, ctx).await?;
        ctx.log
            .line(&format!("received it back after {} ms", sent.elapsed().as_millis()));
        Ok(())
    }

    /// `what` failed on the exchange: it does not exist, or another error.
    fn exchange_error(&self, broker: &Broker, what: &str, error: &lapin::Error) -> StepError {
        if is_not_found(error) {
            StepError::failed(format!(
                "exchange `{}` does not exist on {}",
                self.exchange,
                broker.shown()
            ))
        } else {
            broker.error(what, error)
        }
    }

    /// A consumer of a temporary queue (exclusive, deleted with the
    /// channel) bound to the exchange with the routing key.
    async fn consume_bound(&self, broker: &Broker, channel: &Channel) -> Result<Consumer, StepError> {
        let temporary = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let queue = channel
            .queue_declare("".into(), temporary, FieldTable::default())
            .await
            .map_err(|e| broker.error("cannot declare a temporary queue", &e))?;
        let queue = queue.name().clone();
        channel
            .queue_bind(
                queue.clone(),
                self.exchange.as_str().into(),
                self.routing_key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.exchange_error(broker, "cannot bind a temporary queue", &e))?;
        let consume = BasicConsumeOptions {
            no_ack: true,
            exclusive: true,
            ..BasicConsumeOptions::default()
        };
        channel
            .basic_consume(queue, "".into(), consume, FieldTable::default())
            .await
            .map_err(|e| broker.error("cannot consume from the temporary queue", &e))
    }

    /// Publishes `body` to the exchange, mandatory, and waits for the
    /// broker to confirm it was routed; returns when it was sent.
    async fn publish(
        &self,
        broker: &Broker,
        channel: &Channel,
        body: &str,
        ctx: &StepContext,
    ) -> Result<tokio::time::Instant, StepError> {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| broker.error("cannot enable publisher confirms", &e))?;
        let sent = tokio::time::Instant::now();
        let mandatory = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirmation = channel
            .basic_publish(
                self.exchange.as_str().into(),
                self.routing_key.as_str().into(),
                mandatory,
                body.as_bytes(),
                BasicProperties::default().with_content_type("text/plain".into()),
            )
            .await
            .map_err(|e| self.exchange_error(broker, "cannot publish", &e))?
            .await
            .map_err(|e| self.exchange_error(broker, "the broker did not confirm the message", &e))?;
        super::actions::check_confirmation(confirmation, &self.exchange, &self.routing_key, true)?;
        ctx.log.line(&format!(
            "published {} bytes to `{}` with key {:?} (confirmed)",
            body.len(),
            self.exchange,
            self.routing_key
        ));
        Ok(sent)
    }

    /// Waits, up to the probe's `timeout`, for `body` to arrive on
    /// `consumer` (other messages are ignored); stops when the step is
    /// cancelled.
    async fn receive(
        &self,
        broker: &Broker,
        mut consumer: Consumer,
        body: &str,
        ctx: &StepContext,
    ) -> Result<(), StepError> {
        let timeout = self.timeout.map_or(DEFAULT_ROUNDTRIP_TIMEOUT, PlanDuration::std);
        let received = async {
            while let Some(delivery) = consumer.next().await {
                let delivery = delivery.map_err(|e| broker.error("cannot receive", &e))?;
                if delivery.data == body.as_bytes() {
                    return Ok(());
                }
                ctx.log.line("ignored a message that is not the one sent");
            }
            Err(StepError::failed("the broker closed the consumer"))
        };
        tokio::select! {
            result = tokio::time::timeout(timeout, received) => match result {
                Ok(result) => result,
                Err(_) => Err(StepError::failed(format!(
                    "the message published to `{}` with key {:?} did not come back within {}",
                    self.exchange,
                    self.routing_key,
                    PlanDuration::from_millis(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
                ))),
            },
            () = ctx.cancel.cancelled() => Err(StepError::Cancelled),
        }
    }
}

impl ProbeKind for AmqpRoundtrip {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let broker = Broker::connect(&self.url).await?;
        let channel = broker.channel().await?;
        let result = self.exchange(&broker, &channel, ctx).await;
        close_channel(channel).await;
        broker.close().await;
        result
    }
}
