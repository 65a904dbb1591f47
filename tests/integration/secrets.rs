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

/// A server that answers every request with a 500 whose body holds `body`.
fn failing_server(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port on 127.0.0.1");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let response = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

/// The rollback path once stored a failing undo's detail lines (an HTTP
/// body, a command's output) without masking them; the forward path did.
#[test]
fn rollback_failure_details_are_redacted_like_forward_failures() {
    let port = failing_server("undo refused for token s3cr3t-Value-91f");
    let test = Test::new()
        .plan(&format!(
            r#"format = 1
name = "undo-detail"
[secrets]
token = {{ env = "PLANRUN_TEST_TOKEN" }}
[steps.first]
run = {{ kind = "shell", command = "true" }}
rollback = {{ kind = "http", url = "http://127.0.0.1:{port}/undo", method = "POST" }}
[steps.second]
depends_on = ["first"]
run = {{ kind = "http", url = "http://127.0.0.1:{port}/do", method = "POST" }}
"#
        ))
        .env("PLANRUN_TEST_TOKEN", SECRET);
    let forward = test.cmd(&["apply", "plan.toml"]);
    forward.status(1);
    let rollback = test.cmd(&["rollback"]);
    rollback.status(1);
    let status = test.cmd(&["status", "--format", "json"]);
    let everything = format!("{}{}{}", forward.stdout, forward.stderr, rollback.stderr) + &status.stdout;
    assert!(!everything.contains(SECRET), "the secret leaked:\n{everything}");
    // Both failures kept their detail, masked.
    assert_eq!(
        status.stdout.matches("undo refused for token ***").count(),
        2,
        "{}",
        status.stdout
    );
    assert!(
        rollback.stderr.contains("undo refused for token ***"),
        "{}",
        rollback.stderr
    );
    for file in walk_files(&test.path().join(".planrun")) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let leaked = bytes.windows(SECRET.len()).any(|window| window == SECRET.as_bytes());
        assert!(!leaked, "the secret is in {}", file.display());
    }
}
