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
