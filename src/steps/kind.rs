//! The one interface the engine runs kinds against: [`ActionKind`] for
//! what a step does (`run`, `rollback`), [`ProbeKind`] for what it checks.
//! Each kind implements one of them (two, for kinds that are both), with
//! defaults for what most kinds do not do; the `kinds!` enums dispatch to
//! them. Adding a kind is one line in `kinds!` and its impl.

use std::future::Future;

use indexmap::IndexMap;
use serde_json::Value;

use crate::steps::KindSpec;
use crate::steps::context::StepContext;
use crate::steps::outcome::{Applied, Settlement, StepError, Verdict};

/// An action kind: something a step does.
pub(crate) trait ActionKind: KindSpec {
    /// Does it; what it gives back (outputs, an undo record).
    fn perform(&self, ctx: &StepContext) -> impl Future<Output = Result<Applied, StepError>> + Send;

    /// Whether the engine must decide it instead (a manual gate): its
    /// instructions to the operator.
    fn gate(&self) -> Option<&str> {
        None
    }

    /// Whether running it changes the world (and so deserves a rollback).
    fn is_mutating(&self) -> bool {
        true
    }

    /// Whether it stops by itself when `ctx.cancel` fires, and must not be
    /// dropped before it has cleaned up.
    fn handles_cancel(&self) -> bool {
        false
    }

    /// Whether `perform` saves progress or records a process (through
    /// `ctx.progress`) before its first effect on the world. Then the
    /// engine lets the step's `running` checkpoint ride with that first
    /// write instead of committing it on its own: an attempt that dies
    /// before it never started.
    fn writes_before_effects(&self) -> bool {
        false
    }

    /// Whether the step's first write comes at once, waiting on nothing
    /// outside planrun (a connection, a reply): a kind that does not write
    /// before its effects writes its `running` checkpoint first thing; one
    /// that does says so only if its first write is that prompt. The
    /// engine lets the result of a step that just ended ride with such a
    /// write (see `exec::sink`).
    fn writes_first_promptly(&self) -> bool {
        !self.writes_before_effects()
    }

    /// Whether it can undo itself, from the record `perform` returned
    /// (or saved in its progress before changing anything).
    fn has_builtin_undo(&self) -> bool {
        false
    }

    /// Undoes what `perform` did, from its record.
    fn undo(&self, _record: &Value, _ctx: &StepContext) -> impl Future<Output = Result<(), StepError>> + Send {
        async { Err(StepError::failed("this kind cannot undo itself")) }
    }

    /// Whether it can tell, by asking the system it acts on, if an
    /// interrupted attempt took effect ([`ActionKind::settle`]).
    fn can_settle(&self) -> bool {
        false
    }

    /// Whether settling can tell if an attempt that started took effect
    /// (not only whether it started): then a crash needs no operator even
    /// when the step is neither idempotent nor checked.
    fn settles_its_effect(&self) -> bool {
        self.can_settle()
    }

    /// Did the interrupted attempt `ctx` describes take effect? It asks the
    /// system it acts on, using the evidence `perform` recorded before its
    /// point of no return, and changes nothing but what a dead attempt left
    /// running (a database session it waits for, then ends).
    fn settle(&self, _ctx: &StepContext) -> impl Future<Output = Result<Settlement, StepError>> + Send {
        async {
            Ok(Settlement::new(
                "nothing",
                "this kind cannot tell whether it took effect",
                Verdict::Unknown,
            ))
        }
    }
}

/// A probe kind: a read-only check, `Ok` when its condition holds.
pub(crate) trait ProbeKind: KindSpec {
    fn inspect(&self, ctx: &StepContext) -> impl Future<Output = Result<(), StepError>> + Send;

    /// `KEY=value` outputs a passing probe leaves (a shell `check`'s).
    fn outputs(&self, _ctx: &StepContext) -> Result<IndexMap<String, String>, StepError> {
        Ok(IndexMap::new())
    }

    /// Whether it stops by itself when `ctx.cancel` fires.
    fn handles_cancel(&self) -> bool {
        false
    }
}
