//! planrun's side: the watchdog it starts once, and step commands started
//! behind a gate.
//!
//! A command starts as `/bin/sh` reading one line from its stdin (a pipe
//! from planrun) before it does anything else: its process group is known
//! (the shell's pid) and can be recorded in the state, durably, before the
//! command runs. If planrun dies before it opens the gate, the pipe closes
//! and the shell exits without running the command.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::{Child, Command};

use super::group::ProcessGroup;

/// The separate watchdog binary, installed beside `planrun`.
const WATCHDOG: &str = "planrun-supervise";
/// What `planrun` itself takes as its first argument to act as the
/// watchdog, when the separate binary is missing (`cargo run` builds only
/// `planrun`).
pub(crate) const SUPERVISE_ARG: &str = "__supervise";

/// What the gate's shell runs before the command: wait for planrun (exit
/// 125 when the gate is never opened), then give the command no stdin. On the command's first line, so its line
/// numbers stay as written.
const GATE: &str = "read -r _ || exit 125; exec </dev/null; ";

/// The watchdog of this planrun process: started with the first gated
/// command, ended by planrun's exit.
struct Watchdog {
    control: UnixStream,
    /// Kept so it is never reaped by someone else while planrun runs.
    _process: std::process::Child,
}

static WATCHDOG_STATE: OnceLock<Mutex<Option<Watchdog>>> = OnceLock::new();

/// The program to run as the watchdog, and the argument before its own.
fn watchdog_program() -> (PathBuf, Option<&'static str>) {
    let this = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
    let beside = this.with_file_name(WATCHDOG);
    if beside.is_file() {
        (beside, None)
    } else {
        (this, Some(SUPERVISE_ARG))
    }
}

fn start_watchdog(grace: Duration) -> std::io::Result<Watchdog> {
    use std::os::unix::process::CommandExt;
    let (ours, theirs) = UnixStream::pair()?;
    let (program, prefix) = watchdog_program();
    let process = std::process::Command::new(program)
        .args(prefix)
        .arg(grace.as_millis().to_string())
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::null())
        // Its own group: a Ctrl-C at planrun's terminal is for planrun.
        .process_group(0)
        .spawn()?;
    Ok(Watchdog {
        control: ours,
        _process: process,
    })
}

/// Tells the watchdog about `line` (`+PGID` or `-PGID`), starting it (again,
/// should it have died) when needed.
fn tell_watchdog(line: &str, grace: Duration) -> std::io::Result<()> {
    let state = WATCHDOG_STATE.get_or_init(|| Mutex::new(None));
    let mut watchdog = state
        .lock()
        .map_err(|_| std::io::Error::other("the watchdog's lock is poisoned"))?;
    // One write per message (`writeln!` makes two), so the watchdog wakes once.
    let message = format!("{line}\n");
    if let Some(running) = watchdog.as_mut()
        && running.control.write_all(message.as_bytes()).is_ok()
    {
        return Ok(());
    }
    let mut fresh = start_watchdog(grace)?;
    fresh.control.write_all(message.as_bytes())?;
    *watchdog = Some(fresh);
    Ok(())
}

/// A command started behind its gate, watched by the watchdog.
pub(crate) struct Gated {
    child: Child,
    gate: Option<std::io::PipeWriter>,
    pub(crate) group: ProcessGroup,
    grace: Duration,
    ended: bool,
}

/// Starts `program` with `args` behind a gate, as the leader of a new
/// process group watched by the watchdog, with `configure` applied
/// (environment, directory, output). `shell_flags`: run `script` with
/// `/bin/sh` and these flags instead of a program. `aside`: start it on a
/// blocking thread, not the caller's: starting a process stalls the
/// starting thread until the child has exec'd, which the other steps
/// running on the engine's thread would wait for too.
pub(crate) async fn spawn(
    command: GatedCommand<'_>,
    grace: Duration,
    aside: bool,
    configure: impl FnOnce(&mut Command),
) -> std::io::Result<Gated> {
    let (reader, writer) = std::io::pipe()?;
    let mut process = Command::new("/bin/sh");
    match command {
        GatedCommand::Script { flags, script } => {
            process.arg(flags).arg(format!("{GATE}{script}"));
        }
        GatedCommand::Program { program, args } => {
            process
                .arg("-c")
                .arg(format!("{GATE}exec \"$@\""))
                .arg("planrun-gate")
                .arg(program)
                .args(args);
        }
    }
    process.process_group(0).kill_on_drop(false);
    configure(&mut process);
    process.stdin(Stdio::from(reader));
    let start = move || {
        let spawned = process.spawn();
        // The command holds the child's ends of the pipes: drop them.
        drop(process);
        spawned
    };
    let child = if aside {
        tokio::task::spawn_blocking(start)
            .await
            .map_err(std::io::Error::other)??
    } else {
        start()?
    };
    let group = ProcessGroup::led_by(child.id().unwrap_or(0), grace);
    let gated = Gated {
        child,
        gate: Some(writer),
        group,
        grace,
        ended: false,
    };
    tell_watchdog(&format!("+{}", gated.group.pgid), grace)?;
    Ok(gated)
}

/// What a gated shell runs.
pub(crate) enum GatedCommand<'a> {
    /// `/bin/sh FLAGS SCRIPT` (`-ec`, or `-c`).
    Script { flags: &'a str, script: &'a str },
    /// A program and its arguments, without a shell of their own.
    Program { program: &'a OsStr, args: &'a [&'a OsStr] },
}

impl Gated {
    /// Opens the gate: the command starts. A shell that already exited
    /// (it could not parse the script: a syntax error) closed the gate's
    /// pipe; that is no error here, [`Gated::wait`] reports its exit
    /// status and the log holds why.
    pub(crate) fn release(&mut self) -> std::io::Result<()> {
        match self.gate.take() {
            Some(mut gate) => match gate.write_all(b"go\n") {
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            },
            None => Ok(()),
        }
    }

    /// Waits for the command to end.
    pub(crate) async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await;
        if !self.ended {
            self.ended = true;
            let _ = tell_watchdog(&format!("-{}", self.group.pgid), self.grace);
        }
        status
    }
}

impl Drop for Gated {
    /// Dropped before its end (a timeout around a future that did not
    /// stop, a panic): nothing of it may go on.
    fn drop(&mut self) {
        if !self.ended {
            self.group.signal(Signal::SIGKILL);
            let _ = tell_watchdog(&format!("-{}", self.group.pgid), self.grace);
        }
    }
}
