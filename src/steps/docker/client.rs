//! Reaching the Docker daemon with bollard, and what every kind asks it.
//!
//! bollard 0.21.1 sends unversioned API paths, so one client speaks to
//! Engine 20.10 (API 1.41) and to current engines alike; no version is
//! pinned (Docker 29 refuses clients below API 1.44).

use bollard::Docker;
use bollard::errors::Error;
use bollard::models::{ContainerInspectResponse, HealthStatusEnum};
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;

use super::ContainerState;
use crate::steps::outcome::StepError;

/// The daemon at `endpoint` (`unix:///path`, `tcp://host:port` or
/// `http://host:port`), else at `DOCKER_HOST`, else the local socket.
pub(super) fn connect(endpoint: Option<&str>) -> Result<Docker, StepError> {
    let result = match endpoint {
        Some(endpoint) => Docker::connect_with_host(endpoint),
        None => Docker::connect_with_defaults(),
    };
    result.map_err(|error| {
        let at = endpoint.map_or_else(
            || std::env::var("DOCKER_HOST").unwrap_or_else(|_| "the local socket".into()),
            String::from,
        );
        StepError::failed(format!(
            "cannot reach the Docker daemon at {at}: {}",
            with_causes(&error)
        ))
    })
}

pub(super) fn is_status(error: &Error, status: u16) -> bool {
    matches!(error, Error::DockerResponseServerError { status_code, .. } if *status_code == status)
}

/// `what` failed: the daemon's own message, without bollard's wrapping;
/// any other error with its causes ("connection refused" is two or three
/// sources down a connection error).
pub(super) fn failure(what: &str, error: &Error) -> StepError {
    let reason = match error {
        Error::DockerResponseServerError { message, .. } => message.clone(),
        other => with_causes(other),
    };
    StepError::failed(format!("{what}: {reason}"))
}

/// An error's message followed by those of its sources, each once.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !message.is_empty() && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

/// The container, or `None` when there is none by that name.
pub(super) async fn inspect(docker: &Docker, name: &str) -> Result<Option<ContainerInspectResponse>, StepError> {
    match docker.inspect_container(name, None).await {
        Ok(container) => Ok(Some(container)),
        Err(error) if is_status(&error, 404) => Ok(None),
        Err(error) => Err(failure(&format!("cannot inspect container `{name}`"), &error)),
    }
}

pub(super) fn no_such_container(name: &str) -> StepError {
    StepError::failed(format!("there is no container named `{name}`"))
}

pub(super) fn is_running(container: &ContainerInspectResponse) -> bool {
    container.state.as_ref().and_then(|s| s.running).unwrap_or(false)
}

pub(super) fn health(container: &ContainerInspectResponse) -> Option<HealthStatusEnum> {
    container
        .state
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.status)
        .filter(|s| !matches!(s, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE))
}

/// The output of the last health checks, oldest first.
pub(super) fn health_output(container: &ContainerInspectResponse) -> Vec<String> {
    let checks = container
        .state
        .as_ref()
        .and_then(|s| s.health.as_ref())
        .and_then(|h| h.log.as_ref());
    let Some(last) = checks.and_then(|log| log.last()) else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "last health check: exit code {}",
        last.exit_code.map_or("?".into(), |c| c.to_string())
    )];
    lines.extend(last.output.as_deref().unwrap_or_default().lines().map(String::from));
    lines
}

/// Whether the container is in `want`; why not, when it is not.
pub(super) fn check_state(
    name: &str,
    container: &ContainerInspectResponse,
    want: ContainerState,
) -> Result<(), String> {
    if !is_running(container) {
        let status = container
            .state
            .as_ref()
            .and_then(|s| s.status)
            .map_or("unknown".to_string(), |s| s.to_string());
        return Err(format!("container `{name}` is not running ({status})"));
    }
    if want == ContainerState::Running {
        return Ok(());
    }
    match health(container) {
        Some(HealthStatusEnum::HEALTHY) => Ok(()),
        Some(status) => Err(format!("container `{name}` is {status}, not healthy")),
        None => Err(format!("container `{name}` has no health check")),
    }
}

/// The container's last `lines` log lines (stdout and stderr), best effort.
pub(super) async fn last_logs(docker: &Docker, name: &str, lines: usize) -> Vec<String> {
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        tail: lines.to_string(),
        ..LogsOptions::default()
    };
    let mut stream = docker.logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        text.push_str(&chunk.to_string());
    }
    let all: Vec<String> = text.lines().map(String::from).collect();
    all[all.len().saturating_sub(lines)..].to_vec()
}

/// `detail` lines: a header, then the container's last log lines.
pub(super) async fn logs_detail(docker: &Docker, name: &str) -> Vec<String> {
    let logs = last_logs(docker, name, 20).await;
    if logs.is_empty() {
        return vec![format!("(container `{name}` logged nothing)")];
    }
    std::iter::once(format!("last {} log line(s) of container `{name}`:", logs.len()))
        .chain(logs)
        .collect()
}
