//! One snapshot per diagnostic: the whole rendered stderr of `planrun
//! validate`, which must show file:line:column, the underlined text and a
//! `help:`. Every error exits 2 and writes nothing.

use crate::test::Test;

const HEADER: &str = "format = 1\nname = \"demo\"\n";

/// Runs `validate` on `plan` (after the usual header) and pins stderr.
fn error(name: &str, plan: &str) {
    invalid(name, format!("{HEADER}{plan}"));
}

/// Like [`error`], for plans that must be given whole.
fn invalid(name: &str, plan: impl AsRef<[u8]>) {
    let run = Test::new()
        .file("plan.toml", plan)
        .args(&["validate", "plan.toml"])
        .run();
    run.status(2);
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    insta::assert_snapshot!(name, run.stderr);
}

/// Like [`error`], with more arguments after `validate plan.toml`.
fn error_with(name: &str, plan: &str, args: &[&str]) {
    let run = Test::new()
        .plan(&format!("{HEADER}{plan}"))
        .args(&["validate", "plan.toml"])
        .args(args)
        .run();
    run.status(2);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    insta::assert_snapshot!(name, run.stderr);
}

/// A warning: exit 0, and exit 2 with `--deny-warnings`.
fn warning(name: &str, plan: &str) {
    let test = Test::new()
        .plan(&format!("{HEADER}{plan}"))
        .args(&["validate", "plan.toml"]);
    let run = test.run();
    run.status(0);
    insta::assert_snapshot!(name, run.stderr);
    let denied = test.args(&["--deny-warnings"]).run();
    denied.status(2);
    assert!(denied.stderr.contains("is invalid"), "{}", denied.stderr);
    assert_eq!(denied.written_files(&["plan.toml"]), Vec::<String>::new());
}

#[test]
fn toml_syntax() {
    error(
        "toml_syntax",
        "[steps.a]\nrun = { kind = \"shell\", command = \"echo }\n",
    );
}

#[test]
fn unknown_field_suggests_the_right_one() {
    error(
        "unknown_field",
        "[steps.a]\ndepnds_on = []\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn unknown_field_in_a_kind_suggests_the_right_one() {
    error(
        "unknown_field_in_kind",
        "[steps.a]\nrun = { kind = \"shell\", comand = \"true\" }\n",
    );
}

#[test]
fn wrong_type() {
    error(
        "wrong_type",
        "[steps.a]\nidempotent = \"yes\"\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn wrong_type_in_a_kind() {
    error(
        "wrong_type_in_kind",
        "[steps.a]\ncheck = { kind = \"tcp\", port = \"5432\" }\n",
    );
}

#[test]
fn missing_required_field() {
    invalid(
        "missing_field",
        "format = 1\n[steps.a]\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn missing_required_field_in_a_kind() {
    error(
        "missing_field_in_kind",
        "[steps.a]\ncheck = { kind = \"file.exists\" }\n",
    );
}

#[test]
fn unknown_dependency_suggests_the_right_step() {
    error(
        "unknown_dependency",
        "[steps.backup]\nrun = { kind = \"shell\", command = \"true\" }\n\
         [steps.restore]\ndepends_on = [\"bakup\"]\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn self_dependency() {
    error(
        "self_dependency",
        "[steps.a]\ndepends_on = [\"a\"]\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn cycle_names_every_step_in_order() {
    error(
        "dependency_cycle",
        "[steps.a]\ndepends_on = [\"c\"]\ncheck = { kind = \"env\", name = \"A\" }\n\
         [steps.b]\ndepends_on = [\"a\"]\ncheck = { kind = \"env\", name = \"B\" }\n\
         [steps.c]\ndepends_on = [\"b\"]\ncheck = { kind = \"env\", name = \"C\" }\n",
    );
}

#[test]
fn unknown_kind_suggests_the_right_one() {
    error(
        "unknown_kind",
        "[steps.a]\nrun = { kind = \"shel\", command = \"true\" }\n",
    );
}

#[test]
fn an_action_used_as_a_probe() {
    error(
        "action_as_probe",
        "[steps.a]\ncheck = { kind = \"file.write\", path = \"x\", content = \"y\" }\n",
    );
}

#[test]
fn a_probe_used_as_an_action() {
    error("probe_as_action", "[steps.a]\nrun = { kind = \"tcp\", port = 80 }\n");
}

#[test]
fn bad_duration() {
    error(
        "bad_duration",
        "[steps.a]\ntimeout = \"5 mins\"\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn bad_url() {
    error(
        "bad_url",
        "[steps.a]\ncheck = { kind = \"postgres.connect\", url = \"mysql://db/app\" }\n",
    );
}

#[test]
fn unparsable_url() {
    error(
        "unparsable_url",
        "[steps.a]\ncheck = { kind = \"http\", url = \"http//example.com\" }\n",
    );
}

#[test]
fn undefined_var_suggests_the_right_one() {
    error(
        "undefined_var",
        "[vars]\nport = 5432\n[steps.a]\ncheck = { kind = \"tcp\", port = \"${vars.prot}\" }\n",
    );
}

#[test]
fn undefined_secret() {
    error(
        "undefined_secret",
        "[steps.a]\nrun = { kind = \"shell\", command = \"psql\", env = { PGPASSWORD = \"${secrets.pg}\" } }\n\
         rollback = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn undefined_step_output() {
    error(
        "undefined_output",
        "[steps.a]\nrun = { kind = \"shell\", command = \"echo ${steps.nope.outputs.file}\" }\n\
         rollback = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn unclosed_interpolation() {
    error(
        "unclosed_interpolation",
        "[steps.a]\nrun = { kind = \"shell\", command = \"echo ${vars.x\" }\n\
         rollback = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn output_of_a_step_that_is_not_an_ancestor() {
    error(
        "output_not_ancestor",
        "[steps.dump]\nrun = { kind = \"shell\", command = \"pg_dump\" }\n\
         rollback = { kind = \"shell\", command = \"true\" }\n\
         [steps.restore]\nrun = { kind = \"shell\", command = \"pg_restore ${steps.dump.outputs.file}\" }\n\
         rollback = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn negative_retry() {
    error(
        "negative_retry",
        "[steps.a]\nretry = { attempts = -1 }\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn absurd_timeout() {
    error(
        "absurd_timeout",
        "[steps.a]\ntimeout = \"30d\"\nrun = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn absurd_lock_timeout() {
    error(
        "absurd_lock_timeout",
        "[steps.a]\nrun = { kind = \"postgres.exec\", url = \"postgres://db/app\", sql = \"SELECT 1\", lock_timeout = \"30d\" }\nrollback = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn query_with_sql_and_file() {
    error(
        "query_with_sql_and_file",
        "[steps.a]\nrun = { kind = \"shell\", command = \"true\" }\nrollback = { kind = \"shell\", command = \"true\" }\nverify = [{ kind = \"postgres.query\", url = \"postgres://db/app\", sql = \"SELECT 1\", file = \"verify.sql\" }]\n",
    );
}

#[test]
fn unsupported_format() {
    invalid(
        "unsupported_format",
        "format = 2\nname = \"demo\"\n[steps.a]\ncheck = { kind = \"env\", name = \"A\" }\n",
    );
}

#[test]
fn empty_file() {
    invalid("empty_file", "\n  \n");
}

#[test]
fn binary_file() {
    invalid("binary_file", b"format = 1\nname = \"\0\"\n");
}

#[test]
fn warning_no_rollback() {
    warning(
        "no_rollback",
        "[steps.a]\nrun = { kind = \"shell\", command = \"rm -rf /tmp/x\" }\n",
    );
}

#[test]
fn warning_unused_var() {
    warning(
        "unused_var",
        "[vars]\nport = 5432\n[steps.a]\ncheck = { kind = \"env\", name = \"A\" }\n",
    );
}

#[test]
fn warning_unused_secret() {
    warning(
        "unused_secret",
        "[secrets]\npw = { env = \"PW\" }\n[steps.a]\ncheck = { kind = \"env\", name = \"A\" }\n",
    );
}

#[test]
fn warning_empty_step() {
    warning("empty_step", "[steps.a]\ndescription = \"nothing yet\"\n");
}

#[test]
fn unknown_variant_lists_the_values() {
    error(
        "unknown_variant",
        "[steps.a]\ncheck = { kind = \"tcp\", port = 80, state = \"opne\" }\n",
    );
}

#[test]
fn invalid_value_says_the_range() {
    error("invalid_value", "[steps.a]\ncheck = { kind = \"tcp\", port = 70000 }\n");
}

#[test]
fn invalid_field() {
    error(
        "invalid_field",
        "[steps.a]\ncheck = { kind = \"file.contains\", path = \"x\", regex = \"(\" }\n",
    );
}

#[test]
fn conflicting_fields() {
    error(
        "conflicting_fields",
        "[steps.a]\nrun = { kind = \"shell\", command = \"true\", argv = [\"true\"] }\n\
         rollback = { kind = \"shell\", command = \"true\" }\n",
    );
}

#[test]
fn bad_id_suggests_a_valid_one() {
    error(
        "bad_id",
        "[steps.Backup_DB]\ncheck = { kind = \"env\", name = \"A\" }\n",
    );
}

#[test]
fn no_steps() {
    error("no_steps", "[vars]\nx = 1\n");
}

#[test]
fn unknown_variable_on_the_command_line() {
    error_with(
        "unknown_variable",
        "[vars]\nport = 5432\n[steps.a]\ncheck = { kind = \"tcp\", port = \"${vars.port}\" }\n",
        &["--var", "prot=5433"],
    );
}

#[test]
fn var_cycle() {
    error(
        "var_cycle",
        "[vars]\na = \"${vars.b}/x\"\nb = \"${vars.a}/y\"\n[steps.a]\ncheck = { kind = \"env\", name = \"${vars.a}\" }\n",
    );
}

#[test]
fn output_in_preflight() {
    error(
        "output_in_preflight",
        "[preflight.ready]\nprobe = { kind = \"file.exists\", path = \"${steps.a.outputs.file}\" }\n\
         [steps.a]\ncheck = { kind = \"env\", name = \"A\" }\n",
    );
}

#[test]
fn malformed_interpolation() {
    error(
        "malformed_interpolation",
        "[steps.a]\ncheck = { kind = \"env\", name = \"${steps.a.output.x}\" }\n",
    );
}

#[test]
fn unknown_interpolation() {
    error(
        "unknown_interpolation",
        "[steps.a]\ncheck = { kind = \"shell\", command = \"echo ${HOME}\" }\n",
    );
}

#[test]
fn every_error_of_a_step_at_once() {
    error(
        "every_error_of_a_step",
        "[steps.a]\nphse = \"x\"\ndescriptin = \"y\"\n\
         run = { kind = \"shell\", command = \"true\", cwd = 5 }\n\
         rollback = { kind = \"shell\", comand = \"true\", frob = 2 }\n",
    );
}

#[test]
fn a_secret_with_two_sources() {
    error(
        "secret_with_two_sources",
        "[secrets]\npw = { env = \"PW\", file = \"pw.txt\" }\n\
         [steps.a]\ncheck = { kind = \"env\", name = \"X\", equals = \"${secrets.pw}\" }\n",
    );
}

#[test]
fn a_bad_var_leaves_the_others_declared() {
    error(
        "bad_var_entry",
        "[vars]\nhost = \"db\"\nports = [1, 2]\n\
         [steps.a]\ncheck = { kind = \"tcp\", host = \"${vars.host}\", port = \"${vars.ports}\" }\n",
    );
}

#[test]
fn warning_duplicate_dependency() {
    warning(
        "duplicate_dependency",
        "[steps.a]\ncheck = { kind = \"env\", name = \"A\" }\n\
         [steps.b]\ndepends_on = [\"a\", \"a\"]\ncheck = { kind = \"env\", name = \"B\" }\n",
    );
}
