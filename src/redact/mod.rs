//! Keeps secret values out of logs, errors, outputs and state: every text
//! that leaves a step passes through [`Redactor::redact`]; connection URLs
//! are shown without their password ([`credentials`]). A leaf: it imports
//! nothing of planrun.

use std::borrow::Cow;

pub(crate) mod credentials;

/// What a secret's value is replaced by.
pub(crate) const MASK: &str = "***";

/// The shortest line of a secret of several lines that is masked on its own.
pub(crate) const MIN_LINE: usize = 3;

#[derive(Debug, Default, Clone)]
pub(crate) struct Redactor {
    /// Secret values, longest first so a secret containing another is
    /// masked whole.
    values: Vec<String>,
}

impl Redactor {
    /// Logs are read and masked line by line, so a secret of several lines
    /// (a PEM key read from a file) is also masked line by line: each of
    /// its lines of at least [`MIN_LINE`] characters is a secret too.
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Redactor {
        let mut values: Vec<String> = values
            .into_iter()
            .flat_map(|value| {
                let lines: Vec<String> = if value.contains(['\n', '\r']) {
                    value
                        .lines()
                        .map(str::trim)
                        .filter(|line| line.chars().count() >= MIN_LINE)
                        .map(str::to_string)
                        .collect()
                } else {
                    Vec::new()
                };
                std::iter::once(value).chain(lines)
            })
            .filter(|v| !v.is_empty())
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Redactor { values }
    }

    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), MASK));
            }
        }
        out
    }

    /// Whether there is nothing to mask.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether `text` holds a secret value.
    pub(crate) fn reveals(&self, text: &str) -> bool {
        self.values.iter().any(|value| text.contains(value.as_str()))
    }

    /// Masks secrets in every string of a JSON value.
    pub(crate) fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) => {
                if let Cow::Owned(redacted) = self.redact(text) {
                    *text = redacted;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|item| self.redact_json(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let redactor = Redactor::new(["hunter2".to_string(), "hunter2-extra".to_string(), String::new()]);
        assert_eq!(redactor.redact("pw=hunter2-extra and hunter2"), "pw=*** and ***");
        assert!(matches!(redactor.redact("nothing here"), Cow::Borrowed(_)));
        assert!(redactor.reveals("x hunter2"));
        let mut value = serde_json::json!({"a": ["hunter2"], "b": 1});
        redactor.redact_json(&mut value);
        assert_eq!(value, serde_json::json!({"a": ["***"], "b": 1}));
    }

    #[test]
    fn masks_each_line_of_a_secret_of_several_lines() {
        let key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\r\nAQEFAASC\nab\n-----END KEY-----\n".to_string();
        let redactor = Redactor::new([key.clone()]);
        assert_eq!(redactor.redact(&key), "***");
        // A log sees one line at a time.
        assert_eq!(redactor.redact("line: MIIEvQIBADANBgkqhkiG9w0B"), "line: ***");
        assert_eq!(redactor.redact("AQEFAASC\n"), "***\n");
        assert_eq!(redactor.redact("ab"), "ab", "lines too short to mask alone are left");
    }
}
