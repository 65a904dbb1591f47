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
    run.status(0);
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
