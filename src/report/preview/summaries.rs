//! A step kind's one-line summary as previews show it: what apply will run
//! with. Two things differ from the kind's own summary, which serves logs
//! at apply time too:
//!
//! - `$${` (an escaped `${`) is shown as the `${` the command receives,
//!   and counted as such (a `file.write` of `$${x}` writes 4 bytes);
//! - a URL whose password is a `${secrets.NAME}` reference shows the
//!   reference, like every other secret in a preview, instead of `***`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::plan::Plan;
use crate::plan::template::{self, Reference};
use crate::redact::MASK;
use crate::redact::credentials::display_url;
use crate::steps::{Action, Probe};

/// What the plan needs of [`KindSummaries`]: a kind is looked into only when the
/// plan has an escape somewhere, or its summary masks a password.
#[derive(Debug, Clone, Copy)]
pub(super) struct KindSummaries {
    escapes: bool,
    secrets: bool,
}

impl KindSummaries {
    pub(crate) fn of(plan: &Plan) -> KindSummaries {
        KindSummaries {
            escapes: plan.source.text.contains("$${"),
            secrets: !plan.secrets.is_empty(),
        }
    }

    pub(crate) fn action(self, action: &Action) -> String {
        self.summary(action, Action::summary)
    }

    pub(crate) fn probe(self, probe: &Probe) -> String {
        self.summary(probe, Probe::summary)
    }

    fn summary<K: Serialize + DeserializeOwned>(self, kind: &K, summary: fn(&K) -> String) -> String {
        if !self.escapes {
            let text = summary(kind);
            if !self.secrets || !text.contains(MASK) {
                return text;
            }
        }
        let Ok(mut value) = serde_json::to_value(kind) else {
            return summary(kind);
        };
        let mut text = if self.escapes && unescape(&mut value) {
            serde_json::from_value::<K>(value.clone()).map_or_else(|_| summary(kind), |k| summary(&k))
        } else {
            summary(kind)
        };
        if self.secrets && text.contains(MASK) {
            let mut urls = Vec::new();
            strings(&value, &mut urls);
            for url in urls.into_iter().filter(|url| has_secret_password(url)) {
                text = text.replace(&display_url(url), url);
            }
        }
        text
    }
}

/// Resolves `$${` in every string; whether any changed.
fn unescape(value: &mut Value) -> bool {
    match value {
        Value::String(text) if text.contains("$${") => match template::substitute::<()>(text, true, |_| Ok(None)) {
            Ok(unescaped) => {
                *text = unescaped;
                true
            }
            Err(_) => false,
        },
        Value::Array(items) => unescape_all(items.iter_mut()),
        Value::Object(fields) => unescape_all(fields.values_mut()),
        _ => false,
    }
}

/// Every value, not only up to the first that changed.
fn unescape_all<'v>(values: impl Iterator<Item = &'v mut Value>) -> bool {
    let mut changed = false;
    for value in values {
        changed |= unescape(value);
    }
    changed
}

fn strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(fields) => fields.values().for_each(|field| strings(field, out)),
        _ => {}
    }
}

/// A URL whose password is exactly one `${secrets.NAME}`, and that has no
/// `password=` parameter (which would stay masked).
fn has_secret_password(url: &str) -> bool {
    if !url.contains("${secrets.") {
        return false;
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let Some(password) = parsed.password() else {
        return false;
    };
    let password = password.replace("%7B", "{").replace("%7D", "}");
    let sole_secret = template::parse(&password)
        .ok()
        .and_then(|pieces| template::sole_reference(&pieces, &password).cloned())
        .is_some_and(|reference| matches!(reference, Reference::Secret(_)));
    sole_secret && !parsed.query_pairs().any(|(key, _)| key == "password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_password_that_is_one_secret_reference_is_shown() {
        assert!(has_secret_password("postgres://app:${secrets.pw}@db/x"));
        assert!(!has_secret_password("postgres://app:x${secrets.pw}@db/x"));
        assert!(!has_secret_password("postgres://${secrets.user}:pw@db/x"));
        assert!(!has_secret_password("postgres://app:${secrets.pw}@db/x?password=y"));
    }

    #[test]
    fn escapes_are_resolved_in_every_string() {
        let mut value = serde_json::json!({ "a": "x $${y} ${secrets.z}", "b": ["$${q}"], "c": 1 });
        assert!(unescape(&mut value));
        assert_eq!(
            value,
            serde_json::json!({ "a": "x ${y} ${secrets.z}", "b": ["${q}"], "c": 1 })
        );
    }
}
