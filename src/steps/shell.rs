//! `shell`: a command through `sh -c`, or an argv without a shell.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::field_check::FieldCheck;
use crate::steps::outcome::{Applied, StepError};
use crate::steps::{KindSpec, quote_argv, shell_quote};

/// Runs a command. As a probe it passes when the exit code is accepted.
/// The command may write `KEY=value` lines to the file named by
/// `$PLANRUN_OUTPUT`; they become `${steps.ID.outputs.KEY}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Shell {
    /// A command line, run with `sh -c`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// A program and its arguments, run without a shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// Working directory (default: where planrun was started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Extra environment variables for the command.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    /// Exit codes that count as success (default `[0]`), each 0 to 255.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_codes: Option<Vec<u8>>,
}

impl Shell {
    pub fn accepted(&self, code: i32) -> bool {
        self.exit_codes.as_deref().map_or(code == 0, |codes| {
            codes.iter().any(|&accepted| i32::from(accepted) == code)
        })
    }
}

impl KindSpec for Shell {
    fn summary(&self) -> String {
        let command = match (&self.command, &self.argv) {
            (Some(command), _) => command.trim().to_string(),
            (None, Some(argv)) => quote_argv(argv),
            (None, None) => String::new(),
        };
        // Environment first, as a shell would take it, so a preview shows
        // which secrets a command receives (as `${secrets.NAME}`).
        let env: String = self
            .env
            .iter()
            .map(|(key, value)| format!("{key}={} ", shell_quote(value)))
            .collect();
        match &self.cwd {
            Some(cwd) => format!("(cd {cwd}) {env}{command}"),
            None => format!("{env}{command}"),
        }
    }

    fn validate(&self, check: &mut FieldCheck<'_>) {
        check.exactly_one(&[("command", self.command.is_some()), ("argv", self.argv.is_some())]);
        if let Some(command) = &self.command {
            check.non_empty("command", command);
        }
        if self.argv.as_ref().is_some_and(Vec::is_empty) {
            check.error("argv", "`argv` is empty", "give at least the program to run");
        }
        if self.exit_codes.as_ref().is_some_and(Vec::is_empty) {
            check.error(
                "exit_codes",
                "`exit_codes` is empty: nothing could succeed",
                "remove it to accept only 0",
            );
        }
    }
}

pub(crate) mod process {
    //! Running the command: its own process group, stdin closed, output
    //! to the step log, SIGTERM then SIGKILL to the whole group on cancel.

    use std::os::unix::process::ExitStatusExt;
    use std::process::{ExitStatus, Stdio};
    use std::time::Duration;

    use indexmap::IndexMap;
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;
    use std::os::fd::OwnedFd;
    use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

    use tokio::net::unix::pipe::Receiver;
    use tokio::process::Command;

    use super::Shell;
    use crate::exec::context::StepContext;
    use crate::exec::log::StepLog;
    use crate::steps::outcome::StepError;

    /// How long output may still arrive after the command exits (a
    /// background child holding the pipe must not hang the step).
    const DRAIN: Duration = Duration::from_millis(500);

    /// Kills the process group if the step is dropped mid-way (a timeout
    /// around a non-cooperating future, a panic).
    struct GroupGuard(Option<Pid>);

    impl GroupGuard {
        fn signal(&self, signal: Signal) {
            if let Some(pid) = self.0 {
                let _ = killpg(pid, signal);
            }
        }
    }

    impl Drop for GroupGuard {
        fn drop(&mut self) {
            self.signal(Signal::SIGKILL);
        }
    }

    /// Runs the command to its end. `$PLANRUN_OUTPUT` starts empty.
    pub(super) async fn run(shell: &Shell, ctx: &StepContext) -> Result<ExitStatus, StepError> {
        let outputs = ctx.outputs_path.as_deref().unwrap_or(std::path::Path::new("/dev/null"));
        if let Some(path) = &ctx.outputs_path {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(StepError::failed(format!("cannot reset $PLANRUN_OUTPUT: {error}"))),
            }
        }
        let mut command = match (&shell.command, &shell.argv) {
            (Some(line), _) => {
                let mut command = Command::new("/bin/sh");
                command.arg("-c").arg(line);
                command
            }
            (None, Some(argv)) if !argv.is_empty() => {
                let mut command = Command::new(&argv[0]);
                command.args(&argv[1..]);
                command
            }
            _ => return Err(StepError::failed("nothing to run")),
        };
        let cwd = shell
            .cwd
            .as_deref()
            .map_or_else(|| ctx.work_dir.clone(), |cwd| ctx.path(cwd));
        command
            .current_dir(&cwd)
            .envs(&shell.env)
            .env("PLANRUN_RUN_ID", &ctx.run_id)
            .env("PLANRUN_STEP", &ctx.step_id)
            .env("PLANRUN_OUTPUT", outputs)
            .stdin(Stdio::null())
            .process_group(0);
        // One pipe for stdout and stderr: the log keeps their lines in the
        // order they were written, and a step costs one pipe, not two.
        let pipe_failed = |error: std::io::Error| StepError::failed(format!("cannot create a pipe: {error}"));
        let (reader, writer) = std::io::pipe().map_err(pipe_failed)?;
        command.stdout(writer.try_clone().map_err(pipe_failed)?).stderr(writer);
        let spawned = command.spawn();
        // The command holds the pipe's write ends: drop them, or the log
        // never sees the end of the output.
        drop(command);
        let mut child = spawned.map_err(|error| {
            let program = shell.argv.as_ref().and_then(|a| a.first()).map_or("sh", String::as_str);
            StepError::failed(format!("cannot start `{program}` in `{}`: {error}", cwd.display()))
        })?;
        let guard = GroupGuard(child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw));
        let output = Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(pipe_failed)?;
        let pump = tokio::spawn(pump(output, ctx.log.clone()));
        let status = tokio::select! {
            status = child.wait() => status,
            () = ctx.cancel.cancelled() => {
                guard.signal(Signal::SIGTERM);
                if tokio::time::timeout(ctx.kill_grace, child.wait()).await.is_err() {
                    guard.signal(Signal::SIGKILL);
                    let _ = child.wait().await;
                }
                drain(pump).await;
                discard_outputs(ctx);
                return Err(StepError::Cancelled);
            }
        };
        let mut guard = guard;
        guard.0 = None;
        drain(pump).await;
        status.map_err(|error| StepError::failed(format!("cannot wait for the command: {error}")))
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
    pub(super) fn describe(status: ExitStatus) -> String {
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
}

impl crate::steps::outcome::Perform for Shell {
    async fn perform(&self, ctx: &crate::exec::context::StepContext) -> Result<Applied, StepError> {
        let status = process::run(self, ctx).await?;
        let code = status.code();
        if !code.is_some_and(|code| self.accepted(code)) {
            process::discard_outputs(ctx);
            return Err(StepError::with_detail(process::describe(status), ctx.log.tail()));
        }
        Ok(Applied {
            outputs: process::read_outputs(ctx)?,
            undo: None,
        })
    }
}

impl crate::steps::outcome::Inspect for Shell {
    async fn inspect(&self, ctx: &crate::exec::context::StepContext) -> Result<(), StepError> {
        let status = process::run(self, ctx).await?;
        if status.code().is_some_and(|code| self.accepted(code)) {
            Ok(())
        } else {
            process::discard_outputs(ctx);
            Err(StepError::with_detail(process::describe(status), ctx.log.tail()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_shows_the_environment_before_the_command() {
        let shell = Shell {
            command: Some("pg_dump db\n".into()),
            argv: None,
            cwd: None,
            env: IndexMap::from([("PGPASSWORD".to_string(), "${secrets.pw}".to_string())]),
            exit_codes: None,
        };
        assert_eq!(shell.summary(), "PGPASSWORD='${secrets.pw}' pg_dump db");
    }
}
