//! `planrun plan`: the three preview formats on a representative plan,
//! pinned byte for byte; no side effects; secrets never resolved.

use crate::test::{Run, Test};

const FIXTURE: &str = "examples/migrate.toml";

fn preview(format: &str) -> Run {
    let run = Test::new()
        .fixture(FIXTURE)
        .env("PGPASSWORD", "hunter2")
        .args(&["plan", "plan.toml", "--format", format])
        .run();
    run.status(0);
    assert!(
        !run.stdout.contains("hunter2"),
        "a secret was resolved:\n{}",
        run.stdout
    );
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
    run
}

#[test]
fn text() {
    let run = preview("text");
    insta::assert_snapshot!("preview_text", run.stdout);
    // Warnings go to stderr only; stdout carries the preview alone.
    assert!(run.stderr.contains("planrun::no-rollback"), "{}", run.stderr);
}

#[test]
fn markdown() {
    insta::assert_snapshot!("preview_markdown", preview("markdown").stdout);
}

#[test]
fn json() {
    let run = preview("json");
    insta::assert_snapshot!("preview_json", run.stdout);
    let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("the preview is JSON");
    assert_eq!(value["preview_version"], 1);
}

#[test]
fn the_default_format_is_text() {
    let run = Test::new().fixture(FIXTURE).args(&["plan", "plan.toml"]).run();
    assert_eq!(run.stdout, preview("text").stdout);
}

#[test]
fn previews_are_deterministic() {
    for format in ["text", "markdown", "json"] {
        assert_eq!(preview(format).stdout, preview(format).stdout, "{format}");
    }
}

#[test]
fn an_invalid_plan_has_no_preview() {
    let run = Test::new()
        .plan("format = 1\nname = 'x'\n[steps.a]\ndepends_on = ['b']\n")
        .args(&["plan", "plan.toml", "--format", "json"])
        .run();
    run.status(2);
    assert_eq!(run.stdout, "");
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
}

#[test]
fn graph_formats() {
    for format in ["dot", "mermaid"] {
        let run = Test::new()
            .fixture(FIXTURE)
            .args(&["graph", "plan.toml", "--format", format])
            .run();
        run.status(0);
        insta::assert_snapshot!(format!("graph_{format}"), run.stdout);
    }
}

#[test]
fn previews_show_what_apply_runs() {
    let plan = "format = 1\nname = 'esc'\n[secrets]\npw = { env = 'PW' }\n\
        [steps.a]\nrun = { kind = 'shell', command = 'x=hello; echo [$${x}]' }\nrollback = { kind = 'shell', command = 'true' }\n\
        [steps.b]\nrun = { kind = 'file.write', path = 'lit.txt', content = 'lit=$${x}' }\n\
        [steps.c]\ncheck = { kind = 'postgres.connect', url = 'postgres://app:${secrets.pw}@db:5432/x' }\n";
    for format in ["text", "markdown", "json"] {
        let run = Test::new()
            .plan(plan)
            .args(&["plan", "plan.toml", "--format", format])
            .run();
        run.status(0);
        assert!(run.stdout.contains("echo [${x}]"), "{format}: {}", run.stdout);
        assert!(
            run.stdout.contains("write lit.txt (8 bytes)"),
            "{format}: {}",
            run.stdout
        );
        if format != "markdown" {
            assert!(
                run.stdout.contains("postgres://app:${secrets.pw}@db:5432/x"),
                "{format}: {}",
                run.stdout
            );
        }
    }
}

#[test]
fn plan_text_cannot_break_the_markdown_or_the_graphs() {
    let plan = "format = 1\nname = 'p'\ndescription = \"line1\\n## Injected heading\"\n\
        [steps.a]\nphase = \"we\\\"ird\\nphase<b>\"\ncheck = { kind = 'env', name = 'A' }\n";
    let markdown = Test::new()
        .plan(plan)
        .args(&["plan", "plan.toml", "--format", "markdown"])
        .run();
    markdown.status(0);
    assert!(
        markdown.stdout.contains("> line1\n> \\#\\# Injected heading\n"),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown.stdout.contains("p0[\"we#quot;ird phase#lt;b#gt;\"]"),
        "{}",
        markdown.stdout
    );
    let dot = Test::new()
        .plan(plan)
        .args(&["graph", "plan.toml", "--format", "dot"])
        .run();
    dot.status(0);
    assert!(dot.stdout.contains(r#"label="we\"ird\nphase<b>";"#), "{}", dot.stdout);
}

/// `plan --detailed-exitcode`, as CI uses it: 0 nothing to do, 2 steps
/// would run, 1 on any error (even an invalid plan, which is 2 otherwise).
#[test]
fn detailed_exitcode_says_whether_anything_would_run() {
    let satisfied = r#"format = 1
name = "detailed"
[steps.one]
check = { kind = "file.exists", path = "marker" }
run = { kind = "file.write", path = "marker", content = "x" }
"#;
    let test = crate::test::Test::new().plan(satisfied);
    // Without --live a new run would run every step.
    test.cmd(&["plan", "plan.toml", "--detailed-exitcode"]).status(2);
    // Live: the check fails now, so the step would run.
    test.cmd(&["plan", "plan.toml", "--live", "--detailed-exitcode"])
        .status(2);
    std::fs::write(test.path().join("marker"), "x").expect("write");
    let run = test.cmd(&["plan", "plan.toml", "--live", "--detailed-exitcode"]);
    run.status(0);
    assert!(
        run.stdout.contains("one"),
        "the preview is still printed: {}",
        run.stdout
    );
    // Without the flag, steps that would run still exit 0.
    test.cmd(&["plan", "plan.toml"]).status(0);
    std::fs::write(
        test.path().join("bad.toml"),
        "format = 1\nname = \"x\"\n[steps.a]\nrun = 3\n",
    )
    .expect("write");
    let bad = test.cmd(&["plan", "bad.toml", "--detailed-exitcode"]);
    bad.status(1);
    assert!(
        bad.stderr.contains("bad.toml:"),
        "the diagnostic is shown: {}",
        bad.stderr
    );
    test.cmd(&["plan", "bad.toml"]).status(2);
}

/// GitHub's limit on a comment, which the Markdown preview of any plan fits.
const GITHUB_LIMIT: usize = 65_536;

fn markdown_of(plan: &str) -> String {
    let run = Test::new()
        .plan(plan)
        .args(&["plan", "plan.toml", "--format", "markdown"])
        .run();
    run.status(0);
    let length = run.stdout.chars().count();
    assert!(length <= GITHUB_LIMIT, "{length} characters");
    assert_eq!(
        run.stdout.matches("<details>").count(),
        run.stdout.matches("</details>").count()
    );
    run.stdout
}

/// Regression: a count line per folded phase made 349,554 characters.
#[test]
fn the_markdown_of_5000_steps_in_a_phase_each_fits_a_comment_and_says_what_was_folded() {
    let mut plan = String::from("format = 1\nname = 'wide'\n");
    for i in 0..5_000 {
        plan.push_str(&format!(
            "[steps.s{i}]\nphase = 'phase-{i}'\nidempotent = true\nrun = {{ kind = 'shell', command = 'echo {i}' }}\n"
        ));
    }
    let markdown = markdown_of(&plan);
    assert!(markdown.contains("### Folded to fit"), "{markdown}");
    assert!(markdown.contains("The tables of "), "{markdown}");
    let totals = markdown
        .lines()
        .find(|line| line.ends_with(" change things: folded into this line"))
        .unwrap_or_else(|| panic!("a line of totals: {markdown}"));
    assert!(totals.contains(" more phases, "), "{totals}");
    assert!(markdown.contains("Left out to fit a review comment"), "the graph");
}

/// Regression: a row per preflight check made 176,496 characters.
#[test]
fn the_markdown_of_2000_preflight_checks_fits_a_comment_and_says_what_was_folded() {
    let mut plan = String::from("format = 1\nname = 'checked'\n[steps.a]\ncheck = { kind = 'env', name = 'A' }\n");
    for i in 0..2_000 {
        plan.push_str(&format!(
            "[preflight.probe-{i}]\nprobe = {{ kind = 'env', name = 'VARIABLE_{i}' }}\n"
        ));
    }
    let markdown = markdown_of(&plan);
    assert!(
        markdown.contains("### Preflight\n\n2000 checks, left out to fit a review comment"),
        "{markdown}"
    );
    assert!(!markdown.contains("| check | probe |"), "no table is cut");
}
