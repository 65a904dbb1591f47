//! `shell`: a command through `sh -c`, or an argv without a shell.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::field_check::FieldCheck;
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
    /// Exit codes that count as success (default `[0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_codes: Option<Vec<i32>>,
}

impl Shell {
    pub fn accepted(&self, code: i32) -> bool {
        self.exit_codes
            .as_deref()
            .map_or(code == 0, |codes| codes.contains(&code))
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
