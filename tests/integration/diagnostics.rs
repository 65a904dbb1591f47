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
