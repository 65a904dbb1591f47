//! Decodes one table into a serde struct, reporting every problem in it.
//!
//! Serde stops at the first error of a table. The keys are therefore
//! checked by hand against the struct's field list (every unknown key gets
//! its own "did you mean"), and when the table does not decode, each field
//! is decoded on its own, so that every wrong value is reported at its
//! place. A table that decodes (nearly every one) is decoded once.

use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, IntoDeserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::plan::decode_error;
use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::suggest;

/// The span given to a table built to probe one field: an error there is
/// about the table (a missing field), not about the field probed.
const PROBE: Range<usize> = usize::MAX..usize::MAX;
/// The span of a placeholder put in for a missing field.
const PLACEHOLDER: Range<usize> = usize::MAX - 1..usize::MAX - 1;

/// What could be read of a table.
pub(crate) enum Decoded<T> {
    /// Every key known and every field decoded.
    Whole(T),
    /// Decoded without the keys and fields reported as wrong.
    Partial(T),
    /// Reported; nothing usable.
    Failed,
}

impl<T> Decoded<T> {
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Decoded<U> {
        match self {
            Decoded::Whole(value) => Decoded::Whole(f(value)),
            Decoded::Partial(value) => Decoded::Partial(f(value)),
            Decoded::Failed => Decoded::Failed,
        }
    }

    /// The value, when nothing in the table was wrong.
    pub(crate) fn whole(self) -> Option<T> {
        match self {
            Decoded::Whole(value) => Some(value),
            _ => None,
        }
    }

    /// The value, whole or partial.
    pub(crate) fn usable(self) -> Option<T> {
        match self {
            Decoded::Whole(value) | Decoded::Partial(value) => Some(value),
            Decoded::Failed => None,
        }
    }
}

/// Decodes `value` as `T`, reporting every unknown key, every field of the
/// wrong type or value, and every missing field. `context` names the table
/// ("step `backup`"); `extra_fields` are keys read before decoding (like
/// `kind`), offered as suggestions but not accepted.
pub(crate) fn decode<'de, T: Deserialize<'de>>(
    value: Spanned<DeValue<'de>>,
    context: &str,
    extra_fields: &[&str],
    diagnostics: &mut Diagnostics,
) -> Decoded<T> {
    let span = value.span();
    let (fields, mut table) = match value.into_inner() {
        DeValue::Table(table) => match fields_of::<T>() {
            Some(fields) => (fields, table),
            None => {
                return decode_whole(
                    Spanned::new(span, DeValue::Table(table)),
                    context,
                    extra_fields,
                    diagnostics,
                );
            }
        },
        other => return decode_whole(Spanned::new(span, other), context, extra_fields, diagnostics),
    };
    let unknown = unknown_keys(&table, fields, context, extra_fields, diagnostics);
    for key in &unknown {
        table.remove(key.as_str());
    }
    match T::deserialize(Spanned::new(span.clone(), DeValue::Table(table.clone())).into_deserializer()) {
        Ok(value) if unknown.is_empty() => return Decoded::Whole(value),
        Ok(value) => return Decoded::Partial(value),
        Err(_) => {}
    }
    let wrong = wrong_fields::<T>(&table, context, extra_fields, diagnostics);
    for key in &wrong {
        table.remove(key.as_str());
    }
    missing_fields::<T>(table, span, &wrong, context, fields.len(), diagnostics)
}

/// Decodes a value that is not a table (or a type that is not a struct)
/// in one go.
fn decode_whole<'de, T: Deserialize<'de>>(
    value: Spanned<DeValue<'de>>,
    context: &str,
    extra_fields: &[&str],
    diagnostics: &mut Diagnostics,
) -> Decoded<T> {
    let span = value.span();
    match T::deserialize(value.into_deserializer()) {
        Ok(value) => Decoded::Whole(value),
        Err(error) => {
            diagnostics.push(decode_error::diagnostic(&error, span, context, extra_fields));
            Decoded::Failed
        }
    }
}

/// Reports every key that is not a field; returns them.
fn unknown_keys(
    table: &DeTable<'_>,
    fields: &[&str],
    context: &str,
    extra_fields: &[&str],
    diagnostics: &mut Diagnostics,
) -> Vec<String> {
    let mut unknown = Vec::new();
    for key in table.keys() {
        let name: &str = key.get_ref();
        if fields.contains(&name) {
            continue;
        }
        let candidates: Vec<&str> = fields.iter().chain(extra_fields).copied().collect();
        diagnostics.push(
            Diagnostic::error("unknown-field", format!("unknown field `{name}` in {context}"))
                .at(key.span(), "unknown field")
                .maybe_help(suggest::help(name, &candidates, "field")),
        );
        unknown.push(name.to_string());
    }
    unknown
}

/// Decodes each field on its own, reporting those that fail; returns their
/// keys.
fn wrong_fields<'de, T: Deserialize<'de>>(
    table: &DeTable<'de>,
    context: &str,
    extra_fields: &[&str],
    diagnostics: &mut Diagnostics,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for (key, value) in table {
        let mut alone = DeTable::new();
        alone.insert(key.clone(), value.clone());
        let Err(error) = T::deserialize(Spanned::new(PROBE, DeValue::Table(alone)).into_deserializer()) else {
            continue;
        };
        // Another field is missing: this one is fine.
        if error.span() == Some(PROBE) {
            continue;
        }
        diagnostics.push(decode_error::diagnostic(&error, value.span(), context, extra_fields));
        wrong.push(key.get_ref().to_string());
    }
    wrong
}

/// Decodes the fields left, reporting every required field that is absent:
/// each one found is filled with a placeholder of a type it accepts, to
/// find the next. `wrong` fields were reported already (a required one is
/// not reported again as missing).
fn missing_fields<'de, T: Deserialize<'de>>(
    mut table: DeTable<'de>,
    span: Range<usize>,
    wrong: &[String],
    context: &str,
    limit: usize,
    diagnostics: &mut Diagnostics,
) -> Decoded<T> {
    for missing in 0..=limit {
        let error = match T::deserialize(Spanned::new(span.clone(), DeValue::Table(table.clone())).into_deserializer())
        {
            Ok(value) if missing == 0 => return Decoded::Partial(value),
            Ok(_) => return Decoded::Failed,
            Err(error) => error,
        };
        let name = match error.message().strip_prefix("missing field ") {
            Some(rest) if error.span() == Some(span.clone()) => rest.trim().trim_matches('`').to_string(),
            _ => {
                // Not expected once every field decodes alone; report it
                // rather than lose it.
                if wrong.is_empty() && missing == 0 {
                    diagnostics.push(decode_error::diagnostic(&error, span.clone(), context, &[]));
                }
                return Decoded::Failed;
            }
        };
        if !wrong.contains(&name) {
            diagnostics.push(decode_error::diagnostic(&error, span.clone(), context, &[]));
        }
        if !fill_placeholder::<T>(&mut table, &name) {
            return Decoded::Failed;
        }
    }
    Decoded::Failed
}

/// Puts into `table` a value for field `name` that its type accepts, so
/// that decoding moves on to the next field; false when none does.
fn fill_placeholder<'de, T: Deserialize<'de>>(table: &mut DeTable<'de>, name: &str) -> bool {
    for literal in ["\"\"", "0", "false", "[]", "{}"] {
        let Ok(placeholder) = DeValue::parse(literal) else {
            continue;
        };
        let key = Spanned::new(PLACEHOLDER, toml::de::DeString::Owned(name.to_string()));
        let mut probe = DeTable::new();
        probe.insert(key.clone(), Spanned::new(PLACEHOLDER, placeholder.get_ref().clone()));
        let accepted = match T::deserialize(Spanned::new(PROBE, DeValue::Table(probe)).into_deserializer()) {
            Ok(_) => true,
            Err(error) => error.span() == Some(PROBE),
        };
        if accepted {
            table.insert(key, Spanned::new(PLACEHOLDER, placeholder.into_inner()));
            return true;
        }
    }
    false
}

/// The field names of a struct deriving `Deserialize` (what serde passes
/// to `deserialize_struct`); `None` for anything else.
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only records the fields a struct asks for.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The plan's side of [`crate::steps::KindDecoder`]: a kind's table decoded
/// with [`decode`], every problem reported into `diagnostics`.
pub(crate) struct TableDecoder<'a, 'de> {
    value: Spanned<DeValue<'de>>,
    context: &'a str,
    diagnostics: &'a mut Diagnostics,
}

impl<'a, 'de> TableDecoder<'a, 'de> {
    pub(crate) fn new(value: Spanned<DeValue<'de>>, context: &'a str, diagnostics: &'a mut Diagnostics) -> Self {
        TableDecoder {
            value,
            context,
            diagnostics,
        }
    }
}

impl crate::steps::KindDecoder for TableDecoder<'_, '_> {
    type Decoded<T> = Decoded<T>;

    fn decode<T: serde::de::DeserializeOwned>(self) -> Decoded<T> {
        decode::<T>(self.value, self.context, &["kind"], self.diagnostics)
    }

    fn map<T, U>(decoded: Decoded<T>, f: impl FnOnce(T) -> U) -> Decoded<U> {
        decoded.map(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        name: String,
        port: u16,
        #[serde(default)]
        tags: Vec<String>,
    }

    fn run(text: &str) -> (Option<Sample>, Vec<String>) {
        let mut diagnostics = Diagnostics::default();
        let value = DeValue::parse(text).unwrap_or_else(|_| Spanned::new(0..0, DeValue::Boolean(false)));
        let decoded = decode::<Sample>(value, "`sample`", &["kind"], &mut diagnostics);
        let messages = diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        (decoded.usable(), messages)
    }

    #[test]
    fn field_names_come_from_the_derive() {
        assert_eq!(fields_of::<Sample>(), Some(&["name", "port", "tags"][..]));
        assert_eq!(fields_of::<String>(), None);
    }

    #[test]
    fn a_good_table_decodes_whole() {
        let (value, messages) = run("{ name = 'a', port = 80 }");
        assert_eq!(
            value,
            Some(Sample {
                name: "a".into(),
                port: 80,
                tags: Vec::new()
            })
        );
        assert!(messages.is_empty(), "{messages:?}");
    }

    #[test]
    fn every_problem_of_a_table_is_reported() {
        let (value, messages) = run("{ nme = 'a', port = 'x', tags = 5, frob = 1 }");
        assert_eq!(value, None);
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert!(messages[0].starts_with("unknown-field: unknown field `nme`"));
        assert!(messages[1].starts_with("unknown-field: unknown field `frob`"));
        assert!(messages[2].starts_with("wrong-type"), "{messages:?}");
        assert!(messages[3].starts_with("wrong-type"), "{messages:?}");
        assert!(
            messages[4].starts_with("missing-field: missing field `name`"),
            "{messages:?}"
        );
    }

    #[test]
    fn every_missing_field_is_reported_once() {
        let (_, messages) = run("{ tags = [] }");
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[1].contains("`port`"), "{messages:?}");
        let (_, messages) = run("{ name = 'a', port = -1 }");
        assert_eq!(
            messages.len(),
            1,
            "a wrong required field is not missing too: {messages:?}"
        );
    }

    #[test]
    fn an_optional_wrong_field_leaves_the_rest_usable() {
        let (value, messages) = run("{ name = 'a', port = 1, tags = 'x' }");
        assert_eq!(value.map(|s| s.port), Some(1));
        assert_eq!(messages.len(), 1);
    }
}
