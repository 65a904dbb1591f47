//! From review to apply: `planrun plan` prints a review hash in every
//! format; `apply --expect-hash` runs only the plan that was previewed.

use crate::test::Test;

const PLAN: &str = r#"format = 1
name = "reviewed"
[steps.write]
run = { kind = "shell", command = "echo ${env.PLANRUN_TEST_GREETING} >> out.txt" }
"#;

fn review_hash(test: &Test, env: &[(&str, &str)]) -> String {
    let run = test.cmd_env(&["plan", "plan.toml", "--format", "json"], env);
    run.status(0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    json["review"]["hash"].as_str().expect("a review hash").to_string()
}

#[test]
fn every_preview_format_shows_the_same_review_hash() {
    let test = Test::new().plan(PLAN);
    let hash = review_hash(&test, &[]);
    assert_eq!(hash.len(), 64);
    for format in ["text", "markdown"] {
        let run = test.cmd(&["plan", "plan.toml", "--format", format]);
        assert!(
            run.stdout.contains(&format!("sha256:{hash}")),
            "{format}: {}",
            run.stdout
        );
    }
}

#[test]
fn apply_runs_the_reviewed_plan_and_refuses_a_changed_one_without_writing_anything() {
    let test = Test::new().plan(PLAN);
    let env = [("PLANRUN_TEST_GREETING", "hello")];
    let hash = review_hash(&test, &env);
    // The env var it reads changed since the preview.
    let refused = test.cmd_env(
        &["apply", "plan.toml", "--expect-hash", &hash],
        &[("PLANRUN_TEST_GREETING", "bye")],
    );
    refused.status(3);
    assert!(refused.stderr.contains("not the one reviewed"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("env "),
        "the parts are listed: {}",
        refused.stderr
    );
    assert!(!test.path().join("out.txt").exists());
    // The plan file changed.
    std::fs::write(test.path().join("plan.toml"), PLAN.replace(">>", ">")).expect("write");
    test.cmd_env(&["apply", "plan.toml", "--expect-hash", &hash], &env)
        .status(3);
    assert!(!test.path().join("out.txt").exists());
    let runs = test.cmd(&["runs", "--format", "json"]);
    assert!(
        !runs.stdout.contains("reviewed"),
        "no run was recorded: {}",
        runs.stdout
    );
    // The reviewed plan, as reviewed: runs (a 12-digit prefix is enough).
    std::fs::write(test.path().join("plan.toml"), PLAN).expect("write");
    test.cmd_env(&["apply", "plan.toml", "--expect-hash", &hash[..12]], &env)
        .status(0);
    assert_eq!(test.read("out.txt"), "hello\n");
}
