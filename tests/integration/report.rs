//! `planrun report`: JUnit XML with a test case per step and per verify
//! probe, and a Markdown summary, read from the state after a run.

use crate::test::Test;

const PLAN: &str = r#"format = 1
name = "reported"
[secrets]
token = { env = "PLANRUN_TEST_TOKEN" }
[steps.write]
phase = "prepare"
run = { kind = "file.write", path = "a.txt", content = "a" }
verify = [{ kind = "file.exists", path = "a.txt" }, { kind = "file.exists", path = "a.txt", non_empty = true }]
[steps.check-it]
phase = "switch"
depends_on = ["write"]
run = { kind = "shell", command = "echo 'using ${secrets.token} <&>'" }
verify = [{ kind = "file.exists", path = "a.txt" }, { kind = "file.exists", path = "missing.txt" }, { kind = "file.exists", path = "a.txt" }]
[steps.after]
phase = "switch"
depends_on = ["check-it"]
run = { kind = "shell", command = "true" }
"#;

#[test]
fn junit_has_a_case_per_step_and_verify_with_failures_and_skips_and_no_secret() {
    let test = Test::new().plan(PLAN).env("PLANRUN_TEST_TOKEN", "s3cr3t-in-report");
    test.cmd(&["apply", "plan.toml"]).status(1);
    let run = test.cmd(&["report", "--format", "junit"]);
    run.status(0);
    let xml = &run.stdout;
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(!xml.contains("s3cr3t-in-report"), "a secret leaked: {xml}");
    // 3 steps + 2 + 3 verify cases.
    assert!(xml.contains("tests=\"8\""), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 8, "{xml}");
    assert!(xml.contains("classname=\"reported.prepare\" name=\"write\""), "{xml}");
    assert!(xml.contains("name=\"write verify 2\""), "{xml}");
    // check-it: verify 1 passed, verify 2 failed, verify 3 skipped; `after` blocked.
    assert!(
        xml.contains("<failure message=\"verify 2 (file.exists) failed"),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 2, "the step and its verify: {xml}");
    assert!(xml.contains("<skipped message=\"an earlier verify failed\"/>"), "{xml}");
    assert!(xml.contains("<skipped message=\"blocked\"/>"), "{xml}");
    // Well formed: every case closed, by itself or by `</testcase>`.
    let self_closed = xml
        .lines()
        .filter(|l| l.trim_start().starts_with("<testcase ") && l.ends_with("/>"))
        .count();
    assert_eq!(self_closed + xml.matches("</testcase>").count(), 8, "{xml}");
}

#[test]
fn the_markdown_report_says_who_when_and_how_each_step_ended() {
    let test = Test::new().plan(PLAN).env("PLANRUN_TEST_TOKEN", "s3cr3t-in-report");
    test.cmd(&["apply", "plan.toml"]).status(1);
    let run = test.cmd(&["report", "--format", "markdown"]);
    run.status(0);
    let md = &run.stdout;
    assert!(md.contains("## planrun: `reported` failed"), "{md}");
    assert!(md.contains("| `check-it` | switch | failed | 1 |"), "{md}");
    assert!(md.contains("| `after` | switch | blocked | 0 |"), "{md}");
    assert!(md.contains("- **Steps:** 1 succeeded, 0 satisfied, 1 failed"), "{md}");
    assert!(!md.contains("s3cr3t-in-report"));
}

#[test]
fn a_report_without_runs_is_a_usage_error() {
    Test::new().cmd(&["report", "--format", "junit"]).status(2);
}

/// The HTML report in a real headless Chromium: the page loads from the
/// file alone, and its script draws a node and a bar for every step.
#[test]
fn the_html_report_draws_every_steps_node_and_bar_in_a_real_browser() {
    let Some(chromium) = crate::services::require("CHROMIUM") else {
        return;
    };
    let test = Test::new().plan(PLAN).env("PLANRUN_TEST_TOKEN", "s3cr3t-in-report");
    test.cmd(&["apply", "plan.toml"]).status(1);
    test.cmd(&["rollback"]).status(0);
    let run = test.cmd(&["report", "--format", "html"]);
    run.status(0);
    let html = &run.stdout;
    assert!(!html.contains("s3cr3t-in-report"));
    assert!(
        !html.contains(" src=") && !html.contains(" href="),
        "self-contained: nothing to fetch"
    );
    let page = test.path().join("report.html");
    std::fs::write(&page, html).expect("write the page");
    let shot = test.path().join("report.png");
    let browse = |extra: &[String]| {
        let output = std::process::Command::new(&chromium)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1200,900",
            ])
            .args(extra)
            .arg(format!("file://{}", page.display()))
            .output()
            .expect("chromium runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    browse(&[format!("--screenshot={}", shot.display())]);
    assert!(std::fs::metadata(&shot).map_or(0, |m| m.len()) > 1000, "a screenshot");
    let dom = browse(&["--dump-dom".to_string()]);
    for step in ["write", "check-it", "after"] {
        assert!(
            dom.contains(&format!(r#"class="node" data-step="{step}""#)),
            "no node for {step}:\n{dom}"
        );
        assert!(
            dom.contains(&format!(r#"data-step="{step}" x="#)) && dom.contains("class=\"bar "),
            "no bar for {step}:\n{dom}"
        );
    }
    // The rollback is on the timeline, and statuses colour the nodes.
    assert!(dom.contains(r#"class="bar rollback" data-step="write""#), "{dom}");
    assert!(dom.contains(r#"data-step="check-it" data-status="failed""#), "{dom}");
    // The tail of each step's log, masked as it was written.
    assert!(dom.contains("using *** &lt;&amp;&gt;"), "{dom}");
}

/// The HTML report says what each step's check and verify probes found,
/// and a rolled-back step is not drawn in a succeeded step's colour.
#[test]
fn the_html_report_says_what_each_steps_check_and_verify_probes_found() {
    let test = Test::new()
        .plan(&format!(
            "{PLAN}[steps.done-already]\ncheck = {{ kind = \"file.exists\", path = \"plan.toml\" }}\nrun = {{ kind = \"shell\", command = \"true\" }}\n"
        ))
        .env("PLANRUN_TEST_TOKEN", "s3cr3t-in-report");
    test.cmd(&["apply", "plan.toml", "--keep-going"]).status(1);
    let html = test.cmd(&["report", "--format", "html"]).stdout;
    let row = |step: &str| {
        html.lines()
            .find(|line| line.starts_with(&format!("<tr data-step=\"{step}\">")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        row("write").contains("no check; verify: 2 of 2 passed"),
        "{}",
        row("write")
    );
    assert!(
        row("check-it").contains("verify: 1 of 3 passed, verify 2 failed (") && row("check-it").contains("1 not run"),
        "{}",
        row("check-it")
    );
    assert!(
        row("done-already").contains("check passed: nothing to do"),
        "{}",
        row("done-already")
    );
    assert!(
        html.contains(r##"rolled_back: "#c9f""##),
        "rolled back has its own colour"
    );
}
