//! Docker Engine probes and actions, with bollard. The data of each kind
//! is here; the behaviour in `probes` and `actions`, on top of `client`.

mod actions;
mod client;
mod probes;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::{KindSpec, quote_argv};
use crate::units::duration::Duration;

/// Passes when the Docker daemon answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DockerDaemon {
    /// Daemon address (default: `DOCKER_HOST`, else the local socket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl KindSpec for DockerDaemon {
    fn summary(&self) -> String {
        format!(
            "docker daemon at {} answers",
            self.endpoint.as_deref().unwrap_or("the default endpoint")
        )
    }
}

/// Passes when the image is present locally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DockerImage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub image: String,
}

impl KindSpec for DockerImage {
    fn summary(&self) -> String {
        format!("image {} is present", self.image)
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("image", &self.image);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ContainerState {
    /// The container is running.
    #[default]
    Running,
    /// The container is running and its health check reports healthy.
    Healthy,
}

impl ContainerState {
    fn as_str(self) -> &'static str {
        match self {
            ContainerState::Running => "running",
            ContainerState::Healthy => "healthy",
        }
    }
}

/// Passes when the named container is running (or healthy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DockerContainer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub name: String,
    #[serde(default)]
    pub state: ContainerState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
}

impl KindSpec for DockerContainer {
    fn summary(&self) -> String {
        let wait = self.wait.map(|w| format!(" (wait up to {w})")).unwrap_or_default();
        format!("container {} is {}{wait}", self.name, self.state.as_str())
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("name", &self.name);
    }
}

/// Passes when a container of a Compose service is running (or healthy),
/// found by the labels `com.docker.compose.project` and `com.docker.compose.service`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DockerCompose {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub project: String,
    pub service: String,
    #[serde(default)]
    pub state: ContainerState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
}

impl KindSpec for DockerCompose {
    fn summary(&self) -> String {
        let wait = self.wait.map(|w| format!(" (wait up to {w})")).unwrap_or_default();
        format!(
            "compose service {}/{} is {}{wait}",
            self.project,
            self.service,
            self.state.as_str()
        )
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("project", &self.project);
        check.non_empty("service", &self.service);
    }
}

/// A container health check, as in a Dockerfile's `HEALTHCHECK`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HealthCheck {
    /// Command run in the container, e.g. `["CMD", "wget", "-q", "-O-", "http://127.0.0.1/health"]`
    /// or `["CMD-SHELL", "pg_isready"]`; a list starting with neither runs as `CMD`.
    pub test: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    OnFailure,
}

/// Creates and starts a container from a local image (never pulls).
/// Idempotent by name: a container of that name from the same image is
/// kept (started if stopped); one from another image is an error. Only the
/// name and the image are compared, not the rest of the configuration.
/// Undone by removing the container, when this step created it, or by
/// stopping it again, when this step only started it. Output: `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DockerRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub name: String,
    pub image: String,
    /// Command and arguments (default: the image's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    /// Published ports, `"HOST_ADDRESS:HOST_PORT:CONTAINER_PORT[/tcp|udp]"`;
    /// the host address is required so exposure is always explicit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// Network mode: `bridge` (default), `host`, `none` or a network name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// After starting, wait until the health check (`health`, else the
    /// image's own `HEALTHCHECK`) reports healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_healthy: Option<Duration>,
}

/// A parsed `"HOST_ADDRESS:HOST_PORT:CONTAINER_PORT[/proto]"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortBinding {
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

impl PortBinding {
    pub(crate) fn parse(text: &str) -> Option<PortBinding> {
        let (spec, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
        if !matches!(protocol, "tcp" | "udp") {
            return None;
        }
        let (rest, container_port) = spec.rsplit_once(':')?;
        let (host_ip, host_port) = rest.rsplit_once(':')?;
        let host_ip = host_ip.trim_start_matches('[').trim_end_matches(']');
        host_ip.parse::<std::net::IpAddr>().ok()?;
        Some(PortBinding {
            host_ip: host_ip.to_string(),
            host_port: host_port.parse().ok()?,
            container_port: container_port.parse().ok()?,
            protocol: protocol.to_string(),
        })
    }
}

impl KindSpec for DockerRun {
    fn summary(&self) -> String {
        let mut out = format!("run container {} from {}", self.name, self.image);
        if !self.command.is_empty() {
            out.push_str(&format!(": {}", quote_argv(&self.command)));
        }
        if !self.ports.is_empty() {
            out.push_str(&format!(" (ports {})", self.ports.join(", ")));
        }
        out
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("name", &self.name);
        check.non_empty("image", &self.image);
        for port in &self.ports {
            if !port.contains("${") && PortBinding::parse(port).is_none() {
                check.error(
                    "ports",
                    format!("invalid port binding `{port}`"),
                    "write it as \"HOST_ADDRESS:HOST_PORT:CONTAINER_PORT\", like \"127.0.0.1:8080:80\"",
                );
            }
        }
        if self.health.as_ref().is_some_and(|h| h.test.is_empty()) {
            check.error(
                "health",
                "`health.test` is empty",
                "give the command, like [\"CMD\", \"true\"]",
            );
        }
    }
}

/// Starts, stops or removes a container by name. Starting a running or
/// stopping a stopped container does nothing; nor does removing a missing one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct DockerContainerAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub name: String,
    /// For stop and remove: seconds to wait before killing (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<Duration>,
}

impl KindSpec for DockerContainerAction {
    fn summary(&self) -> String {
        format!("container {}", self.name)
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("name", &self.name);
    }
}

/// `docker.start`: starts a container (nothing when it runs already).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline)]
pub(crate) struct DockerStart(pub DockerContainerAction);

/// `docker.stop`: stops a container (nothing when it is stopped already).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline)]
pub(crate) struct DockerStop(pub DockerContainerAction);

/// `docker.remove`: removes a container (nothing when there is none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline)]
pub(crate) struct DockerRemove(pub DockerContainerAction);

macro_rules! container_action {
    ($($kind:ident),*) => {$(
        impl KindSpec for $kind {
            fn summary(&self) -> String {
                self.0.summary()
            }

            fn validate(&self, check: &mut dyn FieldChecks) {
                self.0.validate(check);
            }
        }
    )*};
}

container_action!(DockerStart, DockerStop, DockerRemove);

/// Runs a command inside a running container and requires its exit code;
/// on failure, the end of its output and the container's last log lines
/// are shown. (Interrupted, planrun stops waiting; the command itself runs on.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DockerExec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub container: String,
    pub command: Vec<String>,
    /// Required exit code (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
}

impl KindSpec for DockerExec {
    fn summary(&self) -> String {
        format!("in {}: {}", self.container, quote_argv(&self.command))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("container", &self.container);
        if self.command.is_empty() {
            check.error(
                "command",
                "`command` is empty",
                "give the program to run, like [\"nginx\", \"-t\"]",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_bindings_need_a_host_address() {
        let binding = PortBinding::parse("127.0.0.1:8080:80");
        assert_eq!(binding.map(|b| (b.host_port, b.container_port)), Some((8080, 80)));
        assert!(PortBinding::parse("8080:80").is_none());
        assert!(PortBinding::parse("localhost:8080:80").is_none());
        assert!(PortBinding::parse("127.0.0.1:8080:80/sctp").is_none());
        assert!(PortBinding::parse("[::1]:53:53/udp").is_some());
    }
}
