//! Saved plans: `planrun plan PLAN --out FILE.planrun` writes what was
//! previewed, and `planrun apply FILE.planrun` runs exactly that or refuses
//! (exit 3) saying what changed: the plan file, an env value it reads, the
//! state of the run it would continue. Secrets are kept as names and
//! sources, never values.

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::exec::review::ReviewHash;
use crate::plan::Source;

/// The version of the file's format.
const FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedPlan {
    pub planrun_saved_plan: u32,
    /// The plan file as given to `plan`, and its text then.
    pub plan_path: String,
    pub plan_source: String,
    /// `--var` and `--var-file` values.
    pub overrides: IndexMap<String, String>,
    /// The `${env.NAME}` the plan reads, and their values then (`None`: unset).
    pub env: BTreeMap<String, Option<String>>,
    /// Secret names and where they come from (never their values).
    pub secrets: IndexMap<String, String>,
    /// The unfinished run it would continue: its id and step statuses.
    pub run: Option<SavedRun>,
    /// With `--live`: each step's state as the preview showed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<BTreeMap<String, String>>,
    /// The plan's latest run as the preview saw it (`run ID (OUTCOME)` or
    /// `no run`), to say how the state changed.
    #[serde(default)]
    pub latest_run: Option<String>,
    /// The review hash over all of that, and its parts.
    pub review_hash: String,
    pub review_parts: IndexMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedRun {
    pub id: String,
    pub steps: BTreeMap<String, String>,
}

/// Whether `path` names a saved plan rather than a plan.
pub(crate) fn is_saved_plan(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "planrun")
}

/// Refuses a saved plan given where a plan file is read (`plan`,
/// `validate`, `graph`, ...), which would otherwise be read as TOML and
/// fail with dozens of errors. A saved plan is known by its `.planrun`
/// name or by its content: a JSON object with `planrun_saved_plan` (a TOML
/// file cannot start with `{`).
pub(crate) fn refuse_saved_plan(source: &Source) -> Result<(), Error> {
    let text = source.text.trim_start();
    let by_content = text.starts_with('{') && text.contains("\"planrun_saved_plan\"");
    let by_name = is_saved_plan(&source.path);
    if !by_content && !by_name {
        return Ok(());
    }
    let runs = if by_name {
        format!("`planrun apply {}` runs it", source.name)
    } else {
        "renamed to end with `.planrun`, `planrun apply` runs it".to_string()
    };
    let from = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|saved| saved.get("plan_path")?.as_str().map(str::to_string))
        .map(|plan| format!("; `planrun plan {plan}` previews the plan it was saved from"))
        .unwrap_or_default();
    Err(Error::Usage(format!(
        "`{}` is a saved plan (written by `planrun plan --out`), not a plan file\nhint: {runs}{from}",
        source.name
    )))
}

impl SavedPlan {
    pub(crate) fn new(
        plan_path: &Path,
        compiled: &crate::compile::Compiled,
        overrides: IndexMap<String, String>,
        run: Option<SavedRun>,
        live: Option<BTreeMap<String, String>>,
        (review, latest_run): (&ReviewHash, String),
    ) -> SavedPlan {
        let plan = &compiled.plan;
        SavedPlan {
            planrun_saved_plan: FORMAT,
            plan_path: plan_path.display().to_string(),
            plan_source: plan.source.text.to_string(),
            overrides,
            env: crate::exec::review::env_names(&plan.source.text)
                .into_iter()
                .map(|name| {
                    let value = std::env::var(&name).ok();
                    (name, value)
                })
                .collect(),
            secrets: plan
                .secrets
                .iter()
                .map(|(name, source)| (name.clone(), source.to_string()))
                .collect(),
            run,
            live,
            latest_run: Some(latest_run),
            review_hash: review.hash.clone(),
            review_parts: review
                .parts
                .iter()
                .map(|(name, digest)| ((*name).to_string(), digest.clone()))
                .collect(),
        }
    }

    pub(crate) fn write(&self, path: &Path) -> Result<(), Error> {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        std::fs::write(path, text).map_err(|error| Error::Usage(format!("cannot write `{}`: {error}", path.display())))
    }

    pub(crate) fn read(path: &Path) -> Result<SavedPlan, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error::Usage(format!("cannot read `{}`: {error}", path.display())))?;
        let saved: SavedPlan = serde_json::from_str(&text).map_err(|error| {
            Error::Usage(format!(
                "`{}` is not a saved plan (`planrun plan PLAN --out FILE.planrun` writes one): {error}",
                path.display()
            ))
        })?;
        if saved.planrun_saved_plan != FORMAT {
            return Err(Error::Usage(format!(
                "`{}` is a saved plan of format {}; this planrun reads format {FORMAT}",
                path.display(),
                saved.planrun_saved_plan
            )));
        }
        Ok(saved)
    }

    /// What changed since the preview, before the state is looked at: the
    /// plan file and the env values. Empty when nothing did.
    pub(crate) fn changes_outside_the_state(&self) -> Vec<String> {
        let mut changes = Vec::new();
        match std::fs::read_to_string(&self.plan_path) {
            Ok(text) if text == self.plan_source => {}
            Ok(_) => changes.push(format!("the plan file `{}` changed", self.plan_path)),
            Err(error) if Path::new(&self.plan_path).is_relative() => changes.push(format!(
                "the plan file `{}` cannot be read: {error} (a saved plan names it as `plan` was given it: apply from the directory the preview ran in)",
                self.plan_path
            )),
            Err(error) => changes.push(format!("the plan file `{}` cannot be read: {error}", self.plan_path)),
        }
        for (name, then) in &self.env {
            let now = std::env::var(name).ok();
            if &now != then {
                changes.push(format!(
                    "env `{name}` is {} now, was {}",
                    now.map_or("unset".to_string(), |_| "another value".to_string()),
                    then.as_ref().map_or("unset", |_| "set")
                ));
            }
        }
        changes
    }
}
