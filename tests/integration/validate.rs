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

#[test]
fn a_var_that_aliases_a_number_var_fills_a_number_field() {
    let run = Test::new()
        .plan(
            "format = 1\nname = 'x'\n[vars]\nport = 5432\ndb_port = '${vars.port}'\n[steps.a]\ncheck = { kind = 'tcp', port = '${vars.db_port}' }\nrun = { kind = 'shell', command = 'true' }\nrollback = { kind = 'shell', command = 'true' }\n",
        )
        .args(&["validate", "--deny-warnings", "plan.toml"])
        .run();
    run.status(0);
}

#[test]
fn secrets_referenced_in_vars_are_checked_and_count_as_used() {
    let plan = "format = 1\nname = 'x'\n[vars]\nurl = 'postgres://u:${secrets.pw}@h/db'\n[secrets]\npw = { env = 'PW' }\n[steps.a]\nrun = { kind = 'shell', command = 'echo ${vars.url}' }\nrollback = { kind = 'shell', command = 'true' }\n";
    Test::new()
        .plan(plan)
        .args(&["validate", "--deny-warnings", "plan.toml"])
        .run()
        .status(0);
    let run = Test::new()
        .plan(&plan.replace("secrets.pw}", "secrets.pv}"))
        .args(&["validate", "plan.toml"])
        .run();
    run.status(2);
    assert!(run.stderr.contains("undefined secret `secrets.pv`"), "{}", run.stderr);
}

#[test]
fn an_error_in_a_var_override_points_at_the_override() {
    let plan = "format = 1\nname = 'x'\n[vars]\nport = 5432\nhost = 'db'\n[steps.a]\ncheck = { kind = 'tcp', host = '${vars.host}', port = '${vars.port}' }\n";
    let run = Test::new()
        .plan(plan)
        .args(&["validate", "plan.toml", "--var", "host=${vars.nope}"])
        .run();
    run.status(2);
    assert!(run.stderr.contains("[--var:1:6]"), "{}", run.stderr);
    let run = Test::new()
        .plan(plan)
        .args(&["validate", "plan.toml", "--var", "port=70000"])
        .run();
    run.status(2);
    assert!(
        run.stderr.contains("`vars.port` is set by `--var port=70000`"),
        "{}",
        run.stderr
    );
}

#[test]
fn columns_count_characters_and_a_lone_carriage_return_is_no_line_break() {
    let run = Test::new()
        .plan("format = 1\nname = 'x'\n[steps.a]\nrun = { kind = 'shell', command = '日本語🎉', cwd = 5 }\n")
        .args(&["validate", "plan.toml"])
        .run();
    run.status(2);
    assert!(run.stderr.contains("[plan.toml:4:49]"), "{}", run.stderr);
    let run = Test::new()
        .plan("format = 1\rname = 'x'\r")
        .args(&["validate", "plan.toml"])
        .run();
    run.status(2);
    assert!(run.stderr.contains("[plan.toml:1:12]"), "{}", run.stderr);
    assert!(!run.stderr.contains('\r'), "{:?}", run.stderr);
}

#[test]
fn only_the_first_hundred_diagnostics_are_drawn() {
    let mut plan = String::from("format = 1\nname = 'x'\n");
    for i in 0..150 {
        plan.push_str(&format!(
            "[steps.s{i}]\ntimeout = '0s'\ncheck = {{ kind = 'env', name = 'X' }}\n"
        ));
    }
    let run = Test::new().plan(&plan).args(&["validate", "plan.toml"]).run();
    run.status(2);
    assert_eq!(
        run.stderr.matches("planrun::out-of-range").count(),
        100,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("… and 50 more errors, not shown"), "{}", run.stderr);
    assert!(
        run.stderr.ends_with("`plan.toml` is invalid: 150 errors\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn every_bad_entry_of_a_var_file_is_reported() {
    let test = Test::new()
        .plan("format = 1\nname = \"vf\"\n[vars]\na = \"x\"\n[steps.s]\nrun = { kind = \"shell\", command = \"echo ${vars.a}\" }\n")
        .file("vars.toml", "a = [1]\nb = { x = 1 }\nc = \"ok\"\nd = [2]\n");
    let run = test.cmd(&["validate", "plan.toml", "--var-file", "vars.toml"]);
    run.status(2);
    assert_eq!(run.stderr.matches("must be a plain value").count(), 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("vars.toml:4:5"),
        "each points into the var file: {}",
        run.stderr
    );
}
