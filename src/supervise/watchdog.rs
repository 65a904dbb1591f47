//! The watchdog process itself (`planrun-supervise GRACE_MS`, a socket on
//! its stdin). planrun writes `+PGID` when a step's process group starts
//! and `-PGID` when it ended; when the socket closes with groups still
//! watched, planrun is gone (killed, crashed): each group gets SIGTERM, the
//! grace to end, then SIGKILL. One thread: it must start fast and do little.
//!
//! It reads what planrun wrote every [`DRAIN`], not as each line arrives: a
//! reader blocked on the socket would be woken, on another core, twice per
//! step, which costs planrun more than the write. Nothing is lost by it: a
//! line planrun wrote before it died is still in the socket, and is read
//! before the end of the stream; the groups are only stopped up to one
//! period later.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{ErrorKind, Read};
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
/// How often what planrun wrote is read.
const DRAIN: Duration = Duration::from_millis(25);

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
    if control.set_nonblocking(true).is_err() {
        return ExitCode::from(2);
    }
    let mut pending = Vec::new();
    while drain(&control, &mut pending, &mut watched) {
        std::thread::sleep(DRAIN);
    }
    stop(&watched, grace);
    ExitCode::SUCCESS
}

/// Reads every whole line planrun wrote so far into `watched` (`pending`
/// keeps a line's start until its end arrives); `false` once the stream
/// ended (or failed): planrun is gone.
fn drain(mut control: &UnixStream, pending: &mut Vec<u8>, watched: &mut BTreeSet<i32>) -> bool {
    let mut buffer = [0u8; 4096];
    let ended = loop {
        match control.read(&mut buffer) {
            Ok(0) => break true,
            Ok(read) => pending.extend_from_slice(buffer.get(..read).unwrap_or_default()),
            Err(error) if error.kind() == ErrorKind::WouldBlock => break false,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(_) => break true,
        }
    };
    // The lines read with the end of the stream count too (the last one
    // even without its newline).
    let whole = if ended {
        pending.len()
    } else {
        pending.iter().rposition(|&byte| byte == b'\n').map_or(0, |end| end + 1)
    };
    for line in pending.drain(..whole).collect::<Vec<u8>>().split(|&byte| byte == b'\n') {
        apply(line, watched);
    }
    !ended
}

/// One line: `+PGID` watches the group, `-PGID` forgets it.
fn apply(line: &[u8], watched: &mut BTreeSet<i32>) {
    let pgid = |digits: &[u8]| std::str::from_utf8(digits).ok()?.parse::<i32>().ok();
    match line.split_first() {
        Some((b'+', digits)) => {
            if let Some(pgid) = pgid(digits).filter(|&pgid| pgid > 1) {
                watched.insert(pgid);
            }
        }
        Some((b'-', digits)) => {
            if let Some(pgid) = pgid(digits) {
                watched.remove(&pgid);
            }
        }
        _ => {}
    }
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

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn lines_are_read_whole_across_drains_and_the_end_of_the_stream_is_seen() {
        let (mut planrun, watchdog) = UnixStream::pair().expect("a socket pair");
        watchdog.set_nonblocking(true).expect("non-blocking");
        let (mut pending, mut watched) = (Vec::new(), BTreeSet::new());
        assert!(drain(&watchdog, &mut pending, &mut watched), "nothing written yet");
        assert!(watched.is_empty());
        planrun.write_all(b"+12\n+14\n-1").expect("write");
        assert!(drain(&watchdog, &mut pending, &mut watched));
        assert_eq!(watched, BTreeSet::from([12, 14]), "a line's start waits for its end");
        planrun.write_all(b"2\n+1\n+x\n").expect("write");
        assert!(drain(&watchdog, &mut pending, &mut watched));
        assert_eq!(watched, BTreeSet::from([14]), "init and garbage are never watched");
        // planrun's last lines and its end arrive in one drain.
        planrun.write_all(b"+15\n-14\n+16").expect("write");
        drop(planrun);
        assert!(!drain(&watchdog, &mut pending, &mut watched), "planrun is gone");
        assert_eq!(watched, BTreeSet::from([15, 16]), "what came with the end counts");
    }
}
