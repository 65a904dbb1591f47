//! The step kinds: what a plan can run (actions) and check (probes).
//!
//! Both sets are closed, serde-tagged enums (`kind = "..."`), so the JSON
//! Schema has one variant per kind. Each kind implements [`ActionKind`] or
//! [`ProbeKind`] (see `kind.rs`), beside its data, in one file per system;
//! the enums dispatch to them. Adding a kind is one line in `kinds!` and
//! its impl. The engine runs kinds through [`context::StepContext`]; kinds
//! import nothing of the engine, the plan language or the state.

pub(crate) mod amqp;
pub(crate) mod context;
pub(crate) mod docker;
pub(crate) mod file;
pub(crate) mod git;
pub(crate) mod http;
mod kind;
pub(crate) mod log;
pub(crate) mod manual;
pub(crate) mod outcome;
pub(crate) mod postgres;
pub(crate) mod shell;
mod spec;
pub(crate) mod system;
pub(crate) mod tcp;
pub(crate) mod wait;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use indexmap::IndexMap;
use serde_json::Value;

pub(crate) use kind::{ActionKind, ProbeKind};
pub(crate) use spec::{FieldChecks, KindDecoder, KindSpec};

use crate::steps::context::StepContext;
use crate::steps::outcome::{Applied, Settlement, StepError};

/// Closes what kinds keep open between steps (idle PostgreSQL
/// connections): when a command is done with its steps.
pub(crate) async fn release_kept() {
    postgres::pool::close_idle().await;
}

macro_rules! kinds {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $behaviour:ident {
            $( $(#[$vmeta:meta])* $tag:literal => $variant:ident($ty:ty), )*
        }
    ) => {
        $(#[$meta])*
        // Each kind is boxed: the enum is then two words instead of its
        // largest kind, which a step holds several of (`run`, `rollback`,
        // `check`, …) and a plan tens of thousands of steps.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "kind")]
        pub(crate) enum $name {
            $( $(#[$vmeta])* #[serde(rename = $tag)] $variant(Box<$ty>), )*
        }

        impl $name {
            /// Every `kind` value this set accepts, in declaration order.
            pub(crate) const KINDS: &'static [&'static str] = &[$($tag),*];

            pub(crate) fn kind(&self) -> &'static str {
                match self { $( Self::$variant(_) => $tag, )* }
            }

            /// Decodes the fields (without `kind`) as the payload of `kind`
            /// with `decoder`; `None` when `kind` is not in this set.
            pub(crate) fn decode<D: KindDecoder>(kind: &str, decoder: D) -> Option<D::Decoded<$name>> {
                match kind {
                    $( $tag => Some(D::map(decoder.decode::<$ty>(), |kind| Self::$variant(Box::new(kind)))), )*
                    _ => None,
                }
            }

            fn spec(&self) -> &dyn KindSpec {
                match self { $( Self::$variant(inner) => inner.as_ref(), )* }
            }

            pub(crate) fn summary(&self) -> String {
                self.spec().summary()
            }

            pub(crate) fn validate(&self, check: &mut dyn FieldChecks) {
                self.spec().validate(check);
            }
        }

        dispatch!($behaviour for $name { $( $variant ),* });
    };
}

/// The enum's side of [`ActionKind`] or [`ProbeKind`]: every method sent to
/// the variant's kind.
macro_rules! dispatch {
    (ActionKind for $name:ident { $( $variant:ident ),* }) => {
        impl $name {
            pub(crate) async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
                match self { $( Self::$variant(kind) => kind.perform(ctx).await, )* }
            }

            /// A gate's instructions to the operator: the engine decides it
            /// (`--yes`, `--approve`, a terminal, or a pause) instead of running it.
            pub(crate) fn gate(&self) -> Option<&str> {
                match self { $( Self::$variant(kind) => kind.gate(), )* }
            }

            /// Whether running this changes the world (and so deserves a rollback).
            pub(crate) fn is_mutating(&self) -> bool {
                match self { $( Self::$variant(kind) => kind.is_mutating(), )* }
            }

            pub(crate) fn handles_cancel(&self) -> bool {
                match self { $( Self::$variant(kind) => ActionKind::handles_cancel(kind.as_ref()), )* }
            }

            /// Whether planrun can undo this by itself when the step has no
            /// `rollback`: it records what it changed and reverses exactly that.
            pub(crate) fn has_builtin_undo(&self) -> bool {
                match self { $( Self::$variant(kind) => kind.has_builtin_undo(), )* }
            }

            /// Undoes what `perform` did, from the record it returned.
            pub(crate) async fn undo(&self, record: &Value, ctx: &StepContext) -> Result<(), StepError> {
                match self { $( Self::$variant(kind) => kind.undo(record, ctx).await, )* }
            }

            pub(crate) fn can_settle(&self) -> bool {
                match self { $( Self::$variant(kind) => kind.can_settle(), )* }
            }

            pub(crate) fn settles_its_effect(&self) -> bool {
                match self { $( Self::$variant(kind) => kind.settles_its_effect(), )* }
            }

            pub(crate) fn writes_before_effects(&self) -> bool {
                match self { $( Self::$variant(kind) => kind.writes_before_effects(), )* }
            }

            pub(crate) fn writes_first_promptly(&self) -> bool {
                match self { $( Self::$variant(kind) => kind.writes_first_promptly(), )* }
            }

            pub(crate) async fn settle(&self, ctx: &StepContext) -> Result<Settlement, StepError> {
                match self { $( Self::$variant(kind) => kind.settle(ctx).await, )* }
            }
        }
    };
    (ProbeKind for $name:ident { $( $variant:ident ),* }) => {
        impl $name {
            pub(crate) async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
                match self { $( Self::$variant(kind) => kind.inspect(ctx).await, )* }
            }

            /// `KEY=value` outputs a passing probe leaves.
            pub(crate) fn outputs(&self, ctx: &StepContext) -> Result<IndexMap<String, String>, StepError> {
                match self { $( Self::$variant(kind) => kind.outputs(ctx), )* }
            }

            pub(crate) fn handles_cancel(&self) -> bool {
                match self { $( Self::$variant(kind) => ProbeKind::handles_cancel(kind.as_ref()), )* }
            }
        }
    };
}

kinds! {
    /// Something a step does: its `run` or its `rollback`.
    pub enum Action: ActionKind {
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
        "docker.start" => DockerStart(docker::DockerStart),
        "docker.stop" => DockerStop(docker::DockerStop),
        "docker.remove" => DockerRemove(docker::DockerRemove),
        "docker.exec" => DockerExec(docker::DockerExec),
    }
}

kinds! {
    /// A read-only check: a step's `check`, `preconditions` and `verify`, and
    /// the plan's `preflight`.
    pub enum Probe: ProbeKind {
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
