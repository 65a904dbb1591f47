//! Docker probes: daemon, image, container, Compose service.

use std::collections::HashMap;

use bollard::models::ContainerSummaryStateEnum;
use bollard::query_parameters::ListContainersOptions;

use super::client::{check_state, connect, failure, inspect, is_status, no_such_container};
use super::{DockerCompose, DockerContainer, DockerDaemon, DockerImage};
use crate::steps::ProbeKind;
use crate::steps::context::StepContext;
use crate::steps::outcome::StepError;
use crate::steps::wait;
use crate::units::duration::Duration;

impl ProbeKind for DockerDaemon {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        let version = docker
            .version()
            .await
            .map_err(|e| failure("the Docker daemon does not answer", &e))?;
        ctx.log.line(&format!(
            "Docker Engine {} (API {})",
            version.version.as_deref().unwrap_or("?"),
            version.api_version.as_deref().unwrap_or("?")
        ));
        Ok(())
    }
}

impl ProbeKind for DockerImage {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        match docker.inspect_image(&self.image).await {
            Ok(image) => {
                ctx.log.line(&format!(
                    "image {} is present ({})",
                    self.image,
                    image.id.as_deref().unwrap_or("?")
                ));
                Ok(())
            }
            Err(error) if is_status(&error, 404) => Err(StepError::failed(format!(
                "image `{}` is not present locally",
                self.image
            ))),
            Err(error) => Err(failure(&format!("cannot inspect image `{}`", self.image), &error)),
        }
    }
}

impl ProbeKind for DockerContainer {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        wait::until(ctx, self.wait.map(Duration::std), wait::DEFAULT_INTERVAL, || async {
            let container = inspect(&docker, &self.name)
                .await?
                .ok_or_else(|| no_such_container(&self.name))?;
            check_state(&self.name, &container, self.state).map_err(StepError::failed)?;
            ctx.log
                .line(&format!("container `{}` is {}", self.name, self.state.as_str()));
            Ok(())
        })
        .await
    }
}

impl DockerCompose {
    /// Passes when some container of the service is in the wanted state.
    async fn check(&self, docker: &bollard::Docker, ctx: &StepContext) -> Result<(), StepError> {
        let service = format!("{}/{}", self.project, self.service);
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("com.docker.compose.project={}", self.project),
                format!("com.docker.compose.service={}", self.service),
            ],
        )]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..ListContainersOptions::default()
        };
        let containers = docker
            .list_containers(Some(options))
            .await
            .map_err(|e| failure("cannot list containers", &e))?;
        if containers.is_empty() {
            return Err(StepError::failed(format!(
                "no container belongs to compose service {service}"
            )));
        }
        let mut reasons = Vec::new();
        for summary in &containers {
            let name = summary.names.as_ref().and_then(|names| names.first()).map_or_else(
                || summary.id.clone().unwrap_or_default(),
                |n| n.trim_start_matches('/').to_string(),
            );
            if summary.state != Some(ContainerSummaryStateEnum::RUNNING) {
                reasons.push(format!("container `{name}` is not running"));
                continue;
            }
            let Some(container) = inspect(docker, &name).await? else {
                continue;
            };
            match check_state(&name, &container, self.state) {
                Ok(()) => {
                    ctx.log.line(&format!(
                        "compose service {service}: `{name}` is {}",
                        self.state.as_str()
                    ));
                    return Ok(());
                }
                Err(reason) => reasons.push(reason),
            }
        }
        Err(StepError::failed(format!(
            "compose service {service} is not {}: {}",
            self.state.as_str(),
            reasons.join("; ")
        )))
    }
}

impl ProbeKind for DockerCompose {
    async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        let docker = connect(self.endpoint.as_deref())?;
        wait::until(ctx, self.wait.map(Duration::std), wait::DEFAULT_INTERVAL, || {
            self.check(&docker, ctx)
        })
        .await
    }
}
