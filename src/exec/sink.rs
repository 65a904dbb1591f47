//! The engine's [`ProgressSink`]: a step's progress and process group,
//! written to the run's state.
//!
//! A kind that writes through the sink before its first effect (a shell
//! action records its process group before its command may start) lets
//! the step's `running` checkpoint ride with that write: one commit
//! instead of two, and no weaker a guarantee, since nothing happened
//! before it that a crash could leave unrecorded (see
//! [`StoreSink::defer_running`]).
//!
//! In the same way a step that just succeeded may leave its result to the
//! next step's first write ([`StoreSink::carry`]), when the walk starts
//! one whose first write comes at once: one commit between two steps
//! instead of two. Nothing is weaker for it: a crash before that commit
//! finds the step `running` with its process group ended, exactly what a
//! crash between the command's end and its own commit leaves, and the step
//! is settled as such; a step that depends on it starts only after that
//! commit, which records both.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::state::record::{NewEvent, StepRecord};
use crate::state::{StateError, Storage, Store};
use crate::steps::context::{ProgressSink, SinkFuture};
use crate::supervise::ProcessGroup;

pub(crate) struct StoreSink {
    pub(crate) store: Arc<Store>,
    pub(crate) run_id: String,
    /// `running` checkpoints waiting for their step's first write, by step.
    pub(crate) deferred: Mutex<HashMap<String, (StepRecord, NewEvent)>>,
    /// Results of steps that ended, waiting for the next write, in order.
    carried: Mutex<Vec<(StepRecord, NewEvent)>>,
}

impl StoreSink {
    pub(crate) fn new(store: Arc<Store>, run_id: &str) -> StoreSink {
        StoreSink {
            store,
            run_id: run_id.to_string(),
            deferred: Mutex::default(),
            carried: Mutex::default(),
        }
    }

    /// Holds back a step's result (`record`, its `event`) until the next
    /// write, which the walk makes sure comes at once (see
    /// `exec::forward`), or [`StoreSink::flush`].
    pub(crate) fn carry(&self, record: StepRecord, event: NewEvent) {
        if let Ok(mut carried) = self.carried.lock() {
            carried.push((record, event));
        }
    }

    /// Writes the carried results, if any.
    pub(crate) async fn flush(&self) -> Result<(), StateError> {
        self.put_all(Vec::new()).await
    }

    /// Checkpoints `record` with `event`, after the carried results, in one
    /// commit.
    pub(crate) async fn put(&self, record: &StepRecord, event: &NewEvent) -> Result<(), StateError> {
        if self.carried.lock().is_ok_and(|carried| carried.is_empty()) {
            return self.store.put_step(&self.run_id, record, event).await;
        }
        self.put_all(vec![(record.clone(), event.clone())]).await
    }

    /// Writes the carried results, then `checkpoints`, in one commit.
    async fn put_all(&self, checkpoints: Vec<(StepRecord, NewEvent)>) -> Result<(), StateError> {
        let mut all = self
            .carried
            .lock()
            .map(|mut carried| std::mem::take(&mut *carried))
            .unwrap_or_default();
        all.extend(checkpoints);
        match all.as_slice() {
            [] => Ok(()),
            [(record, event)] => self.store.put_step(&self.run_id, record, event).await,
            _ => self.store.put_steps(&self.run_id, &all).await,
        }
    }

    /// Holds back `record` (the step, running) and its `event` until the
    /// step's action first saves progress or records a process: that
    /// write carries it. Only for a kind that writes before its first
    /// effect ([`crate::steps::Action::writes_before_effects`]); the
    /// engine calls [`StoreSink::flush_running`] when the action returns.
    pub(crate) fn defer_running(&self, record: StepRecord, event: NewEvent) {
        if let Ok(mut deferred) = self.deferred.lock() {
            deferred.insert(record.step_id.clone(), (record, event));
        }
    }

    /// Writes the deferred `running` checkpoint of `step_id`, if the action
    /// returned without writing (it failed before it started, say).
    pub(crate) async fn flush_running(&self, step_id: &str) -> Result<(), StateError> {
        match self.take(step_id) {
            Some(running) => self.put_all(vec![running]).await,
            None => Ok(()),
        }
    }

    fn take(&self, step_id: &str) -> Option<(StepRecord, NewEvent)> {
        self.deferred.lock().ok()?.remove(step_id)
    }
}

impl StoreSink {
    /// The step's first write carries its deferred `running` record,
    /// amended by `amend`; any later one is `alone`.
    async fn write(
        &self,
        step_id: &str,
        amend: impl FnOnce(&mut StepRecord),
        alone: impl Future<Output = Result<(), StateError>>,
    ) -> Result<(), String> {
        let written = match self.take(step_id) {
            Some((mut record, event)) => {
                amend(&mut record);
                self.put_all(vec![(record, event)]).await
            }
            None => alone.await,
        };
        written.map_err(|e| e.to_string())
    }
}

impl ProgressSink for StoreSink {
    fn save<'a>(&'a self, step_id: &'a str, progress: &'a Value) -> SinkFuture<'a> {
        Box::pin(self.write(
            step_id,
            move |record| record.progress = Some(progress.clone()),
            self.store.save_progress(&self.run_id, step_id, progress),
        ))
    }

    fn record_process<'a>(&'a self, step_id: &'a str, group: Option<&'a ProcessGroup>) -> SinkFuture<'a> {
        Box::pin(self.write(
            step_id,
            move |record| record.process = group.cloned(),
            self.store.set_process(&self.run_id, step_id, group),
        ))
    }
}
