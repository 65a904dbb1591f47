//! Content hashes: of a plan file, and of each step's definition.
//!
//! A step's hash covers what it does (its actions, probes, dependencies,
//! timeout, retry, idempotence) with vars resolved and secrets as written,
//! so it never depends on a secret's value. Cosmetic fields (description,
//! phase, help) are left out: editing them is not drift.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::digest::{hex, text_hash};

use crate::plan::model::{Retry, Step};
use crate::plan::source::Source;
use crate::steps::{Action, Probe};
use crate::units::duration::Duration;

/// Hex SHA-256 of the plan file's bytes.
pub(crate) fn source_hash(source: &Source) -> String {
    text_hash(&source.text)
}

/// Hex SHA-256 of the canonical JSON of what a step does.
pub(crate) fn step_hash(step: &Step) -> String {
    #[derive(Serialize)]
    struct Definition<'a> {
        id: &'a str,
        depends_on: Vec<&'a str>,
        check: Option<&'a Probe>,
        preconditions: Vec<&'a Probe>,
        run: Option<&'a Action>,
        verify: Vec<&'a Probe>,
        rollback: Option<&'a Action>,
        timeout: Duration,
        retry: Retry,
        idempotent: bool,
    }
    let definition = Definition {
        id: &step.id,
        depends_on: step.depends_on.iter().map(|d| d.get_ref().as_str()).collect(),
        check: step.check.as_ref().map(toml::Spanned::get_ref),
        preconditions: step.preconditions.iter().map(toml::Spanned::get_ref).collect(),
        run: step.run.as_ref().map(toml::Spanned::get_ref),
        verify: step.verify.iter().map(toml::Spanned::get_ref).collect(),
        rollback: step.rollback.as_ref().map(toml::Spanned::get_ref),
        timeout: step.timeout,
        retry: step.retry,
        idempotent: step.idempotent,
    };
    let mut hasher = Sha256::new();
    // The JSON goes straight into the hasher; writing to it cannot fail.
    let _ = serde_json::to_writer(&mut hasher, &definition);
    hex(&hasher.finalize())
}

/// Hex SHA-256 over every step's id and definition hash, in declaration
/// order (which decides the order within a level): one value that changes
/// whenever any step changes what it does, or a step is added or removed.
pub(crate) fn plan_hash<'a>(steps: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (id, definition_hash) in steps {
        hasher.update(id.as_bytes());
        hasher.update(b" ");
        hasher.update(definition_hash.as_bytes());
        hasher.update(b"\n");
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Source;
    use crate::plan::analyzer::analyze;

    fn hash_of(text: &str) -> String {
        let (analysis, _) = analyze(&Source::new("p.toml", text), &[]);
        analysis.map(|a| step_hash(&a.plan.steps[0])).unwrap_or_default()
    }

    #[test]
    fn cosmetic_edits_keep_the_hash_and_real_ones_change_it() {
        let base = hash_of(
            "format = 1\nname = 'p'\n[steps.a]\ndescription = 'x'\nrun = { kind = 'shell', command = 'true' }\n",
        );
        let cosmetic = hash_of(
            "format = 1\nname = 'p'\n[steps.a]\ndescription = 'y'\nrun = { kind = 'shell', command = 'true' }\n",
        );
        let real = hash_of(
            "format = 1\nname = 'p'\n[steps.a]\ndescription = 'x'\nrun = { kind = 'shell', command = 'false' }\n",
        );
        assert_eq!(base.len(), 64);
        assert_eq!(base, cosmetic);
        assert_ne!(base, real);
    }
}
