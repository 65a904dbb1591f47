//! Apply-time interpolation: `${secrets.X}`, `${env.X}` and
//! `${steps.ID.outputs.KEY}` are filled in just before a probe or action
//! runs (vars were substituted at compile time), and `$${` becomes `${`.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::exec::secrets::Secrets;
use crate::plan::template::{self, Reference, SubstituteError};

/// What references resolve to while a run goes on.
pub(crate) struct Scope<'a> {
    pub secrets: &'a Secrets,
    /// Outputs of finished steps, by step id.
    pub outputs: &'a HashMap<String, IndexMap<String, String>>,
}

impl Scope<'_> {
    /// A copy of `value` with every reference resolved.
    pub(crate) fn resolve<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<T, String> {
        let mut json = serde_json::to_value(value).map_err(|e| e.to_string())?;
        self.resolve_json(&mut json)?;
        serde_json::from_value(json).map_err(|e| format!("after interpolation: {e}"))
    }

    fn resolve_json(&self, value: &mut Value) -> Result<(), String> {
        match value {
            Value::String(text) => {
                if text.contains('$') {
                    *text = self.resolve_str(text)?;
                }
                Ok(())
            }
            Value::Array(items) => items.iter_mut().try_for_each(|item| self.resolve_json(item)),
            Value::Object(map) => map.values_mut().try_for_each(|item| self.resolve_json(item)),
            _ => Ok(()),
        }
    }

    pub(crate) fn resolve_str(&self, text: &str) -> Result<String, String> {
        template::substitute(text, true, |reference| self.lookup(reference).map(Some)).map_err(|error| match error {
            SubstituteError::Template(error) => error.message,
            SubstituteError::Resolve(message) => message,
        })
    }

    fn lookup(&self, reference: &Reference) -> Result<String, String> {
        match reference {
            Reference::Secret(name) => self
                .secrets
                .get(name)
                .map(str::to_string)
                .ok_or_else(|| format!("secret `{name}` is not available")),
            Reference::Env(name) => {
                std::env::var(name).map_err(|_| format!("environment variable `{name}` is not set"))
            }
            Reference::Output { step, key } => self
                .outputs
                .get(step)
                .and_then(|outputs| outputs.get(key))
                .cloned()
                .ok_or_else(|| format!("step `{step}` has no output `{key}`")),
            // Vars were substituted when the plan was compiled.
            Reference::Var(name) => Err(format!("variable `{name}` was not resolved")),
        }
    }
}
