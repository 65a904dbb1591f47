//! `mark`: an operator's decision about a step, usually one interrupted
//! while running that planrun cannot safely run again by itself.

use crate::exec::error::ExecError;
use crate::exec::session::Session;
use crate::state::lock::{current_host, current_user};
use crate::state::record::now;
use crate::state::{NewEvent, StateStore, StepStatus};

pub async fn mark(session: &Session, run_id: &str, step_id: &str, done: bool) -> Result<StepStatus, ExecError> {
    let store = &session.store;
    let steps = store.steps(run_id).await?;
    let Some(mut record) = steps.into_iter().find(|record| record.step_id == step_id) else {
        return Err(ExecError::Usage(format!("run `{run_id}` has no step `{step_id}`")));
    };
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
