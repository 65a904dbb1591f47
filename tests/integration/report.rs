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
