//! The review hash: one digest over everything a preview showed and an
//! apply depends on — the plan file, the var overrides, the values of the
//! `${env.NAME}` it reads, the names and sources of its secrets (never
//! their values), and the state: the latest run of the plan (its id and
//! outcome) and, when that run is unfinished, each of its steps' status
//! and attempts. `plan` prints it; `apply --expect-hash` recomputes it and
//! refuses to run (exit 3) when it differs, so a CI job applies exactly the
//! preview an approval was given on, and only once: the run that applies
//! it changes the state, so the same approval cannot be applied again.

use indexmap::IndexMap;
use serde::Serialize;

use crate::compile::Compiled;
use crate::digest::text_hash;
use crate::state::{RunRecord, StepRecord};

/// What the review hash covers of the state: the latest run of the plan,
/// whatever its outcome, and its steps when it is unfinished (`resume`
/// would continue it; a finished run's id and outcome say all).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct StateSeen<'a> {
    pub latest: Option<&'a RunRecord>,
    pub steps: &'a [StepRecord],
}

impl StateSeen<'_> {
    /// The latest run as a reader sees it: `RUN (OUTCOME)`, or `no run`.
    pub(crate) fn describe(&self) -> String {
        self.latest.map_or_else(
            || "no run".to_string(),
            |run| format!("run {} ({})", run.id, run.outcome),
        )
    }
}

/// The review hash and the digest of each part, to say what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReviewHash {
    pub hash: String,
    pub parts: IndexMap<&'static str, String>,
}

impl ReviewHash {
    /// Of `compiled` with `overrides`, against `state` (the plan's latest
    /// run); `env` reads an environment variable.
    pub(crate) fn of(
        compiled: &Compiled,
        overrides: &IndexMap<String, String>,
        state: StateSeen<'_>,
        env: impl Fn(&str) -> Option<String>,
    ) -> ReviewHash {
        let plan = &compiled.plan;
        let mut overrides: Vec<(&String, &String)> = overrides.iter().collect();
        overrides.sort();
        let env: Vec<(String, Option<String>)> = env_names(&plan.source.text)
            .into_iter()
            .map(|name| {
                let value = env(&name).map(|value| text_hash(&value));
                (name, value)
            })
            .collect();
        let secrets: Vec<(String, String)> = plan
            .secrets
            .iter()
            .map(|(name, source)| (name.clone(), source.to_string()))
            .collect();
        let state = state.latest.map(|run| {
            let steps: Vec<(&str, &str, u32)> = state
                .steps
                .iter()
                .map(|step| (step.step_id.as_str(), step.status.as_str(), step.attempts))
                .collect();
            (run.id.as_str(), run.outcome.as_str(), steps)
        });
        let mut parts = IndexMap::new();
        parts.insert("plan", text_hash(&plan.source.text));
        parts.insert("overrides", json_hash(&overrides));
        parts.insert("env", json_hash(&env));
        parts.insert("secrets", json_hash(&secrets));
        parts.insert("state", json_hash(&state));
        let all: Vec<String> = parts.iter().map(|(name, digest)| format!("{name}={digest}")).collect();
        ReviewHash {
            hash: text_hash(&all.join("\n")),
            parts,
        }
    }

    /// A hash as a reviewer gives it: the full hash or a prefix of 12 or
    /// more of its hex digits (previews may shorten it), with or without
    /// `sha256:`; lowercase hex digits, or why it is not one.
    pub(crate) fn parse(given: &str) -> Result<String, String> {
        let digits = given.trim();
        let digits = digits.strip_prefix("sha256:").unwrap_or(digits).to_ascii_lowercase();
        if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("a review hash is hex digits, as `planrun plan` prints it (`sha256:` may lead)".into());
        }
        if !(12..=64).contains(&digits.len()) {
            return Err(format!(
                "a review hash has 64 hex digits, or a prefix of at least 12; this has {}",
                digits.len()
            ));
        }
        Ok(digits)
    }

    /// Whether `expected` (as [`ReviewHash::parse`] returns it) names this hash.
    pub(crate) fn matches(&self, expected: &str) -> bool {
        ReviewHash::parse(expected).is_ok_and(|digits| self.hash.starts_with(&digits))
    }

    /// The lines that say what the hash covers now, for a refusal.
    pub(crate) fn describe_parts(&self) -> String {
        self.parts
            .iter()
            .map(|(name, digest)| format!("  {name:<9} {}", &digest[..16]))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn json_hash<T: Serialize>(value: &T) -> String {
    text_hash(&serde_json::to_string(value).unwrap_or_default())
}

/// The names of `${env.NAME}` in a plan's text, sorted, each once (an
/// escaped `$${env.NAME}` is counted too: more is safe).
pub(crate) fn env_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .match_indices("${env.")
        .filter_map(|(at, found)| {
            let rest = &text[at + found.len()..];
            let end = rest.find('}')?;
            let name = &rest[..end];
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| name.to_string())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::plan::Source;

    const PLAN: &str = "format = 1\nname = 'p'\n[vars]\nport = 1\n[secrets]\ntoken = { env = 'TOKEN' }\n\
        [steps.a]\nrun = { kind = 'shell', command = 'echo ${env.HOME_DIR} ${secrets.token}' }\n";

    fn hash(text: &str, overrides: &[(&str, &str)], env: Option<&str>) -> ReviewHash {
        let compiled = compile(&Source::new("p.toml", text), &[], false);
        let Ok(compiled) = compiled else {
            panic!("the plan compiles");
        };
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        ReviewHash::of(&compiled, &overrides, StateSeen::default(), |name| {
            (name == "HOME_DIR").then(|| env.map(str::to_string)).flatten()
        })
    }

    #[test]
    fn the_hash_changes_with_the_plan_an_override_or_an_env_value_and_says_which() {
        let base = hash(PLAN, &[], Some("/a"));
        assert_eq!(base, hash(PLAN, &[], Some("/a")), "deterministic");
        let edited = hash(&PLAN.replace("echo", "printf"), &[], Some("/a"));
        let overridden = hash(PLAN, &[("port", "2")], Some("/a"));
        let env = hash(PLAN, &[], Some("/b"));
        for (changed, part) in [(&edited, "plan"), (&overridden, "overrides"), (&env, "env")] {
            assert_ne!(changed.hash, base.hash, "{part}");
            let differing: Vec<&str> = base
                .parts
                .iter()
                .filter(|(name, digest)| changed.parts[*name] != **digest)
                .map(|(name, _)| *name)
                .collect();
            assert_eq!(differing, [part]);
        }
    }

    #[test]
    fn a_prefix_of_twelve_or_more_matches_and_a_shorter_one_does_not() {
        let base = hash(PLAN, &[], None);
        assert!(base.matches(&base.hash));
        assert!(base.matches(&format!("sha256:{}", &base.hash[..12])));
        assert!(!base.matches(&base.hash[..11]));
        assert!(!base.matches("0123456789abcdef"));
        for bad in ["", "nothex!!nothex!!", "abc", "md5:0123456789abcdef", &"a".repeat(65)] {
            assert!(ReviewHash::parse(bad).is_err(), "`{bad}` is not a review hash");
        }
        assert_eq!(
            ReviewHash::parse(" SHA256:ABCDEF012345 ").ok(),
            None,
            "the prefix is lowercase"
        );
        assert_eq!(ReviewHash::parse("sha256:ABCDEF012345").as_deref(), Ok("abcdef012345"));
    }

    #[test]
    fn env_names_are_found_once_each() {
        assert_eq!(env_names("${env.B} ${env.A} ${env.B} ${env.} ${env.x-y}"), ["A", "B"]);
    }
}
