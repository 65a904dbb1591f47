//! `planrun rehearse`: apply, roll back, apply again; a rollback that
//! leaves its work in place and a step that cannot run twice are named.

use crate::test::Test;

#[test]
fn a_plan_whose_rollbacks_undo_everything_rehearses_clean() {
    let test = Test::new().plan(
        r#"format = 1
name = "clean"
[steps.write]
check = { kind = "file.exists", path = "a.txt" }
run = { kind = "file.write", path = "a.txt", content = "a" }
[steps.dir]
depends_on = ["write"]
check = { kind = "file.exists", path = "d" }
run = { kind = "shell", command = "mkdir d" }
rollback = { kind = "shell", command = "rmdir d" }
"#,
    );
    let run = test.cmd(&["rehearse", "plan.toml"]);
    run.status(0);
    assert!(run.stdout.contains("every rollback undid its step"), "{}", run.stdout);
    assert!(run.stdout.contains("write"), "{}", run.stdout);
    assert!(test.path().join("d").is_dir(), "it ends applied");
}

#[test]
fn a_leaky_rollback_and_a_step_that_cannot_run_twice_are_named_and_fail_the_rehearsal() {
    let test = Test::new().plan(
        r#"format = 1
name = "leaky"
[steps.leaky]
check = { kind = "file.exists", path = "b.txt" }
run = { kind = "shell", command = "touch b.txt" }
rollback = { kind = "shell", command = "true" }
[steps.once]
run = { kind = "shell", command = "mkdir once" }
rollback = { kind = "shell", command = "true" }
"#,
    );
    let run = test.cmd(&["rehearse", "plan.toml"]);
    run.status(1);
    let leaky = run
        .stdout
        .lines()
        .find(|line| line.starts_with("leaky "))
        .unwrap_or_default();
    assert!(
        leaky.contains("still passes") && leaky.contains("its rollback left its work in place"),
        "{}",
        run.stdout
    );
    let once = run
        .stdout
        .lines()
        .find(|line| line.starts_with("once "))
        .unwrap_or_default();
    assert!(once.contains("cannot be applied a second time"), "{}", run.stdout);
    assert!(run.stdout.contains("2 step(s) with a problem"), "{}", run.stdout);
}

const FAILING_ROLLBACK: &str = r#"format = 1
name = "rh"
[steps.a]
check = { kind = "shell", command = "test -e a" }
run = { kind = "shell", command = "touch a" }
rollback = { kind = "shell", command = "exit 1" }
[steps.b]
depends_on = ["a"]
check = { kind = "shell", command = "test -e b" }
run = { kind = "shell", command = "touch b" }
rollback = { kind = "shell", command = "rm b" }
"#;

/// A rollback that fails is the rehearsal's finding: a table naming the
/// step and exit 1 (it was an error with no table, exit 3), and nothing is
/// applied again over the half-undone run.
#[test]
fn a_failing_rollback_is_named_in_the_table_and_fails_the_rehearsal() {
    let test = Test::new().plan(FAILING_ROLLBACK);
    let run = test.cmd(&["rehearse", "plan.toml"]);
    run.status(1);
    let row = run
        .stdout
        .lines()
        .find(|line| line.starts_with("a "))
        .unwrap_or_default();
    assert!(
        row.contains("rollback_failed") && row.contains("its rollback failed"),
        "{}",
        run.stdout
    );
    assert!(!test.path().join("b").exists(), "b was undone and not applied again");
}

/// A rehearsal in which every step was satisfied already ran nothing and
/// proved nothing: it says so and exits 1 (it said every rollback worked).
#[test]
fn a_rehearsal_that_ran_nothing_says_so_and_fails() {
    let test = Test::new().plan(FAILING_ROLLBACK).file("a", "").file("b", "");
    let run = test.cmd(&["rehearse", "plan.toml"]);
    run.status(1);
    assert!(run.stdout.contains("nothing was rehearsed"), "{}", run.stdout);
    assert!(!run.stdout.contains("every rollback undid"), "{}", run.stdout);
}
