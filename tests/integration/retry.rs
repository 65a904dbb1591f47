//! Timeouts and retries of a step's `run`.

use crate::test::Test;

#[test]
fn a_step_is_retried_until_it_succeeds() {
    let test = Test::new().plan(
        r#"format = 1
name = "retry"
[steps.flaky]
run = { kind = "shell", command = "echo try >> tries; test $(wc -l < tries) -ge 3" }
rollback = { kind = "shell", command = "true" }
retry = { attempts = 4, delay = "10ms", backoff = 2.0 }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(0);
    assert_eq!(test.read("tries").lines().count(), 3);
    assert_eq!(run.stderr.matches("retry   flaky").count(), 2, "{}", run.stderr);
    assert_eq!(test.status()["steps"][0]["attempts"], 3);
}

#[test]
fn retries_stop_after_the_last_attempt() {
    let test = Test::new().plan(
        "format = 1\nname = 'r'\n[steps.never]\nrun = { kind = 'shell', command = 'echo try >> tries; exit 7' }\nrollback = { kind = 'shell', command = 'true' }\nretry = { attempts = 3, delay = '10ms' }\n",
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert_eq!(test.read("tries").lines().count(), 3);
    assert!(run.stderr.contains("exit code 7"), "{}", run.stderr);
    let error = test.status()["steps"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.starts_with("run (shell) failed: exit code 7"), "{error}");
}

#[test]
fn a_step_that_runs_too_long_is_stopped_and_failed() {
    let test = Test::new().plan(
        r#"format = 1
name = "timeout"
[steps.slow]
run = { kind = "shell", command = "trap 'echo stopped >> ledger; exit 143' TERM; sleep 30 & wait" }
rollback = { kind = "shell", command = "true" }
timeout = "300ms"
"#,
    );
    let run = test.cmd(&["apply", "plan.toml", "--kill-grace", "2s"]);
    run.status(1);
    assert!(run.stderr.contains("timed out after 300ms"), "{}", run.stderr);
    assert_eq!(test.read("ledger"), "stopped\n", "the step's processes got SIGTERM");
    assert_eq!(test.step_status("slow"), "failed");
}

#[test]
fn a_failing_precondition_fails_the_step_without_running_it() {
    let test = Test::new().plan(
        r#"format = 1
name = "pre"
[steps.guarded]
preconditions = [{ kind = "file.exists", path = "missing" }]
run = { kind = "shell", command = "echo ran >> ledger" }
rollback = { kind = "shell", command = "true" }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(
        run.stderr.contains("precondition 1 (file.exists) failed"),
        "{}",
        run.stderr
    );
    assert_eq!(test.read("ledger"), "");
    assert_eq!(test.status()["steps"][0]["attempts"], 0);
}

#[test]
fn a_failing_verify_fails_the_step() {
    let test = Test::new().plan(
        r#"format = 1
name = "verify"
[steps.write]
run = { kind = "shell", command = "echo wrong > out" }
verify = [{ kind = "file.contains", path = "out", text = "right" }]
rollback = { kind = "shell", command = "true" }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(run.stderr.contains("verify 1 (file.contains) failed"), "{}", run.stderr);
}

#[test]
fn preflight_failures_are_all_reported_and_no_step_runs() {
    let test = Test::new().plan(
        r#"format = 1
name = "pre"
[preflight.one]
probe = { kind = "file.exists", path = "missing-one" }
help = "create missing-one"
[preflight.two]
probe = { kind = "env", name = "PLANRUN_TEST_NOT_SET" }
[preflight.three]
probe = { kind = "file.exists", path = "plan.toml" }
[steps.a]
run = { kind = "shell", command = "echo ran >> ledger" }
rollback = { kind = "shell", command = "true" }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(run.stderr.contains("preflight FAILED  one"), "{}", run.stderr);
    assert!(run.stderr.contains("help: create missing-one"), "{}", run.stderr);
    assert!(run.stderr.contains("preflight FAILED  two"), "{}", run.stderr);
    assert!(run.stderr.contains("preflight ok      three"), "{}", run.stderr);
    assert_eq!(test.read("ledger"), "");
}
