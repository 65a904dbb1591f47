//! What a killed run leaves running: the next command that acts on the run
//! waits for the step's processes, or kills them after its grace, before
//! it decides anything, and says so.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::signals::wait_for;
use crate::test::Test;

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

/// `planrun-supervise` with a socket on stdin, as planrun starts it.
fn supervisor(dir: &std::path::Path, command: &str) -> (std::process::Child, std::os::unix::net::UnixStream) {
    use std::os::fd::OwnedFd;
    use std::os::unix::process::CommandExt;
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_planrun-supervise"))
        .args(["10000", "/bin/sh", "-c", command])
        .current_dir(dir)
        .process_group(0)
        .stdin(std::process::Stdio::from(OwnedFd::from(theirs)))
        .spawn()
        .expect("planrun-supervise");
    (child, ours)
}

#[test]
fn a_supervised_command_never_starts_when_planrun_dies_before_releasing_it() {
    let test = Test::new();
    let (child, control) = supervisor(test.path(), "echo ran >> ledger");
    drop(control);
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(test.read("ledger"), "", "the command never ran");
}

#[test]
fn a_supervisor_stops_its_group_when_planrun_goes_away() {
    use std::io::{BufRead, Write};
    let test = Test::new();
    let (child, mut control) = supervisor(
        test.path(),
        "trap 'echo got-term >> ledger; exit 1' TERM; echo started >> ledger; sleep 30 & wait",
    );
    control.write_all(b"go\n").expect("release");
    wait_for("the command to start", || test.read("ledger").contains("started"));
    drop(control);
    child.wait_with_output().expect("wait");
    assert_eq!(test.read("ledger"), "started\ngot-term\n");

    // And when the command ends first, it reports the command's status.
    let (child, mut control) = supervisor(test.path(), "exit 3");
    control.write_all(b"go\n").expect("release");
    let mut line = String::new();
    std::io::BufReader::new(&control).read_line(&mut line).expect("status");
    assert_eq!(line, format!("status {}\n", 3 << 8));
    let _ = child.wait_with_output();
}
