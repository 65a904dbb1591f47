//! What every step of one command shares: the plan, the store, secrets,
//! outputs of finished steps, where logs go, and the interrupt signal.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::compile::Compiled;
use crate::exec::approval::Approvals;
use crate::exec::event::{Event, Reporter};
use crate::exec::interrupt::Interrupt;
use crate::exec::resolve::Scope;
use crate::exec::secrets::Secrets;
use crate::exec::sink::StoreSink;
use crate::redact::Redactor;
use crate::state::Store;
use crate::steps::context::ProgressSink;
use crate::steps::context::{Progress, StepContext};
use crate::steps::log::StepLog;

pub(crate) struct Runtime {
    pub compiled: Arc<Compiled>,
    pub store: Arc<Store>,
    pub run_id: String,
    pub reporter: Arc<dyn Reporter>,
    pub secrets: Secrets,
    pub redactor: Arc<Redactor>,
    /// Outputs of finished steps, for `${steps.ID.outputs.KEY}`.
    pub outputs: RwLock<HashMap<String, IndexMap<String, String>>>,
    /// `<logs>/<run id>/`.
    pub run_logs: PathBuf,
    pub work_dir: PathBuf,
    /// Stop running steps now (a second SIGINT / SIGTERM, the first one's
    /// grace ran out, or the lock was lost).
    pub interrupt: CancellationToken,
    /// Start nothing new (the first SIGINT / SIGTERM; also fired by `interrupt`).
    pub draining: CancellationToken,
    pub approvals: Arc<Approvals>,
    /// Where kinds save progress: this run's state.
    pub(crate) sink: Arc<StoreSink>,
    pub kill_grace: Duration,
    /// Steps whose interrupted attempt was found to have taken effect
    /// (see `exec::settle`): what it returned, by step id. Their action
    /// is not run again.
    pub(crate) settled: Mutex<HashMap<String, crate::steps::outcome::Applied>>,
    /// The steps running now: since when, and their progress (for heartbeats).
    pub(crate) running: crate::exec::heartbeat::RunningSteps,
    pub heartbeat: Duration,
}

impl Runtime {
    /// What the settled attempt of `step_id` returned, if it took effect.
    pub(crate) fn take_settled(&self, step_id: &str) -> Option<crate::steps::outcome::Applied> {
        self.settled.lock().ok()?.remove(step_id)
    }

    /// Whether `step_id`'s interrupted attempt was settled as taken effect.
    pub(crate) fn is_settled(&self, step_id: &str) -> bool {
        self.settled.lock().is_ok_and(|settled| settled.contains_key(step_id))
    }

    pub(crate) fn report(&self, event: Event) {
        self.reporter.report(&event);
    }

    /// The log of one step (or preflight check, named `preflight.ID`).
    pub(crate) fn open_log(&self, name: &str) -> Arc<StepLog> {
        Arc::new(StepLog::open(&self.log_path(name), self.redactor.clone()))
    }

    /// A context for one probe or action of a step.
    pub(crate) fn context(
        &self,
        name: &str,
        log: &Arc<StepLog>,
        progress: &Arc<Mutex<Option<Value>>>,
        cancel: CancellationToken,
    ) -> StepContext {
        StepContext {
            run_id: self.run_id.clone(),
            step_id: name.to_string(),
            work_dir: self.work_dir.clone(),
            log: log.clone(),
            cancel,
            stop_now: self.interrupt.clone(),
            kill_grace: self.kill_grace,
            timeout: crate::plan::model::DEFAULT_TIMEOUT.std(),
            outputs_path: Some(self.run_logs.join(format!("{name}.outputs"))),
            progress: Progress {
                sink: Some(self.sink.clone() as Arc<dyn ProgressSink>),
                step_id: name.to_string(),
                saved: progress.clone(),
                attempt: 0,
                recorded: Arc::default(),
            },
            recorded_process: None,
            concurrent: self.running.lock().is_ok_and(|running| running.len() > 1),
        }
    }

    pub(crate) fn log_path(&self, name: &str) -> PathBuf {
        self.run_logs.join(format!("{name}.log"))
    }

    /// `value` with secrets, env and step outputs filled in.
    pub(crate) fn resolve<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<T, String> {
        let outputs = self.outputs.read().map_err(|_| "outputs are unavailable".to_string())?;
        Scope {
            secrets: &self.secrets,
            outputs: &outputs,
        }
        .resolve(value)
    }

    pub(crate) fn set_outputs(&self, step_id: &str, outputs: IndexMap<String, String>) {
        if let Ok(mut all) = self.outputs.write() {
            all.insert(step_id.to_string(), outputs);
        }
    }
}

/// How a command wants the engine to behave.
pub(crate) struct Settings {
    pub reporter: Arc<dyn Reporter>,
    pub interrupt: Interrupt,
    pub approvals: Arc<Approvals>,
    /// `--parallelism`, else the plan's `parallelism`, else 4.
    pub parallelism: Option<usize>,
    pub keep_going: bool,
    pub kill_grace: Duration,
    /// How often [`Event::Heartbeat`] reports long-running steps (zero: never).
    pub heartbeat: Duration,
    pub logs_dir: PathBuf,
    pub work_dir: PathBuf,
}

pub(crate) const DEFAULT_PARALLELISM: usize = 4;

impl Runtime {
    pub(crate) fn new(
        compiled: Arc<Compiled>,
        store: Arc<Store>,
        run_id: &str,
        secrets: Secrets,
        settings: &Settings,
    ) -> Result<Runtime, crate::exec::error::ExecError> {
        let run_logs = settings.logs_dir.join(run_id);
        crate::state::location::create_dir(&run_logs).map_err(|error| {
            crate::exec::error::ExecError::Usage(format!("cannot create `{}`: {error}", run_logs.display()))
        })?;
        let redactor = Arc::new(Redactor::new(
            secrets.values().cloned().chain(compiled.plan.typed_passwords()),
        ));
        Ok(Runtime {
            compiled,
            sink: Arc::new(StoreSink::new(Arc::clone(&store), run_id)),
            store,
            run_id: run_id.to_string(),
            reporter: settings.reporter.clone(),
            redactor,
            secrets,
            outputs: RwLock::new(HashMap::new()),
            run_logs,
            work_dir: settings.work_dir.clone(),
            interrupt: settings.interrupt.stop.clone(),
            draining: settings.interrupt.draining.clone(),
            approvals: settings.approvals.clone(),

            kill_grace: settings.kill_grace,
            settled: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            heartbeat: settings.heartbeat,
        })
    }

    pub(crate) fn parallelism(&self, settings: &Settings) -> usize {
        settings
            .parallelism
            .or(self.compiled.plan.parallelism)
            .unwrap_or(DEFAULT_PARALLELISM)
            .max(1)
    }

    /// Records the run's outcome and reports the end of the command.
    pub(crate) async fn finish(
        &self,
        records: &[crate::state::StepRecord],
        outcome: crate::state::RunOutcome,
        started: tokio::time::Instant,
    ) -> Result<crate::state::RunOutcome, crate::state::StateError> {
        use crate::state::Storage;
        let mut counts = std::collections::BTreeMap::new();
        for record in records {
            *counts.entry(record.status).or_insert(0) += 1;
        }
        let event = crate::state::NewEvent::run("run_finished", outcome.as_str());
        self.store.set_outcome(&self.run_id, outcome, &event).await?;
        self.report(Event::RunFinished {
            run_id: self.run_id.clone(),
            outcome,
            counts,
            elapsed_ms: crate::exec::step::millis(started.elapsed()),
        });
        Ok(outcome)
    }
}
