//! `planrun resume`: continue where a run stopped; drift; manual gates.

use crate::test::Test;

const CHAIN: &str = r#"format = 1
name = "chain"
[steps.first]
run = { kind = "shell", command = "echo first >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.second]
depends_on = ["first"]
run = { kind = "shell", command = "echo second >> ledger; test -f ready" }
rollback = { kind = "shell", command = "true" }
[steps.third]
depends_on = ["second"]
run = { kind = "shell", command = "echo third >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;

#[test]
fn resume_runs_failed_and_pending_steps_but_not_succeeded_ones() {
    let test = Test::new().plan(CHAIN);
    test.cmd(&["apply", "plan.toml"]).status(1);
    assert_eq!(test.step_status("third"), "blocked");
    std::fs::write(test.path().join("ready"), "").expect("write");
    test.cmd(&["resume"]).status(0);
    assert_eq!(test.read("ledger"), "first\nsecond\nsecond\nthird\n");
    assert_eq!(test.status()["run"]["outcome"], "succeeded");
    let nothing = test.cmd(&["resume"]);
    nothing.status(2);
    assert!(nothing.stderr.contains("no unfinished run"), "{}", nothing.stderr);
}

#[test]
fn a_changed_completed_step_is_drift_until_accepted() {
    let test = Test::new().plan(CHAIN);
    test.cmd(&["apply", "plan.toml"]).status(1);
    let edited = CHAIN.replace("echo first >> ledger", "echo FIRST >> ledger");
    std::fs::write(test.path().join("plan.toml"), edited).expect("write");
    std::fs::write(test.path().join("ready"), "").expect("write");
    let refused = test.cmd(&["resume"]);
    refused.status(3);
    assert!(refused.stderr.contains("- first (succeeded)"), "{}", refused.stderr);
    assert_eq!(test.read("ledger"), "first\nsecond\n", "a refused resume runs nothing");
    test.cmd(&["resume", "--accept-drift"]).status(0);
    assert_eq!(test.read("ledger"), "first\nsecond\nsecond\nthird\n");
}

#[test]
fn rerun_runs_a_step_and_everything_after_it_again() {
    let test = Test::new().plan(CHAIN);
    test.cmd(&["apply", "plan.toml"]).status(1);
    let edited = CHAIN.replace("echo first >> ledger", "echo FIRST >> ledger");
    std::fs::write(test.path().join("plan.toml"), edited).expect("write");
    std::fs::write(test.path().join("ready"), "").expect("write");
    test.cmd(&["resume", "--rerun", "first"]).status(0);
    assert_eq!(test.read("ledger"), "first\nsecond\nFIRST\nsecond\nthird\n");
    let unknown = test.cmd(&["resume", "--rerun", "nope"]);
    unknown.status(2);
}

#[test]
fn new_steps_join_a_resumed_run_and_removed_ones_are_reported() {
    let test = Test::new().plan(CHAIN);
    test.cmd(&["apply", "plan.toml"]).status(1);
    let edited = CHAIN.replace("[steps.third]", "[steps.extra]\nrun = { kind = \"shell\", command = \"echo extra >> ledger\" }\nrollback = { kind = \"shell\", command = \"true\" }\n[steps.third-renamed]");
    std::fs::write(test.path().join("plan.toml"), edited).expect("write");
    std::fs::write(test.path().join("ready"), "").expect("write");
    let run = test.cmd(&["resume"]);
    run.status(0);
    assert!(
        run.stderr.contains("joining the run: extra, third-renamed"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no longer in the plan, left as they were: third"),
        "{}",
        run.stderr
    );
    assert!(test.read("ledger").contains("extra\n"));
}

const GATE: &str = r#"format = 1
name = "gate"
[steps.before]
run = { kind = "shell", command = "echo before >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.approve-it]
depends_on = ["before"]
run = { kind = "manual", instructions = "Check the dashboard" }
[steps.after]
depends_on = ["approve-it"]
run = { kind = "shell", command = "echo after >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;

#[test]
fn a_manual_gate_pauses_without_an_operator_and_resume_approve_continues() {
    let test = Test::new().plan(GATE);
    let paused = test.cmd(&["apply", "plan.toml"]);
    paused.status(3);
    assert!(
        paused.stderr.contains("planrun resume --approve approve-it"),
        "{}",
        paused.stderr
    );
    assert!(paused.stderr.contains("Check the dashboard"), "{}", paused.stderr);
    assert_eq!(test.read("ledger"), "before\n");
    assert_eq!(test.status()["run"]["outcome"], "paused");
    test.cmd(&["resume"]).status(3);
    test.cmd(&["resume", "--approve", "approve-it"]).status(0);
    assert_eq!(test.read("ledger"), "before\nafter\n");
}

#[test]
fn yes_approves_every_gate() {
    let test = Test::new().plan(GATE);
    test.cmd(&["apply", "plan.toml", "--yes"]).status(0);
    assert_eq!(test.read("ledger"), "before\nafter\n");
}

#[test]
fn vars_read_from_the_environment_keep_their_applied_value_on_resume() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "env-vars"
[vars]
target = "${env.PLANRUN_TEST_TARGET}"
[steps.first]
run = { kind = "shell", command = "echo first ${vars.target} >> ledger" }
[steps.second]
depends_on = ["first"]
run = { kind = "shell", command = "test -f go && echo second ${vars.target} >> ledger" }
"#,
        )
        .env("PLANRUN_TEST_TARGET", "one");
    test.cmd(&["apply", "plan.toml"]).status(1);
    std::fs::write(test.path().join("go"), "").expect("write");
    let test = test.env("PLANRUN_TEST_TARGET", "two");
    test.cmd(&["resume"]).status(0);
    assert_eq!(test.read("ledger"), "first one\nsecond one\n");
    assert_eq!(test.status()["run"]["vars"]["target"], "one");
}
