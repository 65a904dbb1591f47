//! Apply's and resume's walk: a step starts only when all its dependencies
//! succeeded or were satisfied, at most `parallelism` at once, in execution
//! order among the ready ones. A failure stops scheduling (running steps
//! finish) unless `keep_going`; the dependents of a failed step are
//! blocked and their redundant errors never reported.

use std::future::Future;
use std::sync::Arc;

use crate::exec::error::{ExecError, WalkError};
use crate::exec::event::Event;
use crate::exec::runtime::Runtime;
use crate::exec::step;
use crate::exec::walk::{Direction, Frontier, Mark, Visitor, walk};
use crate::state::record::now;
use crate::state::{NewEvent, RunOutcome, StateError, StateStore, StepRecord, StepStatus};

#[derive(Debug, Clone, Copy)]
pub(crate) struct WalkOptions {
    pub(crate) parallelism: usize,
    pub(crate) keep_going: bool,
}

/// Runs the steps marked in `todo`; `records` holds every step's state
/// by plan index and is updated in place.
pub(crate) async fn walk_forward(
    rt: Arc<Runtime>,
    records: &mut [StepRecord],
    todo: &[bool],
    options: WalkOptions,
) -> Result<RunOutcome, ExecError> {
    let marks = records
        .iter()
        .zip(todo)
        .map(|(record, &todo)| match (record.status.is_done(), todo) {
            (true, _) => Mark::PassThrough,
            (false, true) => Mark::Visit,
            (false, false) => Mark::Hold,
        })
        .collect();
    let mut frontier = Frontier::of(&rt.compiled.dag, Direction::Forward, marks);
    let mut forward = Forward {
        blocked: vec![false; records.len()],
        rt: rt.clone(),
        records,
        todo,
        options,
        outcome: Outcome::default(),
    };
    let walked = walk(&mut frontier, options.parallelism, &mut forward).await;
    let (records, mut outcome) = (forward.records, forward.outcome);
    walked.map_err(|error| error.into_exec(&rt, records))?;
    outcome.interrupted |= rt.draining.is_cancelled();
    let all_done = records
        .iter()
        .zip(todo)
        .all(|(record, &todo)| !todo || record.status.is_done());
    Ok(outcome.result(all_done))
}

struct Forward<'a> {
    rt: Arc<Runtime>,
    records: &'a mut [StepRecord],
    todo: &'a [bool],
    options: WalkOptions,
    outcome: Outcome,
    /// Blocked in this walk (a step below two failures is reported once).
    blocked: Vec<bool>,
}

impl Visitor for Forward<'_> {
    type Ended = Result<StepRecord, StateError>;
    type Error = WalkError;

    fn stopping(&self) -> bool {
        // After an interrupt nothing new starts; running steps finish (or
        // are stopped once the grace runs out).
        self.outcome.stopping(self.options) || self.rt.draining.is_cancelled()
    }

    fn start(&mut self, step: usize) -> impl Future<Output = Self::Ended> + Send + 'static {
        let rt = self.rt.clone();
        let record = self.records[step].clone();
        async move { step::execute(&rt, step, record).await }
    }

    async fn ended(&mut self, index: usize, ended: Self::Ended) -> Result<bool, WalkError> {
        let record = ended?;
        let status = record.status;
        self.records[index] = record;
        let release = match status {
            StepStatus::Succeeded | StepStatus::Satisfied => true,
            // Stopped by the signal (before its `run`, it keeps its status).
            _ if self.rt.draining.is_cancelled() => {
                self.outcome.interrupted = true;
                false
            }
            StepStatus::Failed => {
                self.outcome.failed = true;
                block_dependents(&self.rt, self.records, self.todo, &mut self.blocked, index).await?;
                false
            }
            StepStatus::Interrupted => {
                self.outcome.interrupted = true;
                false
            }
            // A manual gate nobody approved: its dependents wait.
            _ => {
                self.outcome.paused = true;
                false
            }
        };
        self.outcome.interrupted |= self.rt.draining.is_cancelled();
        Ok(release)
    }
}

#[derive(Default)]
struct Outcome {
    failed: bool,
    interrupted: bool,
    paused: bool,
}

impl Outcome {
    fn stopping(&self, options: WalkOptions) -> bool {
        self.interrupted || (self.failed && !options.keep_going)
    }

    fn result(&self, all_done: bool) -> RunOutcome {
        if self.interrupted {
            RunOutcome::Interrupted
        } else if self.failed {
            RunOutcome::Failed
        } else if self.paused {
            RunOutcome::Paused
        } else if all_done {
            RunOutcome::Succeeded
        } else {
            RunOutcome::Failed
        }
    }
}

/// Marks every not-yet-run descendant of `failed` as blocked, unless an
/// earlier failure of this walk already did.
async fn block_dependents(
    rt: &Runtime,
    records: &mut [StepRecord],
    todo: &[bool],
    done: &mut [bool],
    failed: usize,
) -> Result<(), StateError> {
    let failed_id = rt.compiled.plan.steps[failed].id.clone();
    let mut blocked = Vec::new();
    for descendant in rt.compiled.dag.descendants(failed) {
        let record = &mut records[descendant];
        if !todo[descendant]
            || done[descendant]
            || !matches!(
                record.status,
                StepStatus::Pending | StepStatus::Failed | StepStatus::Blocked
            )
        {
            continue;
        }
        record.status = StepStatus::Blocked;
        record.finished_at = Some(now());
        record.error = None;
        let event = NewEvent::step(&record.step_id, "step_blocked", format!("`{failed_id}` failed"));
        rt.store.put_step(&rt.run_id, record, &event).await?;
        done[descendant] = true;
        blocked.push(record.step_id.clone());
    }
    if !blocked.is_empty() {
        rt.report(Event::StepsBlocked {
            by: failed_id,
            steps: blocked,
        });
    }
    Ok(())
}
