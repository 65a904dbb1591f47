//! The watchdog process itself (`planrun-supervise GRACE_MS`, a socket on
//! its stdin). planrun writes `+PGID` when a step's process group starts
//! and `-PGID` when it ended; when the socket closes with groups still
//! watched, planrun is gone (killed, crashed): each group gets SIGTERM, the
//! grace to end, then SIGKILL. Plain blocking I/O, one thread: it must
//! start fast and do little.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/// How often stopped groups are looked at again.
const POLL: Duration = Duration::from_millis(10);

/// Runs the watchdog with `args` (without the program name).
pub(crate) fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    // A Ctrl-C at planrun's terminal, or a signal to planrun's group, is
    // planrun's to handle: the watchdog outlives it to stop the steps.
    let caught = Arc::new(AtomicBool::new(false));
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT] {
        let _ = signal_hook::flag::register(signal, caught.clone());
    }
    let grace = args
        .into_iter()
        .next()
        .and_then(|ms| ms.to_str()?.parse::<u64>().ok())
        .map(Duration::from_millis);
    let Some(grace) = grace else {
        eprintln!("usage: planrun-supervise GRACE_MS (started by planrun, with a socket on stdin)");
        return ExitCode::from(2);
    };
    let Ok(control) = std::io::stdin().as_fd().try_clone_to_owned().map(UnixStream::from) else {
        return ExitCode::from(2);
    };
    let mut watched = BTreeSet::new();
    for line in BufReader::new(control).lines() {
        let Ok(line) = line else { break };
        let (sign, pgid) = line.split_at(line.len().min(1));
        match (sign, pgid.parse::<i32>()) {
            ("+", Ok(pgid)) if pgid > 1 => {
                watched.insert(pgid);
            }
            ("-", Ok(pgid)) => {
                watched.remove(&pgid);
            }
            _ => {}
        }
    }
    stop(&watched, grace);
    ExitCode::SUCCESS
}

/// planrun is gone: SIGTERM to every watched group, the grace for them to
/// end, then SIGKILL to what is left.
fn stop(groups: &BTreeSet<i32>, grace: Duration) {
    let signal_all = |signal| {
        groups
            .iter()
            .filter(|&&pgid| killpg(Pid::from_raw(pgid), signal).is_ok())
            .count()
    };
    if signal_all(Signal::SIGTERM) == 0 {
        return;
    }
    let deadline = Instant::now() + grace;
    // `killpg(…, None)` succeeds while a group has members (zombies too:
    // those are reaped by init soon after their leader ends).
    while Instant::now() < deadline && groups.iter().any(|&pgid| killpg(Pid::from_raw(pgid), None).is_ok()) {
        std::thread::sleep(POLL);
    }
    signal_all(Signal::SIGKILL);
}
