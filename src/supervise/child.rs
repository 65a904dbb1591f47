//! The supervisor process itself (`planrun-supervise GRACE_MS PROGRAM
//! ARGS…`): waits for `go`, runs the command in its own process group,
//! reports how it ended, and stops the whole group when planrun goes away.
//! Plain threads and blocking I/O: it must start fast and do little.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::getpgrp;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/// Exit code when the command never started (planrun went away first, or
/// the arguments were wrong).
const NOT_STARTED: u8 = 125;

/// Runs the supervisor with `args` (without the program name).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // Signals meant for the command (a timeout's SIGTERM to the group, a
    // hangup) must not take the supervisor down before it has reported.
    // Caught, not blocked or ignored: a caught signal is back to its
    // default in the command after `exec`, a blocked or ignored one is not.
    let caught = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT] {
        let _ = signal_hook::flag::register(signal, caught.clone());
    }
    let mut args = args.into_iter();
    let grace = args
        .next()
        .and_then(|ms| ms.to_str()?.parse::<u64>().ok())
        .map(Duration::from_millis);
    let (Some(grace), Some(program)) = (grace, args.next()) else {
        eprintln!("usage: planrun-supervise GRACE_MS PROGRAM [ARGS...] (started by planrun, with a socket on stdin)");
        return ExitCode::from(NOT_STARTED);
    };
    let Ok(control) = std::io::stdin().as_fd().try_clone_to_owned().map(UnixStream::from) else {
        return ExitCode::from(NOT_STARTED);
    };
    let Ok(reader) = control.try_clone() else {
        return ExitCode::from(NOT_STARTED);
    };
    let mut reader = BufReader::new(reader);
    if !released(&mut reader) {
        return ExitCode::from(NOT_STARTED);
    }
    let child = Command::new(&program).args(args).stdin(Stdio::null()).spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            report(&control, &format!("error {error}"));
            return ExitCode::from(NOT_STARTED);
        }
    };
    // One watcher thread: the socket closing before the command ends means
    // planrun is gone. The main thread waits for the command.
    let parent_gone = Arc::new(AtomicBool::new(false));
    let watcher_gone = parent_gone.clone();
    let group = getpgrp();
    std::thread::spawn(move || {
        // Anything planrun writes after `go` is ignored; only the end matters.
        let mut buffer = [0_u8; 64];
        while matches!(reader.read(&mut buffer), Ok(n) if n > 0) {}
        watcher_gone.store(true, Ordering::SeqCst);
        let _ = killpg(group, Signal::SIGTERM);
        std::thread::sleep(grace);
        // The grace ran out with the command still running.
        let _ = killpg(group, Signal::SIGKILL);
    });
    let waited = child.wait();
    if parent_gone.load(Ordering::SeqCst) {
        // The command ended within the grace: what it left goes too.
        let _ = killpg(group, Signal::SIGKILL);
    }
    match waited {
        Ok(status) => {
            report(&control, &format!("status {}", status.into_raw()));
            ExitCode::from(u8::try_from(status.code().unwrap_or(128)).unwrap_or(128))
        }
        Err(error) => {
            report(&control, &format!("error cannot wait for the command: {error}"));
            ExitCode::from(NOT_STARTED)
        }
    }
}

/// Waits for planrun's `go`; `false` when it went away instead.
fn released(reader: &mut impl BufRead) -> bool {
    let mut line = String::new();
    matches!(reader.read_line(&mut line), Ok(n) if n > 0) && line.trim_end() == "go"
}

fn report(mut control: &UnixStream, line: &str) {
    let _ = writeln!(control, "{line}");
}
