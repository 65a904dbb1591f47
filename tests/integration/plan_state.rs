//! `planrun plan` on a plan with an unfinished run shows where each step
//! stands; `--live` evaluates preflight and checks read-only.

use crate::test::{Test, walk_files};

const PLAN: &str = r#"format = 1
name = "states"
[preflight.present]
probe = { kind = "file.exists", path = "plan.toml" }
[steps.first]
run = { kind = "shell", command = "echo first >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.second]
depends_on = ["first"]
run = { kind = "shell", command = "test -f go" }
rollback = { kind = "shell", command = "true" }
[steps.third]
depends_on = ["second"]
check = { kind = "file.exists", path = "third-done" }
run = { kind = "shell", command = "true" }
rollback = { kind = "shell", command = "true" }
"#;

fn states(test: &Test, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["plan", "plan.toml", "--format", "json"];
    args.extend_from_slice(extra);
    let run = test.cmd(&args);
    let preview: serde_json::Value = serde_json::from_str(&run.stdout).expect("the preview is JSON");
    preview["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|step| {
            (
                step["id"].as_str().unwrap_or_default().to_string(),
                step["state"].clone(),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn the_preview_shows_done_failed_blocked_and_drifted_steps() {
    let test = Test::new().plan(PLAN);
    assert_eq!(states(&test, &[])["first"], serde_json::Value::Null, "no run, no state");
    test.cmd(&["apply", "plan.toml"]).status(1);
    let before = walk_files(test.path());
    let shown = states(&test, &[]);
    assert_eq!(shown["first"], "done");
    assert_eq!(shown["second"], "failed");
    assert_eq!(shown["third"], "blocked");
    assert_eq!(walk_files(test.path()), before, "plan writes nothing");
    std::fs::write(test.path().join("plan.toml"), PLAN.replace("echo first", "echo FIRST")).expect("write");
    assert_eq!(states(&test, &[])["first"], "drifted");
}

#[test]
fn live_evaluates_checks_and_preflight_without_writing() {
    let test = Test::new().plan(PLAN).file("third-done", "");
    let run = test.cmd(&["plan", "plan.toml", "--live"]);
    run.status(0);
    assert!(run.stderr.contains("preflight ok      present"), "{}", run.stderr);
    assert!(run.stdout.contains("satisfied now"), "{}", run.stdout);
    assert_eq!(walk_files(test.path()).len(), 2, "plan --live writes nothing");
    std::fs::remove_file(test.path().join("third-done")).expect("remove");
    let failing = Test::new().plan(&PLAN.replace("path = \"plan.toml\"", "path = \"absent\""));
    let run = failing.cmd(&["plan", "plan.toml", "--live"]);
    run.status(1);
    assert!(run.stderr.contains("preflight FAILED  present"), "{}", run.stderr);
    assert!(run.stdout.contains("would run (check:"), "{}", run.stdout);
}

#[test]
fn plan_and_status_leave_an_empty_state_file_untouched() {
    let test = Test::new().plan(PLAN).file(".planrun/state.db", "");
    let before = walk_files(test.path());
    test.cmd(&["plan", "plan.toml"]).status(0);
    test.cmd(&["status"]).status(0);
    test.cmd(&["runs"]).status(0);
    assert_eq!(walk_files(test.path()), before);
    assert_eq!(test.read(".planrun/state.db"), "", "no schema was created");
}
