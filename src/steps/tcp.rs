//! `tcp`: ports open (something listens) or free (nothing does).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::steps::FieldChecks;
use crate::steps::KindSpec;
use crate::units::duration::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PortState {
    /// Something accepts connections.
    #[default]
    Open,
    /// Nothing listens (the connection is refused).
    Free,
}

/// Checks that TCP ports on `host` are open or free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tcp {
    /// Host to connect to (default `127.0.0.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub port: Option<u16>,
    /// Ports and ranges: `[80, 443, "5432-5435"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortRange>,
    /// `open` (default) or `free`.
    #[serde(default)]
    pub state: PortState,
    /// Keep trying until this much time has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
}

impl Tcp {
    pub(crate) fn host(&self) -> &str {
        self.host.as_deref().unwrap_or("127.0.0.1")
    }

    /// Every port to check, in the order written.
    pub(crate) fn all_ports(&self) -> Vec<u16> {
        self.port
            .into_iter()
            .chain(self.ports.iter().flat_map(|range| range.first..=range.last))
            .collect()
    }
}

impl KindSpec for Tcp {
    fn summary(&self) -> String {
        let ports: Vec<String> = self
            .port
            .map(|port| port.to_string())
            .into_iter()
            .chain(self.ports.iter().map(ToString::to_string))
            .collect();
        let state = match self.state {
            PortState::Open => "open",
            PortState::Free => "free",
        };
        let mut out = format!("{}:{} {state}", self.host(), ports.join(","));
        if let Some(wait) = self.wait {
            out.push_str(&format!(" (wait up to {wait})"));
        }
        out
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.exactly_one(&[("port", self.port.is_some()), ("ports", !self.ports.is_empty())]);
        if self.port == Some(0) {
            check.error("port", "port 0 cannot be checked", "use ports 1-65535");
        }
        if self.ports.iter().any(|r| r.first == 0) {
            check.error("ports", "port 0 cannot be checked", "use ports 1-65535");
        }
    }
}

/// One port (`5432`) or an inclusive range (`"5432-5435"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.first == self.last {
            serializer.serialize_u16(self.first)
        } else {
            serializer.collect_str(self)
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PortRange, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number or a range like \"5432-5435\"")
            }
            fn visit_i64<E: serde::de::Error>(self, port: i64) -> Result<PortRange, E> {
                let port =
                    u16::try_from(port).map_err(|_| E::custom(format!("{port} is not a port number (0-65535)")))?;
                Ok(PortRange {
                    first: port,
                    last: port,
                })
            }
            fn visit_u64<E: serde::de::Error>(self, port: u64) -> Result<PortRange, E> {
                self.visit_i64(i64::try_from(port).unwrap_or(-1))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<PortRange, E> {
                let invalid = || E::custom(format!("invalid port range `{text}`: expected like \"5432-5435\""));
                let (first, last) = text.split_once('-').unwrap_or((text, text));
                let first: u16 = first.trim().parse().map_err(|_| invalid())?;
                let last: u16 = last.trim().parse().map_err(|_| invalid())?;
                if first > last {
                    return Err(invalid());
                }
                Ok(PortRange { first, last })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for PortRange {
    fn schema_name() -> Cow<'static, str> {
        "PortRange".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A port number, or an inclusive range written \"first-last\".",
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 65535 },
                { "type": "string", "pattern": "^[0-9]{1,5}-[0-9]{1,5}$" }
            ]
        })
    }
}

impl crate::steps::ProbeKind for Tcp {
    async fn inspect(&self, ctx: &crate::steps::context::StepContext) -> Result<(), crate::steps::outcome::StepError> {
        use crate::steps::outcome::StepError;
        let ports = self.all_ports();
        crate::steps::wait::until(
            ctx,
            self.wait.map(Duration::std),
            crate::steps::wait::DEFAULT_INTERVAL,
            || async {
                let (mut wrong, mut unknown) = (Vec::new(), Vec::new());
                for &port in &ports {
                    match (probe(self.host(), port).await?, self.state) {
                        (Port::Open, PortState::Open) | (Port::Refused, PortState::Free) => {}
                        // Not answering is not open, but it does not show that nothing listens.
                        (Port::Silent(reason), PortState::Free) => unknown.push(format!("{port} ({reason})")),
                        _ => wrong.push(port.to_string()),
                    }
                }
                let host = self.host();
                match self.state {
                    _ if wrong.is_empty() && unknown.is_empty() => Ok(()),
                    PortState::Open => Err(StepError::failed(format!(
                        "nothing listens on {host}:{}",
                        wrong.join(",")
                    ))),
                    PortState::Free if !wrong.is_empty() => Err(StepError::failed(format!(
                        "already in use on {host}: {}",
                        wrong.join(",")
                    ))),
                    PortState::Free => Err(StepError::failed(format!(
                        "cannot tell whether these ports are free on {host}: {}",
                        unknown.join(", ")
                    ))),
                }
            },
        )
        .await
    }
}

/// What a connection attempt to a port found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Port {
    /// The connection was accepted.
    Open,
    /// The host refused it: nothing listens.
    Refused,
    /// No answer, or another failure: nothing known about the port.
    Silent(String),
}

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Connects to `host:port` (every address `host` resolves to). A host
/// that does not resolve is an error, never a free port.
async fn probe(host: &str, port: u16) -> Result<Port, crate::steps::outcome::StepError> {
    let addresses: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port))).await {
            Ok(Ok(addresses)) => addresses.collect(),
            Ok(Err(error)) => {
                return Err(crate::steps::outcome::StepError::failed(format!(
                    "cannot resolve host `{host}`: {error}"
                )));
            }
            Err(_) => {
                return Err(crate::steps::outcome::StepError::failed(format!(
                    "cannot resolve host `{host}`: no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
    if addresses.is_empty() {
        return Err(crate::steps::outcome::StepError::failed(format!(
            "host `{host}` has no address"
        )));
    }
    let mut found = Port::Refused;
    for address in addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(_)) => return Ok(Port::Open),
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::ConnectionRefused => {}
            Ok(Err(error)) => found = Port::Silent(error.to_string()),
            Err(_) => found = Port::Silent(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_refused_connection_means_free() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        assert_eq!(probe("127.0.0.1", port).await.ok(), Some(Port::Open));
        drop(listener);
        assert_eq!(probe("127.0.0.1", port).await.ok(), Some(Port::Refused));
        let unresolvable = probe("no.such.host.invalid", port).await;
        let message = match unresolvable {
            Err(crate::steps::outcome::StepError::Failed { message, .. }) => message,
            other => panic!("an unresolvable host is an error, got {other:?}"),
        };
        assert!(
            message.contains("cannot resolve host `no.such.host.invalid`"),
            "{message}"
        );
    }
}
