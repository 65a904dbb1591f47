//! Running the command: behind a gate and watched (see `crate::supervise`),
//! in its own process group, stdin closed, output to the step log. An
//! action's group is recorded in the state before the command starts. On a
//! timeout the group gets SIGTERM, then SIGKILL after the grace; on an
//! interrupt that stops steps at once, SIGKILL.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use indexmap::IndexMap;
use nix::sys::signal::Signal;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::unix::pipe::Receiver;

use super::Shell;
use crate::failpoint;
use crate::steps::context::StepContext;
use crate::steps::log::StepLog;
use crate::steps::outcome::StepError;
use crate::supervise::{self, Gated, GatedCommand, Liveness, ProcessGroup};

/// How long output may still arrive after the command exits (a
/// background child holding the pipe must not hang the step).
const DRAIN: Duration = Duration::from_millis(500);
/// How often a stopped group is looked at again.
const POLL: Duration = Duration::from_millis(10);
/// How long a group may take to disappear after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Whether the group is recorded in the state before the command starts:
/// an action's is (a later command must not run the step again while it
/// lives); a probe's only reads, and is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Action,
    Probe,
}

/// What `shell` runs behind its gate.
fn command_line(shell: &Shell) -> Result<GatedCommand<'_>, StepError> {
    match (&shell.command, &shell.argv) {
        (Some(script), _) => Ok(GatedCommand::Script {
            flags: if shell.errexit() { "-ec" } else { "-c" },
            script,
        }),
        (None, Some(argv)) if !argv.is_empty() => Ok(GatedCommand::Program {
            program: OsStr::new(&argv[0]),
            args: &[],
        }),
        _ => Err(StepError::failed("nothing to run")),
    }
}

/// Runs the command to its end. `$PLANRUN_OUTPUT` starts empty.
pub(super) async fn run(shell: &Shell, ctx: &StepContext, role: Role) -> Result<ExitStatus, StepError> {
    let outputs = ctx.outputs_path.as_deref().unwrap_or(std::path::Path::new("/dev/null"));
    if let Some(path) = &ctx.outputs_path {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(StepError::failed(format!("cannot reset $PLANRUN_OUTPUT: {error}"))),
        }
    }
    let argv: Vec<&OsStr> = shell.argv.iter().flatten().skip(1).map(OsStr::new).collect();
    let mut command = command_line(shell)?;
    if let GatedCommand::Program { args, .. } = &mut command {
        *args = &argv;
    }
    let what = match &command {
        GatedCommand::Script { .. } => "/bin/sh".to_string(),
        GatedCommand::Program { program, .. } => program.display().to_string(),
    };
    let cwd = shell
        .cwd
        .as_deref()
        .map_or_else(|| ctx.work_dir.clone(), |cwd| ctx.path(cwd));
    // One pipe for stdout and stderr: the log keeps their lines in the
    // order they were written, and a step costs one pipe, not two.
    let pipe_failed = |error: std::io::Error| StepError::failed(format!("cannot create a pipe: {error}"));
    let (reader, writer) = std::io::pipe().map_err(pipe_failed)?;
    let stdout = writer.try_clone().map_err(pipe_failed)?;
    let mut gated = supervise::spawn(command, ctx.kill_grace, ctx.concurrent, |command| {
        command
            .current_dir(&cwd)
            .envs(&shell.env)
            .env("PLANRUN_RUN_ID", &ctx.run_id)
            .env("PLANRUN_STEP", &ctx.step_id)
            .env("PLANRUN_OUTPUT", outputs)
            .stdout(stdout)
            .stderr(writer);
    })
    .await
    .map_err(|error| StepError::failed(format!("cannot start `{what}` in `{}`: {error}", cwd.display())))?;
    let output = Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(pipe_failed)?;
    let pump = tokio::spawn(pump(output, ctx.log.clone()));
    if role == Role::Action {
        failpoint::hit("shell:spawned");
        ctx.progress
            .record_process(Some(&gated.group))
            .await
            .map_err(StepError::failed)?;
        failpoint::hit("shell:recorded");
    }
    gated
        .release()
        .map_err(|error| StepError::failed(format!("cannot start the command: {error}")))?;
    let ended = tokio::select! {
        ended = gated.wait() => ended,
        () = ctx.cancel.cancelled() => {
            stop(&mut gated, ctx).await;
            drain(pump).await;
            discard_outputs(ctx);
            return Err(StepError::Cancelled);
        }
    };
    drain(pump).await;
    ended.map_err(|error| StepError::failed(format!("cannot wait for `{what}`: {error}")))
}

/// Stops the group: at once when planrun is told to stop its steps now,
/// else SIGTERM and, after the grace, SIGKILL. Returns once no process of
/// the group is left (the command's own children included), so nothing of
/// the step outlives its record.
async fn stop(gated: &mut Gated, ctx: &StepContext) {
    let group = gated.group.clone();
    if !ctx.stop_now.is_cancelled() {
        group.signal(Signal::SIGTERM);
        let deadline = tokio::time::Instant::now() + ctx.kill_grace;
        let graceful = tokio::select! {
            gone = gone(&group, deadline) => gone,
            () = ctx.stop_now.cancelled() => false,
        };
        if graceful {
            let _ = gated.wait().await;
            return;
        }
    }
    group.signal(Signal::SIGKILL);
    let _ = gated.wait().await;
    gone(&group, tokio::time::Instant::now() + AFTER_KILL).await;
}

/// Whether the group is gone before `deadline`.
async fn gone(group: &ProcessGroup, deadline: tokio::time::Instant) -> bool {
    loop {
        if group.liveness() == Liveness::Gone {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn drain(pump: tokio::task::JoinHandle<()>) {
    let abort = pump.abort_handle();
    if tokio::time::timeout(DRAIN, pump).await.is_err() {
        abort.abort();
    }
}

async fn pump(stream: impl AsyncRead + Unpin, log: std::sync::Arc<StepLog>) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => log.line(&String::from_utf8_lossy(&line)),
        }
    }
}

/// "exit code 3" or "killed by signal 9".
pub(super) fn exit_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended abnormally".into(),
    }
}

/// Removes what the command wrote to `$PLANRUN_OUTPUT` (it may hold a
/// secret's value, unredacted).
pub(crate) fn discard_outputs(ctx: &StepContext) {
    if let Some(path) = &ctx.outputs_path {
        let _ = std::fs::remove_file(path);
    }
}

/// Reads `KEY=value` lines from `$PLANRUN_OUTPUT`, then removes the
/// file; values are redacted.
pub(crate) fn read_outputs(ctx: &StepContext) -> Result<IndexMap<String, String>, StepError> {
    let Some(path) = &ctx.outputs_path else {
        return Ok(IndexMap::new());
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(IndexMap::new()),
        Err(error) => return Err(StepError::failed(format!("cannot read $PLANRUN_OUTPUT: {error}"))),
    };
    // The file may hold a secret's value: only the redacted outputs stay.
    discard_outputs(ctx);
    let mut outputs = IndexMap::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let valid = line.split_once('=').filter(|(key, _)| {
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        let Some((key, value)) = valid else {
            return Err(StepError::failed(format!(
                "line {} of $PLANRUN_OUTPUT is not KEY=value: {}",
                number + 1,
                ctx.log.redactor().redact(line)
            )));
        };
        outputs.insert(key.to_string(), ctx.log.redactor().redact(value).into_owned());
    }
    Ok(outputs)
}
