//! Engine events as plain text lines, shared by the plain and the
//! progress-bar reporters.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::exec::event::{Beat, Event};
use crate::state::{RunOutcome, StepStatus};

/// The lines that tell what happened; `None` for events that only move
/// progress (a step starting).
pub(crate) fn lines(event: &Event) -> Option<Vec<String>> {
    let lines = match event {
        Event::RunStarted {
            run_id,
            plan,
            steps,
            to_run,
            resumed,
            parallelism,
        } => {
            let verb = if *resumed { "resuming" } else { "starting" };
            vec![format!(
                "{verb} run {run_id} of `{plan}`: {to_run} of {steps} steps to run, up to {parallelism} at once"
            )]
        }
        Event::Notice { message } => vec![format!("note: {message}")],
        Event::PreflightChecked {
            id,
            description,
            passed,
            error,
            help,
        } => preflight(id, description.as_deref(), *passed, error.as_deref(), help.as_deref()),
        Event::StepStarted { .. } | Event::StepRunning { .. } => return None,
        Event::StepRetrying {
            step,
            attempt,
            delay_ms,
            error,
        } => vec![format!(
            "retry   {step}: attempt {attempt} failed ({error}); trying again in {}",
            seconds(*delay_ms)
        )],
        Event::StepFinished {
            step,
            status,
            elapsed_ms,
            error,
            log_tail,
            help,
            log,
        } => finished(
            step,
            *status,
            *elapsed_ms,
            error.as_deref(),
            log_tail,
            help.as_deref(),
            log.as_deref(),
        ),
        Event::StepSettled {
            step,
            attempt,
            asked,
            found,
            verdict,
        } => settled(step, *attempt, asked, found, verdict),
        Event::Heartbeat { steps } => vec![heartbeat(steps)],
        Event::StepsBlocked { by, steps } => vec![format!("blocked {} (by `{by}`)", steps.join(", "))],
        Event::AwaitingApproval { step, instructions } => awaiting_approval(step, instructions),
        Event::RollbackStarted {
            run_id,
            steps,
            without_rollback,
        } => rollback_started(run_id, *steps, without_rollback),
        Event::RunFinished {
            run_id,
            outcome,
            counts,
            elapsed_ms,
        } => vec![summary(run_id, *outcome, counts, *elapsed_ms)],
    };
    Some(lines)
}

/// A preflight probe's result, then its help lines.
fn preflight(
    id: &str,
    description: Option<&str>,
    passed: bool,
    error: Option<&str>,
    help: Option<&str>,
) -> Vec<String> {
    let what = description.map_or_else(String::new, |d| format!(" — {d}"));
    let mut lines = vec![if passed {
        format!("preflight ok      {id}{what}")
    } else {
        format!("preflight FAILED  {id}{what}: {}", error.unwrap_or_default())
    }];
    lines.extend(help.iter().map(|help| format!("  help: {help}")));
    lines
}

/// What settling found about an in-doubt step, and what follows from it.
fn settled(step: &str, attempt: u32, asked: &str, found: &str, verdict: &str) -> Vec<String> {
    let then = match verdict {
        "took_effect" => "took effect: not run again (its `verify` still runs)",
        "no_effect" => "no effect: runs again",
        "partly" => "took effect in part: goes on where it stopped",
        _ => "cannot tell",
    };
    vec![
        format!("settled {step} (attempt {attempt}): {then}"),
        format!("  asked {asked}"),
        format!("  found {found}"),
    ]
}

/// The one line naming the steps still running, with their time (and a
/// table copy's rows and rate).
fn heartbeat(steps: &[Beat]) -> String {
    let running: Vec<String> = steps
        .iter()
        .map(|beat| {
            let mut text = format!("{} ({}s", beat.step, beat.elapsed_ms / 1000);
            if let Some(rows) = beat.rows {
                text.push_str(&format!(", {rows} rows copied"));
            }
            if let Some(rate) = beat.rows_per_second {
                text.push_str(&format!(", {rate} rows/s"));
            }
            text + ")"
        })
        .collect();
    format!("still running: {}", running.join(", "))
}

/// A manual step waiting: its instructions, then how to approve it.
fn awaiting_approval(step: &str, instructions: &str) -> Vec<String> {
    let mut lines = vec![format!("waiting {step}: a manual step needs an operator")];
    lines.extend(instructions.lines().map(|line| format!("  | {line}")));
    lines.push(format!("  hint: when done, run `planrun resume --approve {step}`"));
    lines
}

/// A rollback starting, and the steps it cannot undo.
fn rollback_started(run_id: &str, steps: usize, without_rollback: &[String]) -> Vec<String> {
    let mut lines = vec![format!("rolling back run {run_id}: {steps} step(s) to undo")];
    if !without_rollback.is_empty() {
        lines.push(format!("  not undone (no rollback): {}", without_rollback.join(", ")));
    }
    lines
}

fn finished(
    step: &str,
    status: StepStatus,
    elapsed_ms: u64,
    error: Option<&str>,
    log_tail: &[String],
    help: Option<&str>,
    log: Option<&str>,
) -> Vec<String> {
    let time = seconds(elapsed_ms);
    match status {
        StepStatus::Succeeded => vec![format!("ok      {step} ({time})")],
        StepStatus::Satisfied => vec![format!("skip    {step}: already done (`check` passed)")],
        StepStatus::RolledBack => vec![format!("undone  {step} ({time})")],
        StepStatus::Interrupted => vec![format!("stopped {step} ({time}): interrupted")],
        StepStatus::RollingBack => vec![format!("stopped {step}: rollback interrupted")],
        StepStatus::Failed | StepStatus::RollbackFailed => {
            let word = if status == StepStatus::Failed {
                "FAILED "
            } else {
                "UNDO FAILED"
            };
            let mut lines = vec![format!("{word} {step} ({time}): {}", error.unwrap_or("failed"))];
            lines.extend(log_tail.iter().map(|line| format!("  | {line}")));
            if let Some(log) = log {
                lines.push(format!("  log: {log}"));
            }
            if let Some(help) = help {
                lines.push(format!("  help: {help}"));
            }
            lines
        }
        other => vec![format!("{other} {step}")],
    }
}

pub(crate) fn summary(
    run_id: &str,
    outcome: RunOutcome,
    counts: &BTreeMap<StepStatus, usize>,
    elapsed_ms: u64,
) -> String {
    let mut out = format!("run {run_id}: {outcome} in {}", seconds(elapsed_ms));
    let parts: Vec<String> = counts.iter().map(|(status, n)| format!("{n} {status}")).collect();
    if !parts.is_empty() {
        let _ = write!(out, " ({})", parts.join(", "));
    }
    let hint = match outcome {
        RunOutcome::Failed | RunOutcome::Interrupted => {
            Some("hint: fix the cause, then `planrun resume`; or undo with `planrun rollback`")
        }
        RunOutcome::Paused => Some("hint: approve with `planrun resume --approve STEP` (or `--yes`)"),
        RunOutcome::RollingBack => Some("hint: run `planrun rollback` again to finish the rollback"),
        RunOutcome::RollbackFailed => Some("hint: fix the cause, then run `planrun rollback` again"),
        _ => None,
    };
    if let Some(hint) = hint {
        out.push('\n');
        out.push_str(hint);
    }
    out
}

pub(crate) fn seconds(millis: u64) -> String {
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{:.1}s", millis as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", millis / 60_000, (millis % 60_000) / 1000)
    }
}
