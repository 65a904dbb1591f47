//! `apply`: preflight, then a new run of every step.

use std::sync::Arc;

use indexmap::IndexMap;
use tokio::time::Instant;

use crate::compile::Compiled;
use crate::exec::error::ExecError;
use crate::exec::event::Event;
use crate::exec::forward::{WalkOptions, walk_forward};
use crate::exec::leftovers;
use crate::exec::preflight;
use crate::exec::rollback;
use crate::exec::runtime::{Runtime, Settings};
use crate::exec::secrets::Secrets;
use crate::exec::session::Session;
use crate::plan::hash::{source_hash, step_hash};
use crate::state::lock::{current_host, current_user};
use crate::state::record::now;
use crate::state::{NewEvent, RunOutcome, RunRecord, StateError, StepRecord, Storage, Store};

pub(crate) struct ApplyRequest {
    /// The plan file as given.
    pub plan_path: String,
    /// `--var` and `--var-file` values, kept with the run.
    pub overrides: IndexMap<String, String>,
    pub rollback_on_failure: bool,
    /// Give up an unfinished run of this plan instead of refusing.
    pub abandon: bool,
}

pub(crate) async fn apply(
    session: &Session,
    compiled: Arc<Compiled>,
    secrets: Secrets,
    request: &ApplyRequest,
    settings: &Settings,
) -> Result<RunOutcome, ExecError> {
    let started = Instant::now();
    let plan = &compiled.plan;
    let store = &session.store;
    refuse_or_abandon_unfinished(session, &plan.name, request.abandon, settings).await?;
    let run_id = new_run_id();
    let rt = Arc::new(Runtime::new(
        compiled.clone(),
        store.clone(),
        &run_id,
        secrets,
        settings,
    )?);
    if let Some(outcome) = preflight_refused(&rt, settings).await {
        return Ok(outcome);
    }
    let position: Vec<u32> = compiled
        .dag
        .positions()
        .into_iter()
        .map(|at| u32::try_from(at).unwrap_or(u32::MAX))
        .collect();
    let mut records: Vec<StepRecord> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| StepRecord::pending(&step.id, position[i], step_hash(step)))
        .collect();
    store.create_run(&new_run(&rt, request), &records).await?;
    let parallelism = rt.parallelism(settings);
    rt.report(Event::RunStarted {
        run_id: run_id.clone(),
        plan: plan.name.clone(),
        steps: records.len(),
        to_run: records.len(),
        resumed: false,
        parallelism,
    });
    let todo = vec![true; records.len()];
    let options = WalkOptions {
        parallelism,
        keep_going: settings.keep_going,
    };
    let outcome = walk_forward(rt.clone(), &mut records, &todo, options).await?;
    let outcome = rt.finish(&records, outcome, started).await?;
    if outcome == RunOutcome::Failed && request.rollback_on_failure {
        // The migration still failed: a clean rollback does not make the
        // command succeed (exit 1), whatever the run's stored outcome.
        let undone = rollback::undo_run(&rt, &mut records, &[], parallelism).await?;
        return Ok(if undone == RunOutcome::RolledBack {
            RunOutcome::Failed
        } else {
            undone
        });
    }
    Ok(outcome)
}

/// The latest unfinished run of the plan `plan_name`: what `apply` refuses
/// to start beside and what `resume` would continue.
pub(crate) async fn unfinished_run(store: &Store, plan_name: &str) -> Result<Option<RunRecord>, StateError> {
    Ok(store
        .runs()
        .await?
        .into_iter()
        .rev()
        .find(|run| run.plan_name == plan_name && run.outcome.is_unfinished()))
}

/// An unfinished run of the plan refuses a new one, unless `--abandon`:
/// then its processes are settled and it is marked abandoned.
async fn refuse_or_abandon_unfinished(
    session: &Session,
    plan_name: &str,
    abandon: bool,
    settings: &Settings,
) -> Result<(), ExecError> {
    let store = &session.store;
    let Some(unfinished) = unfinished_run(store, plan_name).await? else {
        return Ok(());
    };
    if !abandon {
        return Err(ExecError::Unfinished {
            run_id: unfinished.id,
            plan: unfinished.plan_name,
            outcome: unfinished.outcome,
        });
    }
    // Its steps' processes must be gone before this run starts steps.
    let mut steps = store.steps(&unfinished.id).await?;
    leftovers::settle(
        store,
        &unfinished.id,
        &mut steps,
        settings.kill_grace,
        settings.reporter.as_ref(),
        &settings.interrupt.draining,
    )
    .await?;
    let event = NewEvent::run("run_abandoned", "abandoned by `apply --abandon`");
    store.set_outcome(&unfinished.id, RunOutcome::Abandoned, &event).await?;
    settings.reporter.report(&Event::Notice {
        message: format!("abandoned unfinished run `{}`", unfinished.id),
    });
    Ok(())
}

/// The plan's preflight checks: an outcome when they failed or were
/// interrupted (no run is recorded then).
async fn preflight_refused(rt: &Arc<Runtime>, settings: &Settings) -> Option<RunOutcome> {
    if rt.compiled.plan.preflight.is_empty() || preflight::check(rt).await == 0 {
        return None;
    }
    let interrupted = rt.draining.is_cancelled();
    let logs = rt.run_logs.display();
    let message = if interrupted {
        format!("interrupted during preflight: no step ran and no run was recorded (logs in {logs})")
    } else {
        format!("preflight failed: no step ran and no run was recorded (logs in {logs})")
    };
    settings.reporter.report(&Event::Notice { message });
    Some(if interrupted {
        RunOutcome::Interrupted
    } else {
        RunOutcome::Failed
    })
}

/// The run record: the plan as applied, its overrides and its vars (secrets masked).
fn new_run(rt: &Runtime, request: &ApplyRequest) -> RunRecord {
    let plan = &rt.compiled.plan;
    RunRecord {
        id: rt.run_id.clone(),
        plan_name: plan.name.clone(),
        plan_path: request.plan_path.clone(),
        plan_hash: source_hash(&plan.source),
        plan_source: plan.source.text.to_string(),
        overrides: request.overrides.clone(),
        vars: plan
            .vars
            .iter()
            .map(|(name, value)| {
                let mut value = serde_json::to_value(value).unwrap_or_default();
                rt.redactor.redact_json(&mut value);
                (name.clone(), value)
            })
            .collect(),
        user: current_user(),
        host: current_host(),
        pid: std::process::id(),
        started_at: now(),
        finished_at: None,
        outcome: RunOutcome::Running,
    }
}

/// `20261125-125134-3f9a`: sortable, readable, unique enough.
fn new_run_id() -> String {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S");
    format!("{stamp}-{:04x}", fastrand::u16(..))
}
