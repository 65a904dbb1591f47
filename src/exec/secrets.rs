//! Resolves `[secrets]` from their sources, at apply time only.

use indexmap::IndexMap;

use crate::plan::Plan;
use crate::plan::raw::SecretSource;

/// Secret values by name. Never serialized, never logged.
#[derive(Default, Clone)]
pub(crate) struct Secrets {
    values: IndexMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl Secrets {
    /// Reads every secret of the plan; all the missing ones are reported together.
    pub(crate) fn resolve(plan: &Plan) -> Result<Secrets, Vec<String>> {
        let mut values = IndexMap::new();
        let mut problems = Vec::new();
        for (name, source) in &plan.secrets {
            match read(source) {
                Ok(value) => {
                    values.insert(name.clone(), value);
                }
                Err(problem) => problems.push(format!("secret `{name}`: {problem}")),
            }
        }
        if problems.is_empty() {
            Ok(Secrets { values })
        } else {
            Err(problems)
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &String> {
        self.values.values()
    }
}

fn read(source: &SecretSource) -> Result<String, String> {
    match source {
        SecretSource::Env(variable) => match std::env::var(variable) {
            Ok(value) => Ok(value),
            Err(std::env::VarError::NotPresent) => Err(format!("environment variable `{variable}` is not set")),
            Err(std::env::VarError::NotUnicode(_)) => Err(format!("environment variable `{variable}` is not UTF-8")),
        },
        SecretSource::File(path) => std::fs::read_to_string(path)
            .map(|text| {
                text.strip_suffix('\n')
                    .map_or(text.as_str(), |t| t.strip_suffix('\r').unwrap_or(t))
                    .to_string()
            })
            .map_err(|error| format!("cannot read `{path}`: {error}")),
    }
}
