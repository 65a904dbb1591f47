//! The step kinds: what a plan can run (actions) and check (probes).
//!
//! Both sets are closed, serde-tagged enums (`kind = "..."`), so the JSON
//! Schema has one variant per kind. A kind's data and its behaviour live in
//! one file per system.

pub mod amqp;
pub mod context;
mod dispatch;
pub mod docker;
pub mod file;
pub mod git;
pub mod http;
pub mod log;
pub mod manual;
pub mod outcome;
pub mod postgres;
pub mod shell;
mod spec;
pub mod system;
pub mod tcp;
pub mod wait;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use spec::{FieldChecks, KindDecoder, KindSpec};

macro_rules! kinds {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($ty:ty), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind")]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $tag)] $variant($ty), )*
        }

        impl $name {
            /// Every `kind` value this set accepts, in declaration order.
            pub const KINDS: &'static [&'static str] = &[$($tag),*];

            pub fn kind(&self) -> &'static str {
                match self { $( Self::$variant(_) => $tag, )* }
            }

            /// Decodes the fields (without `kind`) as the payload of `kind`
            /// with `decoder`; `None` when `kind` is not in this set.
            pub(crate) fn decode<D: KindDecoder>(kind: &str, decoder: D) -> Option<D::Decoded<$name>> {
                match kind {
                    $( $tag => Some(D::map(decoder.decode::<$ty>(), Self::$variant)), )*
                    _ => None,
                }
            }

            fn spec(&self) -> &dyn KindSpec {
                match self { $( Self::$variant(inner) => inner, )* }
            }

            pub fn summary(&self) -> String {
                self.spec().summary()
            }

            pub fn validate(&self, check: &mut dyn FieldChecks) {
                self.spec().validate(check);
            }
        }
    };
}

kinds! {
    /// Something a step does: its `run` or its `rollback`.
    pub enum Action {
        "shell" => Shell(shell::Shell),
        "file.write" => FileWrite(file::FileWrite),
        "file.replace" => FileReplace(file::FileReplace),
        "file.lines" => FileLines(file::FileLines),
        "http" => Http(http::Http),
        "manual" => Manual(manual::Manual),
        "postgres.exec" => PostgresExec(postgres::PostgresExec),
        "postgres.create_database" => PostgresCreateDatabase(postgres::PostgresCreateDatabase),
        "postgres.drop_database" => PostgresDropDatabase(postgres::PostgresDropDatabase),
        "postgres.copy_table" => PostgresCopyTable(postgres::PostgresCopyTable),
        "amqp.declare" => AmqpDeclare(amqp::AmqpDeclare),
        "amqp.publish" => AmqpPublish(amqp::AmqpPublish),
        "docker.run" => DockerRun(docker::DockerRun),
        "docker.start" => DockerStart(docker::DockerContainerAction),
        "docker.stop" => DockerStop(docker::DockerContainerAction),
        "docker.remove" => DockerRemove(docker::DockerContainerAction),
        "docker.exec" => DockerExec(docker::DockerExec),
    }
}

kinds! {
    /// A read-only check: a step's `check`, `preconditions` and `verify`, and
    /// the plan's `preflight`.
    pub enum Probe {
        "shell" => Shell(shell::Shell),
        "file.exists" => FileExists(file::FileExists),
        "file.contains" => FileContains(file::FileContains),
        "http" => Http(http::Http),
        "tcp" => Tcp(tcp::Tcp),
        "env" => Env(system::EnvVar),
        "system" => System(system::System),
        "git" => Git(git::Git),
        "postgres.connect" => PostgresConnect(postgres::PostgresConnect),
        "postgres.query" => PostgresQuery(postgres::PostgresQuery),
        "postgres.exists" => PostgresExists(postgres::PostgresExists),
        "postgres.row_count" => PostgresRowCount(postgres::PostgresRowCount),
        "amqp.connect" => AmqpConnect(amqp::AmqpConnect),
        "amqp.exists" => AmqpExists(amqp::AmqpExists),
        "amqp.roundtrip" => AmqpRoundtrip(amqp::AmqpRoundtrip),
        "docker.daemon" => DockerDaemon(docker::DockerDaemon),
        "docker.image" => DockerImage(docker::DockerImage),
        "docker.container" => DockerContainer(docker::DockerContainer),
        "docker.compose" => DockerCompose(docker::DockerCompose),
        "docker.exec" => DockerExec(docker::DockerExec),
    }
}

impl Action {
    /// A gate's instructions to the operator: the engine decides it
    /// (`--yes`, `--approve`, a terminal, or a pause) instead of running it.
    pub fn gate(&self) -> Option<&str> {
        match self {
            Action::Manual(manual) => Some(&manual.instructions),
            _ => None,
        }
    }

    /// Whether running this changes the world (and so deserves a rollback).
    pub fn is_mutating(&self) -> bool {
        match self {
            Action::Manual(_) => false,
            Action::Http(http) => !http.is_safe_method(),
            _ => true,
        }
    }

    /// Whether planrun can undo this by itself when the step has no
    /// `rollback`: it records what it changed and reverses exactly that.
    pub fn has_builtin_undo(&self) -> bool {
        matches!(
            self,
            Action::FileWrite(_)
                | Action::FileReplace(_)
                | Action::FileLines(_)
                | Action::PostgresCreateDatabase(_)
                | Action::AmqpDeclare(_)
                | Action::DockerRun(_)
        )
    }
}

/// Shell-style quoting for previews, so a command can be copied and pasted.
pub(crate) fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

pub(crate) fn quote_argv(argv: &[String]) -> String {
    argv.iter().map(|w| shell_quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_sets_overlap_only_on_dual_kinds() {
        let both: Vec<&str> = Action::KINDS
            .iter()
            .filter(|k| Probe::KINDS.contains(k))
            .copied()
            .collect();
        assert_eq!(both, ["shell", "http", "docker.exec"]);
    }

    #[test]
    fn quoting_leaves_plain_words_alone() {
        assert_eq!(shell_quote("pg_dump"), "pg_dump");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
