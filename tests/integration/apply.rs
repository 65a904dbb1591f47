//! `planrun apply`: every step runs exactly once, in an order that respects
//! every dependency, in parallel where the graph allows; bad input writes
//! nothing.

use crate::test::Test;

/// A diamond-rich DAG whose steps log their start and end to `ledger`.
fn ledger_plan() -> String {
    let edges: &[(&str, &[&str])] = &[
        ("a", &[]),
        ("b", &["a"]),
        ("c", &["a"]),
        ("d", &["a"]),
        ("e", &["b", "c"]),
        ("f", &["c", "d"]),
        ("g", &[]),
        ("h", &["g", "e"]),
        ("i", &["f", "h"]),
        ("j", &["i"]),
        ("k", &["i"]),
        ("l", &["j", "k", "g"]),
    ];
    let mut plan = String::from("format = 1\nname = \"ledger\"\n");
    for (id, deps) in edges {
        let deps: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
        plan.push_str(&format!(
            "[steps.{id}]\ndepends_on = [{}]\nrun = {{ kind = \"shell\", command = \"echo start {id} >> ledger; sleep 0.2; echo end {id} >> ledger\" }}\nrollback = {{ kind = \"shell\", command = \"true\" }}\n",
            deps.join(", ")
        ));
    }
    plan
}

pub fn ledger_events(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(what, id)| (what.to_string(), id.to_string()))
        .collect()
}

#[test]
fn every_step_runs_once_after_its_dependencies_and_independent_steps_overlap() {
    let test = Test::new().plan(&ledger_plan());
    test.cmd(&["apply", "plan.toml", "--parallelism", "4"]).status(0);
    let events = ledger_events(&test.read("ledger"));
    let position = |what: &str, id: &str| {
        let found: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, (w, i))| w == what && i == id)
            .map(|(at, _)| at)
            .collect();
        assert_eq!(found.len(), 1, "`{what} {id}` must appear exactly once in {events:?}");
        found[0]
    };
    let edges = [
        ("a", "b"),
        ("a", "c"),
        ("a", "d"),
        ("b", "e"),
        ("c", "e"),
        ("c", "f"),
        ("d", "f"),
        ("g", "h"),
        ("e", "h"),
        ("f", "i"),
        ("h", "i"),
        ("i", "j"),
        ("i", "k"),
        ("j", "l"),
        ("k", "l"),
        ("g", "l"),
    ];
    for (dependency, dependent) in edges {
        assert!(
            position("end", dependency) < position("start", dependent),
            "`{dependent}` started before `{dependency}` ended: {events:?}"
        );
    }
    // Parallelism: at some point two steps were running at once.
    let mut running = 0;
    let mut most = 0;
    for (what, _) in &events {
        running += if what == "start" { 1 } else { -1 };
        most = most.max(running);
    }
    assert!(most >= 2, "no two steps overlapped: {events:?}");
    assert!(most <= 4, "more than --parallelism steps overlapped: {events:?}");
    assert_eq!(test.status()["run"]["outcome"], "succeeded");
}

#[test]
fn parallelism_one_runs_steps_one_at_a_time_in_plan_order() {
    let test = Test::new().plan(&ledger_plan());
    test.cmd(&["apply", "plan.toml", "--parallelism", "1"]).status(0);
    let events = ledger_events(&test.read("ledger"));
    for pair in events.chunks(2) {
        assert_eq!(pair[0].0, "start");
        assert_eq!(
            pair[1],
            ("end".to_string(), pair[0].1.clone()),
            "steps overlapped: {events:?}"
        );
    }
    let order: Vec<&str> = events
        .iter()
        .filter(|(w, _)| w == "start")
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(order, ["a", "g", "b", "c", "d", "e", "f", "h", "i", "j", "k", "l"]);
}

#[test]
fn an_invalid_plan_is_refused_with_exit_two_and_no_state() {
    let test = Test::new().plan("format = 1\nname = 'x'\n[steps.a]\nrun = { kind = 'shell', comand = 'true' }\n");
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(2);
    assert!(run.stderr.contains("unknown field `comand`"), "{}", run.stderr);
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
}

#[test]
fn a_missing_secret_is_refused_with_exit_two_and_no_state() {
    let test = Test::new().plan(
        "format = 1\nname = 'x'\n[secrets]\npw = { env = 'PLANRUN_TEST_UNSET_SECRET' }\n[steps.a]\nrun = { kind = 'shell', command = 'echo ${secrets.pw}' }\nrollback = { kind = 'shell', command = 'true' }\n",
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(2);
    assert!(run.stderr.contains("PLANRUN_TEST_UNSET_SECRET"), "{}", run.stderr);
    assert_eq!(run.written_files(&["plan.toml"]), Vec::<String>::new());
}

#[test]
fn outputs_flow_to_dependents_and_are_stored() {
    let test = Test::new().plan(
        r#"format = 1
name = "outputs"
[steps.produce]
run = { kind = "shell", command = "echo 'file=backup.sql' >> $PLANRUN_OUTPUT; echo 'size=42' >> $PLANRUN_OUTPUT" }
rollback = { kind = "shell", command = "true" }
[steps.consume]
depends_on = ["produce"]
run = { kind = "shell", command = "echo ${steps.produce.outputs.file}:${steps.produce.outputs.size} > got" }
rollback = { kind = "shell", command = "true" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert_eq!(test.read("got"), "backup.sql:42\n");
    let status = test.status();
    assert_eq!(status["steps"][0]["outputs"]["file"], "backup.sql");
}

#[test]
fn a_failure_blocks_dependents_and_keep_going_runs_independent_branches() {
    let plan = r#"format = 1
name = "branches"
[steps.bad]
run = { kind = "shell", command = "echo bad >> ledger; exit 3" }
rollback = { kind = "shell", command = "true" }
help = "bad always fails"
[steps.after-bad]
depends_on = ["bad"]
run = { kind = "shell", command = "echo after-bad >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.slow]
run = { kind = "shell", command = "sleep 0.3; echo slow >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.after-slow]
depends_on = ["slow"]
run = { kind = "shell", command = "echo after-slow >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;
    let stop = Test::new().plan(plan);
    let run = stop.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(run.stderr.contains("FAILED  bad"), "{}", run.stderr);
    assert!(run.stderr.contains("exit code 3"), "{}", run.stderr);
    assert!(run.stderr.contains("help: bad always fails"), "{}", run.stderr);
    assert!(
        !stop.read("ledger").contains("after-slow"),
        "nothing new starts after a failure"
    );
    assert_eq!(stop.step_status("after-bad"), "blocked");
    assert_eq!(stop.step_status("after-slow"), "pending");

    let going = Test::new().plan(plan);
    going.cmd(&["apply", "plan.toml", "--keep-going"]).status(1);
    let ledger = going.read("ledger");
    assert!(ledger.contains("after-slow"), "{ledger}");
    assert!(!ledger.contains("after-bad"), "{ledger}");
    assert_eq!(going.step_status("after-bad"), "blocked");
}

#[test]
fn json_events_are_one_object_per_line_on_stdout() {
    let test = Test::new().plan(
        "format = 1\nname = 'j'\n[steps.a]\nrun = { kind = 'shell', command = 'true' }\nrollback = { kind = 'shell', command = 'true' }\n",
    );
    let run = test.cmd(&["apply", "plan.toml", "--format", "json"]);
    run.status(0);
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "step_started",
            "step_running",
            "step_finished",
            "run_finished"
        ]
    );
    assert_eq!(events[4]["outcome"], "succeeded");
    assert!(!run.stdout.contains('\u{1b}'), "no escape codes");
}

#[test]
fn plain_output_has_no_escape_codes() {
    let test = Test::new().plan(
        "format = 1\nname = 'p'\n[steps.a]\nrun = { kind = 'shell', command = 'echo hi' }\nrollback = { kind = 'shell', command = 'true' }\n",
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(0);
    assert!(run.stderr.contains("ok      a"), "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{}", run.stderr);
}

#[test]
fn apply_refuses_while_a_run_of_the_plan_is_unfinished() {
    let test = Test::new().plan(
        "format = 1\nname = 'u'\n[steps.a]\nrun = { kind = 'shell', command = 'test -f ok' }\nrollback = { kind = 'shell', command = 'true' }\n",
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    let again = test.cmd(&["apply", "plan.toml"]);
    again.status(3);
    assert!(again.stderr.contains("planrun resume"), "{}", again.stderr);
    std::fs::write(test.path().join("ok"), "").expect("write");
    test.cmd(&["apply", "plan.toml", "--abandon"]).status(0);
    let runs = test.cmd(&["runs", "--format", "json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.stdout).expect("json");
    assert_eq!(runs[0]["outcome"], "abandoned");
    assert_eq!(runs[1]["outcome"], "succeeded");
}

#[test]
fn stdout_and_stderr_reach_the_step_log_in_the_order_they_were_written() {
    let test = Test::new().plan(
        "format = 1\nname = 'o'\n[steps.talk]\nrun = { kind = 'shell', command = 'echo one; echo two >&2; echo three' }\nrollback = { kind = 'shell', command = 'true' }\n",
    );
    test.cmd(&["apply", "plan.toml"]).status(0);
    let log = test.cmd(&["logs", "talk"]);
    assert!(log.stdout.ends_with("one\ntwo\nthree\n"), "{}", log.stdout);
}

#[test]
fn a_step_below_two_failures_is_reported_blocked_once() {
    let test = Test::new().plan(
        r#"format = 1
name = "two-failures"
[steps.a]
run = { kind = "shell", command = "exit 1" }
[steps.b]
run = { kind = "shell", command = "exit 1" }
[steps.c]
depends_on = ["a", "b"]
run = { kind = "shell", command = "true" }
[steps.d]
depends_on = ["c"]
run = { kind = "shell", command = "true" }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml", "--format", "json", "--parallelism", "2"]);
    run.status(1);
    let blocked: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.contains("\"steps_blocked\""))
        .collect();
    assert_eq!(blocked.len(), 1, "{}", run.stdout);
    assert!(blocked[0].contains("[\"c\",\"d\"]"), "{}", blocked[0]);
    assert_eq!(test.step_status("d"), "blocked");
}

/// A multi-line `command` ran with `sh -c`: a failed `pg_dump` was followed
/// by the `mv` that put its partial output over the good backup.
#[test]
fn a_multi_line_command_stops_at_the_first_failing_line_unless_errexit_is_off() {
    let test = Test::new()
        .plan(
            r#"format = 1
name = "errexit"
[steps.backup]
run = { kind = "shell", command = "echo partial > new.sql\nfalse\nmv new.sql good.sql" }
[steps.lenient]
run = { kind = "shell", command = "false\necho went-on > lenient", errexit = false }
"#,
        )
        .file("good.sql", "the good backup\n");
    test.cmd(&["apply", "plan.toml", "--keep-going"]).status(1);
    assert_eq!(test.read("good.sql"), "the good backup\n", "the `mv` never ran");
    assert_eq!(test.step_status("backup"), "failed");
    assert_eq!(test.read("lenient"), "went-on\n");
    assert_eq!(test.step_status("lenient"), "succeeded");
}

/// A panic inside a step's task is a bug in planrun: exit 70 naming the
/// step, not "the state is damaged" (exit 3); the state stays usable and
/// `resume` finishes the run.
#[test]
fn a_panicking_step_is_reported_as_a_bug_and_the_run_resumes() {
    let test = Test::new().plan(
        r#"format = 1
name = "bug"
[steps.only]
run = { kind = "shell", command = "echo ran >> ran.txt" }
"#,
    );
    let run = test.cmd_env(&["apply", "plan.toml"], &[("PLANRUN_FAILPOINT", "panic:step:started")]);
    run.status(70);
    assert!(run.stderr.contains("planrun has a bug"), "{}", run.stderr);
    assert!(run.stderr.contains("step `only` panicked"), "{}", run.stderr);
    assert!(run.stderr.contains("failpoint step:started reached"), "{}", run.stderr);
    assert!(!test.path().join("ran.txt").exists(), "the step ran");
    test.cmd(&["status"]).status(0);
    test.cmd(&["resume"]).status(0);
    assert_eq!(test.read("ran.txt"), "ran\n");
}

/// A shell command that does not parse fails with the shell's own
/// message, not with a broken pipe of planrun's.
#[test]
fn a_command_with_a_syntax_error_fails_with_the_shells_message() {
    let test = Test::new().plan(
        r#"format = 1
name = "syntax"
[steps.bad]
run = { kind = "shell", command = "echo <&>" }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(run.stderr.contains("exit code 2"), "{}", run.stderr);
    assert!(run.stderr.contains("Syntax error"), "{}", run.stderr);
    assert!(!run.stderr.contains("Broken pipe"), "{}", run.stderr);
}

/// Off a terminal, a step running longer than `--heartbeat` is named
/// every period, in plain lines and in the JSON Lines stream.
#[test]
fn long_steps_get_heartbeat_lines_in_text_and_json() {
    let test = Test::new().plan(
        r#"format = 1
name = "slow"
[steps.slow]
run = { kind = "shell", command = "sleep 3.5" }
rollback = { kind = "shell", command = "true" }
"#,
    );
    let run = test.cmd(&["apply", "plan.toml", "--heartbeat", "1s"]);
    run.status(0);
    // At least one beat (how many depends on the machine's load, not asserted).
    assert!(run.stderr.contains("still running: slow ("), "{}", run.stderr);
    test.cmd(&["rollback"]).status(0);
    let json = test.cmd(&["apply", "plan.toml", "--heartbeat", "1s", "--format", "json"]);
    json.status(0);
    assert!(
        json.stdout
            .lines()
            .any(|line| line.starts_with(r#"{"event":"heartbeat","steps":[{"step":"slow","elapsed_ms":"#)),
        "{}",
        json.stdout
    );
    test.cmd(&["rollback"]).status(0);
    let quiet = test.cmd(&["apply", "plan.toml", "--heartbeat", "0s"]);
    quiet.status(0);
    assert!(!quiet.stderr.contains("still running"), "{}", quiet.stderr);
}
