//! Plan-level requirements, checked before any step runs. Every check is
//! evaluated (concurrently) and every failure reported.

use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

use crate::exec::event::Event;
use crate::exec::runtime::Runtime;
use crate::steps::outcome::StepError;

/// Runs every preflight probe; returns how many failed.
pub(crate) async fn check(rt: &Arc<Runtime>) -> usize {
    let plan = &rt.compiled.plan;
    let mut checks = JoinSet::new();
    for (index, preflight) in plan.preflight.iter().enumerate() {
        let rt = rt.clone();
        let probe = preflight.probe.get_ref().clone();
        let name = format!("preflight.{}", preflight.id);
        checks.spawn(async move {
            let ctx = rt.context(
                &name,
                &rt.open_log(&name),
                &Arc::new(Mutex::new(None)),
                // Probes only read: the first interrupt stops them.
                rt.draining.child_token(),
            );
            ctx.log.section("preflight");
            let result = match rt.resolve(&probe) {
                Ok(probe) => probe.inspect(&ctx).await,
                Err(error) => Err(StepError::failed(format!("cannot resolve it: {error}"))),
            };
            let error = match result {
                Ok(()) => None,
                Err(StepError::Failed { message, .. }) => Some(message),
                Err(StepError::Cancelled) => Some("interrupted".to_string()),
                Err(StepError::NeedsApproval) => Some("needs approval".to_string()),
            };
            (index, error.map(|e| rt.redactor.redact(&e).into_owned()))
        });
    }
    let mut results = vec![None; plan.preflight.len()];
    while let Some(Ok((index, error))) = checks.join_next().await {
        results[index] = Some(error);
    }
    let mut failures = 0;
    for (preflight, result) in plan.preflight.iter().zip(results) {
        let error = result.unwrap_or_else(|| Some("the check did not finish".into()));
        failures += usize::from(error.is_some());
        rt.report(Event::PreflightChecked {
            id: preflight.id.clone(),
            description: preflight.description.clone(),
            passed: error.is_none(),
            help: preflight.help.clone().filter(|_| error.is_some()),
            error,
        });
    }
    failures
}
