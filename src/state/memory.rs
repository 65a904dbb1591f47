//! A backend in memory, for tests of the engine: it passes the same
//! conformance suite as SQLite and PostgreSQL, so the walker and the step
//! lifecycle can be tested without a file or a server.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::state::error::StateError;
use crate::state::lock::{Acquired, LockInfo};
use crate::state::record::{EventRecord, NewEvent, PlanFile, RunRecord, StepRecord, now};
use crate::state::status::RunOutcome;
use crate::state::store::{Locker, Result, Storage};
use crate::supervise::ProcessGroup;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Oldest first.
    runs: Vec<RunRecord>,
    steps: HashMap<String, Vec<StepRecord>>,
    events: Vec<EventRecord>,
    lock: Option<LockInfo>,
    /// Each checkpointing write, as the `KIND STEP` of what it journaled.
    commits: Vec<Vec<String>>,
}

impl Inner {
    fn run_mut(&mut self, run_id: &str) -> Result<&mut RunRecord> {
        self.runs
            .iter_mut()
            .find(|run| run.id == run_id)
            .ok_or_else(|| StateError::NoSuchRun(run_id.to_string()))
    }

    fn journal(&mut self, run_id: &str, event: &NewEvent) {
        let seq = self.events.last().map_or(1, |last| last.seq + 1);
        self.events.push(EventRecord {
            seq,
            run_id: run_id.to_string(),
            at: now(),
            step_id: event.step_id.clone(),
            kind: event.kind.to_string(),
            message: event.message.clone(),
        });
    }

    fn upsert(&mut self, run_id: &str, step: &StepRecord) {
        let steps = self.steps.entry(run_id.to_string()).or_default();
        match steps.iter_mut().find(|stored| stored.step_id == step.step_id) {
            Some(stored) => *stored = step.clone(),
            None => steps.push(step.clone()),
        }
    }

    fn step_mut(&mut self, run_id: &str, step_id: &str) -> Option<&mut StepRecord> {
        self.steps
            .get_mut(run_id)?
            .iter_mut()
            .find(|step| step.step_id == step_id)
    }
}

impl MemoryStore {
    #[allow(clippy::unused_async)] // as the other backends' `close`
    pub async fn close(self) {}

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding it leaves nothing half-written: every
        // method changes the maps in one go.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Each checkpointing write so far, as the `KIND STEP` of the entries
    /// it journaled: which checkpoints shared a commit.
    pub(crate) fn commits(&self) -> Vec<Vec<String>> {
        self.inner().commits.clone()
    }
}

impl Storage for MemoryStore {
    async fn create_run(&self, run: &RunRecord, steps: &[StepRecord]) -> Result<()> {
        let mut inner = self.inner();
        inner.runs.push(run.clone());
        inner.steps.insert(run.id.clone(), steps.to_vec());
        inner.journal(&run.id, &NewEvent::run("run_created", format!("{} steps", steps.len())));
        Ok(())
    }

    async fn add_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<()> {
        let mut inner = self.inner();
        for step in steps {
            inner.upsert(run_id, step);
        }
        Ok(())
    }

    async fn put_step(&self, run_id: &str, step: &StepRecord, event: &NewEvent) -> Result<()> {
        self.put_steps(run_id, &[(step.clone(), event.clone())]).await
    }

    async fn put_steps(&self, run_id: &str, checkpoints: &[(StepRecord, NewEvent)]) -> Result<()> {
        let mut inner = self.inner();
        for (step, event) in checkpoints {
            inner.upsert(run_id, step);
            inner.journal(run_id, event);
        }
        let commit = checkpoints
            .iter()
            .map(|(step, event)| format!("{} {}", event.kind, step.step_id))
            .collect();
        inner.commits.push(commit);
        Ok(())
    }

    async fn save_progress(&self, run_id: &str, step_id: &str, progress: &Value) -> Result<()> {
        if let Some(step) = self.inner().step_mut(run_id, step_id) {
            step.progress = Some(progress.clone());
        }
        Ok(())
    }

    async fn set_process(&self, run_id: &str, step_id: &str, group: Option<&ProcessGroup>) -> Result<()> {
        if let Some(step) = self.inner().step_mut(run_id, step_id) {
            step.process = group.cloned();
        }
        Ok(())
    }

    async fn append_event(&self, run_id: &str, event: &NewEvent) -> Result<()> {
        self.inner().journal(run_id, event);
        Ok(())
    }

    async fn set_outcome(&self, run_id: &str, outcome: RunOutcome, event: &NewEvent) -> Result<()> {
        let mut inner = self.inner();
        let run = inner.run_mut(run_id)?;
        run.outcome = outcome;
        run.finished_at = (outcome != RunOutcome::Running).then(now);
        inner.journal(run_id, event);
        Ok(())
    }

    async fn set_plan(&self, run_id: &str, plan: &PlanFile<'_>, event: &NewEvent) -> Result<()> {
        let mut inner = self.inner();
        let run = inner.run_mut(run_id)?;
        run.plan_path = plan.path.to_string();
        run.plan_hash = plan.hash.to_string();
        run.plan_source = plan.source.to_string();
        inner.journal(run_id, event);
        Ok(())
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        Ok(self.inner().runs.iter().find(|run| run.id == run_id).cloned())
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        Ok(self
            .inner()
            .runs
            .iter()
            .map(|run| RunRecord {
                plan_source: String::new(),
                ..run.clone()
            })
            .collect())
    }

    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>> {
        let mut steps = self.inner().steps.get(run_id).cloned().unwrap_or_default();
        steps.sort_by(|a, b| (a.position, &a.step_id).cmp(&(b.position, &b.step_id)));
        Ok(steps)
    }

    async fn events(&self, run_id: &str) -> Result<Vec<EventRecord>> {
        Ok(self
            .inner()
            .events
            .iter()
            .filter(|event| event.run_id == run_id)
            .cloned()
            .collect())
    }

    async fn last_event(&self, run_id: &str) -> Result<Option<i64>> {
        Ok(self
            .inner()
            .events
            .iter()
            .rev()
            .find(|event| event.run_id == run_id)
            .map(|event| event.seq))
    }
}

impl Locker for MemoryStore {
    async fn lock(&self, info: &LockInfo) -> Result<Acquired> {
        let mut inner = self.inner();
        let acquired = match inner.lock.take() {
            None => Acquired::Fresh,
            Some(holder) if holder.is_stale_here() => Acquired::TookOver(holder),
            Some(holder) => {
                inner.lock = Some(holder.clone());
                return Err(StateError::Locked(Box::new(holder)));
            }
        };
        inner.lock = Some(info.clone());
        Ok(acquired)
    }

    async fn unlock(&self, info: &LockInfo) -> Result<()> {
        let mut inner = self.inner();
        if inner.lock.as_ref().is_some_and(|held| held.id == info.id) {
            inner.lock = None;
        }
        Ok(())
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>> {
        Ok(self.inner().lock.take())
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>> {
        Ok(self.inner().lock.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::state::conformance;

    #[tokio::test]
    async fn passes_the_conformance_suite() {
        let store = Arc::new(MemoryStore::default());
        conformance::run(|| {
            let store = store.clone();
            async move { store }
        })
        .await;
    }
}
