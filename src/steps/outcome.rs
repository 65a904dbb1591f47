//! What running a kind can give back to the engine.

use indexmap::IndexMap;
use serde_json::Value;

use crate::steps::context::StepContext;

/// The result of an action that ran to the end.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Applied {
    /// `KEY=value` outputs for dependents (`${steps.ID.outputs.KEY}`).
    pub outputs: IndexMap<String, String>,
    /// What the kind needs to undo exactly this (built-in undo).
    pub undo: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepError {
    /// The action or probe did not succeed; `detail` holds lines that help
    /// (the tail of a log, a container's last log lines).
    Failed { message: String, detail: Vec<String> },
    /// A manual gate nobody could approve: the run pauses here.
    NeedsApproval,
    /// Stopped because the step timed out or planrun was interrupted.
    Cancelled,
}

impl StepError {
    pub(crate) fn failed(message: impl Into<String>) -> StepError {
        StepError::Failed {
            message: message.into(),
            detail: Vec::new(),
        }
    }

    pub(crate) fn with_detail(message: impl Into<String>, detail: Vec<String>) -> StepError {
        StepError::Failed {
            message: message.into(),
            detail,
        }
    }
}

/// What asking the system about an interrupted attempt found: the
/// question and the answer in words (journaled and shown by `resume`,
/// `rollback` and `status`), and what follows from it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settlement {
    /// "whether transaction 1234 committed on postgres://…/app".
    pub asked: String,
    /// "committed".
    pub found: String,
    pub verdict: Verdict,
}

impl Settlement {
    pub(crate) fn new(asked: impl Into<String>, found: impl Into<String>, verdict: Verdict) -> Settlement {
        Settlement {
            asked: asked.into(),
            found: found.into(),
            verdict,
        }
    }

    /// No evidence was recorded: no attempt got as far as its first change
    /// (evidence is always saved before it).
    pub(crate) fn no_evidence() -> Settlement {
        Settlement::new(
            "what the interrupted attempt recorded before its first change",
            "nothing: it stopped before changing anything",
            Verdict::Nothing,
        )
    }
}

/// What follows from a [`Settlement`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The action took effect in full and must not run again; what it
    /// would have returned, as far as it can be known.
    Done(Applied),
    /// No attempt of the step changed anything: running it again is safe,
    /// and there is nothing to undo.
    Nothing,
    /// It took effect in part; running it again continues where it
    /// stopped (its saved progress says where).
    Partly,
    /// The system cannot say: the step's `idempotent` or `check`, else
    /// an operator, decides.
    Unknown,
}

impl Verdict {
    /// One word for events and the journal.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            Verdict::Done(_) => "took_effect",
            Verdict::Nothing => "no_effect",
            Verdict::Partly => "partly",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The undo record an earlier attempt of this step saved (as progress
/// `{ "undo": … }`), if any: what it found before changing anything.
pub(crate) fn saved_undo(ctx: &StepContext) -> Option<Value> {
    ctx.progress.saved().as_ref().and_then(undo_in_progress).cloned()
}

/// The undo record within a step's saved progress (the entry
/// [`save_undo`] writes), for rolling back a step that stopped half-way.
pub(crate) fn undo_in_progress(progress: &Value) -> Option<&Value> {
    progress.get("undo")
}

/// Durably records what undo will need, before the action changes anything,
/// so an attempt interrupted half-way still knows what was there before.
pub(crate) async fn save_undo(ctx: &StepContext, record: &Value) -> Result<(), StepError> {
    ctx.progress
        .save_entry("undo", record.clone())
        .await
        .map_err(StepError::failed)
}

/// Durably records, before the point of no return, what a later command
/// needs to settle this attempt: `fields`, the attempt's number and `ask`,
/// the question settling will ask (shown by `planrun status`). Secrets
/// are masked.
///
/// Only the latest record is kept. A record from an earlier attempt is
/// never taken for the current one: it carries its attempt number, and
/// an attempt that recorded nothing stopped before its first change, so
/// the latest record describes the latest attempt that changed anything.
pub(crate) async fn save_evidence(ctx: &StepContext, ask: &str, fields: Value) -> Result<(), StepError> {
    ctx.progress
        .save_entry("evidence", evidence(ctx, ask, fields))
        .await
        .map_err(StepError::failed)
}

/// The evidence entry [`save_evidence`] saves, for a kind that saves it
/// with other entries in one write.
pub(crate) fn evidence(ctx: &StepContext, ask: &str, mut fields: Value) -> Value {
    if let Value::Object(map) = &mut fields {
        map.insert("attempt".into(), Value::from(ctx.progress.attempt()));
        map.insert("ask".into(), Value::from(ask));
    }
    ctx.log.redactor().redact_json(&mut fields);
    fields
}

/// The evidence the latest attempt that recorded any saved.
pub(crate) fn saved_evidence(ctx: &StepContext) -> Option<Value> {
    ctx.progress
        .saved()
        .and_then(|progress| progress.get("evidence").cloned())
}

/// "attempt 2" or, when a later attempt recorded nothing, "attempt 2 (attempt 3 stopped before its first change)".
pub(crate) fn which_attempt(ctx: &StepContext, evidence: &Value) -> String {
    let recorded = evidence["attempt"].as_u64().unwrap_or_default();
    let current = u64::from(ctx.progress.attempt());
    if current > recorded {
        format!("attempt {recorded} (attempt {current} stopped before its first change)")
    } else {
        format!("attempt {recorded}")
    }
}
