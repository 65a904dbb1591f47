//! Secrets never reach logs, state, events or previews.

use crate::test::{Test, walk_files};

const SECRET: &str = "s3cr3t-Value-91f";

#[test]
fn a_secret_value_is_nowhere_in_state_logs_or_output() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "secrets"
[secrets]
token = { env = "PLANRUN_TEST_TOKEN" }
[steps.use-it]
run = { kind = "shell", command = "echo token is ${secrets.token}; echo $TOKEN >&2; echo out=${secrets.token} >> $PLANRUN_OUTPUT", env = { TOKEN = "${secrets.token}" } }
rollback = { kind = "shell", command = "echo undo ${secrets.token}" }
[steps.write-it]
run = { kind = "file.lines", path = "app.env", lines = ["TOKEN=${secrets.token}"] }
[steps.fail-with-it]
depends_on = ["use-it"]
run = { kind = "shell", command = "echo failing with ${secrets.token}; exit 1" }
rollback = { kind = "shell", command = "true" }
"#,
        )
        .env("PLANRUN_TEST_TOKEN", SECRET);
    let mut outputs = Vec::new();
    for args in [
        &["apply", "plan.toml"][..],
        &["resume", "--format", "json"],
        &["status"],
        &["status", "--format", "json"],
        &["runs", "--format", "json"],
        &["logs", "use-it"],
        &["logs", "fail-with-it"],
        &["plan", "plan.toml"],
        &["plan", "plan.toml", "--format", "json"],
        &["plan", "plan.toml", "--format", "markdown"],
        &["rollback", "--format", "json"],
    ] {
        let run = test.cmd(args);
        outputs.push(format!("{args:?}\n{}\n{}", run.stdout, run.stderr));
    }
    for output in &outputs {
        assert!(!output.contains(SECRET), "the secret leaked in:\n{output}");
    }
    assert!(
        outputs[5].contains("token is ***"),
        "redacted, not dropped: {}",
        outputs[5]
    );
    // The file the plan wrote holds it (that is its job); nothing of planrun's does.
    assert!(test.read("app.env").contains(SECRET) || !test.path().join("app.env").exists());
    for file in walk_files(&test.path().join(".planrun")) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let leaked = bytes.windows(SECRET.len()).any(|window| window == SECRET.as_bytes());
        assert!(!leaked, "the secret is in {}", file.display());
    }
}

#[test]
fn a_secret_of_several_lines_and_step_outputs_stay_out_of_every_file() {
    const KEY_LINE: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    let key = format!("-----BEGIN PRIVATE KEY-----\n{KEY_LINE}\n-----END PRIVATE KEY-----\n");
    let test = Test::new()
        .plan(
            r#"format = 1
name = "pem"
[secrets]
key = { file = "key.pem" }
[steps.out]
run = { kind = "shell", command = "echo token=${secrets.key} | tr '\n' ' ' >> $PLANRUN_OUTPUT; echo >> $PLANRUN_OUTPUT" }
[steps.show]
depends_on = ["out"]
run = { kind = "shell", command = "cat key.pem; exit 1" }
"#,
        )
        .file("key.pem", &key);
    let run = test.cmd(&["apply", "plan.toml", "--format", "json"]);
    run.status(1);
    let status = test.cmd(&["status", "--format", "json"]);
    for text in [&run.stdout, &run.stderr, &status.stdout] {
        assert!(!text.contains(KEY_LINE), "a line of the key leaked:\n{text}");
    }
    assert!(run.stdout.contains("***"), "masked, not dropped: {}", run.stdout);
    for file in walk_files(&test.path().join(".planrun")) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let leaked = bytes
            .windows(KEY_LINE.len())
            .any(|window| window == KEY_LINE.as_bytes());
        assert!(!leaked, "a line of the key is in {}", file.display());
        assert!(
            !file.to_string_lossy().ends_with(".outputs"),
            "the raw $PLANRUN_OUTPUT file is removed once read: {}",
            file.display()
        );
    }
}

#[test]
fn a_password_typed_into_a_url_var_is_masked_in_logs_and_recorded_vars() {
    const TYPED: &str = "typedPW99x";
    let test = Test::new().plan(&format!(
        r#"format = 1
name = "typed"
[vars]
url = "postgres://app:{TYPED}@127.0.0.1:1/db"
[steps.show]
run = {{ kind = "shell", command = "echo connecting to ${{vars.url}}; exit 1" }}
"#
    ));
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    let status = test.cmd(&["status", "--format", "json"]);
    let previews: Vec<String> = ["text", "markdown", "json"]
        .iter()
        .map(|format| test.cmd(&["plan", "plan.toml", "--format", format]).stdout)
        .collect();
    for text in [&run.stdout, &run.stderr, &status.stdout].into_iter().chain(&previews) {
        assert!(!text.contains(TYPED), "the typed password leaked:\n{text}");
    }
    assert!(
        status.stdout.contains("postgres://app:***@127.0.0.1:1/db"),
        "{}",
        status.stdout
    );
    for file in walk_files(&test.path().join(".planrun/logs")) {
        assert!(
            !std::fs::read_to_string(&file).unwrap_or_default().contains(TYPED),
            "{}",
            file.display()
        );
    }
}
