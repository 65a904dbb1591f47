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
use crate::state::{NewEvent, RunOutcome, StateError, StepRecord, StepStatus};

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
        carrier: false,
    };
    let heartbeat = crate::exec::heartbeat::start(&rt);
    let mut walked = walk(&mut frontier, options.parallelism, &mut forward).await;
    drop(heartbeat);
    // Results still carried (a walk that ended in an error) are written.
    let flushed = rt.sink.flush().await;
    if walked.is_ok() {
        walked = flushed.map_err(WalkError::from);
    }
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
    /// Whether a step started since the walk last waited writes first
    /// thing: the results of steps that ended ride with that write.
    carrier: bool,
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
        self.carrier |= step::writes_first_promptly(&self.rt, step);
        let rt = self.rt.clone();
        let record = self.records[step].clone();
        async move { step::execute(&rt, step, record).await }
    }

    /// Writes the results carried since the walk last waited, unless a step
    /// it just started writes them at once.
    async fn waiting(&mut self) -> Result<(), WalkError> {
        if !std::mem::take(&mut self.carrier) {
            self.rt.sink.flush().await?;
        }
        Ok(())
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
        rt.sink.put(record, &event).await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::testing::{DIAMOND, Harness};

    fn all(harness: &Harness) -> Vec<bool> {
        vec![true; harness.records.len()]
    }

    const ONE_AT_A_TIME: WalkOptions = WalkOptions {
        parallelism: 1,
        keep_going: false,
    };

    #[tokio::test]
    async fn every_transition_is_checkpointed_in_dependency_order() {
        // The graph's execution order: a, b, d, c (level by level).
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "b.txt")).await;
        let todo = all(&h);
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, ONE_AT_A_TIME).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Succeeded));
        assert_eq!(
            h.journal().await,
            [
                "step_running a",
                "step_succeeded a",
                "step_running b",
                "step_succeeded b",
                "step_running d",
                "step_succeeded d",
                "step_running c",
                "step_succeeded c"
            ]
        );
        assert_eq!(
            h.stored().await,
            ["a=succeeded", "b=succeeded", "c=succeeded", "d=succeeded"]
        );
    }

    #[tokio::test]
    async fn a_result_rides_with_the_next_steps_first_write_and_the_last_is_written_alone() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "b.txt")).await;
        let todo = all(&h);
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, ONE_AT_A_TIME).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Succeeded));
        let commits = h.commits();
        let expected: [&[&str]; 5] = [
            &["step_running a"],
            &["step_succeeded a", "step_running b"],
            &["step_succeeded b", "step_running d"],
            &["step_succeeded d", "step_running c"],
            &["step_succeeded c"],
        ];
        assert_eq!(commits, expected, "one commit between two steps");
    }

    #[tokio::test]
    async fn a_result_is_written_before_a_step_that_first_runs_a_probe() {
        // `b` runs its `check` (it fails: the file is not there yet) before
        // it writes anything: `a`'s result cannot wait for that.
        let plan = DIAMOND.replace("{fail}", "b.txt").replace(
            "[steps.b]\n",
            "[steps.b]\ncheck = { kind = \"file.exists\", path = \"{dir}/b.txt\" }\n",
        );
        let mut h = Harness::new(&plan).await;
        let todo = all(&h);
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, ONE_AT_A_TIME).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Succeeded));
        let commits = h.commits();
        assert_eq!(commits[0], ["step_running a"]);
        assert_eq!(commits[1], ["step_succeeded a"], "{commits:?}");
        assert_eq!(commits[2], ["step_running b"], "{commits:?}");
    }

    #[tokio::test]
    async fn a_failed_verify_blocks_the_dependents_and_stops_the_walk() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "missing")).await;
        let todo = all(&h);
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, ONE_AT_A_TIME).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Failed));
        // d was ready but nothing new starts after a failure.
        assert_eq!(h.stored().await, ["a=succeeded", "b=failed", "c=blocked", "d=pending"]);
        assert!(h.journal().await.contains(&"step_blocked c".to_string()));
        assert!(!h.dir.path().join("d.txt").exists());
    }

    #[tokio::test]
    async fn keep_going_runs_what_the_failure_does_not_block() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "missing")).await;
        let todo = all(&h);
        let options = WalkOptions {
            parallelism: 1,
            keep_going: true,
        };
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, options).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Failed));
        assert_eq!(
            h.stored().await,
            ["a=succeeded", "b=failed", "c=blocked", "d=succeeded"]
        );
    }

    #[tokio::test]
    async fn after_an_interrupt_nothing_starts_and_the_walk_says_so() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "b.txt")).await;
        h.interrupt.draining.cancel();
        let todo = all(&h);
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, ONE_AT_A_TIME).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Interrupted));
        assert!(h.journal().await.is_empty());
        assert!(!h.dir.path().join("a.txt").exists());
    }

    #[tokio::test]
    async fn done_steps_are_not_run_again_and_release_their_dependents() {
        let mut h = Harness::new(&DIAMOND.replace("{fail}", "b.txt")).await;
        h.records[0].status = StepStatus::Succeeded;
        let todo = [false, true, true, true];
        let outcome = walk_forward(h.rt.clone(), &mut h.records, &todo, ONE_AT_A_TIME).await;
        assert_eq!(outcome.ok(), Some(RunOutcome::Succeeded));
        assert!(!h.dir.path().join("a.txt").exists(), "a ran again");
        assert!(h.dir.path().join("c.txt").exists());
    }
}
