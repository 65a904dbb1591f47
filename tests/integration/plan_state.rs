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
    // `third`'s check passes now, but `second` would run before it.
    assert!(
        run.stdout
            .contains("cannot know (check passes now, but `second` would run first and may change what it reads)"),
        "{}",
        run.stdout
    );
    assert_eq!(walk_files(test.path()).len(), 2, "plan --live writes nothing");
    let lone = Test::new()
        .plan("format = 1\nname = 'lone'\n[steps.a]\ncheck = { kind = 'file.exists', path = 'plan.toml' }\nrun = { kind = 'shell', command = 'true' }\n");
    let run = lone.cmd(&["plan", "plan.toml", "--live"]);
    assert!(run.stdout.contains("satisfied now"), "{}", run.stdout);
    std::fs::remove_file(test.path().join("third-done")).expect("remove");
    let failing = Test::new().plan(&PLAN.replace("path = \"plan.toml\"", "path = \"absent\""));
    let run = failing.cmd(&["plan", "plan.toml", "--live"]);
    run.status(1);
    assert!(run.stderr.contains("preflight FAILED  present"), "{}", run.stderr);
    assert!(run.stdout.contains("cannot know (check now: "), "{}", run.stdout);
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

/// `plan --live` of a plan whose unfinished run was applied with
/// `--var-file` resolved everything with the defaults: done steps showed as
/// drifted and checks looked at the wrong world, where `resume` uses the
/// run's own overrides.
#[test]
fn the_preview_of_an_unfinished_run_uses_the_var_overrides_it_was_applied_with() {
    let plan = PLAN.replace("echo first >> ledger", "echo ${vars.word} >> ledger");
    let plan = plan.replace("name = \"states\"", "name = \"states\"\n[vars]\nword = \"default\"");
    let test = Test::new().plan(&plan).file("vars.toml", "word = \"given\"\n");
    test.cmd(&["apply", "plan.toml", "--var-file", "vars.toml"]).status(1);
    assert_eq!(test.read("ledger"), "given\n");
    let run = test.cmd(&["plan", "plan.toml", "--format", "json"]);
    assert!(
        run.stderr
            .contains("previewing with the var overrides it was applied with"),
        "{}",
        run.stderr
    );
    assert_eq!(
        states(&test, &[])["first"],
        "done",
        "not drifted: the same vars as the run"
    );
    let other = test.cmd(&["plan", "plan.toml", "--var", "word=other"]);
    assert!(other.stderr.contains("`resume` would use those"), "{}", other.stderr);
    assert_eq!(states(&test, &["--var", "word=other"])["first"], "drifted");
}
