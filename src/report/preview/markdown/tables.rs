//! The tables of the Markdown preview (the preflight checks, then one per
//! phase), each rendered on its own so that it is shown whole, folded into
//! `<details>`, or replaced by a count: never cut.

use std::fmt::Write;

use crate::plan::Step;
use crate::report::plural;
use crate::report::preview::PreviewInput;
use crate::report::preview::markdown::inline::{code, escape, shorten};
use crate::report::preview::summaries::KindSummaries;
use crate::report::preview::summary::Undo;

const NONE: &str = "—";
const YES: &str = "✓";

/// The longest phase name a count line shows.
const NAME_MAX: usize = 80;

/// A table and the three ways the preview can show it.
pub(super) struct Table {
    /// Its heading when shown open (`Phase `x``).
    heading: String,
    /// Its `<details>` summary when folded (`Phase x: 3 steps`).
    summary: String,
    /// The header row, the separator and a line per row.
    rows: String,
    /// What stands for it once counted (a list item, `- Phase …`).
    pub count: String,
    /// How many steps (or checks) it has, and how many change things.
    pub items: usize,
    pub mutating: usize,
}

impl Table {
    /// Under its heading.
    pub(super) fn open(&self) -> String {
        format!("\n### {}\n\n{}", self.heading, self.rows)
    }

    /// Inside `<details>`, its heading as the summary.
    pub(super) fn folded(&self) -> String {
        format!(
            "\n<details><summary>{}</summary>\n\n{}\n</details>\n",
            self.summary, self.rows
        )
    }
}

/// The preflight checks, when the plan has any.
pub(super) fn preflight(input: &PreviewInput<'_>) -> Option<Table> {
    let plan = &input.compiled.plan;
    if plan.preflight.is_empty() {
        return None;
    }
    let shown = KindSummaries::of(plan);
    let mut rows = String::from("| check | probe | what it checks |\n|---|---|---|\n");
    for preflight in &plan.preflight {
        let probe = preflight.probe.get_ref();
        let _ = writeln!(
            rows,
            "| {} | {} | {} |",
            code(&preflight.id),
            code(probe.kind()),
            code(&shown.probe(probe))
        );
    }
    let checks = plural(plan.preflight.len(), "check");
    Some(Table {
        heading: "Preflight".to_string(),
        summary: format!("Preflight: {checks}"),
        rows,
        count: format!(
            "\n### Preflight\n\n{checks}, left out to fit a review comment: `planrun plan PLAN` lists them.\n"
        ),
        items: plan.preflight.len(),
        mutating: 0,
    })
}

/// A table per phase, in order of first appearance.
pub(super) fn phases(input: &PreviewInput<'_>) -> Vec<Table> {
    let compiled = input.compiled;
    let plan = &compiled.plan;
    let shown = KindSummaries::of(plan);
    let positions = input.positions();
    compiled
        .steps_by_phase()
        .into_iter()
        .map(|(phase, steps)| {
            let mut rows = header(input.states.is_some());
            for &i in &steps {
                row(&mut rows, input, i, positions[i], shown);
            }
            let mutating = steps
                .iter()
                .filter(|&&i| {
                    plan.steps[i]
                        .run
                        .as_ref()
                        .is_some_and(|run| run.get_ref().is_mutating())
                })
                .count();
            Table {
                heading: format!("Phase {}", code(phase)),
                summary: format!("Phase {}: {}", escape(phase), plural(steps.len(), "step")),
                rows,
                count: format!(
                    "- Phase {}: {}, {mutating} change things\n",
                    code(&shorten(phase, NAME_MAX)),
                    plural(steps.len(), "step")
                ),
                items: steps.len(),
                mutating,
            }
        })
        .collect()
}

fn header(state_column: bool) -> String {
    let mut out = String::from("| # | step | level | depends on | runs | check | verify | rollback |");
    out.push_str(if state_column { " state |\n" } else { "\n" });
    out.push_str("|--:|---|--:|---|---|:-:|:-:|:-:|");
    out.push_str(if state_column { "---|\n" } else { "\n" });
    out
}

/// The row of step `i`, `position`th in the execution order.
fn row(out: &mut String, input: &PreviewInput<'_>, i: usize, position: usize, shown: KindSummaries) {
    let compiled = input.compiled;
    let step = &compiled.plan.steps[i];
    let _ = write!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        position + 1,
        code(&step.id),
        compiled.dag.level(i),
        dependencies(step),
        runs(step, shown),
        if step.check.is_some() { YES } else { NONE },
        if step.verify.is_empty() { NONE } else { YES },
        rollback(step)
    );
    if input.states.is_some() {
        let _ = write!(out, " {} |", input.state(i).unwrap_or(NONE));
    }
    out.push('\n');
}

fn dependencies(step: &Step) -> String {
    if step.depends_on.is_empty() {
        return NONE.to_string();
    }
    let ids: Vec<String> = step.depends_on.iter().map(|d| code(d.get_ref())).collect();
    ids.join(", ")
}

fn runs(step: &Step, shown: KindSummaries) -> String {
    match &step.run {
        Some(run) => format!("{} {}", code(run.get_ref().kind()), code(&shown.action(run.get_ref()))),
        None => "*(checks only)*".to_string(),
    }
}

fn rollback(step: &Step) -> &'static str {
    match Undo::of(step) {
        Undo::Action(_) => YES,
        Undo::BuiltIn(_) => "built in",
        Undo::Missing => "**none**",
        Undo::NotNeeded => NONE,
    }
}
