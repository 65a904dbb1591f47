//! Docker actions: run a container (undone by removing it), start, stop,
//! remove, and exec a command in a container (also a probe).

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HealthConfig, HealthStatusEnum, HostConfig, PortMap,
    RestartPolicy as DockerRestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions, StopContainerOptions};
use futures_util::StreamExt;
use indexmap::IndexMap;
use serde_json::{Value, json};

use super::client::{
    connect, failure, health, health_output, inspect, is_running, is_status, logs_detail, no_such_container,
};
use super::{DockerContainerAction, DockerExec, DockerRun, HealthCheck, PortBinding, RestartPolicy};
use crate::failpoint;
use crate::steps::context::StepContext;
use crate::steps::outcome::{
    Applied, Settlement, StepError, Verdict, evidence, save_undo, saved_evidence, saved_undo, which_attempt,
};
use crate::steps::{ActionKind, ProbeKind};

const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// Labels of a container `docker.run` creates: the run and the step, so
/// an interrupted attempt is settled by looking for them.
const RUN_LABEL: &str = "planrun.run";
const STEP_LABEL: &str = "planrun.step";
const POLL: Duration = Duration::from_millis(500);
/// Exec output lines kept for the failure message.
const EXEC_TAIL: usize = 10;

fn nanos(duration: crate::units::duration::Duration) -> i64 {
    i64::try_from(duration.as_millis()).map_or(i64::MAX, |ms| ms.saturating_mul(1_000_000))
}

/// Docker's health check `Test`: a list that starts with neither `CMD`,
/// `CMD-SHELL` nor `NONE` is taken as a program and its arguments.
fn health_test(test: &[String]) -> Vec<String> {
    match test.first().map(String::as_str) {
        Some("CMD" | "CMD-SHELL" | "NONE") => test.to_vec(),
        _ => std::iter::once("CMD".to_string()).chain(test.iter().cloned()).collect(),
    }
}

fn health_config(health: &HealthCheck) -> HealthConfig {
    HealthConfig {
        test: Some(health_test(&health.test)),
        interval: health.interval.map(nanos),
        timeout: health.timeout.map(nanos),
        retries: health.retries.map(i64::from),
        start_period: health.start_period.map(nanos),
        start_interval: None,
    }
}

fn restart_policy(policy: RestartPolicy) -> DockerRestartPolicy {
    let name = match policy {
        RestartPolicy::No => RestartPolicyNameEnum::NO,
        RestartPolicy::Always => RestartPolicyNameEnum::ALWAYS,
        RestartPolicy::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
        RestartPolicy::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
    };
    DockerRestartPolicy {
        name: Some(name),
        maximum_retry_count: None,
    }
}

/// `ExposedPorts` and `PortBindings`, each binding on its explicit host address.
fn ports(specs: &[String]) -> Result<(Vec<String>, PortMap), StepError> {
    let mut exposed = Vec::new();
    let mut bindings: PortMap = HashMap::new();
    for spec in specs {
        let binding = PortBinding::parse(spec).ok_or_else(|| {
            StepError::failed(format!(
                "invalid port binding `{spec}`: write it as \"HOST_ADDRESS:HOST_PORT:CONTAINER_PORT\""
            ))
        })?;
        let key = format!("{}/{}", binding.container_port, binding.protocol);
        if !exposed.contains(&key) {
            exposed.push(key.clone());
        }
        bindings
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(bollard::models::PortBinding {
                host_ip: Some(binding.host_ip),
                host_port: Some(binding.host_port.to_string()),
            });
    }
    Ok((exposed, bindings))
}

/// Stops (SIGTERM, then SIGKILL after `grace`); stopping a stopped
/// container is not an error.
async fn stop(docker: &Docker, name: &str, grace: Duration) -> Result<(), StepError> {
    let options = StopContainerOptions {
        t: Some(i32::try_from(grace.as_secs()).unwrap_or(i32::MAX)),
        ..StopContainerOptions::default()
    };
    docker
        .stop_container(name, Some(options))
        .await
        .map_err(|e| failure(&format!("cannot stop container `{name}`"), &e))
}

async fn remove(docker: &Docker, name: &str, grace: Duration) -> Result<(), StepError> {
    stop(docker, name, grace).await?;
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..RemoveContainerOptions::default()
    };
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(error) if is_status(&error, 404) => Ok(()),
        Err(error) => Err(failure(&format!("cannot remove container `{name}`"), &error)),
    }
}

async fn start(docker: &Docker, name: &str) -> Result<(), StepError> {
    docker
        .start_container(name, None)
        .await
        .map_err(|e| failure(&format!("cannot start container `{name}`"), &e))
}

impl DockerRun {
    fn body(&self, ctx: &StepContext) -> Result<ContainerCreateBody, StepError> {
        let mut labels: HashMap<String, String> = self.labels.clone().into_iter().collect();
        labels.insert(RUN_LABEL.into(), ctx.run_id.clone());
        labels.insert(STEP_LABEL.into(), ctx.step_id.clone());
        let (exposed, bindings) = ports(&self.ports)?;
        let host_config = HostConfig {
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            network_mode: self.network.clone(),
            restart_policy: self.restart.map(restart_policy),
            ..HostConfig::default()
        };
        Ok(ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: (!self.command.is_empty()).then(|| self.command.clone()),
            env: (!self.env.is_empty()).then(|| self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: self.health.as_ref().map(health_config),
            host_config: Some(host_config),
            ..ContainerCreateBody::default()
        })
    }

    /// The ID of the local image; `docker.run` never pulls.
    async fn image_id(&self, docker: &Docker) -> Result<String, StepError> {
        match docker.inspect_image(&self.image).await {
            Ok(image) => Ok(image.id.unwrap_or_default()),
            Err(error) if is_status(&error, 404) => Err(StepError::with_detail(
                format!("image `{}` is not present locally", self.image),
                vec!["hint: docker.run does not pull; pull, load or build the image first".into()],
            )),
            Err(error) => Err(failure(&format!("cannot inspect image `{}`", self.image), &error)),
        }
    }

    /// What undo will do, judged from the container found before acting.
    fn undo_record(&self, existing: Option<&ContainerInspectResponse>) -> Value {
        match existing {
            None => json!({ "created": true }),
            Some(container) if is_running(container) => json!({ "created": false }),
            Some(_) => json!({ "created": false, "started": true }),
        }
    }

    /// Polls until the health check says healthy; fails at once when it
    /// says unhealthy or the container stops.
    async fn wait_healthy(&self, docker: &Docker, wait: Duration, ctx: &StepContext) -> Result<(), StepError> {
        let name = &self.name;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let container = inspect(docker, name).await?.ok_or_else(|| no_such_container(name))?;
            let status = health(&container);
            let problem = match status {
                Some(HealthStatusEnum::HEALTHY) => {
                    ctx.log.line(&format!("container `{name}` is healthy"));
                    return Ok(());
                }
                _ if !is_running(&container) => Some(format!("container `{name}` stopped before it was healthy")),
                Some(HealthStatusEnum::UNHEALTHY) => Some(format!("container `{name}` is unhealthy")),
                None => {
                    return Err(StepError::with_detail(
                        format!("container `{name}` has no health check to wait for"),
                        vec![format!(
                            "hint: the image `{}` defines no HEALTHCHECK: add `health = {{ test = [...] }}` to the \
                             step, or drop `wait_healthy`",
                            self.image
                        )],
                    ));
                }
                Some(_) if tokio::time::Instant::now() + POLL >= deadline => Some(format!(
                    "container `{name}` is still not healthy after {}",
                    crate::units::duration::Duration::from_millis(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
                )),
                Some(_) => None,
            };
            if let Some(message) = problem {
                let mut detail = health_output(&container);
                detail.extend(logs_detail(docker, name).await);
                return Err(StepError::with_detail(message, detail));
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = ctx.cancel.cancelled() => return Err(StepError::Cancelled),
            }
        }
    }
}

impl ActionKind for DockerRun {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let name = &self.name;
        let image_id = self.image_id(&docker).await?;
        let existing = inspect(&docker, name).await?;
        if let Some(container) = &existing
            && container.image.as_deref() != Some(image_id.as_str())
        {
            return Err(StepError::with_detail(
                format!("container `{name}` exists, from another image than `{}`", self.image),
                vec![format!(
                    "hint: remove it first (`docker rm -f {name}`), or use another name"
                )],
            ));
        }
        let saved = saved_undo(ctx);
        let mut record = saved.clone().unwrap_or_else(|| self.undo_record(existing.as_ref()));
        let ask = format!(
            "whether container `{name}`, labelled {RUN_LABEL}={} and {STEP_LABEL}={}, exists and runs",
            ctx.run_id, ctx.step_id
        );
        let mut entries = vec![("evidence", evidence(ctx, &ask, json!({ "container": name })))];
        if saved.is_none() {
            entries.push(("undo", record.clone()));
        }
        ctx.progress.save_entries(entries).await.map_err(StepError::failed)?;
        let id = match existing {
            None => {
                let options = CreateContainerOptions {
                    name: Some(name.clone()),
                    ..CreateContainerOptions::default()
                };
                let created = docker
                    .create_container(Some(options), self.body(ctx)?)
                    .await
                    .map_err(|e| failure(&format!("cannot create container `{name}`"), &e))?;
                failpoint::hit("docker.run:created");
                if record["created"] == json!(true) {
                    record["id"] = json!(created.id);
                    save_undo(ctx, &record).await?;
                }
                ctx.log.line(&format!("created container `{name}` from {}", self.image));
                start(&docker, name).await?;
                ctx.log.line(&format!("started container `{name}`"));
                created.id
            }
            Some(container) if is_running(&container) => {
                ctx.log
                    .line(&format!("container `{name}` is already running from {}", self.image));
                container.id.unwrap_or_default()
            }
            Some(container) => {
                start(&docker, name).await?;
                ctx.log.line(&format!("started the existing container `{name}`"));
                container.id.unwrap_or_default()
            }
        };
        if let Some(wait) = self.wait_healthy {
            self.wait_healthy(&docker, wait.std(), ctx).await?;
        }
        Ok(Applied {
            outputs: IndexMap::from([("id".to_string(), id)]),
            undo: Some(record),
        })
    }

    fn has_builtin_undo(&self) -> bool {
        true
    }

    async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let name = &self.name;
        let Some(container) = inspect(&docker, name).await? else {
            ctx.log.line(&format!("container `{name}` is already gone"));
            return Ok(());
        };
        if record["created"] == json!(true) {
            if let Some(id) = record["id"].as_str()
                && container.id.as_deref() != Some(id)
            {
                return Err(StepError::failed(format!(
                    "container `{name}` was replaced since planrun created it; remove it by hand"
                )));
            }
            remove(&docker, name, DEFAULT_GRACE).await?;
            ctx.log
                .line(&format!("removed container `{name}` (this run created it)"));
        } else if record["started"] == json!(true) {
            stop(&docker, name, DEFAULT_GRACE).await?;
            ctx.log
                .line(&format!("stopped container `{name}` (this run started it)"));
        } else {
            ctx.log
                .line(&format!("container `{name}` was running before this run: left alone"));
        }
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
            evidence["ask"].as_str().unwrap_or("whether the container exists"),
            which_attempt(ctx, &evidence)
        );
        let docker = connect(self.endpoint.as_deref())?;
        let name = &self.name;
        let Some(container) = inspect(&docker, name).await? else {
            return Ok(Settlement::new(
                asked,
                format!("there is no container `{name}`"),
                Verdict::Nothing,
            ));
        };
        let ours = labelled_by(&container, ctx);
        let whose = if ours {
            "created by this step"
        } else {
            "not created by this run"
        };
        let id = container.id.clone().unwrap_or_default();
        if self.finished(&container) {
            let mut undo = saved_undo(ctx).unwrap_or_else(|| json!({ "created": ours }));
            if ours && undo["id"].is_null() {
                undo["id"] = json!(id);
            }
            let state = if self.wait_healthy.is_some() {
                "running and healthy"
            } else {
                "running"
            };
            let applied = Applied {
                outputs: IndexMap::from([("id".to_string(), id)]),
                undo: Some(undo),
            };
            return Ok(Settlement::new(
                asked,
                format!("container `{name}` ({whose}) is {state}"),
                Verdict::Done(applied),
            ));
        }
        let (state, verdict) = match (ours, is_running(&container)) {
            (true, _) => ("it runs again to finish starting it", Verdict::Partly),
            (false, false) => ("it is not running: the step did not start it", Verdict::Nothing),
            (false, true) => ("it is not healthy yet: the step waits again", Verdict::Partly),
        };
        Ok(Settlement::new(
            asked,
            format!("container `{name}` ({whose}): {state}"),
            verdict,
        ))
    }
}

impl DockerRun {
    /// Whether the container stands as the step leaves it: running, and
    /// healthy when the step waits for that.
    fn finished(&self, container: &ContainerInspectResponse) -> bool {
        is_running(container) && (self.wait_healthy.is_none() || health(container) == Some(HealthStatusEnum::HEALTHY))
    }
}

fn labelled_by(container: &ContainerInspectResponse, ctx: &StepContext) -> bool {
    let labels = container.config.as_ref().and_then(|config| config.labels.as_ref());
    labels.is_some_and(|labels| {
        labels.get(RUN_LABEL) == Some(&ctx.run_id) && labels.get(STEP_LABEL) == Some(&ctx.step_id)
    })
}

impl DockerContainerAction {
    fn grace(&self) -> Duration {
        self.grace.map_or(DEFAULT_GRACE, crate::units::duration::Duration::std)
    }

    pub(crate) async fn start(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let container = inspect(&docker, &self.name)
            .await?
            .ok_or_else(|| no_such_container(&self.name))?;
        if is_running(&container) {
            ctx.log.line(&format!("container `{}` is already running", self.name));
        } else {
            start(&docker, &self.name).await?;
            ctx.log.line(&format!("started container `{}`", self.name));
        }
        Ok(Applied::default())
    }

    pub(crate) async fn stop(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let container = inspect(&docker, &self.name)
            .await?
            .ok_or_else(|| no_such_container(&self.name))?;
        if is_running(&container) {
            stop(&docker, &self.name, self.grace()).await?;
            ctx.log.line(&format!("stopped container `{}`", self.name));
        } else {
            ctx.log.line(&format!("container `{}` is already stopped", self.name));
        }
        Ok(Applied::default())
    }

    pub(crate) async fn remove(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        if inspect(&docker, &self.name).await?.is_none() {
            ctx.log
                .line(&format!("there is no container `{}`: nothing to remove", self.name));
            return Ok(Applied::default());
        }
        remove(&docker, &self.name, self.grace()).await?;
        ctx.log.line(&format!("removed container `{}`", self.name));
        Ok(Applied::default())
    }
}

/// The state `docker.start`, `docker.stop` or `docker.remove` leaves a
/// container in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Running,
    Stopped,
    Gone,
}

impl DockerContainerAction {
    /// These actions converge on a state, so the container's state now
    /// settles an interrupted attempt: the state wanted → done; else
    /// running it again is safe. Except after `docker.start`, a container
    /// that is not running may have started, done its work and exited:
    /// that, nobody can tell.
    pub(crate) async fn settle(&self, wanted: Wanted) -> Result<Settlement, StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let name = &self.name;
        let container = inspect(&docker, name).await?;
        let asked = format!("the state of container `{name}`");
        let state = match &container {
            None => "does not exist",
            Some(container) if is_running(container) => "is running",
            Some(_) => "is not running",
        };
        let found = format!("container `{name}` {state}");
        let verdict = match (wanted, container.as_ref().map(is_running)) {
            (Wanted::Running, Some(true)) | (Wanted::Stopped, Some(false)) | (Wanted::Gone, None) => {
                Verdict::Done(Applied::default())
            }
            (Wanted::Running, _) => Verdict::Unknown,
            (Wanted::Stopped, None) => Verdict::Unknown,
            (Wanted::Stopped | Wanted::Gone, _) => Verdict::Nothing,
        };
        Ok(Settlement::new(asked, found, verdict))
    }
}

impl DockerExec {
    /// Runs the command, its output going to the step log; fails on an
    /// unexpected exit code with the end of that output and the
    /// container's last log lines.
    async fn run(&self, ctx: &StepContext) -> Result<(), StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let container = &self.container;
        let options = CreateExecOptions {
            cmd: Some(self.command.clone()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..CreateExecOptions::default()
        };
        let exec = match docker.create_exec(container, options).await {
            Ok(exec) => exec,
            Err(error) if is_status(&error, 404) => return Err(no_such_container(container)),
            Err(error) if is_status(&error, 409) => {
                return Err(StepError::with_detail(
                    format!("container `{container}` is not running"),
                    logs_detail(&docker, container).await,
                ));
            }
            Err(error) => return Err(failure(&format!("cannot exec in container `{container}`"), &error)),
        };
        let started = docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| failure(&format!("cannot exec in container `{container}`"), &e))?;
        let mut output = Vec::new();
        if let StartExecResults::Attached { output: mut stream, .. } = started {
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| failure("reading the command's output failed", &e))?;
                text.push_str(&chunk.to_string());
            }
            for line in text.lines() {
                ctx.log.line(line);
                output.push(line.to_string());
            }
        }
        let code = exit_code(&docker, &exec.id).await?;
        let expected = self.exit_code.unwrap_or(0);
        ctx.log.line(&format!("exit code {code}"));
        if code == expected {
            return Ok(());
        }
        let mut detail: Vec<String> = output[output.len().saturating_sub(EXEC_TAIL)..].to_vec();
        detail.extend(logs_detail(&docker, container).await);
        Err(StepError::with_detail(
            format!(
                "`{}` in container `{container}` ended with exit code {code}, expected {expected}",
                crate::steps::quote_argv(&self.command)
            ),
            detail,
        ))
    }
}

/// The exit code, once the daemon has recorded that the command ended.
async fn exit_code(docker: &Docker, exec: &str) -> Result<i64, StepError> {
    for _ in 0..50 {
        let inspected = docker
            .inspect_exec(exec)
            .await
            .map_err(|e| failure("cannot inspect the command", &e))?;
        if inspected.running != Some(true)
            && let Some(code) = inspected.exit_code
        {
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(StepError::failed("the command's exit code never arrived"))
}

impl ActionKind for DockerExec {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        self.run(ctx).await.map(|()| Applied::default())
    }
}

impl ProbeKind for DockerExec {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        self.run(ctx).await
    }
}

impl ActionKind for super::DockerStart {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        self.0.start(ctx).await
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, _ctx: &StepContext) -> Result<Settlement, StepError> {
        self.0.settle(Wanted::Running).await
    }
}

impl ActionKind for super::DockerStop {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        self.0.stop(ctx).await
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, _ctx: &StepContext) -> Result<Settlement, StepError> {
        self.0.settle(Wanted::Stopped).await
    }
}

impl ActionKind for super::DockerRemove {
    async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        self.0.remove(ctx).await
    }

    fn can_settle(&self) -> bool {
        true
    }

    async fn settle(&self, _ctx: &StepContext) -> Result<Settlement, StepError> {
        self.0.settle(Wanted::Gone).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_tests_default_to_cmd() {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_string()).collect::<Vec<_>>();
        assert_eq!(health_test(&words(&["wget", "-q"])), words(&["CMD", "wget", "-q"]));
        assert_eq!(
            health_test(&words(&["CMD-SHELL", "true"])),
            words(&["CMD-SHELL", "true"])
        );
    }

    #[test]
    fn ports_bind_on_their_explicit_address() {
        let specs = vec![
            "127.0.0.1:8080:80".to_string(),
            "127.0.0.1:8443:80".into(),
            "[::1]:53:53/udp".into(),
        ];
        let (exposed, bindings) = ports(&specs).expect("valid ports");
        assert_eq!(exposed, ["80/tcp", "53/udp"]);
        let on_80 = bindings["80/tcp"].clone().unwrap_or_default();
        assert_eq!(on_80.len(), 2);
        assert_eq!(on_80[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(on_80[1].host_port.as_deref(), Some("8443"));
        assert_eq!(
            bindings["53/udp"].clone().unwrap_or_default()[0].host_ip.as_deref(),
            Some("::1")
        );
        assert!(ports(&["8080:80".to_string()]).is_err());
    }

    #[test]
    fn durations_are_nanoseconds() {
        assert_eq!(
            nanos(crate::units::duration::Duration::from_millis(1500)),
            1_500_000_000
        );
    }
}
