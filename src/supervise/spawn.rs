//! planrun's side of a supervised command: start the supervisor, let the
//! command go once its group is recorded, and learn how it ended.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::{Child, Command};

use super::group::ProcessGroup;

/// The separate supervisor binary, installed beside `planrun`.
const SUPERVISOR: &str = "planrun-supervise";
/// What `planrun` itself takes as its first argument to act as the
/// supervisor, when the separate binary is missing (`cargo run` builds only
/// `planrun`). Slower to start: a larger binary.
pub const SUPERVISE_ARG: &str = "__supervise";

/// A command started under a supervisor, not yet released.
pub(crate) struct Supervised {
    child: Child,
    /// Held until the command ends: closing it tells the supervisor that
    /// planrun is gone.
    control: BufReader<UnixStream>,
    pub(crate) group: ProcessGroup,
}

/// The program to run as supervisor, and the arguments before its own.
fn supervisor() -> &'static (PathBuf, Option<&'static str>) {
    static FOUND: OnceLock<(PathBuf, Option<&'static str>)> = OnceLock::new();
    FOUND.get_or_init(|| {
        let this = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("/proc/self/exe"));
        let beside = this.with_file_name(SUPERVISOR);
        if beside.is_file() {
            (beside, None)
        } else {
            (this, Some(SUPERVISE_ARG))
        }
    })
}

/// Starts `program` with `args` under a supervisor, as the leader of a new
/// process group, with `configure` applied (environment, directory,
/// output). The command waits until [`Supervised::release`].
pub(crate) fn spawn(
    program: &OsStr,
    args: &[&OsStr],
    grace: Duration,
    configure: impl FnOnce(&mut Command),
) -> std::io::Result<Supervised> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let (path, prefix) = supervisor();
    let mut command = Command::new(path);
    command
        .args(prefix.iter())
        .arg(grace.as_millis().to_string())
        .arg(program)
        .args(args)
        .process_group(0)
        .kill_on_drop(false);
    configure(&mut command);
    command.stdin(Stdio::from(OwnedFd::from(theirs)));
    let spawned = command.spawn();
    // The command holds the supervisor's ends of the pipes: drop them.
    drop(command);
    let child = spawned?;
    ours.set_nonblocking(true)?;
    let control = BufReader::new(UnixStream::from_std(ours)?);
    let pid = child.id().unwrap_or(0);
    Ok(Supervised {
        child,
        control,
        group: ProcessGroup::led_by(pid, grace),
    })
}

impl Supervised {
    /// Lets the command start.
    pub(crate) async fn release(&mut self) -> std::io::Result<()> {
        self.control.get_mut().write_all(b"go\n").await
    }

    /// Waits for the supervisor; the command's own wait status, or why it
    /// could not start.
    pub(crate) async fn wait(&mut self) -> Result<ExitStatus, String> {
        let supervisor = self
            .child
            .wait()
            .await
            .map_err(|error| format!("cannot wait for the command: {error}"))?;
        let mut line = String::new();
        let _ = self.control.read_line(&mut line).await;
        match line.trim_end().split_once(' ') {
            Some(("status", raw)) => raw
                .parse::<i32>()
                .map(ExitStatus::from_raw)
                .map_err(|_| format!("the supervisor reported `{raw}`")),
            Some(("error", message)) => Err(message.to_string()),
            // Killed before it could report: its own end is the command's.
            _ => Ok(supervisor),
        }
    }
}
