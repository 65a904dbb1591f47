//! `resume`: continue an unfinished run where it stopped.
//!
//! Succeeded and satisfied steps are not run again; failed, pending and
//! blocked ones are. A step interrupted while running is first settled
//! (`exec::settle`): its kind asks the system whether the attempt took
//! effect. Took effect → only its `verify` runs; no effect or in part →
//! it runs again. When the kind cannot tell, it is run again only when
//! that is safe (it is idempotent, has a `check`, or is a manual gate);
//! otherwise an operator decides with `planrun mark`. If the plan
//! changed, completed steps whose definition changed are drift.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::time::Instant;

use crate::compile::Compiled;
use crate::exec::error::ExecError;
use crate::exec::event::Event;
use crate::exec::forward::{WalkOptions, walk_forward};
use crate::exec::leftovers;
use crate::exec::runtime::{Runtime, Settings};
use crate::exec::secrets::Secrets;
use crate::exec::session::Session;
use crate::exec::settle::settle_in_doubt;
use crate::plan::hash::{source_hash, step_hash};
use crate::plan::{Source, Step};
use crate::state::{NewEvent, PlanFile, RunOutcome, RunRecord, StepRecord, StepStatus, Storage, Store};
use crate::steps::outcome::{Applied, Settlement, Verdict};

pub(crate) struct ResumeRequest {
    /// Keep completed steps whose definition changed as done.
    pub accept_drift: bool,
    /// Run these steps, and everything after them, again.
    pub rerun: Vec<String>,
}

/// What resuming will do, worked out before anything is written.
pub(crate) struct Prepared {
    /// Every step of the plan's state, by plan index.
    pub records: Vec<StepRecord>,
    pub todo: Vec<bool>,
    /// Records to write before the walk, with why.
    pub changes: Vec<(StepRecord, NewEvent)>,
    pub notices: Vec<String>,
    /// In-doubt steps whose attempt took effect: what it gave back.
    pub(crate) settled: HashMap<String, Applied>,
}

/// Safe to run again after an interruption.
fn rerunnable(step: &Step) -> bool {
    step.idempotent || step.check.is_some() || step.run.as_ref().is_some_and(|run| run.get_ref().gate().is_some())
}

/// The steps `--rerun` runs again, by plan index: those named and
/// everything after them.
fn rerun_set(compiled: &Compiled, request: &ResumeRequest) -> Result<HashSet<usize>, ExecError> {
    let mut rerun = HashSet::new();
    for id in &request.rerun {
        let index = compiled
            .plan
            .step_index(id)
            .ok_or_else(|| ExecError::Usage(format!("`--rerun {id}`: the plan has no step `{id}`")))?;
        rerun.insert(index);
        rerun.extend(compiled.dag.descendants(index));
    }
    Ok(rerun)
}

/// What follows for an in-doubt step from what settling found: `Ok(Some)`
/// took effect (what it gave back), `Ok(None)` run it again, `Err` an
/// operator decides (the line saying why).
fn after_settling(step: &Step, record: &StepRecord, answer: &Settlement) -> Result<Option<Applied>, String> {
    match &answer.verdict {
        Verdict::Done(applied) => Ok(Some(applied.clone())),
        Verdict::Nothing | Verdict::Partly => Ok(None),
        Verdict::Unknown if rerunnable(step) => Ok(None),
        Verdict::Unknown => Err(undecided_line(step, record, Some(answer))),
    }
}

/// An in-doubt step left to an operator: what it was doing, what was asked.
fn undecided_line(step: &Step, record: &StepRecord, answer: Option<&Settlement>) -> String {
    let doing = step.run.as_ref().map(|run| run.get_ref().summary()).unwrap_or_default();
    let found = answer
        .map(|s| format!("; asked {}: {}", s.asked, s.found))
        .unwrap_or_default();
    format!("{} (attempt {}): {doing}{found}", step.id, record.attempts)
}

/// `unchanged`: the plan file is byte for byte the one applied (so no step
/// can have drifted, and the stored definition hashes stand). `settled`:
/// what settling found about in-doubt steps, by step id.
pub(crate) fn prepare(
    compiled: &Compiled,
    stored: Vec<StepRecord>,
    request: &ResumeRequest,
    unchanged: bool,
    settled: &HashMap<String, Settlement>,
) -> Result<Prepared, ExecError> {
    let plan = &compiled.plan;
    // Where each step's record is among those stored (no record is moved
    // until its step takes it); those no step takes are left over.
    let index_of: HashMap<&str, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| (step.id.as_str(), index))
        .collect();
    let mut stored: Vec<Option<StepRecord>> = stored.into_iter().map(Some).collect();
    let mut record_of: Vec<Option<usize>> = vec![None; plan.steps.len()];
    for (at, record) in stored.iter().enumerate() {
        if let Some(&index) = record.as_ref().and_then(|record| index_of.get(record.step_id.as_str())) {
            record_of[index] = Some(at);
        }
    }
    let position: Vec<u32> = compiled
        .dag
        .positions()
        .into_iter()
        .map(|at| u32::try_from(at).unwrap_or(u32::MAX))
        .collect();
    let mut sorter = Sorter {
        request,
        unchanged,
        settled,
        rerun: rerun_set(compiled, request)?,
        prepared: Prepared {
            records: Vec::with_capacity(plan.steps.len()),
            todo: Vec::with_capacity(plan.steps.len()),
            changes: Vec::new(),
            notices: Vec::new(),
            settled: HashMap::new(),
        },
        drifted: Vec::new(),
        undecided: Vec::new(),
        joined: Vec::new(),
        accepted: Vec::new(),
    };
    for (index, step) in plan.steps.iter().enumerate() {
        let (record, todo) = match record_of[index].and_then(|at| stored[at].take()) {
            None => sorter.joining(step, position[index]),
            Some(mut record) => {
                record.position = position[index];
                sorter.stored(index, step, record)
            }
        };
        sorter.prepared.records.push(record);
        sorter.prepared.todo.push(todo);
    }
    let mut removed: Vec<String> = stored.into_iter().flatten().map(|record| record.step_id).collect();
    removed.sort_unstable();
    sorter.finish(&removed)
}

/// Sorts each step of the plan by what its stored record says, collecting
/// what refuses the resume (drift, undecided steps) and what to tell.
struct Sorter<'a> {
    request: &'a ResumeRequest,
    unchanged: bool,
    settled: &'a HashMap<String, Settlement>,
    rerun: HashSet<usize>,
    prepared: Prepared,
    drifted: Vec<String>,
    undecided: Vec<String>,
    joined: Vec<String>,
    accepted: Vec<String>,
}

impl Sorter<'_> {
    /// A step new in the plan: pending, to run.
    fn joining(&mut self, step: &Step, position: u32) -> (StepRecord, bool) {
        let record = StepRecord::pending(&step.id, position, step_hash(step));
        let event = NewEvent::step(&step.id, "step_added", "new in the plan");
        self.prepared.changes.push((record.clone(), event));
        self.joined.push(step.id.clone());
        (record, true)
    }

    /// A step the run has a record of: whether it runs, and its record.
    fn stored(&mut self, index: usize, step: &Step, mut record: StepRecord) -> (StepRecord, bool) {
        // With the file unchanged the stored hashes stand: no hashing.
        let hash = if self.unchanged { None } else { Some(step_hash(step)) };
        if self.rerun.contains(&index) {
            record.status = StepStatus::Pending;
            // From the start: a table copy does not continue where it was.
            record.progress = None;
            if let Some(hash) = hash {
                record.definition_hash = hash;
            }
            let event = NewEvent::step(&step.id, "step_reset", "`--rerun`");
            self.prepared.changes.push((record.clone(), event));
            return (record, true);
        }
        let todo = match record.status {
            StepStatus::Succeeded | StepStatus::Satisfied => {
                self.done(step, &mut record, hash);
                false
            }
            StepStatus::Running | StepStatus::Interrupted => self.in_doubt(step, &record),
            _ => {
                if let Some(hash) = hash {
                    record.definition_hash = hash;
                }
                true
            }
        };
        (record, todo)
    }

    /// A done step: kept, unless its definition changed (drift).
    fn done(&mut self, step: &Step, record: &mut StepRecord, hash: Option<String>) {
        let Some(hash) = hash.filter(|hash| *hash != record.definition_hash) else {
            return;
        };
        if self.request.accept_drift {
            record.definition_hash = hash;
            let event = NewEvent::step(&step.id, "drift_accepted", "changed in the plan; kept as done");
            self.prepared.changes.push((record.clone(), event));
            self.accepted.push(step.id.clone());
        } else {
            self.drifted.push(format!("{} ({})", step.id, record.status));
        }
    }

    /// A step stopped while running: run again, verified only (it took
    /// effect), or left to an operator.
    fn in_doubt(&mut self, step: &Step, record: &StepRecord) -> bool {
        match self.settled.get(step.id.as_str()) {
            Some(answer) => match after_settling(step, record, answer) {
                Ok(Some(applied)) => {
                    self.prepared.settled.insert(step.id.clone(), applied);
                    true
                }
                Ok(None) => true,
                Err(undecided_step) => {
                    self.undecided.push(undecided_step);
                    false
                }
            },
            None if rerunnable(step) => true,
            None => {
                self.undecided.push(undecided_line(step, record, None));
                false
            }
        }
    }

    fn finish(mut self, removed: &[String]) -> Result<Prepared, ExecError> {
        if !self.drifted.is_empty() {
            return Err(ExecError::Drift(self.drifted));
        }
        if !self.undecided.is_empty() {
            return Err(ExecError::NeedsDecision(self.undecided));
        }
        let notices = &mut self.prepared.notices;
        if !removed.is_empty() {
            notices.push(format!(
                "no longer in the plan, left as they were: {}",
                removed.join(", ")
            ));
        }
        if !self.accepted.is_empty() {
            notices.push(format!(
                "changed in the plan, kept as done (`--accept-drift`): {}",
                self.accepted.join(", ")
            ));
        }
        if !self.joined.is_empty() {
            notices.push(format!("new in the plan, joining the run: {}", self.joined.join(", ")));
        }
        Ok(self.prepared)
    }
}

/// Where each step of `compiled` stands in a run, as previews show it:
/// `done`, `drifted` (done, but its definition changed since), `pending`,
/// `failed`, `blocked`, `interrupted`, or `new` (not in the run).
pub(crate) fn step_states(compiled: &Compiled, stored: &[StepRecord]) -> std::collections::BTreeMap<String, String> {
    let by_id: HashMap<&str, &StepRecord> = stored.iter().map(|record| (record.step_id.as_str(), record)).collect();
    compiled
        .plan
        .steps
        .iter()
        .map(|step| {
            let state = match by_id.get(step.id.as_str()) {
                None => "new",
                Some(record) if record.status.is_done() && record.definition_hash != step_hash(step) => "drifted",
                Some(record) if record.status.is_done() => "done",
                Some(record) => match record.status {
                    StepStatus::Running | StepStatus::Interrupted => "interrupted",
                    StepStatus::Failed => "failed",
                    StepStatus::Blocked => "blocked",
                    _ => "pending",
                },
            };
            (step.id.clone(), state.to_string())
        })
        .collect()
}

/// What the state holds of the run to resume, read under the lock.
pub(crate) struct Stored {
    pub steps: Vec<StepRecord>,
    /// The plan file is byte for byte the one applied.
    pub plan_unchanged: bool,
}

/// Continues `run` from `stored`.
pub(crate) async fn resume(
    session: &Session,
    compiled: Arc<Compiled>,
    secrets: Secrets,
    run: &RunRecord,
    mut stored: Stored,
    request: &ResumeRequest,
    settings: &Settings,
) -> Result<RunOutcome, ExecError> {
    let started = Instant::now();
    let store = &session.store;
    // Nothing is decided while a process of the interrupted run still lives.
    leftovers::settle(
        store,
        &run.id,
        &mut stored.steps,
        settings.kill_grace,
        settings.reporter.as_ref(),
        &settings.interrupt.draining,
    )
    .await?;
    let rt = Arc::new(Runtime::new(
        compiled.clone(),
        store.clone(),
        &run.id,
        secrets,
        settings,
    )?);
    // Outputs of finished steps, for the steps settled and run below.
    restore_outputs(&rt, &stored.steps);
    let mut steps = stored.steps;
    let answers = settle_in_doubt(&rt, &mut steps, &rerun_set(&compiled, request)?).await?;
    if rt.interrupt.is_cancelled() {
        return Ok(RunOutcome::Interrupted);
    }
    let Prepared {
        mut records,
        todo,
        changes,
        notices,
        settled,
    } = prepare(&compiled, steps, request, stored.plan_unchanged, &answers)?;
    if let Ok(mut taken) = rt.settled.lock() {
        *taken = settled;
    }
    for message in notices {
        settings.reporter.report(&Event::Notice { message });
    }
    let changed_plan = (!stored.plan_unchanged).then_some(&compiled.plan.source);
    record_resumption(store, &run.id, &changes, changed_plan).await?;
    let parallelism = rt.parallelism(settings);
    rt.report(Event::RunStarted {
        run_id: run.id.clone(),
        plan: compiled.plan.name.clone(),
        steps: records.len(),
        to_run: todo.iter().filter(|&&t| t).count(),
        resumed: true,
        parallelism,
    });
    let options = WalkOptions {
        parallelism,
        keep_going: settings.keep_going,
    };
    let outcome = walk_forward(rt.clone(), &mut records, &todo, options).await?;
    Ok(rt.finish(&records, outcome, started).await?)
}

/// Gives `rt` the outputs of the finished steps among `records`.
fn restore_outputs(rt: &Runtime, records: &[StepRecord]) {
    for record in records
        .iter()
        .filter(|record| record.status.is_done() && !record.outputs.is_empty())
    {
        rt.set_outputs(&record.step_id, record.outputs.clone());
    }
}

/// Writes what resuming changed before the walk: the step records of
/// `changes`, the plan file when it changed (`changed_plan`), and the run
/// as running again.
async fn record_resumption(
    store: &Store,
    run_id: &str,
    changes: &[(StepRecord, NewEvent)],
    changed_plan: Option<&Source>,
) -> Result<(), ExecError> {
    if !changes.is_empty() {
        store.put_steps(run_id, changes).await?;
    }
    if let Some(source) = changed_plan {
        // The run follows the changed file from now on: its rollbacks, and
        // the steps that joined, come from it.
        let plan = PlanFile {
            path: &source.name,
            hash: &source_hash(source),
            source: &source.text,
        };
        let event = NewEvent::run("plan_changed", format!("resumed with a changed `{}`", source.name));
        store.set_plan(run_id, &plan, &event).await?;
    }
    store
        .set_outcome(run_id, RunOutcome::Running, &NewEvent::run("run_resumed", "resumed"))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;

    const PLAN: &str = r#"format = 1
name = "doubt"
[steps.exec]
run = { kind = "postgres.exec", url = "postgres://db/app", sql = "SELECT 1" }
rollback = { kind = "shell", command = "true" }
[steps.next]
depends_on = ["exec"]
run = { kind = "shell", command = "true" }
rollback = { kind = "shell", command = "true" }
"#;

    fn interrupted() -> (Compiled, Vec<StepRecord>) {
        let compiled = compile(&Source::new("plan.toml", PLAN), &[], false).expect("the plan compiles");
        let mut exec = StepRecord::pending("exec", 0, step_hash(&compiled.plan.steps[0]));
        exec.status = StepStatus::Running;
        exec.attempts = 1;
        let next = StepRecord::pending("next", 1, step_hash(&compiled.plan.steps[1]));
        (compiled, vec![exec, next])
    }

    fn prepared(verdict: Option<Verdict>) -> Result<Prepared, ExecError> {
        let (compiled, records) = interrupted();
        let request = ResumeRequest {
            accept_drift: false,
            rerun: Vec::new(),
        };
        let settled: HashMap<String, Settlement> = verdict
            .map(|verdict| {
                (
                    "exec".to_string(),
                    Settlement::new("whether it committed", "found", verdict),
                )
            })
            .into_iter()
            .collect();
        prepare(&compiled, records, &request, true, &settled)
    }

    #[test]
    fn an_attempt_that_took_effect_is_verified_not_run_again() {
        let applied = Applied::default();
        let prepared = prepared(Some(Verdict::Done(applied.clone()))).expect("no decision needed");
        assert_eq!(prepared.todo, [true, true]);
        assert_eq!(prepared.settled.get("exec"), Some(&applied));
    }

    #[test]
    fn an_attempt_without_effect_runs_again() {
        for verdict in [Verdict::Nothing, Verdict::Partly] {
            let prepared = prepared(Some(verdict)).expect("no decision needed");
            assert_eq!(prepared.todo, [true, true]);
            assert!(prepared.settled.is_empty());
        }
    }

    #[test]
    fn an_unknown_answer_goes_to_the_operator_saying_what_was_asked() {
        for verdict in [Some(Verdict::Unknown), None] {
            let asked = verdict.is_some();
            match prepared(verdict) {
                Err(ExecError::NeedsDecision(steps)) => {
                    assert_eq!(steps.len(), 1);
                    assert!(steps[0].starts_with("exec (attempt 1)"), "{}", steps[0]);
                    assert_eq!(
                        steps[0].contains("asked whether it committed: found"),
                        asked,
                        "{}",
                        steps[0]
                    );
                }
                _ => panic!("an operator must decide"),
            }
        }
    }
}
