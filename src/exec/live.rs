//! `plan --live`: what applying would do now, found out read-only. Every
//! preflight probe and every step's `check` is evaluated; nothing runs,
//! nothing is written (no state, no logs, no outputs).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::compile::Compiled;
use crate::exec::resolve::Scope;
use crate::exec::secrets::Secrets;
use crate::redact::Redactor;
use crate::steps::Probe;
use crate::steps::context::{Progress, StepContext};
use crate::steps::log::StepLog;
use crate::steps::outcome::StepError;

/// How long one probe may take in a dry run.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct LiveReport {
    /// Each preflight probe's result, in plan order.
    pub preflight: Vec<(String, Result<(), String>)>,
    /// By step index: `None` without a `check`; `Ok` when it passes (the
    /// step would be skipped); `Err` with why it would run.
    pub checks: Vec<Option<Result<(), String>>>,
}

pub(crate) async fn evaluate(
    compiled: &Compiled,
    secrets: &Secrets,
    work_dir: PathBuf,
    parallelism: usize,
) -> LiveReport {
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
                    sink: None,
                    step_id: String::new(),
                    saved: Arc::new(Mutex::new(None)),
                    attempt: 0,
                    recorded: Arc::default(),
                },
                recorded_process: None,
                concurrent: false,
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

/// What `plan --live` predicts apply (or resume) would do with a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Prediction {
    /// Done in the unfinished run: it will not run again.
    Done,
    /// Its `check` passes now and nothing before it would run: skipped.
    Satisfied,
    /// It would run: no `check`, or the check fails (why).
    WouldRun(Option<String>),
    /// Its `check` reads a world that steps before it would change first:
    /// what it says now (`Ok`: passes) does not tell. `after`: the nearest
    /// of those steps.
    CannotKnow {
        now: Result<(), String>,
        after: Vec<String>,
    },
}

/// The nearest steps that would run first, named in a prediction.
const NAMED: usize = 3;

/// Predictions by step index, from the steps `done` in the unfinished run
/// and the `checks` evaluated now. A step whose check passes is skipped
/// only if nothing it depends on would run before it; otherwise the
/// check's answer now says nothing about its answer then.
pub(crate) fn predict(compiled: &Compiled, done: &[bool], checks: &[Option<Result<(), String>>]) -> Vec<Prediction> {
    let dag = &compiled.dag;
    let steps = &compiled.plan.steps;
    let count = steps.len();
    // By index: whether the step may run, and the nearest steps before it that may.
    let mut may_run = vec![false; count];
    let mut runners_before: Vec<Vec<usize>> = vec![Vec::new(); count];
    let mut predictions = vec![Prediction::Done; count];
    for &index in dag.order() {
        let mut before: Vec<usize> = Vec::new();
        // The nearest steps before this one that would run and change
        // something (through gates and probe-only steps).
        for dependency in dag.dependencies(index) {
            let nearest = if may_run[dependency] {
                vec![dependency]
            } else {
                runners_before[dependency].clone()
            };
            for runner in nearest {
                if !before.contains(&runner) {
                    before.push(runner);
                }
            }
        }
        predictions[index] = if done.get(index).copied().unwrap_or(false) {
            Prediction::Done
        } else {
            match checks.get(index).cloned().flatten() {
                None => Prediction::WouldRun(None),
                Some(now) if !before.is_empty() => Prediction::CannotKnow {
                    now,
                    after: before.iter().take(NAMED).map(|&i| steps[i].id.clone()).collect(),
                },
                Some(Ok(())) => Prediction::Satisfied,
                Some(Err(reason)) => Prediction::WouldRun(Some(reason)),
            }
        };
        // Only a step that would change something can change what a later
        // check reads: a manual gate, or a step of probes only, cannot.
        let changes = steps[index].run.as_ref().is_some_and(|run| run.get_ref().is_mutating());
        may_run[index] = changes && !matches!(predictions[index], Prediction::Done | Prediction::Satisfied);
        runners_before[index] = before;
    }
    predictions
}

impl std::fmt::Display for Prediction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Prediction::Done => f.write_str("done"),
            Prediction::Satisfied => f.write_str("satisfied now (check passes: run would be skipped)"),
            Prediction::WouldRun(None) => f.write_str("would run"),
            Prediction::WouldRun(Some(reason)) => write!(f, "would run (check: {reason})"),
            Prediction::CannotKnow { now, after } => {
                let now = match now {
                    Ok(()) => "passes now".to_string(),
                    Err(reason) => format!("now: {reason}"),
                };
                let after: Vec<String> = after.iter().map(|id| format!("`{id}`")).collect();
                write!(
                    f,
                    "cannot know (check {now}, but {} would run first and may change what it reads)",
                    after.join(", ")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(text: &str) -> Compiled {
        let source = crate::plan::Source::new("plan.toml", text);
        crate::compile::compile(&source, &[], false).expect("valid")
    }

    /// `plan --live` said "would run" for a step whose check reads files an
    /// ancestor that would run brings in; apply then found it done.
    #[test]
    fn a_check_behind_a_step_that_would_run_cannot_be_known() {
        let plan = compiled(
            r#"format = 1
name = "p"
[steps.adopt]
run = { kind = "shell", command = "true" }
check = { kind = "shell", command = "false" }
[steps.edit]
depends_on = ["adopt"]
run = { kind = "shell", command = "true" }
check = { kind = "shell", command = "false" }
[steps.ready]
run = { kind = "shell", command = "true" }
check = { kind = "shell", command = "true" }
[steps.after-ready]
depends_on = ["ready"]
run = { kind = "shell", command = "true" }
check = { kind = "shell", command = "true" }
[steps.late]
depends_on = ["edit", "after-ready"]
run = { kind = "shell", command = "true" }
[steps.gate]
run = { kind = "manual", instructions = "go" }
[steps.behind-gate]
depends_on = ["gate"]
run = { kind = "shell", command = "true" }
check = { kind = "shell", command = "true" }
"#,
        );
        let index = |id: &str| plan.plan.step_index(id).expect("step");
        let mut checks = vec![None; 7];
        checks[index("adopt")] = Some(Err("exit code 1".to_string()));
        checks[index("edit")] = Some(Err("exit code 1".to_string()));
        checks[index("ready")] = Some(Ok(()));
        checks[index("after-ready")] = Some(Ok(()));
        checks[index("behind-gate")] = Some(Ok(()));
        let predictions = predict(&plan, &[false; 7], &checks);
        assert_eq!(
            predictions[index("adopt")],
            Prediction::WouldRun(Some("exit code 1".into()))
        );
        assert_eq!(
            predictions[index("edit")],
            Prediction::CannotKnow {
                now: Err("exit code 1".into()),
                after: vec!["adopt".into()]
            }
        );
        assert_eq!(predictions[index("ready")], Prediction::Satisfied);
        assert_eq!(
            predictions[index("after-ready")],
            Prediction::Satisfied,
            "nothing before it runs"
        );
        assert_eq!(predictions[index("late")], Prediction::WouldRun(None));
        assert_eq!(
            predictions[index("behind-gate")],
            Prediction::Satisfied,
            "a manual gate changes nothing a check reads"
        );
        let mut done = [false; 7];
        done[index("adopt")] = true;
        let predictions = predict(&plan, &done, &checks);
        assert_eq!(predictions[index("adopt")], Prediction::Done);
        assert_eq!(
            predictions[index("edit")],
            Prediction::WouldRun(Some("exit code 1".into())),
            "a done step changes nothing any more"
        );
    }
}
