//! The plan file as written: serde types that mirror the TOML.
//!
//! The same types serve two purposes. Instantiated with
//! `serde::de::IgnoredAny` for the action and probe slots, they check names
//! and types of one table at a time during decoding (so errors from
//! different steps are all collected). Instantiated with `Action` and
//! `Probe`, they generate the JSON Schema of the format.

use std::borrow::Cow;
use std::fmt;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;

use crate::units::duration::Duration;

/// A migration plan (format 1).
#[allow(
    dead_code,
    reason = "decoding checks the fields and the schema describes them; the analyser reads the values from the TOML itself"
)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Plan")]
pub(crate) struct PlanFile<S, F> {
    /// Version of the plan format; this planrun reads `1`.
    #[schemars(with = "FormatNumber")]
    pub format: Spanned<FormatNumber>,
    /// Short identifier of the plan, shown in previews and stored with runs.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Steps that may run at once (default 4; `apply --parallelism` overrides).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub parallelism: Option<Spanned<i64>>,
    /// Plain values, overridable with `--var NAME=VALUE` and `--var-file`.
    /// Referenced as `${vars.NAME}`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, VarValue>")]
    pub vars: IndexMap<Spanned<String>, Spanned<VarValue>>,
    /// Values resolved only at apply time, never printed or stored.
    /// Referenced as `${secrets.NAME}`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, SecretSource>")]
    pub secrets: IndexMap<Spanned<String>, Spanned<SecretSource>>,
    /// Defaults for every step.
    #[serde(default)]
    #[schemars(with = "Option<Defaults>")]
    pub defaults: Option<Spanned<Defaults>>,
    /// Plan-level requirements, all checked before any step runs.
    #[serde(default)]
    pub preflight: IndexMap<String, F>,
    /// The steps, keyed by id (`[a-z0-9][a-z0-9_-]*`).
    pub steps: IndexMap<String, S>,
}

/// The `format` number as written. Any integer is read, however large, so
/// that a format this planrun does not read is reported as unsupported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormatNumber(pub String);

impl<'de> Deserialize<'de> for FormatNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FormatNumber, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = FormatNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer (the format number, 1)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FormatNumber, E> {
                Ok(FormatNumber(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FormatNumber, E> {
                Ok(FormatNumber(v.to_string()))
            }
            fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<FormatNumber, E> {
                Ok(FormatNumber(v.to_string()))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<FormatNumber, E> {
                Ok(FormatNumber(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for FormatNumber {
    fn schema_name() -> Cow<'static, str> {
        "FormatNumber".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "const": 1
        })
    }
}

/// One step: `[steps.<id>]`.
#[allow(
    dead_code,
    reason = "decoding checks the fields and the schema describes them; the analyser reads the values from the TOML itself"
)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Step")]
pub(crate) struct StepFile<A, P> {
    /// Group shown together in previews, in order of first appearance.
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Steps that must succeed (or be satisfied) before this one starts.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub depends_on: Vec<Spanned<String>>,
    /// When this probe passes the step is already done and `run` is skipped.
    #[serde(default)]
    pub check: Option<P>,
    /// Must all pass before `run`, else the step fails without running.
    #[serde(default)]
    pub preconditions: Vec<P>,
    /// What the step does.
    #[serde(default)]
    pub run: Option<A>,
    /// Must all pass after `run` for the step to succeed.
    #[serde(default)]
    pub verify: Vec<P>,
    /// Undoes `run`; used by `planrun rollback`.
    #[serde(default)]
    pub rollback: Option<A>,
    /// Longest time `run` may take (default: `defaults.timeout`, else 10m).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub timeout: Option<Spanned<Duration>>,
    #[serde(default)]
    #[schemars(with = "Option<RetryFile>")]
    pub retry: Option<Spanned<RetryFile>>,
    /// Safe to run again after an interruption (default false).
    #[serde(default)]
    pub idempotent: Option<bool>,
    /// Advice shown when the step fails.
    #[serde(default)]
    pub help: Option<String>,
}

/// A plan-level requirement: `[preflight.<id>]`.
#[allow(
    dead_code,
    reason = "decoding checks the fields and the schema describes them; the analyser reads the values from the TOML itself"
)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Preflight")]
pub(crate) struct PreflightFile<P> {
    #[serde(default)]
    pub description: Option<String>,
    pub probe: P,
    /// Advice shown when the requirement is not met.
    #[serde(default)]
    pub help: Option<String>,
}

/// Defaults for every step.
#[allow(
    dead_code,
    reason = "decoding checks the fields and the schema describes them; the analyser reads the values from the TOML itself"
)]
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Defaults {
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub timeout: Option<Spanned<Duration>>,
    #[serde(default)]
    #[schemars(with = "Option<RetryFile>")]
    pub retry: Option<Spanned<RetryFile>>,
    #[serde(default)]
    pub idempotent: Option<bool>,
    #[serde(default)]
    pub phase: Option<String>,
}

/// Retries of `run` with exponential backoff.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetryFile {
    /// Total tries, including the first (1-100).
    #[schemars(with = "u32")]
    pub attempts: Spanned<i64>,
    /// Pause before the second try (default 1s).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub delay: Option<Spanned<Duration>>,
    /// Factor applied to the pause after each try (1.0-10.0, default 2.0).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub backoff: Option<Spanned<f64>>,
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub(crate) enum SecretSource {
    /// An environment variable of the planrun process.
    Env(#[schemars(length(min = 1))] String),
    /// A file whose content (without a trailing newline) is the secret.
    File(#[schemars(length(min = 1))] String),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "env {name}"),
            SecretSource::File(path) => write!(f, "file {path}"),
        }
    }
}

/// A plain value: string, integer, float or boolean.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VarValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

impl VarValue {
    /// The TOML literal for numbers and booleans (to substitute them typed).
    pub(crate) fn toml_literal(&self) -> Option<String> {
        match self {
            VarValue::String(_) => None,
            VarValue::Integer(n) => Some(n.to_string()),
            VarValue::Float(x) => Some(format!("{x:?}")),
            VarValue::Boolean(b) => Some(b.to_string()),
        }
    }

    /// Parses a command-line value with the type of the declared default.
    pub(crate) fn parse_like(&self, text: &str) -> Result<VarValue, String> {
        match self {
            VarValue::String(_) => Ok(VarValue::String(text.to_string())),
            VarValue::Integer(_) => text
                .trim()
                .parse()
                .map(VarValue::Integer)
                .map_err(|_| format!("expected an integer, got `{text}`")),
            VarValue::Float(_) => text
                .trim()
                .parse()
                .map(VarValue::Float)
                .map_err(|_| format!("expected a number, got `{text}`")),
            VarValue::Boolean(_) => text
                .trim()
                .parse()
                .map(VarValue::Boolean)
                .map_err(|_| format!("expected true or false, got `{text}`")),
        }
    }
}

impl fmt::Display for VarValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarValue::String(s) => f.write_str(s),
            VarValue::Integer(n) => write!(f, "{n}"),
            VarValue::Float(x) => write!(f, "{x}"),
            VarValue::Boolean(b) => write!(f, "{b}"),
        }
    }
}

impl Serialize for VarValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            VarValue::String(s) => serializer.serialize_str(s),
            VarValue::Integer(n) => serializer.serialize_i64(*n),
            VarValue::Float(x) => serializer.serialize_f64(*x),
            VarValue::Boolean(b) => serializer.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for VarValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<VarValue, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = VarValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<VarValue, E> {
                Ok(VarValue::String(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<VarValue, E> {
                Ok(VarValue::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<VarValue, E> {
                i64::try_from(v)
                    .map(VarValue::Integer)
                    .map_err(|_| E::custom("integer is too large"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<VarValue, E> {
                Ok(VarValue::Float(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<VarValue, E> {
                Ok(VarValue::Boolean(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for VarValue {
    fn schema_name() -> Cow<'static, str> {
        "VarValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A plain value: string, number or boolean.",
            "type": ["string", "integer", "number", "boolean"]
        })
    }
}
