//! The engine's [`ProgressSink`]: a step's progress and process group,
//! written to the run's state.

use std::sync::Arc;

use serde_json::Value;

use crate::state::{Storage, Store};
use crate::steps::context::{ProgressSink, SinkFuture};
use crate::supervise::ProcessGroup;

pub(crate) struct StoreSink {
    pub(crate) store: Arc<Store>,
    pub(crate) run_id: String,
}

impl ProgressSink for StoreSink {
    fn save<'a>(&'a self, step_id: &'a str, progress: &'a Value) -> SinkFuture<'a> {
        Box::pin(async move {
            self.store
                .save_progress(&self.run_id, step_id, progress)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn record_process<'a>(&'a self, step_id: &'a str, group: Option<&'a ProcessGroup>) -> SinkFuture<'a> {
        Box::pin(async move {
            self.store
                .set_process(&self.run_id, step_id, group)
                .await
                .map_err(|e| e.to_string())
        })
    }
}
