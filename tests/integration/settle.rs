//! Settling: planrun killed *inside* an action (at a failpoint, as file
//! writes are too quick to be caught from outside), then resumed at once.
//! The kind answers whether the attempt took effect, so no operator is
//! asked, nothing is done twice and nothing is skipped.

use crate::test::{Run, Test};

/// `resume` went through without asking anyone.
fn resumed_alone(test: &Test) -> Run {
    let run = test.cmd(&["resume"]);
    assert_eq!(
        run.code,
        Some(0),
        "resume asked for a decision or failed\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
    assert!(!run.stderr.contains("planrun mark"), "{}", run.stderr);
    run
}

const WRITE: &str = r#"format = 1
name = "write"
[steps.config]
run = { kind = "file.write", path = "app.conf", content = "port = 8080\n" }
verify = [{ kind = "file.contains", path = "app.conf", text = "8080" }]
[steps.after]
depends_on = ["config"]
run = { kind = "shell", command = "echo after >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;

#[test]
fn a_write_killed_after_it_wrote_is_not_written_again_but_verified() {
    let test = Test::new().plan(WRITE).file("app.conf", "port = 80\n");
    test.crash_at("file.write:written", &["apply", "plan.toml"]);
    assert_eq!(test.read("app.conf"), "port = 8080\n");
    let run = resumed_alone(&test);
    assert!(
        run.stderr.contains("settled config (attempt 1): took effect"),
        "{}",
        run.stderr
    );
    let logs = run.logs();
    assert!(logs.contains("it is not run again, only verified"), "{logs}");
    assert_eq!(test.step_status("config"), "succeeded");
    assert!(!logs.contains("wrote 12 bytes"), "the write ran again:\n{logs}");
    assert_eq!(test.read("ledger"), "after\n");
    // Its undo record was kept: rollback restores what was there before.
    test.cmd(&["rollback"]).status(0);
    assert_eq!(test.read("app.conf"), "port = 80\n");
}

#[test]
fn a_write_killed_before_it_wrote_runs_again() {
    let test = Test::new().plan(WRITE).file("app.conf", "port = 80\n");
    test.crash_at("file.write:recorded", &["apply", "plan.toml"]);
    assert_eq!(test.read("app.conf"), "port = 80\n");
    let run = resumed_alone(&test);
    assert!(
        run.stderr.contains("settled config (attempt 1): no effect"),
        "{}",
        run.stderr
    );
    assert_eq!(test.read("app.conf"), "port = 8080\n");
}

#[test]
fn rollback_of_a_write_that_never_happened_changes_nothing() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "replace"
[steps.edit]
run = { kind = "file.replace", paths = ["a.conf"], search = "v1", replace = "v2" }
"#,
        )
        .file("a.conf", "version = v1\n");
    // The one file is recorded, then planrun dies before writing it.
    test.crash_at("file.replace:recorded", &["apply", "plan.toml"]);
    let rollback = test.cmd(&["rollback"]);
    rollback.status(0);
    assert!(
        rollback.stderr.contains("settled edit (attempt 1): no effect"),
        "{}",
        rollback.stderr
    );
    assert_eq!(test.read("a.conf"), "version = v1\n");
}

/// Regression: a `file.replace` whose `replace` contains `search` ran again
/// after a crash between two files, and edited the first file twice.
#[test]
fn a_replace_killed_between_two_files_edits_each_file_once() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "replace"
[steps.edit]
run = { kind = "file.replace", paths = ["a.conf", "b.conf"], search = "v1", replace = "v1-patched" }
"#,
        )
        .file("a.conf", "version = v1\n")
        .file("b.conf", "version = v1\n");
    test.crash_at("file.replace:between-files", &["apply", "plan.toml"]);
    assert_eq!(test.read("a.conf"), "version = v1-patched\n");
    assert_eq!(test.read("b.conf"), "version = v1\n");
    let run = resumed_alone(&test);
    assert!(
        run.stderr.contains("settled edit (attempt 1): took effect in part"),
        "{}",
        run.stderr
    );
    assert_eq!(test.read("a.conf"), "version = v1-patched\n");
    assert_eq!(test.read("b.conf"), "version = v1-patched\n");
    test.cmd(&["rollback"]).status(0);
    assert_eq!(test.read("a.conf"), "version = v1\n");
    assert_eq!(test.read("b.conf"), "version = v1\n");
}

#[test]
fn lines_killed_after_writing_are_not_appended_twice() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "lines"
[steps.env]
run = { kind = "file.lines", path = ".env", lines = ["MODE=blue", "EXTRA=1"] }
"#,
        )
        .file(".env", "MODE=green\n");
    test.crash_at("file.lines:written", &["apply", "plan.toml"]);
    resumed_alone(&test);
    assert_eq!(test.read(".env"), "MODE=blue\nEXTRA=1\n");
    test.cmd(&["rollback"]).status(0);
    assert_eq!(test.read(".env"), "MODE=green\n");
}

#[test]
fn a_file_changed_by_someone_else_goes_to_the_operator_saying_so() {
    let test = Test::new().plan(WRITE).file("app.conf", "port = 80\n");
    test.crash_at("file.write:recorded", &["apply", "plan.toml"]);
    std::fs::write(test.path().join("app.conf"), "port = 9999\n").expect("write");
    let refused = test.cmd(&["resume"]);
    refused.status(3);
    assert!(refused.stderr.contains("- config (attempt 1)"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("something else changed it"),
        "{}",
        refused.stderr
    );
    assert_eq!(test.read("app.conf"), "port = 9999\n", "nothing was written");
}

/// `planrun status` says what `resume` will ask about an in-doubt step,
/// then what it asked and found.
#[test]
fn status_shows_what_will_be_asked_and_what_was_found() {
    let test = Test::new().plan(WRITE).file("app.conf", "port = 80\n");
    test.crash_at("file.write:written", &["apply", "plan.toml"]);
    let before = test.cmd(&["status"]);
    before.status(0);
    std::fs::write(test.path().join("app.conf"), "port = 9999\n").expect("write");
    test.cmd(&["resume"]).status(3);
    let after = test.cmd(&["status"]);
    let text = format!("{}\n--- after resume\n{}", before.stdout, after.stdout);
    let dir = test.path().display().to_string();
    insta::with_settings!({filters => vec![
        (dir.as_str(), "[DIR]"),
        (r"\d{8}-\d{6}-[0-9a-f]{4}", "[RUN]"),
        (r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "[TIME]"),
        (r"pid \d+", "pid [PID]"),
        (r"by [^ ]+@[^ ]+ ", "by [USER] "),
        (r"sha256 [0-9a-f]{12}…", "sha256 [HASH]…"),
    ]}, {
        insta::assert_snapshot!("status_in_doubt", text);
    });
}

/// What `resume` prints about a settled step.
#[test]
fn resume_says_what_it_asked_and_found() {
    let test = Test::new().plan(WRITE).file("app.conf", "port = 80\n");
    test.crash_at("file.write:written", &["apply", "plan.toml"]);
    let run = resumed_alone(&test);
    let dir = test.path().display().to_string();
    insta::with_settings!({filters => vec![
        (dir.as_str(), "[DIR]"),
        (r"\d{8}-\d{6}-[0-9a-f]{4}", "[RUN]"),
        (r"\(\d+(\.\d+)?m?s\)", "([TIME])"),
        (r"in \d+(\.\d+)?m?s", "in [TIME]"),
        (r"note: took over the lock [^\n]*\n", ""),
    ]}, {
        insta::assert_snapshot!("resume_settled", run.stderr);
    });
}
