//! From the closed sets of kinds to their behaviour.

use serde_json::Value;

use crate::steps::context::StepContext;
use crate::steps::docker::Wanted;
use crate::steps::outcome::{Applied, Inspect, Perform, Settle, Settlement, StepError, Undo, Verdict};
use crate::steps::{Action, Probe};

impl Action {
    pub async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
        match self {
            Action::Shell(kind) => kind.perform(ctx).await,
            Action::FileWrite(kind) => kind.perform(ctx).await,
            Action::FileReplace(kind) => kind.perform(ctx).await,
            Action::FileLines(kind) => kind.perform(ctx).await,
            Action::Http(kind) => kind.perform(ctx).await,
            Action::Manual(kind) => kind.perform(ctx).await,
            Action::PostgresExec(kind) => kind.perform(ctx).await,
            Action::PostgresCreateDatabase(kind) => kind.perform(ctx).await,
            Action::PostgresDropDatabase(kind) => kind.perform(ctx).await,
            Action::PostgresCopyTable(kind) => kind.perform(ctx).await,
            Action::AmqpDeclare(kind) => kind.perform(ctx).await,
            Action::AmqpPublish(kind) => kind.perform(ctx).await,
            Action::DockerRun(kind) => kind.perform(ctx).await,
            Action::DockerStart(kind) => kind.start(ctx).await,
            Action::DockerStop(kind) => kind.stop(ctx).await,
            Action::DockerRemove(kind) => kind.remove(ctx).await,
            Action::DockerExec(kind) => kind.perform(ctx).await,
        }
    }

    /// Undoes what `perform` did, from the record it returned.
    pub async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
        match self {
            Action::FileWrite(kind) => kind.undo(record, ctx).await,
            Action::FileReplace(kind) => kind.undo(record, ctx).await,
            Action::FileLines(kind) => kind.undo(record, ctx).await,
            Action::PostgresCreateDatabase(kind) => kind.undo(record, ctx).await,
            Action::AmqpDeclare(kind) => kind.undo(record, ctx).await,
            Action::DockerRun(kind) => kind.undo(record, ctx).await,
            other => Err(StepError::failed(format!("`{}` cannot undo itself", other.kind()))),
        }
    }

    /// Whether the kind can tell, by asking the system it acts on, if an
    /// interrupted attempt took effect (see [`Settle`]).
    pub(crate) fn can_settle(&self) -> bool {
        matches!(
            self,
            Action::Shell(_)
                | Action::FileWrite(_)
                | Action::FileReplace(_)
                | Action::FileLines(_)
                | Action::PostgresExec(_)
                | Action::PostgresCreateDatabase(_)
                | Action::PostgresDropDatabase(_)
                | Action::PostgresCopyTable(_)
                | Action::AmqpDeclare(_)
                | Action::DockerRun(_)
                | Action::DockerStart(_)
                | Action::DockerStop(_)
                | Action::DockerRemove(_)
        )
    }

    /// Did the interrupted attempt `ctx` describes take effect? Kinds that
    /// cannot tell say so.
    pub(crate) async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
        match self {
            Action::Shell(kind) => kind.settle(ctx).await,
            Action::FileWrite(kind) => kind.settle(ctx).await,
            Action::FileReplace(kind) => kind.settle(ctx).await,
            Action::FileLines(kind) => kind.settle(ctx).await,
            Action::PostgresExec(kind) => kind.settle(ctx).await,
            Action::PostgresCreateDatabase(kind) => kind.settle(ctx).await,
            Action::PostgresDropDatabase(kind) => kind.settle(ctx).await,
            Action::PostgresCopyTable(kind) => kind.settle(ctx).await,
            Action::AmqpDeclare(kind) => kind.settle(ctx).await,
            Action::DockerRun(kind) => kind.settle(ctx).await,
            Action::DockerStart(kind) => kind.settle(Wanted::Running).await,
            Action::DockerStop(kind) => kind.settle(Wanted::Stopped).await,
            Action::DockerRemove(kind) => kind.settle(Wanted::Gone).await,
            other => Ok(Settlement::new(
                "nothing",
                format!("`{}` cannot tell whether it took effect", other.kind()),
                Verdict::Unknown,
            )),
        }
    }

    /// Whether the kind stops by itself when `ctx.cancel` fires (and so
    /// must not be dropped before it has cleaned up).
    pub fn handles_cancel(&self) -> bool {
        matches!(self, Action::Shell(_))
    }
}

impl Probe {
    pub async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
        match self {
            Probe::Shell(kind) => kind.inspect(ctx).await,
            Probe::FileExists(kind) => kind.inspect(ctx).await,
            Probe::FileContains(kind) => kind.inspect(ctx).await,
            Probe::Http(kind) => kind.inspect(ctx).await,
            Probe::Tcp(kind) => kind.inspect(ctx).await,
            Probe::Env(kind) => kind.inspect(ctx).await,
            Probe::System(kind) => kind.inspect(ctx).await,
            Probe::Git(kind) => kind.inspect(ctx).await,
            Probe::PostgresConnect(kind) => kind.inspect(ctx).await,
            Probe::PostgresQuery(kind) => kind.inspect(ctx).await,
            Probe::PostgresExists(kind) => kind.inspect(ctx).await,
            Probe::PostgresRowCount(kind) => kind.inspect(ctx).await,
            Probe::AmqpConnect(kind) => kind.inspect(ctx).await,
            Probe::AmqpExists(kind) => kind.inspect(ctx).await,
            Probe::AmqpRoundtrip(kind) => kind.inspect(ctx).await,
            Probe::DockerDaemon(kind) => kind.inspect(ctx).await,
            Probe::DockerImage(kind) => kind.inspect(ctx).await,
            Probe::DockerContainer(kind) => kind.inspect(ctx).await,
            Probe::DockerCompose(kind) => kind.inspect(ctx).await,
            Probe::DockerExec(kind) => kind.inspect(ctx).await,
        }
    }

    pub fn handles_cancel(&self) -> bool {
        matches!(self, Probe::Shell(_))
    }
}
