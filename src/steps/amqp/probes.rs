//! RabbitMQ probes: reachable, exists, and a publish/consume round trip.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};

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
        let on_exchange = |what: &str, error: &lapin::Error| {
            if is_not_found(error) {
                StepError::failed(format!(
                    "exchange `{}` does not exist on {}",
                    self.exchange,
                    broker.shown()
                ))
            } else {
                broker.error(what, error)
            }
        };
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
            .map_err(|e| on_exchange("cannot bind a temporary queue", &e))?;
        let consume = BasicConsumeOptions {
            no_ack: true,
            exclusive: true,
            ..BasicConsumeOptions::default()
        };
        let mut consumer = channel
            .basic_consume(queue, "".into(), consume, FieldTable::default())
            .await
            .map_err(|e| broker.error("cannot consume from the temporary queue", &e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| broker.error("cannot enable publisher confirms", &e))?;
        let body = self.body(ctx);
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
            .map_err(|e| on_exchange("cannot publish", &e))?
            .await
            .map_err(|e| on_exchange("the broker did not confirm the message", &e))?;
        super::actions::check_confirmation(confirmation, &self.exchange, &self.routing_key, true)?;
        ctx.log.line(&format!(
            "published {} bytes to `{}` with key {:?} (confirmed)",
            body.len(),
            self.exchange,
            self.routing_key
        ));
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
                Ok(result) => result?,
                Err(_) => return Err(StepError::failed(format!(
                    "the message published to `{}` with key {:?} did not come back within {}",
                    self.exchange,
                    self.routing_key,
                    PlanDuration::from_millis(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
                ))),
            },
            () = ctx.cancel.cancelled() => return Err(StepError::Cancelled),
        }
        ctx.log
            .line(&format!("received it back after {} ms", sent.elapsed().as_millis()));
        Ok(())
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
