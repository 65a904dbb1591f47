//! RabbitMQ actions: declare a topology (undone by deleting exactly what
//! was created), publish a message.

use indexmap::IndexMap;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, ExchangeKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::connection::{Broker, close_channel, is_not_found};
use super::{AmqpDeclare, AmqpPublish, BindingDecl, ExchangeType};
use crate::failpoint;
use crate::steps::ActionKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::{
    Applied, Settlement, StepError, Verdict, evidence, saved_evidence, saved_undo, which_attempt,
};

/// A message the broker confirmed, and did not return as unroutable.
pub(super) fn check_confirmation(
    confirmation: Confirmation,
    exchange: &str,
    routing_key: &str,
    mandatory: bool,
) -> Result<(), StepError> {
    match confirmation {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(returned)) if mandatory => Err(StepError::failed(format!(
            "the message to `{exchange}` with key {routing_key:?} was returned as unroutable ({} {}): no queue is bound for it",
            returned.reply_code, returned.reply_text
        ))),
        Confirmation::Ack(Some(_)) => Ok(()),
        Confirmation::Nack(_) => Err(StepError::failed(format!(
            "the broker refused the message to `{exchange}` (nack)"
        ))),
        Confirmation::NotRequested => Err(StepError::failed("the broker did not confirm the message")),
    }
}

impl ActionKind for AmqpPublish {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let broker = Broker::connect(&self.url).await?;
        let channel = broker.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| broker.error("cannot enable publisher confirms", &e))?;
        let mut properties = BasicProperties::default().with_delivery_mode(2);
        if let Some(content_type) = &self.content_type {
            properties = properties.with_content_type(content_type.as_str().into());
        }
        let options = BasicPublishOptions {
            mandatory: self.mandatory,
            ..BasicPublishOptions::default()
        };
        let published = channel
            .basic_publish(
                self.exchange.as_str().into(),
                self.routing_key.as_str().into(),
                options,
                self.payload.as_bytes(),
                properties,
            )
            .await
            .map_err(|e| broker.error(&format!("cannot publish to `{}`", self.exchange), &e))?
            .await;
        let result = match published {
            Ok(confirmation) => check_confirmation(confirmation, &self.exchange, &self.routing_key, self.mandatory),
            Err(error) if is_not_found(&error) => Err(StepError::failed(format!(
                "exchange `{}` does not exist on {}",
                self.exchange,
                broker.shown()
            ))),
            Err(error) => Err(broker.error("the broker did not confirm the message", &error)),
        };
        close_channel(channel).await;
        broker.close().await;
        result?;
        ctx.log.line(&format!(
            "published {} bytes to `{}` with key {:?} (confirmed)",
            self.payload.len(),
            self.exchange,
            self.routing_key
        ));
        Ok(Applied::default())
    }
}

/// What `amqp.declare` created, so that undo deletes exactly that.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Created {
    exchanges: Vec<String>,
    queues: Vec<String>,
    bindings: Vec<BindingDecl>,
}

fn exchange_kind(kind: ExchangeType) -> ExchangeKind {
    match kind {
        ExchangeType::Direct => ExchangeKind::Direct,
        ExchangeType::Fanout => ExchangeKind::Fanout,
        ExchangeType::Topic => ExchangeKind::Topic,
        ExchangeType::Headers => ExchangeKind::Headers,
    }
}

fn describe(binding: &BindingDecl) -> String {
    format!(
        "`{}` → `{}` (key {:?})",
        binding.exchange, binding.queue, binding.routing_key
    )
}

impl AmqpDeclare {
    /// What does not exist yet, found by passive declares. A binding
    /// counts as created when its exchange or queue is: AMQP cannot tell
    /// whether a binding between two existing ends was there before, so
    /// such a binding is declared but left alone by undo.
    async fn missing(&self, broker: &Broker, ctx: &StepContext) -> Result<Created, StepError> {
        let mut created = Created::default();
        for exchange in &self.exchanges {
            if broker.exchange_exists(&exchange.name).await? {
                ctx.log.line(&format!("exchange `{}` exists already", exchange.name));
            } else {
                created.exchanges.push(exchange.name.clone());
            }
        }
        for queue in &self.queues {
            if broker.queue_exists(&queue.name).await? {
                ctx.log.line(&format!("queue `{}` exists already", queue.name));
            } else {
                created.queues.push(queue.name.clone());
            }
        }
        for binding in &self.bindings {
            if created.exchanges.contains(&binding.exchange) || created.queues.contains(&binding.queue) {
                created.bindings.push(binding.clone());
            } else {
                ctx.log.line(&format!(
                    "binding {} joins an existing exchange and queue: rollback will leave it",
                    describe(binding)
                ));
            }
        }
        Ok(created)
    }

    async fn declare(&self, broker: &Broker, ctx: &StepContext) -> Result<(), StepError> {
        let channel = broker.channel().await?;
        for exchange in &self.exchanges {
            let options = ExchangeDeclareOptions {
                durable: exchange.durable,
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    exchange.name.as_str().into(),
                    exchange_kind(exchange.kind),
                    options,
                    FieldTable::default(),
                )
                .await
                .map_err(|e| broker.error(&format!("cannot declare exchange `{}`", exchange.name), &e))?;
            ctx.log.line(&format!("declared exchange `{}`", exchange.name));
        }
        failpoint::hit("amqp.declare:exchanges-declared");
        for queue in &self.queues {
            let options = QueueDeclareOptions {
                durable: queue.durable,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(queue.name.as_str().into(), options, FieldTable::default())
                .await
                .map_err(|e| broker.error(&format!("cannot declare queue `{}`", queue.name), &e))?;
            ctx.log.line(&format!("declared queue `{}`", queue.name));
        }
        for binding in &self.bindings {
            channel
                .queue_bind(
                    binding.queue.as_str().into(),
                    binding.exchange.as_str().into(),
                    binding.routing_key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| broker.error(&format!("cannot bind {}", describe(binding)), &e))?;
            ctx.log.line(&format!("bound {}", describe(binding)));
        }
        close_channel(channel).await;
        Ok(())
    }
}

impl ActionKind for AmqpDeclare {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let broker = Broker::connect(&self.url).await?;
        let saved = saved_undo(ctx);
        let record = match &saved {
            Some(record) => record.clone(),
            None => {
                let created = self.missing(&broker, ctx).await?;
                serde_json::to_value(&created).map_err(|e| StepError::failed(e.to_string()))?
            }
        };
        let ask = format!(
            "whether what the step declares exists on {} (passive declares)",
            broker.shown()
        );
        let mut entries = vec![("evidence", evidence(ctx, &ask, serde_json::json!({})))];
        if saved.is_none() {
            entries.push(("undo", record.clone()));
        }
        if let Err(error) = ctx.progress.save_entries(entries).await {
            broker.close().await;
            return Err(StepError::failed(error));
        }
        let result = self.declare(&broker, ctx).await;
        broker.close().await;
        result?;
        Ok(Applied {
            outputs: IndexMap::new(),
            undo: Some(record),
        })
    }

    fn has_builtin_undo(&self) -> bool {
        true
    }

    async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
        let created: Created = serde_json::from_value(record.clone())
            .map_err(|e| StepError::failed(format!("unreadable undo record: {e}")))?;
        let broker = Broker::connect(&self.url).await?;
        for binding in &created.bindings {
            let what = format!("binding {}", describe(binding));
            delete(&broker, ctx, &what, async |channel| {
                channel
                    .queue_unbind(
                        binding.queue.as_str().into(),
                        binding.exchange.as_str().into(),
                        binding.routing_key.as_str().into(),
                        FieldTable::default(),
                    )
                    .await
            })
            .await?;
        }
        for queue in &created.queues {
            delete(&broker, ctx, &format!("queue `{queue}`"), async |channel| {
                channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await
                    .map(|_| ())
            })
            .await?;
        }
        for exchange in &created.exchanges {
            delete(&broker, ctx, &format!("exchange `{exchange}`"), async |channel| {
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
            })
            .await?;
        }
        broker.close().await;
        Ok(())
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
        let Some(evidence) = saved_evidence(ctx) else {
            return Ok(Settlement::no_evidence());
        };
        let asked = format!(
            "{} (recorded by {})",
            evidence["ask"]
                .as_str()
                .unwrap_or("whether what the step declares exists"),
            which_attempt(ctx, &evidence)
        );
        let broker = Broker::connect(&self.url).await?;
        let present = self.present(&broker).await;
        broker.close().await;
        let present = present?;
        let created: Created = saved_undo(ctx)
            .and_then(|record| serde_json::from_value(record).ok())
            .unwrap_or_default();
        let missing: Vec<&str> = present
            .iter()
            .filter(|(_, exists)| !exists)
            .map(|(what, _)| what.as_str())
            .collect();
        let to_create = created.exchanges.len() + created.queues.len();
        let (found, verdict) = if missing.is_empty() && self.bindings.is_empty() {
            let applied = Applied {
                outputs: IndexMap::new(),
                undo: saved_undo(ctx),
            };
            ("every exchange and queue exists".to_string(), Verdict::Done(applied))
        } else if missing.is_empty() {
            let found = "every exchange and queue exists; AMQP cannot show bindings, so they are declared again \
                         (declaring what exists changes nothing)";
            (found.to_string(), Verdict::Partly)
        } else if to_create > 0 && missing.len() == present.len() {
            (format!("missing: {}", missing.join(", ")), Verdict::Nothing)
        } else {
            (
                format!("missing: {}: declared again", missing.join(", ")),
                Verdict::Partly,
            )
        };
        Ok(Settlement::new(asked, found, verdict))
    }
}

impl AmqpDeclare {
    /// The exchanges and queues the step declares, each with whether it
    /// exists now (passive declares).
    async fn present(&self, broker: &Broker) -> Result<Vec<(String, bool)>, StepError> {
        let mut found = Vec::new();
        for exchange in &self.exchanges {
            let exists = broker.exchange_exists(&exchange.name).await?;
            found.push((format!("exchange `{}`", exchange.name), exists));
        }
        for queue in &self.queues {
            let exists = broker.queue_exists(&queue.name).await?;
            found.push((format!("queue `{}`", queue.name), exists));
        }
        Ok(found)
    }
}

/// Runs one deletion on its own channel; "not found" means already gone.
async fn delete(
    broker: &Broker,
    ctx: &StepContext,
    what: &str,
    run: impl AsyncFnOnce(&lapin::Channel) -> Result<(), lapin::Error>,
) -> Result<(), StepError> {
    let channel = broker.channel().await?;
    match run(&channel).await {
        Ok(()) => {
            close_channel(channel).await;
            ctx.log.line(&format!("deleted {what}"));
            Ok(())
        }
        Err(error) if is_not_found(&error) => {
            ctx.log.line(&format!("{what} was already gone"));
            Ok(())
        }
        Err(error) => Err(broker.error(&format!("cannot delete {what}"), &error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confirmed_routed_message_passes() {
        assert!(check_confirmation(Confirmation::Ack(None), "x", "k", true).is_ok());
        assert!(check_confirmation(Confirmation::Nack(None), "x", "k", true).is_err());
        assert!(check_confirmation(Confirmation::NotRequested, "x", "k", true).is_err());
    }

    #[test]
    fn undo_records_read_back() {
        let created = Created {
            exchanges: vec!["events".into()],
            queues: Vec::new(),
            bindings: vec![BindingDecl {
                exchange: "events".into(),
                queue: "q".into(),
                routing_key: "user.*".into(),
            }],
        };
        let value = serde_json::to_value(&created).expect("serialise");
        assert_eq!(serde_json::from_value::<Created>(value).ok(), Some(created));
    }
}
