//! Semantic checks on one decoded action or probe, reported at the field
//! they are about (serde already checked names and types).

use std::borrow::Cow;
use std::ops::Range;

use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::template::{self, Reference};

pub(crate) struct FieldCheck<'a> {
    kind: &'static str,
    table_span: Range<usize>,
    /// The fields of the source table.
    fields: Vec<Field<'a>>,
    diagnostics: &'a mut Diagnostics,
}

/// A field as written: its name (usually borrowed from the plan text) and
/// the spans of its key and value.
pub(crate) struct Field<'a> {
    pub name: Cow<'a, str>,
    pub key: Range<usize>,
    pub value: Range<usize>,
}

impl<'a> FieldCheck<'a> {
    pub(crate) fn new(
        kind: &'static str,
        table_span: Range<usize>,
        fields: Vec<Field<'a>>,
        diagnostics: &'a mut Diagnostics,
    ) -> FieldCheck<'a> {
        FieldCheck {
            kind,
            table_span,
            fields,
            diagnostics,
        }
    }

    /// The span of a field's value, or of the whole table when the field is absent.
    pub(crate) fn value_span(&self, field: &str) -> Range<usize> {
        self.field(field)
            .map_or_else(|| self.table_span.clone(), |f| f.value.clone())
    }

    fn key_span(&self, field: &str) -> Range<usize> {
        self.field(field)
            .map_or_else(|| self.table_span.clone(), |f| f.key.clone())
    }

    fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub(crate) fn error(&mut self, field: &str, message: impl Into<String>, help: impl Into<String>) {
        let span = self.value_span(field);
        let label = if self.field(field).is_some() {
            "here"
        } else {
            "in this table"
        };
        self.diagnostics
            .push(Diagnostic::error("invalid-field", message).at(span, label).help(help));
    }

    /// Exactly one of the named fields must be set.
    pub(crate) fn exactly_one(&mut self, present: &[(&str, bool)]) {
        if present.iter().filter(|(_, is)| *is).count() == 1 {
            return;
        }
        let set: Vec<&str> = present.iter().filter(|(_, is)| *is).map(|(n, _)| *n).collect();
        let names = present
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(" or ");
        match set.as_slice() {
            [_] => {}
            [] => self.diagnostics.push(
                Diagnostic::error("missing-field", format!("`{}` needs {names}", self.kind))
                    .at(self.table_span.clone(), "in this table")
                    .help(format!("set exactly one of {names}")),
            ),
            [first, second, ..] => {
                let span = self.key_span(second);
                let first_span = self.key_span(first);
                self.diagnostics.push(
                    Diagnostic::error(
                        "conflicting-fields",
                        format!("`{first}` and `{second}` cannot be used together in `{}`", self.kind),
                    )
                    .at(span, "second one here")
                    .related(first_span, "first one here")
                    .help(format!("set exactly one of {names}")),
                );
            }
        }
    }

    /// At least one of the named fields must be set.
    pub(crate) fn at_least_one(&mut self, present: &[(&str, bool)]) {
        if present.iter().any(|(_, is)| *is) {
            return;
        }
        let names = present
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.diagnostics.push(
            Diagnostic::error(
                "missing-field",
                format!("`{}` needs at least one of {names}", self.kind),
            )
            .at(self.table_span.clone(), "in this table")
            .help(format!("set one or more of {names}")),
        );
    }

    /// A URL with one of `schemes`. References resolved only at apply time
    /// (secrets, env, outputs) are replaced by a placeholder before parsing.
    pub(crate) fn url(&mut self, field: &str, value: &str, schemes: &[&str]) {
        let Ok(candidate) = template::substitute::<()>(value, true, |reference| {
            Ok(match reference {
                Reference::Var(_) => None,
                _ => Some("placeholder".to_string()),
            })
        }) else {
            return; // template errors are reported by the analyzer
        };
        let expected = schemes
            .iter()
            .map(|s| format!("{s}://"))
            .collect::<Vec<_>>()
            .join(" or ");
        match url::Url::parse(&candidate) {
            Ok(url) if schemes.contains(&url.scheme()) => {}
            Ok(url) => self.error(
                field,
                format!("bad URL in `{field}`: scheme `{}` is not supported here", url.scheme()),
                format!("use a {expected} URL"),
            ),
            Err(error) => self.error(
                field,
                format!("bad URL in `{field}`: {error}"),
                format!("expected a URL like {expected}host:port/..."),
            ),
        }
    }

    pub(crate) fn regex(&mut self, field: &str, value: &str) {
        if let Err(error) = regex::Regex::new(value) {
            let first_line = error.to_string().lines().last().unwrap_or_default().to_string();
            self.error(
                field,
                format!("invalid regular expression in `{field}`: {first_line}"),
                "the syntax is Rust's `regex` crate (like RE2)",
            );
        }
    }

    /// A field that must not be empty (a name, a path).
    pub(crate) fn non_empty(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.error(field, format!("`{field}` is empty"), format!("give `{field}` a value"));
        }
    }
}

impl crate::steps::FieldChecks for FieldCheck<'_> {
    fn report(&mut self, field: &str, message: String, help: String) {
        FieldCheck::error(self, field, message, help);
    }

    fn exactly_one(&mut self, present: &[(&str, bool)]) {
        FieldCheck::exactly_one(self, present);
    }

    fn at_least_one(&mut self, present: &[(&str, bool)]) {
        FieldCheck::at_least_one(self, present);
    }

    fn url(&mut self, field: &str, value: &str, schemes: &[&str]) {
        FieldCheck::url(self, field, value, schemes);
    }

    fn regex(&mut self, field: &str, value: &str) {
        FieldCheck::regex(self, field, value);
    }

    fn non_empty(&mut self, field: &str, value: &str) {
        FieldCheck::non_empty(self, field, value);
    }
}
