//! Interruption and locking: a first Ctrl-C lets running steps finish
//! within the grace, a second stops them at once, both exit 130; a second
//! mutating command is refused while the first holds the lock.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::test::Test;

/// Waits (bounded) until `done` holds; the bound only avoids a hung test.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &std::process::Child, signal: Signal) {
    let pid = i32::try_from(child.id()).expect("pid");
    kill(Pid::from_raw(pid), signal).expect("send signal");
}

const SLOW: &str = r#"format = 1
name = "slow"
[steps.quick]
run = { kind = "shell", command = "echo quick >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.sleepy]
depends_on = ["quick"]
run = { kind = "shell", command = "trap 'echo got-term >> ledger; exit 143' TERM; echo started >> ledger; sleep 30 & wait" }
rollback = { kind = "shell", command = "true" }
[steps.never]
depends_on = ["sleepy"]
run = { kind = "shell", command = "echo never >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;

/// A step that runs until `release` exists.
const GATED: &str = r#"format = 1
name = "gated"
[steps.gated]
run = { kind = "shell", command = "echo started >> ledger; while [ ! -e release ] && [ -e plan.toml ]; do sleep 0.01; done; echo finished >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.after]
depends_on = ["gated"]
run = { kind = "shell", command = "echo after >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.independent]
depends_on = ["gated"]
run = { kind = "shell", command = "echo independent >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;

/// Reads the child's stderr on a thread; `saw(text)` tells whether a line
/// so far contains `text`.
struct Stderr(std::sync::Arc<std::sync::Mutex<String>>);

impl Stderr {
    fn of(child: &mut std::process::Child) -> Stderr {
        use std::io::BufRead;
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let sink = text.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        Stderr(text)
    }

    fn saw(&self, text: &str) -> bool {
        self.0.lock().is_ok_and(|seen| seen.contains(text))
    }
}

#[test]
fn a_first_sigint_lets_running_steps_finish_starts_nothing_new_and_exits_130() {
    let test = Test::new().plan(GATED);
    let mut child = test.spawn(&["apply", "plan.toml", "--kill-grace", "1m"]);
    let stderr = Stderr::of(&mut child);
    wait_for("the gated step to start", || test.read("ledger").contains("started"));
    signal(&child, Signal::SIGINT);
    wait_for("planrun to say it is draining", || stderr.saw("no new step starts"));
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "planrun waits for the step"
    );
    std::fs::write(test.path().join("release"), "").expect("release");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert_eq!(test.read("ledger"), "started\nfinished\n", "nothing new started");
    assert_eq!(test.step_status("gated"), "succeeded");
    assert_eq!(test.step_status("after"), "pending");
    assert_eq!(test.status()["run"]["outcome"], "interrupted");
    test.cmd(&["resume"]).status(0);
    assert!(test.read("ledger").contains("after"));
}

#[test]
fn a_step_still_running_when_the_grace_runs_out_is_stopped_and_recorded_interrupted() {
    let test = Test::new().plan(SLOW);
    let child = test.spawn(&["apply", "plan.toml", "--kill-grace", "300ms"]);
    wait_for("the slow step to start", || test.read("ledger").contains("started"));
    signal(&child, Signal::SIGINT);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("running steps have 300ms to finish"), "{stderr}");
    assert!(
        !test.read("ledger").contains("got-term"),
        "stopped at once when the grace ran out (SIGKILL, no SIGTERM)"
    );
    assert!(!test.read("ledger").contains("never"));
    assert_eq!(test.step_status("quick"), "succeeded");
    assert_eq!(test.step_status("sleepy"), "interrupted");
    assert_eq!(test.step_status("never"), "pending");
    assert_eq!(test.status()["run"]["outcome"], "interrupted");
    // Not idempotent and no check: resume asks for a decision.
    let refused = test.cmd(&["resume"]);
    refused.status(3);
    assert!(refused.stderr.contains("planrun mark"), "{}", refused.stderr);
}

#[test]
fn a_second_sigint_stops_running_steps_at_once_and_still_checkpoints() {
    let test = Test::new().plan(SLOW);
    let mut child = test.spawn(&["apply", "plan.toml", "--kill-grace", "1h"]);
    let stderr = Stderr::of(&mut child);
    wait_for("the slow step to start", || test.read("ledger").contains("started"));
    signal(&child, Signal::SIGINT);
    wait_for("planrun to say it is draining", || stderr.saw("no new step starts"));
    signal(&child, Signal::SIGTERM);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130));
    assert!(stderr.saw("stopping running steps now"));
    assert_eq!(test.step_status("sleepy"), "interrupted");
    assert_eq!(test.status()["run"]["outcome"], "interrupted");
    let status = test.cmd(&["status"]);
    assert!(!status.stdout.contains("still alive"), "{}", status.stdout);
}

#[test]
fn a_timed_out_step_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let test = Test::new().plan(
        r#"format = 1
name = "stubborn"
[steps.stubborn]
run = { kind = "shell", command = "trap '' TERM; echo started >> ledger; sleep 30" }
timeout = "300ms"
"#,
    );
    let run = test.cmd(&["apply", "plan.toml", "--kill-grace", "300ms"]);
    run.status(1);
    assert!(run.stderr.contains("timed out after 300ms"), "{}", run.stderr);
    assert_eq!(test.step_status("stubborn"), "failed");
}

#[test]
fn a_second_command_is_refused_while_the_lock_is_held_and_a_dead_holder_is_taken_over() {
    let test = Test::new().plan(SLOW).file(
        "other.toml",
        "format = 1\nname = 'other'\n[steps.x]\nrun = { kind = 'shell', command = 'true' }\nrollback = { kind = 'shell', command = 'true' }\n",
    );
    let mut child = test.spawn(&["apply", "plan.toml"]);
    wait_for("the slow step to start", || test.read("ledger").contains("started"));
    let refused = test.cmd(&["apply", "other.toml"]);
    refused.status(3);
    assert!(refused.stderr.contains("locked by `apply`"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!("(pid {})", child.id())),
        "{}",
        refused.stderr
    );
    let unlock = test.cmd(&["unlock"]);
    unlock.status(3);
    assert!(unlock.stderr.contains("unlock --force"), "{}", unlock.stderr);

    signal(&child, Signal::SIGKILL);
    child.wait().expect("wait");
    let taken = test.cmd(&["apply", "other.toml"]);
    taken.status(0);
    assert!(taken.stderr.contains("took over the lock"), "{}", taken.stderr);
}

#[test]
fn unlock_force_removes_a_lock_held_elsewhere() {
    let test = Test::new().plan(SLOW);
    let mut child = test.spawn(&["apply", "plan.toml"]);
    wait_for("the slow step to start", || test.read("ledger").contains("started"));
    let forced = test.cmd(&["unlock", "--force"]);
    forced.status(0);
    assert!(
        forced.stderr.contains("removed the lock of `apply`"),
        "{}",
        forced.stderr
    );
    signal(&child, Signal::SIGKILL);
    child.wait().expect("wait");
}

#[test]
fn sigint_during_preflight_exits_130_and_records_no_run() {
    let test = Test::new().plan(
        r#"format = 1
name = "waiting-preflight"
[preflight.never]
probe = { kind = "shell", command = "touch started; sleep 60" }
[steps.a]
run = { kind = "shell", command = "echo a >> ledger" }
"#,
    );
    let child = test.spawn(&["apply", "plan.toml"]);
    wait_for("the preflight probe to start", || test.path().join("started").exists());
    signal(&child, Signal::SIGINT);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted during preflight"), "{stderr}");
    assert!(!test.path().join("ledger").exists());
}

#[test]
fn usage_errors_write_nothing_and_a_state_that_is_not_one_is_a_conflict() {
    let test = Test::new().plan(SLOW);
    test.cmd(&["runs"]).status(0);
    test.cmd(&["apply", "plan.toml", "--approve", "no-such-step"]).status(2);
    assert!(!test.path().join(".planrun").exists(), "a usage error writes nothing");
    let db = test.path().join(".planrun/state.db");
    std::fs::create_dir_all(test.path().join(".planrun")).expect("mkdir");
    std::fs::write(
        &db,
        "this is not a database, just text that is long enough to look like one ...",
    )
    .expect("write");
    let corrupt = test.cmd(&["status"]);
    corrupt.status(3);
    std::fs::remove_file(&db).expect("remove");
    test.cmd(&["apply", "plan.toml", "--state", "mysql://root:pw@host/db"])
        .status(2);
    assert!(!test.path().join("mysql:").exists());
}
