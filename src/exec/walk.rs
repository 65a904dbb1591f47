//! The graph walk: a step starts only when all its dependencies succeeded
//! or were satisfied, at most `parallelism` at once, in execution order
//! among the ready ones. A failure stops scheduling (running steps finish)
//! unless `keep_going`; the dependents of a failed step are blocked and
//! their redundant errors never reported.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::exec::event::Event;
use crate::exec::runtime::Runtime;
use crate::exec::step;
use crate::state::record::now;
use crate::state::{NewEvent, RunOutcome, StateError, StateStore, StepRecord, StepStatus};

#[derive(Debug, Clone, Copy)]
pub struct WalkOptions {
    pub parallelism: usize,
    pub keep_going: bool,
}

/// Walks the steps marked in `todo`; `records` holds every step's state
/// by plan index and is updated in place.
pub async fn walk(
    rt: Arc<Runtime>,
    records: &mut [StepRecord],
    todo: &[bool],
    options: WalkOptions,
) -> Result<RunOutcome, StateError> {
    let dag = &rt.compiled.dag;
    let count = records.len();
    let position = dag.positions();
    // Dependencies not done yet, per step.
    let mut waiting: Vec<usize> = (0..count)
        .map(|i| {
            dag.dependencies(i)
                .into_iter()
                .filter(|&d| !records[d].status.is_done())
                .count()
        })
        .collect();
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> = (0..count)
        .filter(|&i| todo[i] && waiting[i] == 0)
        .map(|i| Reverse((position[i], i)))
        .collect();
    let mut running: JoinSet<(usize, Result<StepRecord, StateError>)> = JoinSet::new();
    let mut outcome = Walked::default();
    // Blocked in this walk (a step below two failures is reported once).
    let mut blocked = vec![false; count];
    loop {
        // After an interrupt nothing new starts; running steps finish (or
        // are stopped once the grace runs out).
        while !outcome.stopping(options) && !rt.draining.is_cancelled() && running.len() < options.parallelism.max(1) {
            let Some(Reverse((_, index))) = ready.pop() else { break };
            let rt = rt.clone();
            let record = records[index].clone();
            running.spawn(async move { (index, step::execute(&rt, index, record).await) });
        }
        let Some(joined) = running.join_next().await else { break };
        let (index, result) = match joined {
            Ok(done) => done,
            Err(panic) => return Err(StateError::Corrupt(format!("a step task failed: {panic}"))),
        };
        let record = result?;
        let status = record.status;
        records[index] = record;
        match status {
            StepStatus::Succeeded | StepStatus::Satisfied => {
                for dependent in dag.dependents(index) {
                    waiting[dependent] -= 1;
                    if waiting[dependent] == 0 && todo[dependent] {
                        ready.push(Reverse((position[dependent], dependent)));
                    }
                }
            }
            // Stopped by the signal (before its `run`, it keeps its status).
            _ if rt.draining.is_cancelled() => outcome.interrupted = true,
            StepStatus::Failed => {
                outcome.failed = true;
                block_dependents(&rt, records, todo, &mut blocked, index).await?;
            }
            StepStatus::Interrupted => outcome.interrupted = true,
            // A manual gate nobody approved: its dependents wait.
            _ => outcome.paused = true,
        }
        if rt.draining.is_cancelled() {
            outcome.interrupted = true;
        }
    }
    if rt.draining.is_cancelled() {
        outcome.interrupted = true;
    }
    let all_done = (0..count).all(|i| !todo[i] || records[i].status.is_done());
    Ok(outcome.result(all_done))
}

#[derive(Default)]
struct Walked {
    failed: bool,
    interrupted: bool,
    paused: bool,
}

impl Walked {
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
