//! `[vars]` and `[secrets]`, decoded entry by entry: a bad entry is
//! reported on its own and the good ones are kept, so that references to
//! them are not reported as undefined.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::DeValue;

use crate::plan::decode_error;
use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::raw::{SecretSource, VarValue};
use crate::plan::suggest;

/// The entries of a section that decoded, and the names of those that did
/// not (declared, so not "undefined", but unusable).
pub(crate) struct Declared<T> {
    pub entries: IndexMap<Spanned<String>, Spanned<T>>,
    pub invalid: BTreeSet<String>,
}

impl<T> Default for Declared<T> {
    fn default() -> Self {
        Declared {
            entries: IndexMap::new(),
            invalid: BTreeSet::new(),
        }
    }
}

/// `[vars]`: each value a string, number or boolean.
pub(crate) fn vars(section: Option<Spanned<DeValue<'_>>>, diagnostics: &mut Diagnostics) -> Declared<VarValue> {
    let help = "write it as a section: [vars], then lines like `name = \"value\"`";
    declare(section, "vars", help, diagnostics, |name, value, diagnostics| {
        let span = value.span();
        VarValue::deserialize(value.into_deserializer())
            .map_err(|error| {
                let context = format!("variable `{name}`");
                diagnostics.push(decode_error::diagnostic(&error, span, &context, &[]));
            })
            .ok()
    })
}

/// `[secrets]`: each one `{ env = "NAME" }` or `{ file = "path" }`.
pub(crate) fn secrets(section: Option<Spanned<DeValue<'_>>>, diagnostics: &mut Diagnostics) -> Declared<SecretSource> {
    let help = "write it as a section: [secrets], then lines like `name = { env = \"VARIABLE\" }`";
    declare(section, "secrets", help, diagnostics, secret)
}

fn declare<'i, T>(
    section: Option<Spanned<DeValue<'i>>>,
    key: &str,
    help: &str,
    diagnostics: &mut Diagnostics,
    mut decode: impl FnMut(&str, Spanned<DeValue<'i>>, &mut Diagnostics) -> Option<T>,
) -> Declared<T> {
    let mut declared = Declared::default();
    let Some(section) = section else {
        return declared;
    };
    let span = section.span();
    let type_str = section.get_ref().type_str();
    let DeValue::Table(table) = section.into_inner() else {
        diagnostics.push(
            Diagnostic::error("wrong-type", format!("`{key}` must be a table"))
                .at(span, format!("found {type_str}"))
                .help(help),
        );
        return declared;
    };
    for (name, value) in table {
        let (name_span, name) = (name.span(), name.into_inner().into_owned());
        let value_span = value.span();
        match decode(&name, value, diagnostics) {
            Some(value) => {
                declared
                    .entries
                    .insert(Spanned::new(name_span, name), Spanned::new(value_span, value));
            }
            None => {
                declared.invalid.insert(name);
            }
        }
    }
    declared
}

/// One secret's source, reported in words about secrets rather than
/// serde's (a secret is an enum to serde).
fn secret(name: &str, value: Spanned<DeValue<'_>>, diagnostics: &mut Diagnostics) -> Option<SecretSource> {
    let help = format!("write `{name} = {{ env = \"VARIABLE\" }}` or `{name} = {{ file = \"path\" }}`");
    let span = value.span();
    let DeValue::Table(table) = value.get_ref() else {
        diagnostics.push(
            Diagnostic::error(
                "wrong-type",
                format!("secret `{name}` must be a table naming its source"),
            )
            .at(span, format!("found {}", value.get_ref().type_str()))
            .help(help),
        );
        return None;
    };
    let mut ok = true;
    let sources: Vec<_> = table.iter().filter(|(key, _)| is_source(key.get_ref())).collect();
    for (key, _) in table.iter().filter(|(key, _)| !is_source(key.get_ref())) {
        ok = false;
        diagnostics.push(
            Diagnostic::error(
                "unknown-field",
                format!("unknown source `{}` in secret `{name}`", key.get_ref()),
            )
            .at(key.span(), "not a source")
            .help(suggest::closest(key.get_ref(), ["env", "file"]).map_or_else(
                || format!("a secret comes from `env` or `file`: {help}"),
                |best| format!("did you mean `{best}`?"),
            )),
        );
    }
    match sources.as_slice() {
        [] if ok => {
            diagnostics.push(
                Diagnostic::error("missing-field", format!("secret `{name}` has no source"))
                    .at(span, "expected `env` or `file` in this table")
                    .help(help),
            );
            return None;
        }
        [] => return None,
        [_] => {}
        [(first, _), (second, _), ..] => {
            diagnostics.push(
                Diagnostic::error("conflicting-fields", "a secret has exactly one source: `env` or `file`")
                    .at(second.span(), "second source here")
                    .related(first.span(), "first source here")
                    .help(format!("keep one of them: {help}")),
            );
            return None;
        }
    }
    let (key, value) = sources[0];
    let text = source_text(name, key.get_ref(), value, diagnostics)?;
    let source = match &**key.get_ref() {
        "env" => SecretSource::Env(text),
        _ => SecretSource::File(text),
    };
    ok.then_some(source)
}

fn is_source(key: &str) -> bool {
    key == "env" || key == "file"
}

fn source_text(name: &str, key: &str, value: &Spanned<DeValue<'_>>, diagnostics: &mut Diagnostics) -> Option<String> {
    let what = if key == "env" {
        "the name of an environment variable, like \"PGPASSWORD\""
    } else {
        "the path of a file holding the secret"
    };
    match value.get_ref() {
        DeValue::String(text) if !text.trim().is_empty() => Some(text.to_string()),
        DeValue::String(_) => {
            diagnostics.push(
                Diagnostic::error("invalid-value", format!("`{key}` of secret `{name}` is empty"))
                    .at(value.span(), "empty")
                    .help(format!("give {what}")),
            );
            None
        }
        other => {
            diagnostics.push(
                Diagnostic::error("wrong-type", format!("`{key}` of secret `{name}` must be a string"))
                    .at(value.span(), format!("found {}", other.type_str()))
                    .help(format!("give {what}")),
            );
            None
        }
    }
}
