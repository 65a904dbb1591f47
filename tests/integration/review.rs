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

const RISKY: &str = r#"format = 1
name = "risky"
[steps.safe]
check = { kind = "file.exists", path = "safe.txt" }
run = { kind = "file.write", path = "safe.txt", content = "x" }
[steps.wipe]
idempotent = true
run = { kind = "shell", command = "rm -rf build" }
rollback = { kind = "shell", command = "true" }
[steps.deploy]
run = { kind = "shell", command = "echo deploy > deployed.txt" }
"#;

#[test]
fn risky_steps_are_flagged_in_every_format_and_deny_risky_refuses_them() {
    let test = Test::new().plan(RISKY);
    let text = test.cmd(&["plan", "plan.toml"]);
    text.status(0);
    assert!(text.stdout.contains("Risky steps"), "{}", text.stdout);
    assert!(
        text.stdout.contains("wipe    drops, truncates or removes recursively"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("deploy  nothing undoes it; neither idempotent nor checked"),
        "{}",
        text.stdout
    );
    let markdown = test.cmd(&["plan", "plan.toml", "--format", "markdown"]);
    assert!(markdown.stdout.contains("### Risky steps (2)"), "{}", markdown.stdout);
    let json = test.cmd(&["plan", "plan.toml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let risks: Vec<(String, serde_json::Value)> = json["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| {
            (
                step["id"].as_str().unwrap_or_default().to_string(),
                step["risks"].clone(),
            )
        })
        .collect();
    assert!(risks.contains(&("safe".into(), serde_json::json!([]))), "{risks:?}");
    assert!(
        risks.contains(&("wipe".into(), serde_json::json!(["destroys"]))),
        "{risks:?}"
    );
    for args in [
        &["plan", "plan.toml", "--deny-risky"][..],
        &["validate", "plan.toml", "--deny-risky"],
        &["apply", "plan.toml", "--deny-risky"],
    ] {
        let refused = test.cmd(args);
        refused.status(2);
        assert!(
            refused.stderr.contains("2 risky step(s)") && refused.stderr.contains("- deploy:"),
            "{args:?}: {}",
            refused.stderr
        );
    }
    assert!(!test.path().join("deployed.txt").exists(), "apply ran nothing");
    assert!(
        !test.path().join(".planrun").join("state.db").exists(),
        "and wrote no state"
    );
}

#[test]
fn a_saved_plan_applies_exactly_what_was_previewed_or_says_what_changed() {
    let test = Test::new().plan(PLAN);
    let env = [("PLANRUN_TEST_GREETING", "hello")];
    let saved = test.cmd_env(&["plan", "plan.toml", "--out", "reviewed.planrun"], &env);
    saved.status(0);
    let file: serde_json::Value = serde_json::from_str(&test.read("reviewed.planrun")).expect("a saved plan is JSON");
    assert_eq!(file["env"]["PLANRUN_TEST_GREETING"], "hello");
    assert_eq!(file["review_hash"].as_str().map(str::len), Some(64));
    // An env value it reads changed: refused, naming it.
    let refused = test.cmd_env(&["apply", "reviewed.planrun"], &[("PLANRUN_TEST_GREETING", "bye")]);
    refused.status(3);
    assert!(
        refused.stderr.contains("env `PLANRUN_TEST_GREETING`"),
        "{}",
        refused.stderr
    );
    // The plan file changed: refused, naming it.
    std::fs::write(test.path().join("plan.toml"), PLAN.replace(">>", ">")).expect("write");
    let refused = test.cmd_env(&["apply", "reviewed.planrun"], &env);
    refused.status(3);
    assert!(
        refused.stderr.contains("the plan file `plan.toml` changed"),
        "{}",
        refused.stderr
    );
    assert!(!test.path().join("out.txt").exists(), "nothing ran");
    // Overrides come from the saved plan only.
    test.cmd_env(&["apply", "reviewed.planrun", "--var", "x=1"], &env)
        .status(2);
    // As previewed: runs.
    std::fs::write(test.path().join("plan.toml"), PLAN).expect("write");
    test.cmd_env(&["apply", "reviewed.planrun"], &env).status(0);
    assert_eq!(test.read("out.txt"), "hello\n");
    test.cmd(&["plan", "plan.toml", "--out", "wrong.name"]).status(2);
}

#[test]
fn a_saved_plan_is_refused_once_the_state_it_previewed_changed() {
    let test = Test::new().plan(
        r#"format = 1
name = "stateful"
[steps.gate]
run = { kind = "shell", command = "test -e go" }
"#,
    );
    test.cmd(&["plan", "plan.toml", "--out", "before.planrun"]).status(0);
    // A run of the plan failed since: the state is not the one previewed.
    test.cmd(&["apply", "plan.toml"]).status(1);
    let refused = test.cmd(&["apply", "before.planrun"]);
    refused.status(3);
    assert!(refused.stderr.contains("not the one reviewed"), "{}", refused.stderr);
}

/// An approval is for one run: once the reviewed plan has been applied,
/// neither its saved plan nor its hash applies it again (a non-idempotent
/// step would run twice), and the refusal says the state changed.
#[test]
fn an_approved_plan_is_applied_once_and_its_replay_is_refused() {
    let test = Test::new().plan(
        r#"format = 1
name = "pay"
[steps.charge]
run = { kind = "shell", command = "echo charged >> ledger" }
"#,
    );
    test.cmd(&["plan", "plan.toml", "--out", "approved.planrun"]).status(0);
    let preview = test.cmd(&["plan", "plan.toml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&preview.stdout).expect("json preview");
    let hash = json["review"]["hash"].as_str().expect("review hash").to_string();
    test.cmd(&["apply", "approved.planrun"]).status(0);
    let replayed = test.cmd(&["apply", "approved.planrun"]);
    replayed.status(3);
    assert!(
        replayed
            .stderr
            .contains("the state changed: the preview saw no run, now it holds run"),
        "{}",
        replayed.stderr
    );
    test.cmd(&["apply", "plan.toml", "--expect-hash", &hash]).status(3);
    assert_eq!(test.read("ledger"), "charged\n", "the step ran once");
}

/// A hash that cannot be one is bad input (exit 2), not a mismatch, and
/// nothing is written.
#[test]
fn a_malformed_expect_hash_is_a_usage_error_that_writes_nothing() {
    let test =
        Test::new().plan("format = 1\nname = \"p\"\n[steps.a]\nrun = { kind = \"shell\", command = \"true\" }\n");
    for bad in ["nothex!!nothex", "abc", "", "md5:0123456789abcdef"] {
        let refused = test.cmd(&["apply", "plan.toml", "--expect-hash", bad]);
        refused.status(2);
        assert!(refused.stderr.contains("review hash"), "{bad}: {}", refused.stderr);
    }
    assert!(!test.path().join(".planrun").exists(), "no state was written");
}

/// A preview of a plan with an unfinished run shows that run's steps;
/// applying the approval continues the run, as `resume` would (it was
/// refused as "unfinished"), and only once.
#[test]
fn a_saved_plan_of_an_unfinished_run_continues_it() {
    let test = Test::new().plan(
        r#"format = 1
name = "cont"
[steps.a]
run = { kind = "shell", command = "echo a >> ledger" }
[steps.b]
depends_on = ["a"]
run = { kind = "shell", command = "test -e go && echo b >> ledger" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    std::fs::write(test.path().join("go"), "").expect("go");
    test.cmd(&["plan", "plan.toml", "--out", "continue.planrun"]).status(0);
    let rollback_too = test.cmd(&["apply", "continue.planrun", "--rollback-on-failure"]);
    rollback_too.status(2);
    assert!(rollback_too.stderr.contains("continues run"), "{}", rollback_too.stderr);
    let continued = test.cmd(&["apply", "continue.planrun"]);
    continued.status(0);
    assert!(continued.stderr.contains("resuming run"), "{}", continued.stderr);
    assert_eq!(test.read("ledger"), "a\nb\n", "a ran once, b once");
    assert_eq!(test.status()["run"]["outcome"], "succeeded");
    test.cmd(&["apply", "continue.planrun"]).status(3);
}

/// Regression: a saved plan given to `plan` or `validate` was read as TOML
/// and failed with dozens of errors.
#[test]
fn a_saved_plan_given_for_a_plan_file_is_named_as_one_with_how_to_run_it() {
    let test = Test::new().plan(PLAN);
    let env = [("PLANRUN_TEST_GREETING", "hello")];
    test.cmd_env(&["plan", "plan.toml", "--out", "reviewed.planrun"], &env)
        .status(0);
    for command in ["plan", "validate", "graph"] {
        let run = test.cmd(&[command, "reviewed.planrun"]);
        run.status(2);
        assert_eq!(run.stdout, "", "{command}");
        assert_eq!(
            run.stderr,
            "error: `reviewed.planrun` is a saved plan (written by `planrun plan --out`), not a plan file\n\
             hint: `planrun apply reviewed.planrun` runs it; `planrun plan plan.toml` previews the plan it was saved from\n",
            "{command}"
        );
    }
    // Known by its content too, whatever its name.
    std::fs::copy(test.path().join("reviewed.planrun"), test.path().join("reviewed.json")).expect("copy");
    let run = test.cmd(&["validate", "reviewed.json"]);
    run.status(2);
    assert!(
        run.stderr.starts_with("error: `reviewed.json` is a saved plan")
            && run
                .stderr
                .contains("renamed to end with `.planrun`, `planrun apply` runs it"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    assert!(!test.path().join("out.txt").exists(), "nothing ran");
}
