//! `shell`: a command through `sh -ec` (or `sh -c` with `errexit = false`),
//! or an argv without a shell.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::outcome::{Applied, Settlement, StepError, Verdict};
use crate::steps::{KindSpec, quote_argv, shell_quote};

/// Runs a command. As a probe it passes when the exit code is accepted.
/// The command may write `KEY=value` lines to the file named by
/// `$PLANRUN_OUTPUT`; they become `${steps.ID.outputs.KEY}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Shell {
    /// A command line, run with `sh -ec`: it stops at the first command
    /// that fails (see `errexit`).
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
    /// Stop `command` at the first command that fails, as CI systems do
    /// (`sh -e`; default true). `false` runs it with plain `sh -c`, where
    /// only the last command's exit code counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errexit: Option<bool>,
}

impl Shell {
    /// Whether `command` runs with `sh -e` (the default).
    pub(crate) fn errexit(&self) -> bool {
        self.errexit.unwrap_or(true)
    }

    pub(crate) fn accepted(&self, code: i32) -> bool {
        self.exit_codes.as_deref().map_or(code == 0, |codes| {
            codes.iter().any(|&accepted| i32::from(accepted) == code)
        })
    }
}

impl KindSpec for Shell {
    /// The command as a script that does what planrun runs: the directory
    /// and the environment on lines of their own (they apply to every line
    /// of the command, not to its first), then the command.
    fn summary(&self) -> String {
        let command = match (&self.command, &self.argv) {
            (Some(command), _) => command.trim().to_string(),
            (None, Some(argv)) => quote_argv(argv),
            (None, None) => String::new(),
        };
        let mut lines = Vec::new();
        if let Some(cwd) = &self.cwd {
            lines.push(format!("cd {}", shell_quote(cwd)));
        }
        // A preview shows which secrets a command receives (as `${secrets.NAME}`).
        if !self.env.is_empty() {
            let env: Vec<String> = self
                .env
                .iter()
                .map(|(key, value)| format!("{key}={}", shell_quote(value)))
                .collect();
            lines.push(format!("export {}", env.join(" ")));
        }
        if self.command.is_some() && !self.errexit() {
            lines.push("set +e".to_string());
        }
        lines.push(command);
        lines.join("\n")
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
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

pub(crate) mod process;

impl crate::steps::ActionKind for Shell {
    fn handles_cancel(&self) -> bool {
        true
    }

    /// The command starts only after its process group is recorded.
    fn writes_before_effects(&self) -> bool {
        true
    }

    /// Its first write follows the spawn of its gated shell, at once.
    fn writes_first_promptly(&self) -> bool {
        true
    }

    async fn perform(&self, ctx: &crate::steps::context::StepContext) -> Result<Applied, StepError> {
        let status = process::run(self, ctx, process::Role::Action).await?;
        let code = status.code();
        if !code.is_some_and(|code| self.accepted(code)) {
            process::discard_outputs(ctx);
            return Err(StepError::with_detail(process::exit_text(status), ctx.log.tail()));
        }
        Ok(Applied {
            outputs: process::read_outputs(ctx)?,
            undo: None,
        })
    }

    fn can_settle(&self) -> bool {
        true
    }

    /// Settling knows only whether the command started, not what it did.
    fn settles_its_effect(&self) -> bool {
        false
    }

    /// A command is held behind its gate until its process group is
    /// recorded: without a record, it never ran. With one, a command cannot
    /// say what it did: its step's `idempotent` or `check` decides.
    async fn settle(&self, ctx: &crate::steps::context::StepContext) -> Result<Settlement, StepError> {
        let asked = "whether the command was let go (its process group recorded)";
        Ok(match &ctx.recorded_process {
            None => Settlement::new(asked, "no: it never started", Verdict::Nothing),
            Some(group) => Settlement::new(
                asked,
                format!("yes ({group}): what a command did cannot be asked"),
                Verdict::Unknown,
            ),
        })
    }
}

impl crate::steps::ProbeKind for Shell {
    fn handles_cancel(&self) -> bool {
        true
    }

    /// What a passing command wrote to `$PLANRUN_OUTPUT`.
    fn outputs(&self, ctx: &crate::steps::context::StepContext) -> Result<IndexMap<String, String>, StepError> {
        process::read_outputs(ctx)
    }

    async fn inspect(&self, ctx: &crate::steps::context::StepContext) -> Result<(), StepError> {
        let status = process::run(self, ctx, process::Role::Probe).await?;
        if status.code().is_some_and(|code| self.accepted(code)) {
            Ok(())
        } else {
            process::discard_outputs(ctx);
            Err(StepError::with_detail(process::exit_text(status), ctx.log.tail()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The preview drew `env` as a `VAR=… ` prefix of the first line, which
    /// reads as if it applied to that line only.
    #[test]
    fn env_of_a_multi_line_command_is_previewed_on_its_own_line() {
        let shell = Shell {
            command: Some("pg_dump db > a.sql\nmv a.sql b.sql\n".into()),
            argv: None,
            cwd: Some("backup dir".into()),
            env: IndexMap::from([("PGPASSWORD".to_string(), "${secrets.pw}".to_string())]),
            exit_codes: None,
            errexit: None,
        };
        assert_eq!(
            shell.summary(),
            "cd 'backup dir'\nexport PGPASSWORD='${secrets.pw}'\npg_dump db > a.sql\nmv a.sql b.sql"
        );
        let lenient = Shell {
            errexit: Some(false),
            cwd: None,
            env: IndexMap::new(),
            ..shell
        };
        assert_eq!(lenient.summary(), "set +e\npg_dump db > a.sql\nmv a.sql b.sql");
    }
}
