//! What a person reads: `apply`, `status` and `rollback` output, pinned
//! with insta snapshots (times, run ids, paths and hosts filtered out).

use crate::test::Test;

const PLAN: &str = r#"format = 1
name = "output"
[steps.prepare]
description = "Write the settings"
run = { kind = "shell", command = "echo prepared > prepared.txt" }
rollback = { kind = "shell", command = "rm -f prepared.txt" }
[steps.already]
description = "Already done"
check = { kind = "shell", command = "true" }
run = { kind = "shell", command = "false" }
[steps.migrate]
depends_on = ["prepare", "already"]
run = { kind = "shell", command = "echo migrating; echo 'relation \"users\" does not exist' >&2; test -e go" }
rollback = { kind = "shell", command = "echo undo migrate" }
help = "create the file `go`, then `planrun resume`"
[steps.after]
depends_on = ["migrate"]
run = { kind = "shell", command = "true" }
"#;

fn filtered(test: &Test, name: &str, text: &str) {
    let dir = test.path().display().to_string();
    insta::with_settings!({filters => vec![
        (dir.as_str(), "[DIR]"),
        (r"\d{8}-\d{6}-[0-9a-f]{4}", "[RUN]"),
        (r"\d{4}-\d\d-\d\d[T ][0-9:.]+Z?", "[TIME]"),
        (r"\d+(\.\d+)?(ms|s|m)\b", "[DURATION]"),
        (r"pid \d+", "pid [PID]"),
        (r"by [^ ]+@[^ ]+", "by [USER]"),
        (r"note: took over the lock [^\n]*\n", ""),
    ]}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn apply_status_resume_and_rollback_output_is_pinned() {
    let test = Test::new().plan(PLAN);
    // One at a time: `prepare` and `already` would finish in either order.
    let apply = test.cmd(&["apply", "plan.toml", "--parallelism", "1"]);
    apply.status(1);
    filtered(
        &test,
        "output_apply_failed",
        &format!("{}{}", apply.stdout, apply.stderr),
    );
    let status = test.cmd(&["status"]);
    status.status(0);
    filtered(&test, "output_status_failed", &status.stdout);
    std::fs::write(test.path().join("go"), "").expect("write go");
    let resume = test.cmd(&["resume"]);
    resume.status(0);
    filtered(&test, "output_resume", &format!("{}{}", resume.stdout, resume.stderr));
    let rollback = test.cmd(&["rollback"]);
    rollback.status(0);
    filtered(
        &test,
        "output_rollback",
        &format!("{}{}", rollback.stdout, rollback.stderr),
    );
    let status = test.cmd(&["status"]);
    filtered(&test, "output_status_rolled_back", &status.stdout);
}
