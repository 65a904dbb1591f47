//! `mark`: an operator's decision about a step, usually one interrupted
//! while running that planrun cannot safely run again by itself.

use std::time::Duration;

use crate::exec::error::ExecError;
use crate::exec::event::Reporter;
use crate::exec::leftovers;
use crate::exec::session::Session;
use crate::state::lock::{current_host, current_user};
use crate::state::record::now;
use crate::state::{NewEvent, StepStatus, Storage};

/// An operator's decision: the step did its work (`done`) or not; `force`
/// lets `done` skip a step that never started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decision {
    pub done: bool,
    pub force: bool,
}

/// Records the decision once no process of the run is alive any more
/// (waiting up to `grace`, then killing what is left).
pub(crate) async fn mark(
    session: &Session,
    run_id: &str,
    step_id: &str,
    Decision { done, force }: Decision,
    grace: Duration,
    reporter: &dyn Reporter,
) -> Result<StepStatus, ExecError> {
    let store = &session.store;
    let mut steps = store.steps(run_id).await?;
    let Some(index) = steps.iter().position(|record| record.step_id == step_id) else {
        return Err(ExecError::Usage(format!("run `{run_id}` has no step `{step_id}`")));
    };
    // Marking a step that never started done skips it: a slip of the
    // step's name must not do that.
    if done && !force && steps[index].attempts == 0 {
        return Err(ExecError::Usage(format!(
            "step `{step_id}` of run {run_id} never started ({}): marking it done would skip it, and the steps \
             after it would run as if it had; `planrun resume` runs it. If its work was done by hand, say so \
             with `planrun mark {step_id} --done --force`",
            steps[index].status
        )));
    }
    // `mark` takes no signal handler: an interrupt ends it before it decides.
    let never = tokio_util::sync::CancellationToken::new();
    leftovers::settle(store, run_id, &mut steps, grace, reporter, &never).await?;
    let mut record = steps.swap_remove(index);
    let previous = record.status;
    record.status = if done {
        StepStatus::Succeeded
    } else {
        StepStatus::Pending
    };
    record.finished_at = done.then(now);
    record.error = None;
    let event = NewEvent::step(
        step_id,
        if done { "marked_done" } else { "marked_pending" },
        format!("was {previous}; marked by {}@{}", current_user(), current_host()),
    );
    store.put_step(run_id, &record, &event).await?;
    Ok(record.status)
}
