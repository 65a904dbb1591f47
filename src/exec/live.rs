//! `plan --live`: what applying would do now, found out read-only. Every
//! preflight probe and every step's `check` is evaluated; nothing runs,
//! nothing is written (no state, no logs, no outputs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::exec::approval::Approvals;
use crate::exec::context::{Progress, StepContext};
use crate::exec::log::StepLog;
use crate::exec::redact::Redactor;
use crate::exec::resolve::Scope;
use crate::exec::secrets::Secrets;
use crate::plan::Compiled;
use crate::steps::Probe;
use crate::steps::outcome::StepError;

/// How long one probe may take in a dry run.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct LiveReport {
    /// Each preflight probe's result, in plan order.
    pub preflight: Vec<(String, Result<(), String>)>,
    /// By step index: `None` without a `check`; `Ok` when it passes (the
    /// step would be skipped); `Err` with why it would run.
    pub checks: Vec<Option<Result<(), String>>>,
}

pub async fn evaluate(compiled: &Compiled, secrets: &Secrets, work_dir: PathBuf, parallelism: usize) -> LiveReport {
    let redactor = Arc::new(Redactor::new(secrets.values().cloned()));
    let probe = |name: String, probe: Probe| {
        let (redactor, work_dir) = (redactor.clone(), work_dir.clone());
        async move {
            let outputs = HashMap::new();
            let scope = Scope {
                secrets,
                outputs: &outputs,
            };
            let probe = scope
                .resolve(&probe)
                .map_err(|e| format!("cannot evaluate it now: {e}"))?;
            let ctx = StepContext {
                run_id: "dry-run".into(),
                step_id: name,
                work_dir,
                log: Arc::new(StepLog::discard(redactor.clone())),
                cancel: CancellationToken::new(),
                stop_now: CancellationToken::new(),
                kill_grace: Duration::from_secs(2),
                timeout: PROBE_TIMEOUT,
                outputs_path: None,
                progress: Progress {
                    store: None,
                    run_id: String::new(),
                    step_id: String::new(),
                    saved: Arc::new(Mutex::new(None)),
                    attempt: 0,
                },
                approvals: Arc::new(Approvals::new(false, [], None)),
            };
            let result = match tokio::time::timeout(PROBE_TIMEOUT, probe.inspect(&ctx)).await {
                Ok(result) => result,
                Err(_) => {
                    ctx.cancel.cancel();
                    Err(StepError::failed("timed out"))
                }
            };
            result.map_err(|error| match error {
                StepError::Failed { message, .. } => redactor.redact(&message).into_owned(),
                StepError::Cancelled => "stopped".into(),
                StepError::NeedsApproval => "needs approval".into(),
            })
        }
    };
    let plan = &compiled.plan;
    let preflight = futures_util::stream::iter(plan.preflight.iter().map(|p| {
        let id = p.id.clone();
        let run = probe(format!("preflight.{id}"), p.probe.get_ref().clone());
        async move { (id, run.await) }
    }))
    .buffered(parallelism.max(1))
    .collect()
    .await;
    let checks = futures_util::stream::iter(plan.steps.iter().map(|step| {
        let check = step.check.as_ref().map(|c| probe(step.id.clone(), c.get_ref().clone()));
        async move {
            match check {
                Some(run) => Some(run.await),
                None => None,
            }
        }
    }))
    .buffered(parallelism.max(1))
    .collect()
    .await;
    LiveReport { preflight, checks }
}
