//! RabbitMQ (AMQP 0-9-1) probes and actions, with lapin on tokio. The data
//! of each kind is here; the behaviour in `probes` and `actions`.

mod actions;
mod connection;
mod probes;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::redact::credentials::display_url;
use crate::steps::FieldChecks;
use crate::steps::KindSpec;
use crate::units::duration::Duration;

const SCHEMES: [&str; 2] = ["amqp", "amqps"];

/// Passes when the broker accepts a connection (retrying up to `wait`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AmqpConnect {
    /// Broker URL, `amqp://user:password@host:5672/vhost`.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
}

impl KindSpec for AmqpConnect {
    fn summary(&self) -> String {
        format!("connect {}", display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
    }
}

/// Passes when the exchange or queue exists (a passive declare).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AmqpExists {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

impl KindSpec for AmqpExists {
    fn summary(&self) -> String {
        let what = match (&self.exchange, &self.queue) {
            (Some(exchange), _) => format!("exchange {exchange}"),
            (None, Some(queue)) => format!("queue {queue}"),
            (None, None) => String::new(),
        };
        format!("{what} exists on {}", display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.exactly_one(&[("exchange", self.exchange.is_some()), ("queue", self.queue.is_some())]);
    }
}

/// Publishes a message to `exchange` with `routing_key` (confirmed and
/// mandatory, so an unroutable message fails) and receives it on a
/// temporary queue bound with the same key, within `timeout`. Other queues
/// bound to that key get the message too: pick a key consumers ignore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AmqpRoundtrip {
    pub url: String,
    pub exchange: String,
    pub routing_key: String,
    /// Message body (default: a generated unique text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// How long to wait for the message (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

impl KindSpec for AmqpRoundtrip {
    fn summary(&self) -> String {
        format!(
            "publish to {} with key {:?} and receive it back on {}",
            self.exchange,
            self.routing_key,
            display_url(&self.url)
        )
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.non_empty("exchange", &self.exchange);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExchangeType {
    Direct,
    Fanout,
    #[default]
    Topic,
    Headers,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExchangeDecl {
    pub name: String,
    /// `direct`, `fanout`, `topic` (default) or `headers`.
    #[serde(default, rename = "type")]
    pub kind: ExchangeType,
    #[serde(default = "yes")]
    pub durable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueDecl {
    pub name: String,
    #[serde(default = "yes")]
    pub durable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BindingDecl {
    pub exchange: String,
    pub queue: String,
    #[serde(default)]
    pub routing_key: String,
}

fn yes() -> bool {
    true
}

/// Declares exchanges, queues and bindings. Undone by deleting what this
/// step created (what already existed is left alone). A binding between an
/// exchange and a queue that both existed before is left in place by undo:
/// AMQP cannot tell whether that binding was there already.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AmqpDeclare {
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<ExchangeDecl>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<QueueDecl>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<BindingDecl>,
}

impl KindSpec for AmqpDeclare {
    fn summary(&self) -> String {
        let names = |items: Vec<&str>| items.join(", ");
        let mut parts = Vec::new();
        if !self.exchanges.is_empty() {
            parts.push(format!(
                "exchanges {}",
                names(self.exchanges.iter().map(|e| e.name.as_str()).collect())
            ));
        }
        if !self.queues.is_empty() {
            parts.push(format!(
                "queues {}",
                names(self.queues.iter().map(|q| q.name.as_str()).collect())
            ));
        }
        if !self.bindings.is_empty() {
            parts.push(format!("{} binding(s)", self.bindings.len()));
        }
        format!("declare {} on {}", parts.join("; "), display_url(&self.url))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
        check.at_least_one(&[
            ("exchanges", !self.exchanges.is_empty()),
            ("queues", !self.queues.is_empty()),
            ("bindings", !self.bindings.is_empty()),
        ]);
        if self
            .exchanges
            .iter()
            .any(|e| e.name.is_empty() || e.name.starts_with("amq."))
            || self
                .queues
                .iter()
                .any(|q| q.name.is_empty() || q.name.starts_with("amq."))
        {
            check.error(
                "exchanges",
                "empty or reserved (`amq.`) exchange or queue name",
                "names starting with `amq.` belong to the broker",
            );
        }
    }
}

/// Publishes one persistent message and waits for the broker's confirm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AmqpPublish {
    pub url: String,
    pub exchange: String,
    #[serde(default)]
    pub routing_key: String,
    pub payload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Fail when no queue receives the message (default true).
    #[serde(default = "yes")]
    pub mandatory: bool,
}

impl KindSpec for AmqpPublish {
    fn summary(&self) -> String {
        format!(
            "publish {} bytes to {} with key {:?} on {}",
            self.payload.len(),
            self.exchange,
            self.routing_key,
            display_url(&self.url)
        )
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.url("url", &self.url, &SCHEMES);
    }
}
