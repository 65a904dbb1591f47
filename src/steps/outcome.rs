//! What running a kind can give back to the engine.

use std::future::Future;

use indexmap::IndexMap;
use serde_json::Value;

use crate::exec::context::StepContext;

/// The result of an action that ran to the end.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    /// `KEY=value` outputs for dependents (`${steps.ID.outputs.KEY}`).
    pub outputs: IndexMap<String, String>,
    /// What the kind needs to undo exactly this (built-in undo).
    pub undo: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// The action or probe did not succeed; `detail` holds lines that help
    /// (the tail of a log, a container's last log lines).
    Failed { message: String, detail: Vec<String> },
    /// A manual gate nobody could approve: the run pauses here.
    NeedsApproval,
    /// Stopped because the step timed out or planrun was interrupted.
    Cancelled,
}

impl StepError {
    pub fn failed(message: impl Into<String>) -> StepError {
        StepError::Failed {
            message: message.into(),
            detail: Vec::new(),
        }
    }

    pub fn with_detail(message: impl Into<String>, detail: Vec<String>) -> StepError {
        StepError::Failed {
            message: message.into(),
            detail,
        }
    }
}

/// An action kind's behaviour.
pub trait Perform {
    fn perform(&self, ctx: &StepContext) -> impl Future<Output = Result<Applied, StepError>> + Send;
}

/// A probe kind's behaviour: `Ok(())` when the condition holds. Probes
/// only read.
pub trait Inspect {
    fn inspect(&self, ctx: &StepContext) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// Built-in undo of an action, from the record its `perform` returned.
pub trait Undo {
    fn undo(&self, record: &Value, ctx: &StepContext) -> impl Future<Output = Result<(), StepError>> + Send;
}

/// The undo record an earlier attempt of this step saved (as progress
/// `{ "undo": … }`), if any: what it found before changing anything.
pub(crate) fn saved_undo(ctx: &StepContext) -> Option<Value> {
    ctx.progress.saved().and_then(|progress| progress.get("undo").cloned())
}

/// Durably records what undo will need, before the action changes anything,
/// so an attempt interrupted half-way still knows what was there before.
pub(crate) async fn save_undo(ctx: &StepContext, record: &Value) -> Result<(), StepError> {
    ctx.progress
        .save(&serde_json::json!({ "undo": record }))
        .await
        .map_err(StepError::failed)
}
