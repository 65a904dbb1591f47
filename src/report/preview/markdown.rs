//! The preview as a self-contained code-review comment: a summary, the
//! risky steps, the preflight checks and a table per phase, the warnings
//! and a Mermaid graph (which GitHub and GitLab render). Whatever the plan,
//! it fits a comment: the parts above the tables are bounded (long names
//! shortened, lists cut to a budget saying how many more), and the tables
//! fold to fit what is left (`fit`).

mod fit;
mod inline;
mod tables;

use std::fmt::Write;

use crate::redact::Redactor;
use crate::report::preview::markdown::fit::{Forms, chars, folded_within, list_within};
use crate::report::preview::markdown::inline::{code, escape, quote, shorten};
use crate::report::preview::summary::Summary;
use crate::report::preview::{PreviewInput, warnings};
use crate::report::{graph, plural};

/// GitHub refuses a comment over 65,536 characters; a little is left for
/// what a CI job puts around the preview.
pub(super) const BUDGET: usize = 60_000;

/// The longest plan name, source name and id shown outside the tables, the
/// longest description and warning message.
const NAME_MAX: usize = 100;
const ID_MAX: usize = 60;
const DESCRIPTION_MAX: usize = 1_000;
const MESSAGE_MAX: usize = 300;
/// At most this many risky steps and warnings are listed, in at most this
/// many characters each.
const LIST_LIMIT: usize = 50;
const LIST_BUDGET: usize = 6_000;

const NO_GRAPH: &str =
    "\n### Graph\n\nLeft out to fit a review comment: `planrun graph PLAN --format mermaid` draws it.\n";

/// The preview, masked by `redactor`, at most `BUDGET` characters long.
pub(super) fn render(input: &PreviewInput<'_>, redactor: &Redactor) -> String {
    render_within(input, redactor, BUDGET)
}

/// The preview at most `budget` characters long, when `budget` holds its
/// bounded parts (under 40,000 characters whatever the plan, masked):
/// past it, the graph is left out, then the tables fold into `<details>`,
/// then the last ones into their counts, saying what was folded. Sizes
/// are those of the masked text, as printed.
pub(super) fn render_within(input: &PreviewInput<'_>, redactor: &Redactor, budget: usize) -> String {
    let mask = |text: String| redactor.redact(&text).into_owned();
    let compiled = input.compiled;
    let top = mask(head(input)) + &risky_list(input, &mask);
    let warnings = warning_list(compiled, &mask);
    let preflight = tables::preflight(input).map(|table| Forms::of(&table, &mask));
    let phases: Vec<Forms> = tables::phases(input)
        .iter()
        .map(|table| Forms::of(table, &mask))
        .collect();
    let graph = mask(format!("\n### Graph\n\n```mermaid\n{}```\n", graph::mermaid(compiled)));
    let open: String = preflight
        .iter()
        .chain(&phases)
        .map(|forms| forms.open.as_str())
        .collect();
    let fixed = chars(&top) + chars(&warnings);
    if fixed + chars(&open) + chars(&graph) <= budget {
        return top + &open + &warnings + &graph;
    }
    let no_graph = mask(NO_GRAPH.to_string());
    let left = budget.saturating_sub(fixed + chars(&no_graph));
    top + &folded_within(preflight.as_ref(), &phases, left, &mask) + &warnings + &no_graph
}

/// Title, review hash, description and summary.
fn head(input: &PreviewInput<'_>) -> String {
    let plan = &input.compiled.plan;
    let mut out = String::new();
    let _ = writeln!(out, "## Plan preview: {}\n", code(&shorten(&plan.name, NAME_MAX)));
    if let Some(review) = input.review {
        let _ = writeln!(
            out,
            "Review hash: `sha256:{}` (apply exactly this with `--expect-hash`)\n",
            review.hash
        );
    }
    if let Some(description) = &plan.description {
        let _ = writeln!(out, "{}\n", quote(&shorten(description, DESCRIPTION_MAX)));
    }
    summary(&mut out, &Summary::of(input.compiled), &plan.source.name);
    out
}

/// The risky steps, as many as fit the list's budget.
fn risky_list(input: &PreviewInput<'_>, mask: &impl Fn(String) -> String) -> String {
    let risky = super::risky(input.compiled);
    if risky.is_empty() {
        return String::new();
    }
    let lines = risky
        .iter()
        .map(|(id, reasons)| mask(format!("- {}: {}\n", code(&shorten(id, ID_MAX)), escape(reasons))));
    let list = list_within(lines, LIST_LIMIT, LIST_BUDGET, |more| {
        mask(format!("- and {more} more: `planrun plan PLAN` lists them all\n"))
    });
    mask(format!("\n### Risky steps ({})\n\n", risky.len())) + &list
}

/// The warnings, as many as fit the list's budget.
fn warning_list(compiled: &crate::compile::Compiled, mask: &impl Fn(String) -> String) -> String {
    let warnings = warnings(compiled);
    if warnings.is_empty() {
        return String::new();
    }
    let lines = warnings.iter().map(|warning| {
        mask(format!(
            "- {} at {}:{}: {}\n",
            code(warning.code),
            warning.line,
            warning.column,
            escape(&shorten(warning.message, MESSAGE_MAX))
        ))
    });
    let list = list_within(lines, LIST_LIMIT, LIST_BUDGET, |more| {
        mask(format!("- and {more} more: `planrun validate PLAN` lists them all\n"))
    });
    mask("\n### Warnings\n\n".to_string()) + &list
}

fn summary(out: &mut String, summary: &Summary<'_>, source: &str) {
    let id = |id: &&str| code(&shorten(id, ID_MAX));
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
    let mut chain: Vec<String> = summary.critical_path.iter().map(id).collect();
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
    let mut without: Vec<String> = summary.without_rollback.iter().take(20).map(id).collect();
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
    let _ = writeln!(out, "- **Source:** {}", code(&shorten(source, NAME_MAX)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::plan::Source;
    use crate::report::preview::{PreviewFormat, render_input};

    const GITHUB_LIMIT: usize = 65_536;

    fn compiled(text: String) -> crate::compile::Compiled {
        let compiled = compile(&Source::new("big.toml", text), &[], false);
        let Ok(compiled) = compiled else {
            panic!("the plan compiles");
        };
        compiled
    }

    /// `phases` phases of `per_phase` steps, each after the one before it,
    /// and `probes` preflight checks.
    fn big_plan(phases: usize, per_phase: usize, probes: usize) -> crate::compile::Compiled {
        let mut text = String::from("format = 1\nname = 'big'\n");
        for n in 0..probes {
            let _ = writeln!(
                text,
                "[preflight.probe-{n:05}]\nprobe = {{ kind = 'env', name = 'VAR_{n}' }}"
            );
        }
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
        compiled(text)
    }

    fn input(compiled: &crate::compile::Compiled) -> PreviewInput<'_> {
        PreviewInput {
            compiled,
            states: None,
            review: None,
        }
    }

    fn markdown(compiled: &crate::compile::Compiled) -> String {
        render_input(&input(compiled), PreviewFormat::Markdown)
    }

    /// Every `<details>` closed, every table whole (its header, then rows
    /// of the same number of cells).
    fn assert_whole(markdown: &str) {
        assert_eq!(
            markdown.matches("<details>").count(),
            markdown.matches("</details>").count()
        );
        for table in markdown.split("\n\n").filter(|block| block.starts_with("| ")) {
            let lines: Vec<&str> = table.lines().collect();
            assert!(lines[1].starts_with("|--"), "a header row: {}", lines[1]);
            let cells = lines[0].matches(" |").count();
            for line in &lines[2..] {
                assert!(line.starts_with("| "), "a row: {line}");
                assert!(line.matches(" |").count() >= cells, "a whole row: {line}");
            }
        }
    }

    #[test]
    fn a_small_plan_is_shown_whole_with_its_graph() {
        let markdown = markdown(&big_plan(2, 5, 2));
        assert!(markdown.contains("```mermaid"));
        assert!(markdown.contains("### Preflight\n\n| check |"));
        assert!(!markdown.contains("<details>"));
        assert!(!markdown.contains("Folded to fit"));
        assert_whole(&markdown);
    }

    #[test]
    fn a_5000_step_plan_fits_a_github_comment_with_whole_tables_and_says_what_was_folded() {
        let markdown = markdown(&big_plan(10, 500, 0));
        let length = markdown.chars().count();
        assert!(length <= GITHUB_LIMIT, "{length} characters");
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

    /// Regression: one count line per phase made 349,554 characters.
    #[test]
    fn a_phase_per_step_folds_the_count_list_into_a_line_of_totals() {
        let markdown = markdown(&big_plan(5_000, 1, 0));
        let length = markdown.chars().count();
        assert!(length <= GITHUB_LIMIT, "{length} characters");
        let shown = markdown.matches("<details><summary>Phase").count();
        let listed = markdown.matches("\n- Phase `phase-").count();
        let totals = markdown
            .lines()
            .filter_map(|line| line.strip_prefix("- ")?.split_once(" more phases, "))
            .collect::<Vec<_>>();
        let [(more, rest)] = totals[..] else {
            panic!("one line of totals: {markdown}");
        };
        let more: usize = more.parse().unwrap_or(0);
        assert_eq!(shown + listed + more, 5_000, "every phase is there once");
        assert!(listed > 0 && more > 0);
        assert_eq!(
            rest,
            format!("{more} steps, {more} change things: folded into this line")
        );
        assert!(markdown.contains("The tables of "));
        assert_whole(&markdown);
    }

    /// Regression: a row per check made 176,496 characters.
    #[test]
    fn thousands_of_preflight_checks_fold_into_their_count() {
        let markdown = markdown(&big_plan(1, 3, 2_000));
        let length = markdown.chars().count();
        assert!(length <= GITHUB_LIMIT, "{length} characters");
        assert!(
            markdown.contains("### Preflight\n\n2000 checks, left out to fit a review comment"),
            "{markdown}"
        );
        assert!(!markdown.contains("| check | probe |"));
        // The phase table after it still has room.
        assert_eq!(markdown.matches("<details><summary>Phase").count(), 1);
        assert_whole(&markdown);
    }

    #[test]
    fn past_the_budget_tables_fold_into_details_before_any_is_counted() {
        let compiled = big_plan(3, 40, 30);
        let redactor = Redactor::default();
        let whole = render_within(&input(&compiled), &redactor, usize::MAX);
        let budget = whole.chars().count() - 1;
        let markdown = render_within(&input(&compiled), &redactor, budget);
        assert!(markdown.chars().count() <= budget);
        assert_eq!(markdown.matches("<details><summary>Phase").count(), 3);
        assert!(markdown.contains("<details><summary>Preflight: 30 checks</summary>"));
        assert!(!markdown.contains("Folded to fit"));
        assert_whole(&markdown);
    }

    /// Long names, a long description, thousands of risky steps and
    /// warnings, a preflight and a phase per step, and a one-letter
    /// password that every `e` is masked as (`***`, three times longer).
    #[test]
    fn the_largest_parts_of_the_worst_plan_still_fit() {
        let long = "e".repeat(300);
        let mut text = format!(
            "format = 1\nname = '{long}'\ndescription = '''{}'''\n[vars]\nurl = 'postgres://u:e@h/db'\n",
            "*e\n".repeat(2_000)
        );
        for n in 0..1_000 {
            let _ = writeln!(text, "[preflight.e{n}-{long}]\nprobe = {{ kind = 'env', name = 'E' }}");
        }
        for n in 0..1_500 {
            let _ = writeln!(
                text,
                "[steps.e{n}-{long}]\nphase = 'e{n}-{long}'\nrun = {{ kind = 'shell', command = 'rm -rf /{long}' }}"
            );
        }
        let compiled = compiled(text);
        assert!(compiled.warnings.len() > 50);
        let markdown = markdown(&compiled);
        let length = markdown.chars().count();
        assert!(length <= GITHUB_LIMIT, "{length} characters");
        assert!(!markdown.contains('e'), "the password is masked");
        assert!(markdown.contains("mor***: `planrun plan PLAN` lists th***m all"));
        assert!(markdown.contains("1000 ch***cks, l***ft out to fit"));
        assert!(markdown.contains("fold***d into this lin***"));
        assert_whole(&markdown);
    }
}
