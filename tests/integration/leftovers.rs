//! What a killed run leaves running: the next command that acts on the run
//! waits for the step's processes, or kills them after its grace, before
//! it decides anything, and says so.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::signals::wait_for;
use crate::test::{Test, on_state};

/// A step that takes 300 ms to clean up after SIGTERM (or ignores it).
fn plan(on_term: &str) -> String {
    format!(
        r#"format = 1
name = "leftovers"
[steps.slow]
run = {{ kind = "shell", command = "trap '{on_term}' TERM; echo started >> ledger; sleep 30 & wait; echo finished >> ledger" }}
rollback = {{ kind = "shell", command = "echo undone >> ledger" }}
"#
    )
}

fn killed_while_running(test: &Test) {
    let mut child = test.spawn(&["apply", "plan.toml"]);
    wait_for("the step to start", || test.read("ledger").contains("started"));
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    kill(pid, Signal::SIGKILL).expect("kill");
    child.wait().expect("reap");
}

#[test]
fn mark_right_after_sigkill_waits_for_the_steps_processes_before_recording_the_decision() {
    let test = Test::new().plan(&plan("sleep 0.3; echo cleaned-up >> ledger; exit 1"));
    killed_while_running(&test);
    let marked = test.cmd(&["mark", "slow", "--pending"]);
    marked.status(0);
    assert!(
        marked.stderr.contains("still runs in process group"),
        "{}",
        marked.stderr
    );
    assert!(marked.stderr.contains("ended after"), "{}", marked.stderr);
    assert!(
        test.read("ledger").contains("cleaned-up"),
        "the step's own cleanup finished before the decision:\n{}",
        test.read("ledger")
    );
    let status = test.cmd(&["status"]);
    assert!(!status.stdout.contains("process group"), "{}", status.stdout);
}

#[test]
fn resume_kills_leftover_processes_that_outlive_its_grace_and_says_so() {
    let test = Test::new().plan(&plan(""));
    killed_while_running(&test);
    let status = test.cmd(&["status"]);
    assert!(status.stdout.contains("still alive"), "{}", status.stdout);
    let resumed = test.cmd(&["resume", "--kill-grace", "300ms"]);
    resumed.status(3);
    assert!(resumed.stderr.contains("waiting up to 300ms"), "{}", resumed.stderr);
    assert!(resumed.stderr.contains("was killed (SIGKILL)"), "{}", resumed.stderr);
    assert!(resumed.stderr.contains("not safe to run again"), "{}", resumed.stderr);
    assert!(!test.read("ledger").contains("finished"));
}

#[test]
fn rollback_right_after_sigkill_undoes_only_once_the_step_has_stopped() {
    let test = Test::new().plan(&plan("sleep 0.3; echo cleaned-up >> ledger; exit 1"));
    killed_while_running(&test);
    let rolled = test.cmd(&["rollback", "--yes"]);
    rolled.status(0);
    assert_eq!(
        test.read("ledger"),
        "started\ncleaned-up\nundone\n",
        "the undo came after the step's last write"
    );
}

/// A command let go before its process group is recorded cannot exist: it
/// waits behind a gate until then, and never starts when planrun dies
/// first. The step's `running` checkpoint rides with the recorded group,
/// so the state never says it started, and no operator is asked.
#[test]
fn a_command_killed_behind_its_gate_never_ran_and_resume_runs_it_without_asking() {
    let test = Test::new().plan(&plan("exit 1").replace("sleep 30 & wait; ", ""));
    test.crash_at("shell:spawned", &["apply", "plan.toml"]);
    assert_eq!(test.read("ledger"), "", "the command never started");
    let status: serde_json::Value =
        serde_json::from_str(&test.cmd(&["status", "--format", "json"]).stdout).expect("status JSON");
    assert_eq!(status["steps"][0]["status"], "pending", "{status}");
    let resumed = test.cmd(&["resume"]);
    resumed.status(0);
    assert!(!resumed.stderr.contains("operator"), "{}", resumed.stderr);
    assert_eq!(test.read("ledger"), "started\nfinished\n");
}

#[test]
fn a_command_whose_group_was_recorded_may_have_run_and_is_left_to_the_operator() {
    let test = Test::new().plan(&plan("exit 1").replace("sleep 30 & wait; ", ""));
    test.crash_at("shell:recorded", &["apply", "plan.toml"]);
    assert_eq!(test.read("ledger"), "", "the gate was still closed");
    let resumed = test.cmd(&["resume"]);
    resumed.status(3);
    assert!(
        resumed.stderr.contains("what a command did cannot be asked"),
        "{}",
        resumed.stderr
    );
    // It says what it found of the processes, though nothing was left.
    assert!(
        resumed.stderr.contains("step `slow`: process group"),
        "{}",
        resumed.stderr
    );
    assert!(resumed.stderr.contains("had ended"), "{}", resumed.stderr);
}

/// `planrun-supervise` (the watchdog) with a socket on stdin, as planrun
/// starts it, and a group for it to watch.
fn watchdog() -> (std::process::Child, std::os::unix::net::UnixStream) {
    use std::os::fd::OwnedFd;
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_planrun-supervise"))
        .arg("10000")
        .stdin(std::process::Stdio::from(OwnedFd::from(theirs)))
        .spawn()
        .expect("planrun-supervise");
    (child, ours)
}

fn group(dir: &std::path::Path, tag: &str) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "trap 'echo {tag}-got-term >> ledger; exit 1' TERM; echo {tag}-started >> ledger; sleep 30 & wait"
        ))
        .current_dir(dir)
        .process_group(0)
        .spawn()
        .expect("sh")
}

#[test]
fn the_watchdog_stops_the_groups_it_watches_when_planrun_goes_away() {
    use std::io::Write;
    let test = Test::new();
    let (watchdog, mut control) = watchdog();
    let (mut watched, mut done) = (group(test.path(), "watched"), group(test.path(), "done"));
    wait_for("both to start", || {
        let ledger = test.read("ledger");
        ledger.contains("watched-started") && ledger.contains("done-started")
    });
    writeln!(control, "+{}", watched.id()).expect("watch");
    writeln!(control, "+{}\n-{}", done.id(), done.id()).expect("watch, then unwatch");
    drop(control);
    watchdog.wait_with_output().expect("the watchdog ends");
    watched.wait().expect("reap");
    let ledger = test.read("ledger");
    assert!(ledger.contains("watched-got-term"), "{ledger}");
    assert!(
        !ledger.contains("done-got-term"),
        "an unwatched group is left alone: {ledger}"
    );
    let _ = kill(Pid::from_raw(i32::try_from(done.id()).expect("pid")), Signal::SIGKILL);
    done.wait().expect("reap");
}

/// A command that ran to its end before planrun died while verifying was
/// let go: settling must not take it for one that never started.
#[test]
fn a_step_killed_while_verifying_is_not_taken_for_one_that_never_ran() {
    let test = Test::new().plan(
        r#"format = 1
name = "verifying"
[steps.once]
run = { kind = "shell", command = "echo ran >> ledger" }
verify = [{ kind = "shell", command = "echo verifying >> ledger; sleep 30" }]
"#,
    );
    let mut child = test.spawn(&["apply", "plan.toml"]);
    wait_for("the verify to start", || test.read("ledger").contains("verifying"));
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    kill(pid, Signal::SIGKILL).expect("kill");
    child.wait().expect("reap");
    let resumed = test.cmd(&["resume", "--kill-grace", "200ms"]);
    resumed.status(3);
    assert!(
        resumed.stderr.contains("what a command did cannot be asked"),
        "{}",
        resumed.stderr
    );
    assert_eq!(test.read("ledger"), "ran\nverifying\n", "not run again");
}

/// The journal of the run in `state`: `KIND STEP` for each step event.
fn step_events(state: &std::path::Path) -> Vec<String> {
    let rows: Vec<(String, String)> = on_state(state, async |conn| {
        sqlx::query_as("SELECT kind, step_id FROM events WHERE step_id IS NOT NULL ORDER BY seq")
            .fetch_all(conn)
            .await
            .expect("read the journal")
    });
    rows.into_iter().map(|(kind, step)| format!("{kind} {step}")).collect()
}

/// The `running` checkpoint rides with the recorded group; a command that
/// cannot even be started still leaves `running` before `failed`.
#[test]
fn every_attempt_is_journaled_as_running_whether_or_not_its_command_started() {
    let test = Test::new().plan(
        r#"
format = 1
name = "journal"
[steps.started]
run = { kind = "shell", command = "true" }
[steps.cannot-start]
depends_on = ["started"]
run = { kind = "shell", command = "true", cwd = "no-such-directory" }
"#,
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    assert_eq!(
        step_events(&test.path().join(".planrun/state.db")),
        [
            "step_running started",
            "step_succeeded started",
            "step_running cannot-start",
            "step_failed cannot-start"
        ]
    );
    let status = test.status();
    assert_eq!(status["steps"][1]["status"], "failed", "{status}");
}

/// Ctrl-C while a command waits for a killed run's processes ends the wait
/// at once (exit 130): nothing is decided or recorded, and the next command
/// waits for them again. It used to wait for the whole grace regardless.
#[test]
fn an_interrupt_while_waiting_for_leftover_processes_stops_the_wait_and_decides_nothing() {
    use std::io::BufRead;
    let test = Test::new().plan(&plan(""));
    killed_while_running(&test);
    let mut resume = test.spawn(&["resume", "--kill-grace", "1h"]);
    let stderr = resume.stderr.take().expect("stderr");
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let said = said.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                said.lock().expect("lock").push_str(&(line + "\n"));
            }
        })
    };
    wait_for("resume to wait for the group", || {
        said.lock().expect("lock").contains("waiting up to 1h")
    });
    let pid = Pid::from_raw(i32::try_from(resume.id()).expect("pid"));
    kill(pid, Signal::SIGINT).expect("SIGINT");
    let status = resume.wait().expect("reap");
    reader.join().expect("reader");
    let said = said.lock().expect("lock").clone();
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(said.contains("nothing was decided"), "{said}");
    assert!(!said.contains("asked"), "nothing was asked:\n{said}");
    let status = test.cmd(&["status"]);
    assert!(
        status.stdout.contains("still alive"),
        "the group is still recorded:\n{}",
        status.stdout
    );
    // The next command waits for it again (the watchdog ends it within
    // the killed apply's grace).
    let resumed = test.cmd(&["resume", "--kill-grace", "300ms"]);
    assert!(resumed.stderr.contains("process group"), "{}", resumed.stderr);
}

/// `mark STEP --done` on a step that never started would skip it (a slip
/// of the step's name did); it is refused unless `--force` says the work
/// was done by hand.
#[test]
fn marking_a_step_that_never_started_done_needs_force() {
    let test = Test::new().plan(
        "format = 1\nname = \"m\"\n[steps.a]\nrun = { kind = \"shell\", command = \"exit 1\" }\n\
         [steps.b]\ndepends_on = [\"a\"]\nrun = { kind = \"shell\", command = \"echo b >> ledger\" }\n",
    );
    test.cmd(&["apply", "plan.toml"]).status(1);
    let refused = test.cmd(&["mark", "b", "--done"]);
    refused.status(2);
    assert!(refused.stderr.contains("never started"), "{}", refused.stderr);
    assert_ne!(test.step_status("b"), "succeeded");
    test.cmd(&["mark", "b", "--done", "--force"]).status(0);
    assert_eq!(test.step_status("b"), "succeeded");
    // A failed step (it started) is marked without --force.
    test.cmd(&["mark", "a", "--done"]).status(0);
}
