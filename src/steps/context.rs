//! What a step kind gets from the engine while it runs: where to log, when
//! to stop, where to write outputs, how to save progress. Kinds never
//! print and never touch the store: they save through a [`ProgressSink`]
//! the engine provides.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::steps::log::StepLog;
use crate::supervise::ProcessGroup;

pub(crate) struct StepContext {
    pub run_id: String,
    pub step_id: String,
    /// Where planrun was started; relative paths in the plan start here.
    pub work_dir: PathBuf,
    pub log: Arc<StepLog>,
    /// Cancelled on timeout or interrupt: stop, and clean up what was started.
    pub cancel: CancellationToken,
    /// Cancelled when planrun must stop its steps at once (a second
    /// interrupt, or the first one's grace ran out): no graceful SIGTERM.
    pub stop_now: CancellationToken,
    /// How long a stopped process gets between SIGTERM and SIGKILL; also
    /// how long settling waits for a session an interrupted attempt left.
    pub kill_grace: Duration,
    /// The step's timeout (a server-side bound like `statement_timeout`).
    pub timeout: Duration,
    /// The file a shell step writes `KEY=value` lines to; `None` in a dry
    /// run, where outputs go to `/dev/null`.
    pub outputs_path: Option<PathBuf>,
    pub progress: Progress,
    /// Settling only: the process group the interrupted attempt recorded
    /// before its command was let go (`None`: it never was).
    pub recorded_process: Option<ProcessGroup>,
    /// Whether other steps run beside this one: blocking work (starting a
    /// process) then goes to a blocking thread instead of stalling them.
    pub concurrent: bool,
}

impl StepContext {
    /// `path` relative to the working directory.
    pub(crate) fn path(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.work_dir.join(path)
        }
    }
}

/// Where a step's progress and process group go: the state store, behind
/// the engine. Boxed futures: a `Box` per write costs nothing next to it.
pub(crate) trait ProgressSink: Send + Sync {
    /// Durably records how far the step's action got.
    fn save<'a>(&'a self, step_id: &'a str, progress: &'a Value) -> SinkFuture<'a>;
    /// Durably records the process group the step's action runs in.
    fn record_process<'a>(&'a self, step_id: &'a str, group: Option<&'a ProcessGroup>) -> SinkFuture<'a>;
}

/// What a [`ProgressSink`] write returns.
pub(crate) type SinkFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;

/// Saved progress of a long action, checkpointed in the state store and
/// shared by every attempt of the step. Kinds keep named entries in it
/// (`undo`, `evidence`, a copy's checkpoint) so they do not overwrite
/// each other.
#[derive(Clone)]
pub(crate) struct Progress {
    /// `None` in a dry run, where nothing may be written.
    pub(crate) sink: Option<Arc<dyn ProgressSink>>,
    pub(crate) step_id: String,
    pub(crate) saved: Arc<Mutex<Option<Value>>>,
    /// The attempt this context serves (the step record's `attempts`
    /// once it is running; 0 for probes).
    pub(crate) attempt: u32,
    /// The process group this context's action recorded, if any.
    pub(crate) recorded: Arc<Mutex<Option<ProcessGroup>>>,
}

impl Progress {
    /// What an earlier attempt (or an interrupted run) saved.
    pub(crate) fn saved(&self) -> Option<Value> {
        self.saved.lock().ok().and_then(|saved| saved.clone())
    }

    /// Durably records the process group the step's action runs in (before
    /// its command starts), or that it has none any more.
    pub(crate) async fn record_process(&self, group: Option<&ProcessGroup>) -> Result<(), String> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        sink.record_process(&self.step_id, group)
            .await
            .map_err(|e| format!("cannot record the step's processes: {e}"))?;
        if let Ok(mut recorded) = self.recorded.lock() {
            recorded.clone_from(&group.cloned());
        }
        Ok(())
    }

    /// The process group this context's action recorded, if any.
    pub(crate) fn recorded_process(&self) -> Option<ProcessGroup> {
        self.recorded.lock().ok().and_then(|recorded| recorded.clone())
    }

    /// Durably records how far the action got.
    pub(crate) async fn save(&self, value: &Value) -> Result<(), String> {
        let Some(sink) = &self.sink else {
            return Err("a dry run cannot save progress".into());
        };
        sink.save(&self.step_id, value)
            .await
            .map_err(|e| format!("cannot save progress: {e}"))?;
        if let Ok(mut saved) = self.saved.lock() {
            *saved = Some(value.clone());
        }
        Ok(())
    }

    /// The attempt of the step's `run` this context serves.
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Durably records `value` as the entry `key` of the saved progress,
    /// keeping the other entries.
    pub(crate) async fn save_entry(&self, key: &str, value: Value) -> Result<(), String> {
        self.save_entries(vec![(key, value)]).await
    }

    /// [`Progress::save_entry`] for several entries, in one write.
    pub(crate) async fn save_entries(&self, entries: Vec<(&str, Value)>) -> Result<(), String> {
        let mut merged = match self.saved() {
            Some(Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        for (key, value) in entries {
            merged.insert(key.to_string(), value);
        }
        self.save(&Value::Object(merged)).await
    }
}
