//! One step, start to finish: preconditions → `check` → `run` (timeout,
//! retries with exponential backoff) → `verify`. Every status change is
//! checkpointed before the step goes on; `running` is durable before the
//! action's side effect starts (in the kind's first write, for a kind that
//! writes before its first effect: see `exec::sink`).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use toml::Spanned;

use crate::exec::event::Event;
use crate::exec::gate;
use crate::exec::runtime::Runtime;
use crate::plan::Step;
use crate::state::record::now;
use crate::state::{NewEvent, StateError, StepRecord, StepStatus, Storage};
use crate::steps::context::StepContext;
use crate::steps::log::StepLog;
use crate::steps::outcome::{Applied, StepError};
use crate::steps::{Action, Probe};

/// How a probe or an action attempt ended, from the engine's side.
pub(crate) enum Ended<T> {
    Done(T),
    Failed(String, Vec<String>),
    TimedOut,
    Interrupted,
    NeedsApproval,
}

impl<T> Ended<T> {
    /// The same ending, with what a `Done` carries changed by `f`.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Ended<U> {
        match self {
            Ended::Done(value) => Ended::Done(f(value)),
            Ended::Failed(message, detail) => Ended::Failed(message, detail),
            Ended::TimedOut => Ended::TimedOut,
            Ended::Interrupted => Ended::Interrupted,
            Ended::NeedsApproval => Ended::NeedsApproval,
        }
    }
}

/// Runs step `index` from `record`; returns its final record, already
/// checkpointed, or for a step that succeeded (or was satisfied), carried
/// to the next write (see `exec::sink`). A step interrupted before its
/// `run` started keeps the status it had.
pub(crate) async fn execute(rt: &Runtime, index: usize, record: StepRecord) -> Result<StepRecord, StateError> {
    let step = &rt.compiled.plan.steps[index];
    crate::failpoint::hit("step:started");
    rt.report(Event::StepStarted {
        step: step.id.clone(),
        description: step.description.clone(),
    });
    let started = Instant::now();
    let progress = Arc::new(Mutex::new(record.progress.clone()));
    let _running = crate::exec::heartbeat::register(rt, &step.id, &progress);
    let mut runner = StepRunner {
        rt,
        step,
        record,
        log: rt.open_log(&step.id),
        progress,
        tail: Vec::new(),
    };
    let finished = runner.lifecycle().await?;
    let failed = finished.status == StepStatus::Failed;
    rt.report(Event::StepFinished {
        step: step.id.clone(),
        status: finished.status,
        elapsed_ms: millis(started.elapsed()),
        error: finished
            .error
            .as_ref()
            .filter(|_| failed)
            .map(|e| e.lines().next().unwrap_or_default().to_string()),
        log_tail: if failed { runner.tail } else { Vec::new() },
        help: step.help.clone().filter(|_| failed),
        log: Some(rt.log_path(&step.id))
            .filter(|path| path.exists())
            .map(|path| path.display().to_string()),
    });
    Ok(finished)
}

/// Whether step `index`, started now, writes before anything else it does
/// can wait: it has no preconditions or `check` to run first, no settled
/// attempt to verify, and its action's first write is prompt (its
/// `running` checkpoint, or a kind's first write that comes at once).
pub(crate) fn writes_first_promptly(rt: &Runtime, index: usize) -> bool {
    let step = &rt.compiled.plan.steps[index];
    step.preconditions.is_empty()
        && step.check.is_none()
        && !rt.is_settled(&step.id)
        && step
            .run
            .as_ref()
            .is_some_and(|run| run.get_ref().gate().is_some() || run.get_ref().writes_first_promptly())
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

struct StepRunner<'a> {
    rt: &'a Runtime,
    step: &'a Step,
    record: StepRecord,
    log: Arc<StepLog>,
    /// Shared by every attempt; mirrored into the record at each checkpoint.
    progress: Arc<Mutex<Option<Value>>>,
    /// Log lines to show when the step fails.
    tail: Vec<String>,
}

impl StepRunner<'_> {
    async fn lifecycle(&mut self) -> Result<StepRecord, StateError> {
        if let Some(applied) = self.rt.take_settled(&self.step.id) {
            // The interrupted attempt took effect: keep what it did, verify it.
            self.log.section("run (settled)");
            self.log
                .line("the interrupted attempt took effect: it is not run again, only verified");
            self.keep(applied);
            return self.verify().await;
        }
        for (i, probe) in self.step.preconditions.iter().enumerate() {
            let what = format!("precondition {}", i + 1);
            match self.probe(probe, &what).await {
                Ended::Done(_) => {}
                Ended::Interrupted => return Ok(self.record.clone()),
                ended => {
                    return self
                        .fail(failure_line(&what, probe.get_ref().kind(), ended, self.step))
                        .await;
                }
            }
        }
        if let Some(check) = &self.step.check {
            match self.probe(check, "check").await {
                Ended::Done(outputs) => {
                    self.rt.set_outputs(&self.step.id, outputs.clone());
                    self.record.outputs = outputs;
                    return self
                        .finish(StepStatus::Satisfied, "step_satisfied", "`check` passed: already done")
                        .await;
                }
                Ended::Failed(..) => {}
                Ended::Interrupted => return Ok(self.record.clone()),
                ended => {
                    return self
                        .fail(failure_line("check", check.get_ref().kind(), ended, self.step))
                        .await;
                }
            }
        }
        if let Some(action) = &self.step.run {
            // Interrupted before its action started: it keeps its status.
            if self.rt.draining.is_cancelled() {
                return Ok(self.record.clone());
            }
            match self.run(action).await? {
                Ended::Done(applied) => self.keep(applied),
                Ended::Interrupted => {
                    return self
                        .finish(StepStatus::Interrupted, "step_interrupted", "interrupted while running")
                        .await;
                }
                Ended::NeedsApproval => return self.await_approval(action).await,
                ended => {
                    return self
                        .fail(failure_line("run", action.get_ref().kind(), ended, self.step))
                        .await;
                }
            }
        }
        self.verify().await
    }

    /// Keeps what the action gave back: outputs for dependents, the undo record.
    fn keep(&mut self, applied: Applied) {
        self.rt.set_outputs(&self.step.id, applied.outputs.clone());
        self.record.outputs = applied.outputs;
        self.record.undo = applied.undo.map(|mut undo| {
            self.rt.redactor.redact_json(&mut undo);
            undo
        });
    }

    /// The `verify` probes, then success.
    async fn verify(&mut self) -> Result<StepRecord, StateError> {
        for (i, probe) in self.step.verify.iter().enumerate() {
            let what = format!("verify {}", i + 1);
            match self.probe(probe, &what).await {
                Ended::Done(_) => {}
                Ended::Interrupted => {
                    return self
                        .finish(
                            StepStatus::Interrupted,
                            "step_interrupted",
                            "interrupted while verifying",
                        )
                        .await;
                }
                ended => {
                    return self
                        .fail(failure_line(&what, probe.get_ref().kind(), ended, self.step))
                        .await;
                }
            }
        }
        self.finish(StepStatus::Succeeded, "step_succeeded", "succeeded").await
    }

    fn context(&self, cancel: CancellationToken) -> StepContext {
        let mut ctx = self.rt.context(&self.step.id, &self.log, &self.progress, cancel);
        ctx.timeout = self.step.timeout.std();
        ctx.progress.attempt = self.record.attempts;
        ctx
    }

    /// Runs one probe; a passing shell `check` may leave outputs.
    async fn probe(&mut self, probe: &Spanned<Probe>, what: &str) -> Ended<indexmap::IndexMap<String, String>> {
        let probe = match self.rt.resolve(probe.get_ref()) {
            Ok(probe) => probe,
            Err(error) => return Ended::Failed(format!("cannot resolve it: {error}"), Vec::new()),
        };
        let cancel = self.rt.interrupt.child_token();
        let ctx = self.context(cancel.clone());
        ctx.log.section(what);
        let ended = bounded(
            probe.inspect(&ctx),
            probe.handles_cancel(),
            &cancel,
            self.rt,
            self.step.timeout.std(),
        )
        .await;
        match ended {
            Ended::Done(()) => match probe.outputs(&ctx) {
                Ok(outputs) => Ended::Done(outputs),
                Err(error) => self.failed(error, &ctx),
            },
            Ended::Failed(message, detail) => {
                ctx.log.line(&format!("{what} did not pass: {message}"));
                self.tail = if detail.is_empty() {
                    ctx.log.tail()
                } else {
                    detail.clone()
                };
                Ended::Failed(message, detail)
            }
            Ended::TimedOut => Ended::TimedOut,
            Ended::Interrupted => Ended::Interrupted,
            Ended::NeedsApproval => Ended::NeedsApproval,
        }
    }

    fn failed<T>(&mut self, error: StepError, ctx: &StepContext) -> Ended<T> {
        match error {
            StepError::Failed { message, detail } => {
                self.tail = if detail.is_empty() {
                    ctx.log.tail()
                } else {
                    detail.clone()
                };
                Ended::Failed(message, detail)
            }
            StepError::Cancelled => Ended::Interrupted,
            StepError::NeedsApproval => Ended::NeedsApproval,
        }
    }

    /// `run`, with a timeout per attempt and retries with backoff.
    async fn run(&mut self, action: &Spanned<Action>) -> Result<Ended<Applied>, StateError> {
        let attempts = self.step.retry.attempts;
        for attempt in 1..=attempts {
            let resolved = match self.rt.resolve(action.get_ref()) {
                Ok(resolved) => resolved,
                Err(error) => return Ok(Ended::Failed(format!("cannot resolve it: {error}"), Vec::new())),
            };
            let deferred = self.begin_attempt(&resolved, attempt, attempts).await?;
            self.rt.report(Event::StepRunning {
                step: self.step.id.clone(),
                attempt,
                attempts,
            });
            let cancel = self.rt.interrupt.child_token();
            let ctx = self.context(cancel.clone());
            ctx.log.section(&format!("run (attempt {attempt} of {attempts})"));
            let timeout = self.step.timeout.std();
            let ended = match resolved.gate() {
                Some(instructions) => gate::decide(self.rt, &self.step.id, instructions, &ctx.log).await,
                None => {
                    bounded(
                        resolved.perform(&ctx),
                        resolved.handles_cancel(),
                        &cancel,
                        self.rt,
                        timeout,
                    )
                    .await
                }
            };
            if deferred {
                self.rt.sink.flush_running(&self.step.id).await?;
            }
            let error = match ended {
                Ended::Failed(message, detail) => {
                    self.tail = if detail.is_empty() { ctx.log.tail() } else { detail };
                    message
                }
                Ended::TimedOut => {
                    self.tail = ctx.log.tail();
                    format!("timed out after {}", self.step.timeout)
                }
                // An interrupted checkpoint (here, or while verifying)
                // keeps the group the attempt recorded: evidence that its
                // command was let go.
                Ended::Interrupted => {
                    self.record.process = ctx.progress.recorded_process();
                    return Ok(Ended::Interrupted);
                }
                Ended::Done(applied) => {
                    self.record.process = ctx.progress.recorded_process().map(|mut group| {
                        group.ended = true;
                        group
                    });
                    return Ok(Ended::Done(applied));
                }
                other @ Ended::NeedsApproval => return Ok(other),
            };
            if attempt == attempts {
                return Ok(Ended::Failed(error, self.tail.clone()));
            }
            if let Some(failed) = self.wait_to_retry(attempt, &error).await? {
                return Ok(failed);
            }
        }
        Ok(Ended::Failed("no attempt was made".into(), Vec::new()))
    }

    /// Journals that `attempt` failed with `error` and waits the retry's
    /// delay; `Some(failed)` when an interrupt came first.
    async fn wait_to_retry(&mut self, attempt: u32, error: &str) -> Result<Option<Ended<Applied>>, StateError> {
        let delay = self.step.retry.delay_before(attempt + 1);
        let error = self.rt.redactor.redact(error).into_owned();
        self.rt.report(Event::StepRetrying {
            step: self.step.id.clone(),
            attempt,
            delay_ms: millis(delay),
            error: error.clone(),
        });
        let event = NewEvent::step(
            &self.step.id,
            "step_retrying",
            format!("attempt {attempt} failed: {error}"),
        );
        self.rt.store.append_event(&self.rt.run_id, &event).await?;
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(None),
            // The last attempt failed for sure: failed, not in doubt.
            () = self.rt.draining.cancelled() => {
                let error = format!("{error} (interrupted before attempt {})", attempt + 1);
                Ok(Some(Ended::Failed(error, self.tail.clone())))
            }
        }
    }

    /// Checkpoints the step as running its `attempt`; returns whether the
    /// checkpoint was deferred to the kind's first write (see `exec::sink`),
    /// to be flushed when the action returns if it never wrote.
    async fn begin_attempt(&mut self, resolved: &Action, attempt: u32, attempts: u32) -> Result<bool, StateError> {
        self.record.status = StepStatus::Running;
        self.record.attempts += 1;
        self.record.error = None;
        // A group belongs to the attempt that recorded it.
        self.record.process = None;
        self.record.finished_at = None;
        if attempt == 1 {
            self.record.started_at = Some(now());
        }
        let message = format!("attempt {attempt} of {attempts}");
        let running = NewEvent::step(&self.step.id, "step_running", message);
        let deferred = resolved.writes_before_effects() && resolved.gate().is_none();
        if deferred {
            self.sync_progress();
            self.rt.sink.defer_running(self.record.clone(), running);
        } else {
            self.checkpoint(running).await?;
        }
        Ok(deferred)
    }

    async fn await_approval(&mut self, action: &Spanned<Action>) -> Result<StepRecord, StateError> {
        let action = action.get_ref();
        let instructions = action.gate().map_or_else(|| action.summary(), str::to_string);
        self.rt.report(Event::AwaitingApproval {
            step: self.step.id.clone(),
            instructions,
        });
        self.record.status = StepStatus::Pending;
        self.record.finished_at = None;
        // Nothing ran: waiting for an operator is not an attempt.
        self.record.attempts = self.record.attempts.saturating_sub(1);
        let event = NewEvent::step(&self.step.id, "awaiting_approval", "nobody approved this manual step");
        self.checkpoint(event).await?;
        Ok(self.record.clone())
    }

    async fn fail(&mut self, message: String) -> Result<StepRecord, StateError> {
        let failure = Failure::redacted(self.rt, &message, &self.tail);
        self.tail.clone_from(&failure.tail);
        self.record.error = Some(failure.stored());
        self.finish(StepStatus::Failed, "step_failed", &failure.message).await
    }

    async fn finish(
        &mut self,
        status: StepStatus,
        kind: &'static str,
        message: &str,
    ) -> Result<StepRecord, StateError> {
        self.record.status = status;
        self.record.finished_at = Some(now());
        if status != StepStatus::Failed {
            self.record.error = None;
        }
        if status != StepStatus::Interrupted {
            self.record.process = None;
        }
        let event = NewEvent::step(&self.step.id, kind, message);
        if status.is_done() {
            // Written with the next write, which the walk makes sure comes
            // at once (see `exec::sink`).
            self.sync_progress();
            self.rt.sink.carry(self.record.clone(), event);
        } else {
            self.checkpoint(event).await?;
        }
        Ok(self.record.clone())
    }

    /// Writes the record with `event` (and any results carried to it).
    async fn checkpoint(&mut self, event: NewEvent) -> Result<(), StateError> {
        self.sync_progress();
        self.rt.sink.put(&self.record, &event).await
    }

    /// The record's progress, as the kind last saved it.
    fn sync_progress(&mut self) {
        if let Ok(progress) = self.progress.lock() {
            self.record.progress.clone_from(&progress);
        }
    }
}

/// Why a step (or its rollback) failed, as it is stored and shown: the
/// message and the log lines that explain it, secrets masked. The forward
/// and the rollback paths both go through it.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) tail: Vec<String>,
}

impl Failure {
    pub(crate) fn redacted(rt: &Runtime, message: &str, tail: &[String]) -> Self {
        Failure {
            message: rt.redactor.redact(message).into_owned(),
            tail: tail.iter().map(|line| rt.redactor.redact(line).into_owned()).collect(),
        }
    }

    /// The record's `error`: the message, then the tail, one line each.
    pub(crate) fn stored(&self) -> String {
        std::iter::once(self.message.as_str())
            .chain(self.tail.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Why a probe or the run did not pass, in one line.
fn failure_line<T>(what: &str, kind: &str, ended: Ended<T>, step: &Step) -> String {
    let reason = match ended {
        Ended::Failed(message, _) => message,
        Ended::TimedOut => format!("timed out after {}", step.timeout),
        Ended::NeedsApproval => "needs an operator's approval".into(),
        Ended::Done(_) | Ended::Interrupted => "interrupted".into(),
    };
    format!("{what} ({kind}) failed: {reason}")
}

/// Runs `work` with a timeout. A kind that `handles_cancel` is told to stop
/// (and awaited while it cleans up); any other is dropped at once.
pub(crate) async fn bounded<T>(
    work: impl Future<Output = Result<T, StepError>>,
    cooperative: bool,
    cancel: &CancellationToken,
    rt: &Runtime,
    timeout: Duration,
) -> Ended<T> {
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => classify(result, rt),
        () = tokio::time::sleep(timeout) => {
            if cooperative {
                cancel.cancel();
                let _ = work.await;
            }
            Ended::TimedOut
        }
        () = rt.interrupt.cancelled(), if !cooperative => Ended::Interrupted,
    }
}

fn classify<T>(result: Result<T, StepError>, rt: &Runtime) -> Ended<T> {
    match result {
        Ok(value) => Ended::Done(value),
        Err(StepError::Failed { message, detail }) => Ended::Failed(message, detail),
        Err(StepError::NeedsApproval) => Ended::NeedsApproval,
        Err(StepError::Cancelled) if rt.interrupt.is_cancelled() => Ended::Interrupted,
        Err(StepError::Cancelled) => Ended::TimedOut,
    }
}
