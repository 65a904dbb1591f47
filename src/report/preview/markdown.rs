//! The preview as a self-contained code-review comment: a summary, a table
//! per phase, the warnings and a Mermaid graph (which GitHub and GitLab
//! render).

use std::fmt::Write;

use crate::plan::Step;
use crate::report::preview::summaries::KindSummaries;
use crate::report::preview::summary::{Summary, Undo};
use crate::report::preview::{PreviewInput, warnings};
use crate::report::{graph, plural};

const NONE: &str = "—";
const YES: &str = "✓";

pub(super) fn render(input: &PreviewInput<'_>) -> String {
    let compiled = input.compiled;
    let plan = &compiled.plan;
    let shown = KindSummaries::of(plan);
    let mut out = String::new();
    let _ = writeln!(out, "## Plan preview: {}\n", code(&plan.name));
    if let Some(review) = input.review {
        let _ = writeln!(
            out,
            "Review hash: `sha256:{}` (apply exactly this with `--expect-hash`)\n",
            review.hash
        );
    }
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "{}\n", quote(description));
    }
    summary(&mut out, &Summary::of(compiled), &plan.source.name);
    if !plan.preflight.is_empty() {
        out.push_str("\n### Preflight\n\n| check | probe | what it checks |\n|---|---|---|\n");
        for preflight in &plan.preflight {
            let probe = preflight.probe.get_ref();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                code(&preflight.id),
                code(probe.kind()),
                code(&shown.probe(probe))
            );
        }
    }
    let positions = input.positions();
    let state_column = input.states.is_some();
    for (phase, steps) in compiled.steps_by_phase() {
        let _ = writeln!(out, "\n### Phase {}\n", code(phase));
        out.push_str("| # | step | level | depends on | runs | check | verify | rollback |");
        out.push_str(if state_column { " state |\n" } else { "\n" });
        out.push_str("|--:|---|--:|---|---|:-:|:-:|:-:|");
        out.push_str(if state_column { "---|\n" } else { "\n" });
        for i in steps {
            let step = &plan.steps[i];
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                positions[i] + 1,
                code(&step.id),
                compiled.dag.level(i),
                dependencies(step),
                runs(step, shown),
                if step.check.is_some() { YES } else { NONE },
                if step.verify.is_empty() { NONE } else { YES },
                rollback(step)
            );
            if state_column {
                let _ = write!(out, " {} |", input.state(i).unwrap_or(NONE));
            }
            out.push('\n');
        }
    }
    let warnings = warnings(compiled);
    if !warnings.is_empty() {
        out.push_str("\n### Warnings\n\n");
        for warning in &warnings {
            let _ = writeln!(
                out,
                "- {} at {}:{}: {}",
                code(warning.code),
                warning.line,
                warning.column,
                escape(warning.message)
            );
        }
    }
    out.push_str("\n### Graph\n\n```mermaid\n");
    out.push_str(&graph::mermaid(compiled));
    out.push_str("```\n");
    out
}

fn summary(out: &mut String, summary: &Summary<'_>, source: &str) {
    let _ = writeln!(
        out,
        "- **Steps:** {} in {}, {} change things",
        summary.steps,
        plural(summary.phases, "phase"),
        summary.mutating_steps
    );
    let _ = writeln!(
        out,
        "- **Parallel levels:** {} (steps in one level may run together)",
        summary.levels
    );
    let chain: Vec<String> = summary.critical_path.iter().map(|id| code(id)).collect();
    let _ = writeln!(
        out,
        "- **Critical path:** {}: {}",
        plural(summary.critical_path_length, "step"),
        chain.join(" → ")
    );
    let without: Vec<String> = summary.without_rollback.iter().map(|id| code(id)).collect();
    let _ = writeln!(
        out,
        "- **Without rollback:** {}",
        if without.is_empty() {
            "none".to_string()
        } else {
            without.join(", ")
        }
    );
    let _ = writeln!(out, "- **Warnings:** {}", summary.warnings);
    let _ = writeln!(out, "- **Source:** {}", code(source));
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

/// Inline code that survives a table cell: `|` escaped (GitHub splits cells
/// on it even inside backticks), line breaks shown as `⏎`, and a fence
/// longer than any run of backticks inside.
fn code(text: &str) -> String {
    let text = text
        .trim()
        .replace('|', "\\|")
        .replace("\r\n", " ⏎ ")
        .replace('\n', " ⏎ ");
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text from the plan as a block quote, so that it cannot end the quote or
/// start a heading, a table or a fence of its own.
fn quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|line| match escape(line.trim_end()) {
            line if line.is_empty() => ">".to_string(),
            line => format!("> {line}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A message as Markdown: its `code` spans kept, characters that would
/// start formatting outside them escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, part) in text.split('`').enumerate() {
        if n > 0 {
            out.push('`');
        }
        if n % 2 == 1 {
            out.push_str(part);
            continue;
        }
        for c in part.chars() {
            if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_escape_pipes_and_outgrow_backticks() {
        assert_eq!(code("a | b"), "`a \\| b`");
        assert_eq!(code("echo `date`"), "`` echo `date` ``");
        assert_eq!(code("x\ny"), "`x ⏎ y`");
    }

    #[test]
    fn a_description_is_quoted_and_cannot_start_a_heading_or_a_table() {
        assert_eq!(
            quote("line1\n## Injected heading\n| a | b |\n\nlast `x_y`"),
            "> line1\n> \\#\\# Injected heading\n> \\| a \\| b \\|\n>\n> last `x_y`"
        );
    }

    #[test]
    fn messages_keep_their_code_spans() {
        assert_eq!(
            escape("step `a_b` has *no* rollback"),
            "step `a_b` has \\*no\\* rollback"
        );
    }
}
