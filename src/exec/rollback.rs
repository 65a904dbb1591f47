//! Undoing a run: the steps it actually ran (not the satisfied ones), in
//! reverse dependency order — a step's rollback starts only after the
//! rollbacks of everything that depends on it — in parallel where the
//! graph allows. Each transition is checkpointed, so an interrupted
//! rollback continues when run again.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use crate::exec::error::ExecError;
use crate::exec::error::WalkError;
use crate::exec::event::Event;
use crate::exec::runtime::Runtime;
use crate::exec::settle;
use crate::exec::step::{Ended, Failure, bounded, millis};
use crate::exec::walk::{Direction, Frontier, Mark, Visitor, walk};
use crate::state::record::now;
use crate::state::{NewEvent, RunOutcome, StateError, StepRecord, StepStatus, Storage};
use crate::steps::outcome::Verdict;

/// What a rollback will do.
pub(crate) struct RollbackPlan {
    /// Steps to undo, by plan index.
    pub undo: Vec<bool>,
    /// Steps that ran but have nothing to undo them.
    pub without_rollback: Vec<String>,
}

/// What built-in undo needs: the record of a finished action, else the one
/// an action saves as progress before it changes anything (so a step that
/// failed half-way can be undone too).
fn undo_record(record: &StepRecord) -> Option<&serde_json::Value> {
    record
        .undo
        .as_ref()
        .or_else(|| crate::steps::outcome::undo_in_progress(record.progress.as_ref()?))
}

/// Whether the step's `run` started in this run (so it may have changed
/// things) and is not undone yet. Attempts are never reset: a step run
/// again by `--rerun`, or satisfied by its `check` on a resume after a
/// failed attempt, still counts as run.
fn ran(record: &StepRecord) -> bool {
    record.attempts > 0 && record.status != StepStatus::RolledBack
}

pub(crate) fn plan(rt: &Runtime, records: &[StepRecord]) -> RollbackPlan {
    let steps = &rt.compiled.plan.steps;
    let mut undo = vec![false; records.len()];
    let mut without_rollback = Vec::new();
    for &index in rt.compiled.dag.order() {
        let (step, record) = (&steps[index], &records[index]);
        // A step of probes only changed nothing.
        if !ran(record) || step.run.is_none() {
            continue;
        }
        let builtin =
            undo_record(record).is_some() && step.run.as_ref().is_some_and(|run| run.get_ref().has_builtin_undo());
        if step.rollback.is_some() || builtin {
            undo[index] = true;
        } else {
            without_rollback.push(step.id.clone());
        }
    }
    RollbackPlan { undo, without_rollback }
}

pub(crate) async fn rollback(
    rt: Arc<Runtime>,
    records: &mut [StepRecord],
    undo: &[bool],
    parallelism: usize,
) -> Result<RunOutcome, ExecError> {
    let marks = undo
        .iter()
        .map(|&undo| if undo { Mark::Visit } else { Mark::PassThrough })
        .collect();
    let mut frontier = Frontier::of(&rt.compiled.dag, Direction::Reverse, marks);
    let mut reverse = Reverse {
        rt: rt.clone(),
        records,
        failed: false,
        interrupted: false,
    };
    let walked = walk(&mut frontier, parallelism, &mut reverse).await;
    let Reverse {
        records,
        failed,
        interrupted,
        ..
    } = reverse;
    walked.map_err(|error| error.into_exec(&rt, records))?;
    Ok(if interrupted || rt.draining.is_cancelled() {
        RunOutcome::Interrupted
    } else if failed
        || records
            .iter()
            .zip(undo)
            .any(|(record, &undo)| undo && record.status != StepStatus::RolledBack)
    {
        RunOutcome::RollbackFailed
    } else {
        RunOutcome::RolledBack
    })
}

/// Rollback's visitor of the reverse walk.
struct Reverse<'a> {
    rt: Arc<Runtime>,
    records: &'a mut [StepRecord],
    failed: bool,
    interrupted: bool,
}

impl Visitor for Reverse<'_> {
    type Ended = Result<StepRecord, StateError>;
    type Error = WalkError;

    fn stopping(&self) -> bool {
        // After an interrupt no new rollback starts; running ones finish.
        self.interrupted || self.rt.draining.is_cancelled()
    }

    fn start(&mut self, step: usize) -> impl Future<Output = Self::Ended> + Send + 'static {
        let rt = self.rt.clone();
        let record = self.records[step].clone();
        async move { undo_step(&rt, step, record).await }
    }

    async fn ended(&mut self, index: usize, ended: Self::Ended) -> Result<bool, WalkError> {
        self.records[index] = ended?;
        let release = match self.records[index].status {
            StepStatus::RolledBack => true,
            StepStatus::RollbackFailed => {
                self.failed = true;
                false
            }
            _ => {
                self.interrupted = true;
                false
            }
        };
        self.interrupted |= self.rt.draining.is_cancelled();
        Ok(release)
    }
}

async fn undo_step(rt: &Runtime, index: usize, mut record: StepRecord) -> Result<StepRecord, StateError> {
    let step = &rt.compiled.plan.steps[index];
    rt.report(Event::StepStarted {
        step: step.id.clone(),
        description: Some(format!(
            "roll back: {}",
            step.description.as_deref().unwrap_or(&step.id)
        )),
    });
    let started = Instant::now();
    if nothing_to_undo(rt, step, &mut record).await? {
        return rolled_back_as_is(rt, step, record, started).await;
    }
    record.status = StepStatus::RollingBack;
    record.error = None;
    let event = NewEvent::step(&step.id, "rollback_started", "rolling back");
    rt.store.put_step(&rt.run_id, &record, &event).await?;
    let cancel = rt.interrupt.child_token();
    let mut ctx = rt.context(
        &step.id,
        &rt.open_log(&step.id),
        &Arc::new(Mutex::new(record.progress.clone())),
        cancel.clone(),
    );
    ctx.timeout = step.timeout.std();
    ctx.log.section("rollback");
    let ended = perform_undo(rt, step, &record, &ctx, &cancel).await;
    let Some(end) = UndoEnd::of(ended, step, &ctx) else {
        // Stays `rolling_back`: running `planrun rollback` again redoes it.
        rt.report(finished(
            step.id.clone(),
            StepStatus::RollingBack,
            started,
            None,
            Vec::new(),
            None,
        ));
        return Ok(record);
    };
    // Masked like a failure of the forward path (the tail was stored as is).
    let failure = Failure::redacted(rt, &end.message, &end.tail);
    let failed = end.status == StepStatus::RollbackFailed;
    record.status = end.status;
    record.finished_at = Some(now());
    record.error = failed.then(|| failure.stored());
    let Failure { message, tail } = failure;
    let event = NewEvent::step(&step.id, end.kind, message.clone());
    rt.store.put_step(&rt.run_id, &record, &event).await?;
    rt.report(finished(
        step.id.clone(),
        end.status,
        started,
        failed.then_some(message),
        tail,
        step.help.clone().filter(|_| failed),
    ));
    Ok(record)
}

/// Runs what undoes `step`: its `rollback` (a manual one is decided by the
/// engine), else its kind's built-in undo from the record.
async fn perform_undo(
    rt: &Runtime,
    step: &crate::plan::Step,
    record: &StepRecord,
    ctx: &crate::steps::context::StepContext,
    cancel: &tokio_util::sync::CancellationToken,
) -> Ended<()> {
    let timeout = step.timeout.std();
    match (&step.rollback, &step.run, undo_record(record)) {
        (Some(action), ..) => {
            let action = match rt.resolve(action.get_ref()) {
                Ok(action) => action,
                Err(error) => return Ended::Failed(format!("cannot resolve `rollback`: {error}"), Vec::new()),
            };
            if let Some(instructions) = action.gate() {
                return crate::exec::gate::decide(rt, &step.id, instructions, &ctx.log)
                    .await
                    .map(|_| ());
            }
            let work = async { action.perform(ctx).await.map(|_| ()) };
            bounded(work, action.handles_cancel(), cancel, rt, timeout).await
        }
        (None, Some(run), Some(undo)) => match rt.resolve(run.get_ref()) {
            Ok(run) => bounded(run.undo(undo, ctx), false, cancel, rt, timeout).await,
            Err(error) => Ended::Failed(format!("cannot resolve `run`: {error}"), Vec::new()),
        },
        _ => Ended::Failed("nothing undoes this step".into(), Vec::new()),
    }
}

/// How an undo ended, as recorded: `None` when it was interrupted.
struct UndoEnd {
    status: StepStatus,
    kind: &'static str,
    message: String,
    tail: Vec<String>,
}

impl UndoEnd {
    fn of(ended: Ended<()>, step: &crate::plan::Step, ctx: &crate::steps::context::StepContext) -> Option<UndoEnd> {
        let failed = |message: String, tail: Vec<String>| UndoEnd {
            status: StepStatus::RollbackFailed,
            kind: "rollback_failed",
            message,
            tail,
        };
        Some(match ended {
            Ended::Done(()) => UndoEnd {
                status: StepStatus::RolledBack,
                kind: "rolled_back",
                message: "rolled back".to_string(),
                tail: Vec::new(),
            },
            Ended::Interrupted => return None,
            Ended::Failed(message, detail) => failed(message, if detail.is_empty() { ctx.log.tail() } else { detail }),
            Ended::TimedOut => failed(format!("timed out after {}", step.timeout), ctx.log.tail()),
            Ended::NeedsApproval => failed(
                format!(
                    "needs an operator: run `planrun rollback --approve {}` once it is done, or roll back on a terminal",
                    step.id
                ),
                Vec::new(),
            ),
        })
    }
}

/// Whether the step was stopped while running and its kind finds that
/// no attempt changed anything (asked now, or by an earlier rollback or
/// resume), so neither its `rollback` nor its built-in undo must run.
async fn nothing_to_undo(rt: &Runtime, step: &crate::plan::Step, record: &mut StepRecord) -> Result<bool, StateError> {
    if settle::found_nothing(record) {
        return Ok(true);
    }
    if !settle::in_doubt(record) || !step.run.as_ref().is_some_and(|run| run.get_ref().can_settle()) {
        return Ok(false);
    }
    let (settlement, progress) = settle::ask(rt, step, record).await?;
    record.progress = progress;
    Ok(settlement.verdict == Verdict::Nothing)
}

/// Records a step that changed nothing as rolled back, without undoing.
async fn rolled_back_as_is(
    rt: &Runtime,
    step: &crate::plan::Step,
    mut record: StepRecord,
    started: Instant,
) -> Result<StepRecord, StateError> {
    record.status = StepStatus::RolledBack;
    record.finished_at = Some(now());
    record.error = None;
    let event = NewEvent::step(
        &step.id,
        "rolled_back",
        "nothing to undo: the interrupted attempt changed nothing",
    );
    rt.store.put_step(&rt.run_id, &record, &event).await?;
    rt.report(finished(
        step.id.clone(),
        StepStatus::RolledBack,
        started,
        None,
        Vec::new(),
        None,
    ));
    Ok(record)
}

fn finished(
    step: String,
    status: StepStatus,
    started: Instant,
    error: Option<String>,
    log_tail: Vec<String>,
    help: Option<String>,
) -> Event {
    Event::StepFinished {
        step,
        status,
        elapsed_ms: millis(started.elapsed()),
        error,
        log_tail,
        help,
        log: None,
    }
}

/// Rolls back `records` of the run in `rt`, checkpointing the run's
/// outcome (`rolling_back` while it goes on).
/// `gone`: steps the run ran that the plan no longer has (nothing can undo
/// them; they are listed with the steps without a rollback).
pub(crate) async fn undo_run(
    rt: &Arc<Runtime>,
    records: &mut [StepRecord],
    gone: &[String],
    parallelism: usize,
) -> Result<RunOutcome, ExecError> {
    let started = Instant::now();
    let mut plan = plan(rt, records);
    plan.without_rollback
        .extend(gone.iter().map(|id| format!("{id} (no longer in the plan)")));
    let steps = plan.undo.iter().filter(|&&undo| undo).count();
    let event = NewEvent::run("rollback_started", format!("{steps} step(s) to roll back"));
    rt.store
        .set_outcome(&rt.run_id, RunOutcome::RollingBack, &event)
        .await?;
    rt.report(Event::RollbackStarted {
        run_id: rt.run_id.clone(),
        steps,
        without_rollback: plan.without_rollback.clone(),
    });
    let outcome = rollback(rt.clone(), records, &plan.undo, parallelism).await?;
    // An interrupted rollback stays `rolling_back`, so running it again continues it.
    let stored = if outcome == RunOutcome::Interrupted {
        RunOutcome::RollingBack
    } else {
        outcome
    };
    rt.finish(records, stored, started).await?;
    Ok(outcome)
}

/// `planrun rollback`: undoes `run` with the rollbacks of `compiled`.
pub(crate) async fn rollback_run(
    session: &crate::exec::session::Session,
    compiled: Arc<crate::compile::Compiled>,
    secrets: crate::exec::secrets::Secrets,
    run: &crate::state::RunRecord,
    settings: &crate::exec::runtime::Settings,
) -> Result<RunOutcome, crate::exec::error::ExecError> {
    let mut steps = session.store.steps(&run.id).await?;
    // Nothing is undone while a process of the run still lives.
    crate::exec::leftovers::settle(
        &session.store,
        &run.id,
        &mut steps,
        settings.kill_grace,
        settings.reporter.as_ref(),
        &settings.interrupt.draining,
    )
    .await?;
    let mut stored: std::collections::HashMap<String, StepRecord> = steps
        .into_iter()
        .map(|record| (record.step_id.clone(), record))
        .collect();
    let mut records: Vec<StepRecord> = compiled
        .plan
        .steps
        .iter()
        .map(|step| {
            stored
                .remove(&step.id)
                .unwrap_or_else(|| StepRecord::pending(&step.id, u32::MAX, String::new()))
        })
        .collect();
    let rt = Arc::new(Runtime::new(
        compiled,
        session.store.clone(),
        &run.id,
        secrets,
        settings,
    )?);
    // Rollbacks may read the outputs of their own step, done or not.
    for record in records.iter().filter(|record| !record.outputs.is_empty()) {
        rt.set_outputs(&record.step_id, record.outputs.clone());
    }
    // What is left of the stored steps is not in this plan.
    let mut gone: Vec<String> = stored.into_values().filter(ran).map(|record| record.step_id).collect();
    gone.sort_unstable();
    let parallelism = rt.parallelism(settings);
    undo_run(&rt, &mut records, &gone, parallelism).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::forward::{WalkOptions, walk_forward};
    use crate::exec::testing::{DIAMOND, Harness};

    #[tokio::test]
    async fn rollback_undoes_dependents_first_latest_first_and_checkpoints_each() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "b.txt")).await;
        let options = WalkOptions {
            parallelism: 1,
            keep_going: false,
        };
        let todo = vec![true; 4];
        let applied = walk_forward(h.rt.clone(), &mut h.records, &todo, options).await;
        assert_eq!(applied.ok(), Some(RunOutcome::Succeeded));
        let plan = plan(&h.rt, &h.records);
        assert_eq!(plan.undo, [true; 4]);
        let outcome = rollback(h.rt.clone(), &mut h.records, &plan.undo, 1).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::RolledBack));
        let undone: Vec<String> = h
            .journal()
            .await
            .into_iter()
            .filter(|line| line.starts_with("rolled_back "))
            .collect();
        // Execution order is a, b, d, c: the latest ready undo first.
        assert_eq!(
            undone,
            ["rolled_back c", "rolled_back d", "rolled_back b", "rolled_back a"]
        );
        assert_eq!(
            h.stored().await,
            ["a=rolled_back", "b=rolled_back", "c=rolled_back", "d=rolled_back"]
        );
        for file in ["a.txt", "b.txt", "c.txt", "d.txt"] {
            assert!(!h.dir.path().join(file).exists(), "{file} is still there");
        }
    }

    #[tokio::test]
    async fn a_failed_step_that_wrote_is_undone_and_a_step_never_run_is_not() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "missing")).await;
        let options = WalkOptions {
            parallelism: 1,
            keep_going: false,
        };
        let todo = vec![true; 4];
        let applied = walk_forward(h.rt.clone(), &mut h.records, &todo, options).await;
        assert_eq!(applied.ok(), Some(RunOutcome::Failed));
        let plan = plan(&h.rt, &h.records);
        // b failed in its verify, after writing: undone; c and d never ran.
        assert_eq!(plan.undo, [true, true, false, false]);
        let outcome = rollback(h.rt.clone(), &mut h.records, &plan.undo, 2).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::RolledBack));
        assert!(!h.dir.path().join("b.txt").exists());
        assert!(!h.dir.path().join("a.txt").exists());
    }
}
