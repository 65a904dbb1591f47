//! `planrun rollback`: reverse dependency order, only what ran, and an
//! interrupted or failed rollback continues when run again.

use crate::test::Test;

const DIAMOND: &str = r#"format = 1
name = "diamond"
[steps.a]
run = { kind = "shell", command = "echo do-a >> ledger" }
rollback = { kind = "shell", command = "echo undo-a >> ledger" }
[steps.b]
depends_on = ["a"]
run = { kind = "shell", command = "echo do-b >> ledger" }
rollback = { kind = "shell", command = "sleep 0.1; echo undo-b >> ledger" }
[steps.c]
depends_on = ["a"]
check = { kind = "file.exists", path = "c-done" }
run = { kind = "shell", command = "echo do-c >> ledger" }
rollback = { kind = "shell", command = "echo undo-c >> ledger" }
[steps.d]
depends_on = ["b", "c"]
run = { kind = "shell", command = "echo do-d >> ledger" }
rollback = { kind = "shell", command = "test ! -f block-undo-d && echo undo-d >> ledger" }
[steps.e]
depends_on = ["a"]
run = { kind = "shell", command = "echo do-e >> ledger" }
"#;

fn undo_order(ledger: &str) -> Vec<&str> {
    ledger.lines().filter_map(|line| line.strip_prefix("undo-")).collect()
}

#[test]
fn rollback_undoes_what_ran_in_reverse_dependency_order() {
    let test = Test::new().plan(DIAMOND).file("c-done", "");
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert_eq!(test.step_status("c"), "satisfied");
    let run = test.cmd(&["rollback"]);
    run.status(0);
    assert!(run.stderr.contains("not undone (no rollback): e"), "{}", run.stderr);
    let ledger = test.read("ledger");
    let order = undo_order(&ledger);
    assert_eq!(order.len(), 3, "c was satisfied, not run; e has no rollback: {ledger}");
    let at = |id: &str| order.iter().position(|x| *x == id).unwrap_or(usize::MAX);
    assert!(at("d") < at("b") && at("b") < at("a"), "{order:?}");
    assert_eq!(test.step_status("a"), "rolled_back");
    assert_eq!(test.step_status("c"), "satisfied");
    assert_eq!(test.status()["run"]["outcome"], "rolled_back");
}

#[test]
fn a_failed_rollback_stops_its_dependencies_and_continues_when_run_again() {
    let test = Test::new().plan(DIAMOND).file("block-undo-d", "");
    test.cmd(&["apply", "plan.toml"]).status(0);
    let failed = test.cmd(&["rollback"]);
    failed.status(1);
    assert_eq!(test.step_status("d"), "rollback_failed");
    assert_eq!(test.step_status("b"), "succeeded", "b waits for d's rollback");
    assert_eq!(test.status()["run"]["outcome"], "rollback_failed");
    std::fs::remove_file(test.path().join("block-undo-d")).expect("remove");
    test.cmd(&["rollback"]).status(0);
    let ledger = test.read("ledger");
    assert_eq!(undo_order(&ledger).iter().filter(|x| **x == "d").count(), 1, "{ledger}");
    let order = undo_order(&ledger);
    let at = |id: &str| order.iter().position(|x| *x == id).unwrap_or(usize::MAX);
    assert!(at("d") < at("b") && at("c") < at("a") && at("b") < at("a"), "{order:?}");
}

#[test]
fn rollback_on_failure_undoes_the_steps_that_ran() {
    let plan = DIAMOND.replace("echo do-d >> ledger", "echo do-d >> ledger; exit 1");
    let test = Test::new().plan(&plan);
    let run = test.cmd(&["apply", "plan.toml", "--rollback-on-failure"]);
    run.status(1);
    let order = test.read("ledger");
    assert!(
        order.contains("undo-d"),
        "a failed step's rollback runs: its run started\n{order}"
    );
    assert!(order.contains("undo-a"), "{order}");
    assert_eq!(test.status()["run"]["outcome"], "rolled_back");
}

#[test]
fn built_in_undo_restores_edited_files() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "edits"
[steps.write]
run = { kind = "file.write", path = "conf/new.txt", content = "fresh\n" }
[steps.overwrite]
run = { kind = "file.write", path = "existing.txt", content = "replaced\n" }
[steps.replace]
run = { kind = "file.replace", paths = ["api.ts"], search = "http://localhost:3001", replace = "https://localhost/api" }
[steps.lines]
run = { kind = "file.lines", path = ".env", lines = ["RABBITMQ_URL=amqp://localhost:5672", "MODE=poc3"] }
"#,
        )
        .file("existing.txt", "original\n")
        .file(
            "api.ts",
            "a = 'http://localhost:3001';\nb = 'http://localhost:3001/x';\n",
        )
        .file(".env", "MODE=poc2\nKEEP=1\n");
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert_eq!(test.read("conf/new.txt"), "fresh\n");
    assert_eq!(
        test.read("api.ts"),
        "a = 'https://localhost/api';\nb = 'https://localhost/api/x';\n"
    );
    assert_eq!(
        test.read(".env"),
        "MODE=poc3\nKEEP=1\nRABBITMQ_URL=amqp://localhost:5672\n"
    );
    test.cmd(&["rollback"]).status(0);
    assert!(!test.path().join("conf/new.txt").exists());
    assert_eq!(test.read("existing.txt"), "original\n");
    assert_eq!(
        test.read("api.ts"),
        "a = 'http://localhost:3001';\nb = 'http://localhost:3001/x';\n"
    );
    assert_eq!(test.read(".env"), "MODE=poc2\nKEEP=1\n");
}

#[test]
fn a_replacement_that_does_not_match_fails() {
    let test = Test::new()
        .plan(
            "format = 1\nname = 'r'\n[steps.replace]\nrun = { kind = 'file.replace', paths = ['api.ts'], search = 'http://localhost:3001', replace = 'x' }\n",
        )
        .file("api.ts", "nothing to see\n");
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(run.stderr.contains("contains neither"), "{}", run.stderr);
}

#[test]
fn a_failed_step_is_undone_from_the_record_it_saved_before_acting() {
    let test = Test::new().plan(
        r#"format = 1
name = "failed-undo"
[steps.write]
run = { kind = "file.write", path = "conf.txt", content = "new\n" }
verify = [{ kind = "file.contains", path = "conf.txt", text = "never" }]
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    assert_eq!(test.read("conf.txt"), "new\n");
    test.cmd(&["rollback"]).status(0);
    assert!(
        !test.path().join("conf.txt").exists(),
        "the file planrun created is gone"
    );
}

#[test]
fn a_rollback_can_read_the_outputs_of_its_own_step() {
    let test = Test::new().plan(
        r#"format = 1
name = "own-outputs"
[steps.make]
run = { kind = "shell", command = "echo id=42 >> $PLANRUN_OUTPUT" }
verify = [{ kind = "shell", command = "test ${steps.make.outputs.id} = 42" }]
rollback = { kind = "shell", command = "echo removed ${steps.make.outputs.id} > undone" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(0);
    test.cmd(&["rollback"]).status(0);
    assert_eq!(test.read("undone"), "removed 42\n");
}

#[test]
fn rollback_of_a_plan_undoes_the_latest_run_of_that_plan_only() {
    let plan = |name: &str| {
        format!(
            "format = 1\nname = '{name}'\n[steps.s]\nrun = {{ kind = 'shell', command = 'echo do-{name} >> ledger' }}\nrollback = {{ kind = 'shell', command = 'echo undo-{name} >> ledger' }}\n"
        )
    };
    let test = Test::new().file("x.toml", plan("x")).file("y.toml", plan("y"));
    test.cmd(&["apply", "x.toml"]).status(0);
    test.cmd(&["apply", "y.toml"]).status(0);
    test.cmd(&["rollback", "x.toml"]).status(0);
    assert_eq!(test.read("ledger"), "do-x\ndo-y\nundo-x\n");
    let runs = test.cmd(&["runs", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).expect("runs json");
    let outcome = |name: &str| {
        runs.as_array()
            .and_then(|runs| runs.iter().find(|run| run["plan_name"] == name))
            .map(|run| run["outcome"].clone())
    };
    assert_eq!(outcome("x"), Some("rolled_back".into()));
    assert_eq!(outcome("y"), Some("succeeded".into()), "y's run is left alone");
    // A run of another plan is refused, not undone with the wrong rollbacks.
    let y_run = runs
        .as_array()
        .and_then(|r| r.iter().find(|run| run["plan_name"] == "y"))
        .expect("y");
    let wrong = test.cmd(&["rollback", "x.toml", "--run", y_run["id"].as_str().expect("id")]);
    wrong.status(2);
    assert!(wrong.stderr.contains("is of plan `y`"), "{}", wrong.stderr);
    test.cmd(&["rollback", "--run", "no-such-run"]).status(2);
}

#[test]
fn steps_that_ran_are_undone_after_rerun_and_after_a_later_check_passes() {
    let test = Test::new().plan(
        r#"format = 1
name = "ran"
[steps.a]
run = { kind = "shell", command = "echo do-a >> ledger" }
rollback = { kind = "shell", command = "echo undo-a >> ledger" }
[steps.b]
depends_on = ["a"]
run = { kind = "shell", command = "echo do-b >> ledger" }
rollback = { kind = "shell", command = "echo undo-b >> ledger" }
[steps.m]
check = { kind = "file.exists", path = "marker" }
run = { kind = "shell", command = "touch marker; exit 1" }
rollback = { kind = "shell", command = "rm marker; echo undo-m >> ledger" }
[steps.c]
run = { kind = "shell", command = "test -f go" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    // `m` left its marker, so its check passes on resume: satisfied, yet it ran.
    test.cmd(&["resume"]).status(1);
    assert_eq!(test.step_status("m"), "satisfied");
    // `a` is changed to fail; `--rerun a` resets a and b, and b ends blocked.
    let changed = test.read("plan.toml").replace("echo do-a >> ledger", "exit 1");
    std::fs::write(test.path().join("plan.toml"), changed).expect("write");
    test.cmd(&["resume", "--rerun", "a"]).status(1);
    assert_eq!(test.step_status("b"), "blocked");
    test.cmd(&["rollback"]).status(0);
    let ledger = test.read("ledger");
    let order = undo_order(&ledger);
    let at = |id: &str| order.iter().position(|x| *x == id).unwrap_or(usize::MAX);
    assert!(order.contains(&"b"), "b ran in the first apply: {ledger}");
    assert!(order.contains(&"m"), "m's run started: {ledger}");
    assert!(at("b") < at("a"), "b is undone before a: {order:?}");
    assert!(!test.path().join("marker").exists());
}

#[test]
fn a_resume_with_a_changed_plan_makes_rollback_follow_the_changed_plan() {
    let test = Test::new().plan(
        r#"format = 1
name = "grow"
[steps.a]
run = { kind = "shell", command = "echo do-a >> ledger" }
rollback = { kind = "shell", command = "echo undo-a >> ledger" }
[steps.b]
depends_on = ["a"]
run = { kind = "shell", command = "test -f go && echo do-b >> ledger" }
rollback = { kind = "shell", command = "echo undo-b >> ledger" }
[steps.gone]
depends_on = ["a"]
run = { kind = "shell", command = "echo do-gone >> ledger" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    let changed = test.read("plan.toml").replace(
        "[steps.gone]\ndepends_on = [\"a\"]\nrun = { kind = \"shell\", command = \"echo do-gone >> ledger\" }\n",
        "[steps.new]\ndepends_on = [\"b\"]\nrun = { kind = \"shell\", command = \"echo do-new >> ledger\" }\nrollback = { kind = \"shell\", command = \"echo undo-new >> ledger\" }\n",
    );
    std::fs::write(test.path().join("plan.toml"), changed).expect("write");
    std::fs::write(test.path().join("go"), "").expect("write");
    test.cmd(&["resume"]).status(0);
    let run = test.cmd(&["rollback"]);
    run.status(0);
    let ledger = test.read("ledger");
    assert_eq!(undo_order(&ledger), ["new", "b", "a"], "{ledger}");
    assert!(run.stderr.contains("gone (no longer in the plan)"), "{}", run.stderr);
}

#[test]
fn a_manual_rollback_is_confirmed_with_approve() {
    let test = Test::new().plan(
        r#"format = 1
name = "manual-undo"
[steps.dns]
run = { kind = "shell", command = "echo do >> ledger" }
rollback = { kind = "manual", instructions = "Point DNS back at the old host" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(0);
    let refused = test.cmd(&["rollback"]);
    refused.status(1);
    assert!(refused.stderr.contains("--approve dns"), "{}", refused.stderr);
    test.cmd(&["rollback", "--approve", "nope"]).status(2);
    test.cmd(&["rollback", "--approve", "dns"]).status(0);
    assert_eq!(test.step_status("dns"), "rolled_back");
}
