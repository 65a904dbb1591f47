//! Decodes one `{ kind = "...", ... }` table into an `Action` or a `Probe`.
//!
//! The tag is read by hand and the rest decoded as the kind's own struct, so
//! errors keep the exact span of the offending field (serde's internally
//! tagged enums buffer their input and lose it).

use toml::Spanned;
use toml::de::DeValue;

use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::field_check::{Field, FieldCheck};
use crate::plan::suggest;
use crate::plan::table_decode::{Decoded, TableDecoder};
use crate::steps::{Action, FieldChecks, Probe};

/// `Action` or `Probe`: what a slot of a step accepts.
pub(crate) trait KindSet: Sized {
    const KINDS: &'static [&'static str];
    /// The kinds of the other set, to explain a kind used in the wrong place.
    const OTHER_KINDS: &'static [&'static str];
    fn decode(
        kind: &str,
        value: Spanned<DeValue<'_>>,
        context: &str,
        diagnostics: &mut Diagnostics,
    ) -> Option<Decoded<Self>>;
    fn validate(&self, check: &mut FieldCheck<'_>);
    fn kind_name(&self) -> &'static str;
    /// Message, label and help for a kind of the other set used here.
    fn misplaced(kind: &str, slot: &str, owner: &str) -> (String, String, String);
}

impl KindSet for Action {
    const KINDS: &'static [&'static str] = Action::KINDS;
    const OTHER_KINDS: &'static [&'static str] = Probe::KINDS;

    fn decode(
        kind: &str,
        value: Spanned<DeValue<'_>>,
        context: &str,
        diagnostics: &mut Diagnostics,
    ) -> Option<Decoded<Self>> {
        Action::decode(kind, TableDecoder::new(value, context, diagnostics))
    }

    fn validate(&self, check: &mut FieldCheck<'_>) {
        Action::validate(self, check as &mut dyn FieldChecks);
    }

    fn kind_name(&self) -> &'static str {
        self.kind()
    }

    fn misplaced(kind: &str, slot: &str, _owner: &str) -> (String, String, String) {
        (
            format!("`{kind}` is a probe and cannot be used as `{slot}`"),
            "probes only check; `run` and `rollback` take actions".into(),
            "to check this before or after the step runs, put it in `preconditions` or `verify`".into(),
        )
    }
}

impl KindSet for Probe {
    const KINDS: &'static [&'static str] = Probe::KINDS;
    const OTHER_KINDS: &'static [&'static str] = Action::KINDS;

    fn decode(
        kind: &str,
        value: Spanned<DeValue<'_>>,
        context: &str,
        diagnostics: &mut Diagnostics,
    ) -> Option<Decoded<Self>> {
        Probe::decode(kind, TableDecoder::new(value, context, diagnostics))
    }

    fn validate(&self, check: &mut FieldCheck<'_>) {
        Probe::validate(self, check as &mut dyn FieldChecks);
    }

    fn kind_name(&self) -> &'static str {
        self.kind()
    }

    fn misplaced(kind: &str, slot: &str, owner: &str) -> (String, String, String) {
        let where_to = if owner.starts_with("preflight") {
            "preflight only checks: do this in a step's `run`"
        } else {
            "do this in the step's `run`"
        };
        (
            format!("`{kind}` is an action and cannot be used as a probe in `{slot}`"),
            "probes must be read-only".into(),
            format!("{where_to}; probe kinds are {}", suggest::quote_list(Probe::KINDS)),
        )
    }
}

/// Decodes `value` for `slot` (like `run` or `verify[1]`) of `owner`
/// (like "step `backup`"), reporting every problem found. Takes the value
/// by value: decoding consumes it, and copying every step's tables would
/// dominate the time to compile a large plan.
pub(crate) fn decode<K: KindSet>(
    value: Spanned<DeValue<'_>>,
    slot: &str,
    owner: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Spanned<K>> {
    let span = value.span();
    let type_str = value.get_ref().type_str();
    let DeValue::Table(mut table) = value.into_inner() else {
        diagnostics.push(
            Diagnostic::error(
                "wrong-type",
                format!("`{slot}` of {owner} must be a table with a `kind`"),
            )
            .at(span, format!("found {type_str}"))
            .help("write it as an inline table: { kind = \"shell\", command = \"...\" }"),
        );
        return None;
    };
    let Some(kind_value) = table.remove("kind") else {
        diagnostics.push(
            Diagnostic::error("missing-field", format!("`{slot}` of {owner} has no `kind`"))
                .at(span, "this table needs `kind`")
                .help(format!("kinds here are {}", suggest::quote_list(K::KINDS))),
        );
        return None;
    };
    let kind_span = kind_value.span();
    let Some(kind) = kind_value.get_ref().as_str() else {
        diagnostics.push(
            Diagnostic::error("wrong-type", format!("`kind` in `{slot}` of {owner} must be a string"))
                .at(kind_span, "expected a string")
                .help(format!("kinds here are {}", suggest::quote_list(K::KINDS))),
        );
        return None;
    };
    let fields: Vec<Field<'_>> = table
        .iter()
        .map(|(key, value)| Field {
            name: key.get_ref().clone(),
            key: key.span(),
            value: value.span(),
        })
        .collect();
    let context = format!("`{kind}` ({slot} of {owner})");
    match K::decode(
        kind,
        Spanned::new(span.clone(), DeValue::Table(table)),
        &context,
        diagnostics,
    ) {
        None if K::OTHER_KINDS.contains(&kind) => {
            let (message, label, help) = K::misplaced(kind, slot, owner);
            diagnostics.push(
                Diagnostic::error("misplaced-kind", message)
                    .at(kind_span, label)
                    .help(help),
            );
            None
        }
        None => {
            diagnostics.push(
                Diagnostic::error("unknown-kind", format!("unknown kind `{kind}` in `{slot}` of {owner}"))
                    .at(kind_span, "unknown kind")
                    .maybe_help(suggest::help(kind, K::KINDS, "kind")),
            );
            None
        }
        // The semantic checks of a kind assume every field was read: a
        // field left out for its wrong type would look absent.
        Some(Decoded::Partial(_) | Decoded::Failed) => None,
        Some(Decoded::Whole(decoded)) => {
            let mut check = FieldCheck::new(decoded.kind_name(), span.clone(), fields, diagnostics);
            decoded.validate(&mut check);
            Some(Spanned::new(span, decoded))
        }
    }
}
