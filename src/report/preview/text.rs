//! The preview for a terminal: phases in order, each step with its place in
//! the execution order, its level, what it waits for and what it will run.

use std::fmt::Write;

use crate::plan::model::{Retry, Step};
use crate::report::plural;
use crate::report::preview::summaries::KindSummaries;
use crate::report::preview::summary::{Summary, Undo};
use crate::report::preview::{PreviewInput, warnings};

/// Width of the slot names (`precondition` is the longest), so the kinds line up.
const SLOT_WIDTH: usize = 12;
const INDENT: &str = "      ";

pub(super) fn render(input: &PreviewInput<'_>) -> String {
    let compiled = input.compiled;
    let plan = &compiled.plan;
    let shown = KindSummaries::of(plan);
    let mut out = String::new();
    let _ = writeln!(out, "Plan `{}` ({})", plan.name, plan.source.name);
    if let Some(review) = input.review {
        let _ = writeln!(out, "Review hash: sha256:{} (`apply --expect-hash`)", review.hash);
    }
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "{}", description.trim());
    }
    if !plan.preflight.is_empty() {
        out.push_str("\nPreflight, checked before any step runs\n");
        let id_width = plan.preflight.iter().map(|p| p.id.len()).max().unwrap_or(0);
        let kind_width = plan
            .preflight
            .iter()
            .map(|p| p.probe.get_ref().kind().len())
            .max()
            .unwrap_or(0);
        for preflight in &plan.preflight {
            let probe = preflight.probe.get_ref();
            let _ = writeln!(
                out,
                "  {:<id_width$}  {:<kind_width$}  {}",
                preflight.id,
                probe.kind(),
                shown.probe(probe)
            );
            if let Some(description) = &preflight.description {
                let _ = writeln!(out, "  {:<id_width$}  {}", "", description.trim());
            }
        }
    }
    let positions = input.positions();
    for (phase, steps) in compiled.steps_by_phase() {
        let _ = writeln!(out, "\nPhase `{phase}`");
        for i in steps {
            out.push('\n');
            step(&mut out, input, shown, i, positions[i] + 1);
        }
    }
    let warnings = warnings(compiled);
    if !warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for warning in &warnings {
            let _ = writeln!(
                out,
                "  {}:{}:{}  {}  {}",
                warning.file, warning.line, warning.column, warning.code, warning.message
            );
        }
    }
    let risky = super::risky(compiled);
    if !risky.is_empty() {
        out.push_str("\nRisky steps (review them; `--deny-risky` refuses them)\n");
        let width = risky.iter().map(|(id, _)| id.len()).max().unwrap_or(0);
        for (id, reasons) in &risky {
            let _ = writeln!(out, "  {id:<width$}  {reasons}");
        }
    }
    summary(&mut out, &Summary::of(compiled));
    out.push_str("\nNothing was run: this is a preview.\n");
    out
}

fn step(out: &mut String, input: &PreviewInput<'_>, shown: KindSummaries, index: usize, position: usize) {
    let compiled = input.compiled;
    let step = &compiled.plan.steps[index];
    let mut heading = format!("level {}", compiled.dag.level(index));
    let dependencies: Vec<&str> = step.depends_on.iter().map(|d| d.get_ref().as_str()).collect();
    if !dependencies.is_empty() {
        let _ = write!(heading, ", after {}", dependencies.join(", "));
    }
    let _ = write!(out, "  [{position}] {}  ({heading})", step.id);
    if let Some(state) = input.state(index) {
        let _ = write!(out, "  [{state}]");
    }
    out.push('\n');
    if let Some(description) = &step.description {
        let _ = writeln!(out, "{INDENT}{}", description.trim());
    }
    if let Some(check) = &step.check {
        slot(out, "check", check.get_ref().kind(), &shown.probe(check.get_ref()));
    }
    for probe in &step.preconditions {
        slot(
            out,
            "precondition",
            probe.get_ref().kind(),
            &shown.probe(probe.get_ref()),
        );
    }
    if let Some(run) = &step.run {
        slot(out, "run", run.get_ref().kind(), &shown.action(run.get_ref()));
    }
    for probe in &step.verify {
        slot(out, "verify", probe.get_ref().kind(), &shown.probe(probe.get_ref()));
    }
    rollback(out, step, shown);
    let _ = writeln!(out, "{INDENT}{}", limits(step));
    if let Some(help) = &step.help {
        let _ = writeln!(out, "{INDENT}help: {}", help.trim());
    }
}

/// `rollback  shell  rm -f x`; continuation lines of a multi-line command
/// are indented under its first line.
fn slot(out: &mut String, name: &str, kind: &str, summary: &str) {
    let mut lines = summary.lines();
    let _ = writeln!(
        out,
        "{INDENT}{name:<SLOT_WIDTH$}  {kind}  {}",
        lines.next().unwrap_or_default()
    );
    let continuation = " ".repeat(INDENT.len() + SLOT_WIDTH + kind.len() + 4);
    for line in lines {
        let _ = writeln!(out, "{continuation}{line}");
    }
}

fn rollback(out: &mut String, step: &Step, shown: KindSummaries) {
    match Undo::of(step) {
        Undo::Action(rollback) => slot(out, "rollback", rollback.kind(), &shown.action(rollback)),
        Undo::BuiltIn(kind) => {
            let _ = writeln!(
                out,
                "{INDENT}{:<SLOT_WIDTH$}  built in: planrun undoes `{kind}` itself",
                "rollback"
            );
        }
        Undo::Missing => {
            let _ = writeln!(
                out,
                "{INDENT}{:<SLOT_WIDTH$}  none: `planrun rollback` skips this step",
                "rollback"
            );
        }
        Undo::NotNeeded => {}
    }
}

/// `timeout 10m, 3 attempts (5s apart, backoff ×2), idempotent`.
fn limits(step: &Step) -> String {
    let mut out = format!("timeout {}, ", step.timeout);
    let Retry {
        attempts,
        delay,
        backoff,
    } = step.retry;
    if attempts == 1 {
        out.push_str("no retries");
    } else {
        let _ = write!(out, "{attempts} attempts ({delay} apart, backoff ×{backoff})");
    }
    if step.idempotent {
        out.push_str(", idempotent");
    }
    out
}

fn summary(out: &mut String, summary: &Summary<'_>) {
    out.push_str("\nSummary\n");
    let _ = writeln!(
        out,
        "  steps             {} in {}, {} change things",
        summary.steps,
        plural(summary.phases, "phase"),
        summary.mutating_steps
    );
    let _ = writeln!(
        out,
        "  parallel levels   {} (steps in one level may run together)",
        summary.levels
    );
    let _ = writeln!(
        out,
        "  critical path     {}: {}",
        plural(summary.critical_path_length, "step"),
        summary.critical_path.join(" → ")
    );
    if summary.without_rollback.is_empty() {
        out.push_str("  without rollback  none\n");
    } else {
        let _ = writeln!(
            out,
            "  without rollback  {}: {}",
            summary.without_rollback.len(),
            summary.without_rollback.join(", ")
        );
    }
    let _ = writeln!(out, "  warnings          {}", summary.warnings);
}
