//! `planrun validate`: exit codes and that nothing is written.

use crate::test::Test;

const VALID: &str = r#"
format = 1
name = "tiny"

[steps.hello]
run = { kind = "shell", command = "echo hello" }
rollback = { kind = "shell", command = "true" }
"#;

#[test]
fn a_valid_plan_exits_zero_and_writes_nothing() {
    let run = Test::new().plan(VALID).args(&["validate", "plan.toml"]).run();
    run.status(0);
    assert!(run.stderr.contains("`plan.toml` is valid"), "{}", run.stderr);
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
}

#[test]
fn an_invalid_plan_exits_two_and_writes_nothing() {
    let run = Test::new()
        .plan("format = 1\nname = 'x'\n[steps.a]\nrun = { kind = 'shel' }\n")
        .args(&["validate", "plan.toml"])
        .run();
    run.status(2);
    assert!(run.stderr.contains("unknown kind `shel`"), "{}", run.stderr);
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
}

#[test]
fn a_missing_file_is_a_usage_error() {
    Test::new().args(&["validate", "nope.toml"]).run().status(2);
}
