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

/// GitHub refuses a comment over 65,536 characters; a little is left for
/// what a CI job puts around the preview.
pub(super) const BUDGET: usize = 60_000;

/// A phase's table, rendered on its own so that it is shown whole, folded
/// into `<details>`, or replaced by its counts: never cut.
struct PhaseTable {
    name: String,
    steps: usize,
    mutating: usize,
    table: String,
}

pub(super) fn render(input: &PreviewInput<'_>) -> String {
    render_within(input, BUDGET)
}

/// The preview, at most `budget` characters long: past it, the graph is
/// left out, then the phase tables fold into `<details>`, then the last
/// ones into their counts, saying what was folded.
pub(super) fn render_within(input: &PreviewInput<'_>, budget: usize) -> String {
    let compiled = input.compiled;
    let head = head(input);
    let tables = phase_tables(input);
    let warnings = warning_list(compiled, 50);
    let mut graph = String::from("\n### Graph\n\n```mermaid\n");
    graph.push_str(&graph::mermaid(compiled));
    graph.push_str("```\n");
    let length = |parts: &[&str]| parts.iter().map(|part| part.chars().count()).sum::<usize>();
    let open: String = tables.iter().map(|t| t.table.as_str()).collect();
    if length(&[&head, &open, &warnings, &graph]) <= budget {
        return head + &open + &warnings + &graph;
    }
    let no_graph = "\n### Graph\n\nLeft out to fit a review comment: `planrun graph PLAN --format mermaid` draws it.\n";
    let all_folded: String = tables.iter().map(folded).collect();
    if length(&[&head, &all_folded, &warnings, no_graph]) <= budget {
        return head + &all_folded + &warnings + no_graph;
    }
    // Tables in order while they fit, with room kept for the counts of the rest.
    let count_lines: Vec<String> = tables.iter().map(count_line).collect();
    let mut left = budget.saturating_sub(length(&[&head, &warnings, no_graph]) + 400);
    let mut rest: usize = count_lines.iter().map(|line| line.chars().count()).sum();
    let mut body = String::new();
    let mut counted = Vec::new();
    for (table, count) in tables.iter().zip(&count_lines) {
        rest -= count.chars().count();
        let details = folded(table);
        let size = details.chars().count();
        if counted.is_empty() && size + rest <= left {
            left -= size;
            body.push_str(&details);
        } else {
            counted.push(count.as_str());
        }
    }
    if !counted.is_empty() {
        let _ = write!(
            body,
            "\n### Folded to fit\n\nThe tables of {} were left out to fit a review comment (GitHub allows 65,536 characters); `planrun plan PLAN` shows every step.\n\n{}",
            plural(counted.len(), "phase"),
            counted.concat()
        );
    }
    head + &body + &warnings + no_graph
}

/// Title, review hash, description, summary and preflight.
fn head(input: &PreviewInput<'_>) -> String {
    let plan = &input.compiled.plan;
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
    summary(&mut out, &Summary::of(input.compiled), &plan.source.name);
    let risky = super::risky(input.compiled);
    if !risky.is_empty() {
        let _ = writeln!(out, "\n### Risky steps ({})\n", risky.len());
        for (id, reasons) in risky.iter().take(50) {
            let _ = writeln!(out, "- {}: {}", code(id), escape(reasons));
        }
        if risky.len() > 50 {
            let _ = writeln!(
                out,
                "- and {} more: `planrun plan PLAN` lists them all",
                risky.len() - 50
            );
        }
    }
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
    out
}

fn phase_tables(input: &PreviewInput<'_>) -> Vec<PhaseTable> {
    let compiled = input.compiled;
    let plan = &compiled.plan;
    let shown = KindSummaries::of(plan);
    let positions = input.positions();
    let state_column = input.states.is_some();
    let mut tables = Vec::new();
    for (phase, steps) in compiled.steps_by_phase() {
        let mut out = String::new();
        let _ = writeln!(out, "\n### Phase {}\n", code(phase));
        out.push_str("| # | step | level | depends on | runs | check | verify | rollback |");
        out.push_str(if state_column { " state |\n" } else { "\n" });
        out.push_str("|--:|---|--:|---|---|:-:|:-:|:-:|");
        out.push_str(if state_column { "---|\n" } else { "\n" });
        for &i in &steps {
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
        tables.push(PhaseTable {
            name: phase.to_string(),
            steps: steps.len(),
            mutating: steps
                .iter()
                .filter(|&&i| {
                    plan.steps[i]
                        .run
                        .as_ref()
                        .is_some_and(|run| run.get_ref().is_mutating())
                })
                .count(),
            table: out,
        });
    }
    tables
}

/// A phase's table inside `<details>`, its heading as the summary.
fn folded(table: &PhaseTable) -> String {
    let body = table.table.trim_start().split_once('\n').map_or("", |(_, body)| body);
    format!(
        "\n<details><summary>Phase {}: {}</summary>\n{}\n</details>\n",
        escape(&table.name),
        plural(table.steps, "step"),
        body
    )
}

/// A phase folded into its counts.
fn count_line(table: &PhaseTable) -> String {
    format!(
        "- Phase {}: {}, {} change things\n",
        code(&table.name),
        plural(table.steps, "step"),
        table.mutating
    )
}

/// The warnings, the first `limit` of them listed.
fn warning_list(compiled: &crate::compile::Compiled, limit: usize) -> String {
    let warnings = warnings(compiled);
    if warnings.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### Warnings\n\n");
    for warning in warnings.iter().take(limit) {
        let _ = writeln!(
            out,
            "- {} at {}:{}: {}",
            code(warning.code),
            warning.line,
            warning.column,
            escape(warning.message)
        );
    }
    if warnings.len() > limit {
        let _ = writeln!(
            out,
            "- and {} more: `planrun validate PLAN` lists them all",
            warnings.len() - limit
        );
    }
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
    // Long lists shortened: a 5,000-step chain would not fit a comment.
    let mut chain: Vec<String> = summary.critical_path.iter().map(|id| code(id)).collect();
    if chain.len() > 12 {
        let omitted = chain.len() - 11;
        chain.splice(6..chain.len() - 5, [format!("… {omitted} more …")]);
    }
    let _ = writeln!(
        out,
        "- **Critical path:** {}: {}",
        plural(summary.critical_path_length, "step"),
        chain.join(" → ")
    );
    let mut without: Vec<String> = summary.without_rollback.iter().take(20).map(|id| code(id)).collect();
    if summary.without_rollback.len() > 20 {
        without.push(format!("and {} more", summary.without_rollback.len() - 20));
    }
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
    use crate::compile::compile;
    use crate::plan::Source;

    /// `phases` phases of `per_phase` steps, each after the one before it.
    fn big_plan(phases: usize, per_phase: usize) -> crate::compile::Compiled {
        let mut text = String::from("format = 1\nname = 'big'\n");
        for phase in 0..phases {
            for n in 0..per_phase {
                let i = phase * per_phase + n;
                let _ = write!(
                    text,
                    "[steps.step-{i:05}]\nphase = 'phase-{phase}'\nrun = {{ kind = 'shell', command = 'echo {i}' }}\nrollback = {{ kind = 'shell', command = 'true' }}\n"
                );
                if i > 0 {
                    let _ = writeln!(text, "depends_on = ['step-{:05}']", i - 1);
                }
            }
        }
        let compiled = compile(&Source::new("big.toml", text), &[], false);
        let Ok(compiled) = compiled else {
            panic!("the plan compiles");
        };
        compiled
    }

    fn input(compiled: &crate::compile::Compiled) -> PreviewInput<'_> {
        PreviewInput {
            compiled,
            states: None,
            review: None,
        }
    }

    /// Every `<details>` closed, every table whole (its header, then rows
    /// of the same number of cells).
    fn assert_whole(markdown: &str) {
        assert_eq!(
            markdown.matches("<details>").count(),
            markdown.matches("</details>").count()
        );
        for table in markdown.split("\n\n").filter(|block| block.starts_with("| # |")) {
            let lines: Vec<&str> = table.lines().collect();
            assert!(lines[1].starts_with("|--:|"), "a header row: {}", lines[1]);
            let cells = lines[0].matches(" |").count();
            for line in &lines[2..] {
                assert!(line.starts_with("| "), "a row: {line}");
                assert!(line.matches(" |").count() >= cells, "a whole row: {line}");
            }
        }
    }

    #[test]
    fn a_small_plan_is_shown_whole_with_its_graph() {
        let compiled = big_plan(2, 5);
        let markdown = render(&input(&compiled));
        assert!(markdown.contains("```mermaid"));
        assert!(!markdown.contains("<details>"));
        assert!(!markdown.contains("Folded to fit"));
        assert_whole(&markdown);
    }

    #[test]
    fn a_5000_step_plan_fits_a_github_comment_with_whole_tables_and_says_what_was_folded() {
        let compiled = big_plan(10, 500);
        let markdown = render(&input(&compiled));
        let length = markdown.chars().count();
        assert!(length <= 65_536, "{length} characters");
        assert!(markdown.contains("Left out to fit"), "the graph is left out");
        assert!(markdown.contains("### Folded to fit"));
        // Phases shown are shown whole; the rest are counted, in order.
        let shown = markdown.matches("<details><summary>Phase").count();
        let counted = markdown.matches("\n- Phase `phase-").count();
        assert_eq!(shown + counted, 10, "every phase is there once");
        assert!(counted > 0);
        assert!(markdown.contains("- Phase `phase-9`: 500 steps, 500 change things"));
        assert_whole(&markdown);
    }

    #[test]
    fn past_the_budget_tables_fold_into_details_before_any_is_counted() {
        let compiled = big_plan(3, 40);
        let whole = render_within(&input(&compiled), usize::MAX);
        let budget = whole.chars().count() - 1;
        let markdown = render_within(&input(&compiled), budget);
        assert!(markdown.chars().count() <= budget);
        assert_eq!(markdown.matches("<details><summary>Phase").count(), 3);
        assert!(!markdown.contains("Folded to fit"));
        assert_whole(&markdown);
    }

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
