//! Turns serde/toml decoding errors into diagnostics with friendly wording,
//! a stable code and a "did you mean" where one helps.

use std::ops::Range;

use crate::plan::diagnostic::Diagnostic;
use crate::plan::suggest;

/// `context` names the table being decoded ("step `backup`").
pub(crate) fn diagnostic(
    error: &toml::de::Error,
    fallback: Range<usize>,
    context: &str,
    extra_fields: &[&str],
) -> Diagnostic {
    let span = error.span().unwrap_or(fallback);
    let message = error.message().trim();
    let message = message.lines().next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (name, expected) = split_quoted(rest);
        let mut candidates = expected_names(rest);
        candidates.extend_from_slice(extra_fields);
        return Diagnostic::error("unknown-field", format!("unknown field `{name}` in {context}"))
            .at(span, "unknown field")
            .maybe_help(suggest::help(&name, &candidates, "field").or_else(|| Some(expected.to_string())));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (name, _) = split_quoted(rest);
        let candidates = expected_names(rest);
        return Diagnostic::error("unknown-variant", format!("unknown value `{name}` in {context}"))
            .at(span, "not one of the allowed values")
            .maybe_help(suggest::help(&name, &candidates, "value"));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let (name, _) = split_quoted(rest);
        return Diagnostic::error("missing-field", format!("missing field `{name}` in {context}"))
            .at(span, format!("this table needs `{name}`"))
            .help(format!("add `{name} = ...`"));
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another type"));
        if let Some(diagnostic) = out_of_range(found, expected, &span, context) {
            return diagnostic;
        }
        let found = found_friendly(found);
        return Diagnostic::error(
            "wrong-type",
            format!(
                "wrong type in {context}: expected {}, found {found}",
                friendly(expected)
            ),
        )
        .at(span, format!("expected {}", friendly(expected)))
        .help(type_help(expected, &found));
    }
    if message.starts_with("invalid duration") {
        return Diagnostic::error("bad-duration", message.to_string())
            .at(span, "not a duration")
            .help("write a number with a unit: ms, s, m, h or d, like \"30s\" or \"1h30m\"");
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "another value"));
        if let Some(diagnostic) = out_of_range(found, expected, &span, context) {
            return diagnostic;
        }
        return Diagnostic::error("invalid-value", format!("invalid value in {context}: {found}"))
            .at(span, format!("expected {}", friendly(expected)))
            .help(format!("use {}", friendly(expected)));
    }
    let (code, label, help) = custom_help(message);
    Diagnostic::error(code, format!("{message} (in {context})"))
        .at(span, label)
        .help(help)
}

/// Help for the errors of the plan's own value types (sizes, durations,
/// ports), and a pointer to the schema for anything else.
fn custom_help(message: &str) -> (&'static str, &'static str, &'static str) {
    if message.starts_with("duration ") {
        return (
            "bad-duration",
            "too large",
            "use a shorter duration, like \"30s\", \"10m\" or \"1h\"",
        );
    }
    if message.starts_with("invalid size") || message.starts_with("size ") {
        return (
            "invalid-value",
            "not a size",
            "write a whole number and a unit: B, KB, MB, GB or TB (powers of 1024), like \"512MB\" or \"8GB\"",
        );
    }
    if message.contains("port") {
        return (
            "invalid-value",
            "not a port or port range",
            "use ports from 1 to 65535, or a range like \"5432-5435\" with the lower port first",
        );
    }
    if message.contains("too large") {
        return ("invalid-value", "too large", "integers are at most 9223372036854775807");
    }
    (
        "invalid-value",
        "here",
        "`planrun schema` prints what each field accepts",
    )
}

/// An integer outside the range of the field's type: says the range.
fn out_of_range(found: &str, expected: &str, span: &Range<usize>, context: &str) -> Option<Diagnostic> {
    let number = found.strip_prefix("integer ")?;
    let number = number.split(" as ").next().unwrap_or(number).trim_matches('`');
    let (low, high) = integer_range(expected.trim())?;
    Some(
        Diagnostic::error("invalid-value", format!("{number} is out of range in {context}"))
            .at(span.clone(), format!("expected {low} to {high}"))
            .help(format!("use an integer from {low} to {high}")),
    )
}

fn integer_range(expected: &str) -> Option<(i128, i128)> {
    Some(match expected {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "usize" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    })
}

/// serde's name for what was found, in the plan's words.
fn found_friendly(found: &str) -> String {
    match found {
        "sequence" => "an array".into(),
        "map" => "a table".into(),
        _ => found.to_string(),
    }
}

/// `"`name`, expected ..."` → ("name", "expected ...").
fn split_quoted(rest: &str) -> (String, &str) {
    let mut parts = rest.splitn(3, '`');
    let _ = parts.next();
    let name = parts.next().unwrap_or_default().to_string();
    let tail = parts.next().unwrap_or_default().trim_start_matches(',').trim();
    (name, tail)
}

/// The backquoted names after "expected" in a serde message.
fn expected_names(rest: &str) -> Vec<&str> {
    let Some((_, expected)) = rest.split_once("expected") else {
        return Vec::new();
    };
    expected.split('`').skip(1).step_by(2).collect()
}

fn friendly(expected: &str) -> String {
    let expected = expected.trim();
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "`true` or `false`".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        "a string" => "a string".into(),
        _ if expected.starts_with("struct ") => "a table".into(),
        _ if expected.starts_with("a sequence") => "an array".into(),
        _ => expected.to_string(),
    }
}

fn type_help(expected: &str, found: &str) -> String {
    let friendly = friendly(expected);
    if found.starts_with("string") && found.contains("${") {
        return format!(
            "only `${{vars.NAME}}`, alone in the string, can stand for {friendly}; secrets, env and step outputs are always strings"
        );
    }
    if friendly == "an array" {
        return "wrap the value in brackets: [ ... ]".into();
    }
    if friendly == "a table" {
        return "write an inline table { key = value } or a [section]".into();
    }
    if found.starts_with("string") && (friendly.contains("integer") || friendly == "a number") {
        return "remove the quotes around the number".into();
    }
    format!("write {friendly} here")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_serde_lists() {
        assert_eq!(
            expected_names("`x`, expected one of `command`, `argv`"),
            ["command", "argv"]
        );
        assert_eq!(split_quoted("`commnad`, expected one of").0, "commnad");
    }
}
