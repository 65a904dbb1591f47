//! `[vars]`: declared values, overrides from the command line, and
//! substitution of `${vars.NAME}` into the plan before it is decoded.
//!
//! Vars are known when the plan is compiled, so they are substituted early:
//! previews show the real values, and a number can stand for a typed field
//! (`port = "${vars.pg_port}"`). Secrets, env and step outputs are only
//! known at apply time and stay as written.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::ops::Range;
use std::sync::Arc;

use indexmap::IndexMap;
use toml::Spanned;
use toml::de::{DeString, DeValue};

use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::parse::take;
use crate::plan::raw::VarValue;
use crate::plan::source::Source;
use crate::plan::suggest::{self, Suggester};
use crate::plan::template::{self, Piece, Reference, SubstituteError};

/// A `--var NAME=VALUE` or a `--var-file` entry.
#[derive(Debug, Clone)]
pub(crate) struct Override {
    pub name: String,
    pub value: String,
    /// The text the override came from, with the span of its name.
    pub origin: Arc<Source>,
    pub name_span: Range<usize>,
    pub value_span: Range<usize>,
}

impl Override {
    /// Parses `NAME=VALUE` from the command line.
    pub(crate) fn from_arg(arg: &str) -> Result<Override, String> {
        let (name, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("`--var {arg}`: expected NAME=VALUE"))?;
        Ok(Override {
            name: name.trim().to_string(),
            value: value.to_string(),
            origin: Arc::new(Source::new("--var", arg)),
            name_span: 0..name.len(),
            value_span: name.len() + 1..arg.len(),
        })
    }
}

impl Override {
    /// The override as the user wrote it: `` `--var port=70000` ``, or
    /// `` `port = 70000` in vars.toml ``.
    fn describe(&self) -> String {
        let text: &str = &self.origin.text;
        if self.origin.name == "--var" {
            return format!("`--var {text}`");
        }
        let written = text
            .get(self.name_span.start..self.value_span.end)
            .unwrap_or(&self.name);
        format!("`{written}` in {}", self.origin.name)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Var {
    pub value: VarValue,
    /// Span of the name in `[vars]`.
    pub span: Range<usize>,
    /// TOML text of a number or boolean, so it can be substituted typed.
    literal: Option<String>,
    /// The override that set the value, as the user wrote it
    /// (`` `--var port=70000` ``), for errors about where it is used.
    pub overridden_by: Option<String>,
}

/// A var as declared in the plan, or as overridden.
struct Declared {
    value: VarValue,
    name_span: Range<usize>,
    /// The value's span in the plan, or in `origin` when overridden.
    value_span: Range<usize>,
    /// The `--var` or `--var-file` that set the value.
    origin: Option<(Arc<Source>, String)>,
}

impl Declared {
    /// A diagnostic about the value, pointing into the text it came from.
    fn diagnostic(&self, diagnostic: Diagnostic) -> Diagnostic {
        match &self.origin {
            Some((origin, _)) => diagnostic.in_file(origin.clone()),
            None => diagnostic,
        }
    }

    fn text<'s>(&'s self, plan: &'s str) -> &'s str {
        match &self.origin {
            Some((origin, _)) => &origin.text,
            None => plan,
        }
    }
}

/// The resolved vars of a plan: overrides applied, references between vars
/// substituted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars {
    vars: IndexMap<String, Var>,
    /// Declared, but with a value that was reported as wrong: references
    /// to them are left as written, and not reported again.
    invalid: BTreeSet<String>,
}

impl Vars {
    pub(crate) fn get(&self, name: &str) -> Option<&Var> {
        self.vars.get(name)
    }

    pub(crate) fn names(&self) -> Vec<&str> {
        self.vars.keys().map(String::as_str).collect()
    }

    pub(crate) fn values(&self) -> IndexMap<String, VarValue> {
        self.vars
            .iter()
            .map(|(name, var)| (name.clone(), var.value.clone()))
            .collect()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Var)> {
        self.vars.iter()
    }

    /// Applies overrides and resolves `${vars.X}` inside var values.
    /// `used` collects the vars referenced by other vars; `found` the
    /// secrets and env vars they reference (kept as written until apply
    /// time, and checked like references in steps).
    pub(crate) fn resolve(
        declared: &IndexMap<Spanned<String>, Spanned<VarValue>>,
        invalid: &BTreeSet<String>,
        overrides: &[Override],
        source: &str,
        used: &mut BTreeSet<String>,
        found: &mut Vec<FoundRef>,
        diagnostics: &mut Diagnostics,
    ) -> Vars {
        let mut values: IndexMap<String, Declared> = declared
            .iter()
            .map(|(name, value)| {
                let declared = Declared {
                    value: value.get_ref().clone(),
                    name_span: name.span(),
                    value_span: value.span(),
                    origin: None,
                };
                (name.get_ref().clone(), declared)
            })
            .collect();
        apply_overrides(&mut values, invalid, overrides, diagnostics);
        let mut resolver = Resolver {
            values: &values,
            invalid,
            done: IndexMap::new(),
            failed: BTreeSet::new(),
            visiting: Vec::new(),
            source,
            used,
            found,
            diagnostics,
        };
        for name in values.keys() {
            resolver.resolve(name);
        }
        let done = resolver.done;
        let vars = values
            .iter()
            .map(|(name, declared)| {
                let value = done.get(name).cloned().unwrap_or(VarValue::String(String::new()));
                let literal = value.toml_literal();
                let var = Var {
                    value,
                    span: declared.name_span.clone(),
                    literal,
                    overridden_by: declared.origin.as_ref().map(|(_, described)| described.clone()),
                };
                (name.clone(), var)
            })
            .collect();
        // A var whose value could not be resolved was reported; references
        // to it are not reported again.
        let mut invalid = invalid.clone();
        invalid.extend(values.keys().filter(|name| !done.contains_key(*name)).cloned());
        Vars { vars, invalid }
    }
}

/// `--var` and `--var-file` values over the declared ones, parsed like the
/// declared value (its type); unknown names and bad values are reported.
fn apply_overrides(
    values: &mut IndexMap<String, Declared>,
    invalid: &BTreeSet<String>,
    overrides: &[Override],
    diagnostics: &mut Diagnostics,
) {
    let names: Vec<String> = values.keys().cloned().collect();
    for item in overrides {
        if invalid.contains(&item.name) {
            continue;
        }
        let Some(declared) = values.get_mut(&item.name) else {
            let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
            diagnostics.push(
                Diagnostic::error("unknown-variable", format!("unknown variable `{}`", item.name))
                    .at(item.name_span.clone(), "not declared in the plan's [vars]")
                    .help(
                        suggest::help(&item.name, &candidates, "variable")
                            .unwrap_or_else(|| "the plan declares no vars; declare it in its [vars]".into()),
                    )
                    .in_file(item.origin.clone()),
            );
            continue;
        };
        match declared.value.parse_like(&item.value) {
            Ok(parsed) => {
                declared.value = parsed;
                declared.value_span = item.value_span.clone();
                declared.origin = Some((item.origin.clone(), item.describe()));
            }
            Err(error) => diagnostics.push(
                Diagnostic::error("wrong-type", format!("bad value for variable `{}`: {error}", item.name))
                    .at(item.value_span.clone(), "here")
                    .help("the type comes from the default in the plan's [vars]")
                    .in_file(item.origin.clone()),
            ),
        }
    }
}

struct Resolver<'a> {
    values: &'a IndexMap<String, Declared>,
    invalid: &'a BTreeSet<String>,
    done: IndexMap<String, VarValue>,
    failed: BTreeSet<String>,
    visiting: Vec<String>,
    source: &'a str,
    used: &'a mut BTreeSet<String>,
    found: &'a mut Vec<FoundRef>,
    diagnostics: &'a mut Diagnostics,
}

impl Resolver<'_> {
    /// The value of var `name`; `None` when it cannot be resolved (that
    /// was reported, once).
    fn resolve(&mut self, name: &str) -> Option<VarValue> {
        if let Some(value) = self.done.get(name) {
            return Some(value.clone());
        }
        if self.failed.contains(name) {
            return None;
        }
        let declared = self.values.get(name)?;
        let (value, value_span) = (&declared.value, &declared.value_span);
        let VarValue::String(text) = value else {
            self.done.insert(name.to_string(), value.clone());
            return Some(value.clone());
        };
        if self.visiting.iter().any(|v| v == name) {
            self.report_cycle(name, declared);
            return None;
        }
        // A var that is exactly another var takes its type too, so an alias
        // of a port number still fills a number field.
        if let Ok(pieces) = template::parse(text)
            && let Some(Reference::Var(other)) = template::sole_reference(&pieces, text)
            && other != name
            && self.values.contains_key(other.as_str())
            && !self.visiting.iter().any(|v| v == other)
        {
            return self.resolve_alias(name, &other.clone());
        }
        self.visiting.push(name.to_string());
        // A var that uses a var that failed fails too, quietly: the first
        // one was reported.
        let mut failed = false;
        let invalid = self.invalid;
        let result = template::substitute(text, false, |reference| match reference {
            Reference::Var(other) if invalid.contains(other) => {
                failed = true;
                Ok(None)
            }
            Reference::Var(other) => {
                self.used.insert(other.clone());
                if !self.values.contains_key(other) {
                    return Err(other.clone());
                }
                let value = self.resolve(other).map(|v| v.to_string());
                failed |= value.is_none();
                Ok(value)
            }
            Reference::Output { .. } => Err(format!("{reference}")),
            Reference::Secret(_) | Reference::Env(_) => {
                self.found.push(FoundRef {
                    reference: reference.clone(),
                    span: value_span.clone(),
                    origin: declared.origin.as_ref().map(|(origin, _)| origin.clone()),
                });
                Ok(None)
            }
        });
        self.visiting.pop();
        let resolved = match result {
            Ok(resolved) => resolved,
            Err(error) => {
                self.report_substitution(declared, text, error);
                failed = true;
                text.clone()
            }
        };
        if failed {
            self.failed.insert(name.to_string());
            return None;
        }
        let value = VarValue::String(resolved);
        self.done.insert(name.to_string(), value.clone());
        Some(value)
    }

    /// `name` is reached again while it is being resolved.
    fn report_cycle(&mut self, name: &str, declared: &Declared) {
        let mut cycle = self.visiting.clone();
        cycle.push(name.to_string());
        self.diagnostics.push(
            declared.diagnostic(
                Diagnostic::error(
                    "var-cycle",
                    format!("variable `{name}` refers to itself: {}", cycle.join(" → ")),
                )
                .at(declared.value_span.clone(), "this value")
                .help("a var may use other vars, but not in a loop"),
            ),
        );
    }

    /// `name` is exactly `${vars.OTHER}`: OTHER's value, type and all.
    fn resolve_alias(&mut self, name: &str, other: &str) -> Option<VarValue> {
        self.used.insert(other.to_string());
        self.visiting.push(name.to_string());
        let value = self.resolve(other);
        self.visiting.pop();
        match &value {
            Some(value) => {
                self.done.insert(name.to_string(), value.clone());
            }
            None => {
                self.failed.insert(name.to_string());
            }
        }
        value
    }

    /// Why `text`, the value of `declared`, could not be filled in.
    fn report_substitution(&mut self, declared: &Declared, text: &str, error: SubstituteError<String>) {
        let value_span = &declared.value_span;
        match error {
            SubstituteError::Template(_) => {
                for error in template::errors(text) {
                    let span = reference_span(declared.text(self.source), value_span, text, &error.range);
                    self.diagnostics.push(
                        declared.diagnostic(
                            Diagnostic::error("bad-interpolation", error.message)
                                .at(span, "here")
                                .help(error.help),
                        ),
                    );
                }
            }
            SubstituteError::Resolve(what) => {
                let (message, help) = if what.starts_with("steps.") {
                    (
                        format!("`${{{what}}}` cannot be used in [vars]"),
                        "step outputs exist only while the plan runs; use them in the step that needs them".to_string(),
                    )
                } else {
                    let names: Vec<&str> = self.values.keys().map(String::as_str).collect();
                    (
                        format!("undefined variable `vars.{what}`"),
                        suggest::help(&what, &names, "variable").unwrap_or_else(|| "declare it in [vars]".into()),
                    )
                };
                self.diagnostics.push(
                    declared.diagnostic(
                        Diagnostic::error("undefined-reference", message)
                            .at(value_span.clone(), "in this value")
                            .help(help),
                    ),
                );
            }
        }
    }
}

/// A reference found in the plan, with its exact place.
#[derive(Debug, Clone)]
pub(crate) struct FoundRef {
    pub reference: Reference,
    pub span: Range<usize>,
    /// The `--var` or `--var-file` text `span` points into, when not the plan.
    pub origin: Option<Arc<Source>>,
}

/// Walks a value from the plan, substituting `${vars.X}`, reporting bad or
/// undefined references, and collecting the references left for apply time.
pub(crate) struct Substituter<'v> {
    pub vars: &'v Vars,
    pub source: &'v str,
    pub used_vars: BTreeSet<String>,
    pub found: Vec<FoundRef>,
    /// Spans of strings left as written because a var in them is undefined:
    /// errors about their type would only repeat the undefined reference.
    pub unresolved: Vec<Range<usize>>,
    pub diagnostics: Diagnostics,
    /// Suggestions for undefined vars, made when the first one is found.
    suggester: Option<Suggester<'v>>,
    /// Spans of strings that use an overridden var, and which override:
    /// an error about such a value says where the value came from.
    pub overridden: Vec<(Range<usize>, String)>,
}

impl<'v> Substituter<'v> {
    pub(crate) fn new(vars: &'v Vars, source: &'v str) -> Substituter<'v> {
        Substituter {
            vars,
            source,
            used_vars: BTreeSet::new(),
            found: Vec::new(),
            unresolved: Vec::new(),
            diagnostics: Diagnostics::default(),
            suggester: None,
            overridden: Vec::new(),
        }
    }

    /// The substituted value borrows from both the plan and the vars. It is
    /// rebuilt in place; strings without a reference are kept as they are.
    pub(crate) fn value<'a: 'v>(&mut self, value: Spanned<DeValue<'a>>) -> Spanned<DeValue<'v>> {
        let span = value.span();
        let replaced = match value.into_inner() {
            DeValue::String(text) => self.string(text, &span),
            DeValue::Array(mut items) => {
                for item in items.iter_mut() {
                    *item = self.value(take(item));
                }
                DeValue::Array(items)
            }
            DeValue::Table(mut table) => {
                for (_, item) in &mut table {
                    *item = self.value(take(item));
                }
                DeValue::Table(table)
            }
            other => other,
        };
        Spanned::new(span, replaced)
    }

    /// Notes a use of `${vars.NAME}` in the value at `span`; `false` when
    /// the var is undefined (reported here) or could not be resolved.
    fn var_reference(&mut self, name: &String, span: &Range<usize>, at: impl Fn() -> Range<usize>) -> bool {
        let mut known = true;
        if self.vars.invalid.contains(name) {
            known = false;
        } else if self.vars.get(name).is_none() {
            known = false;
            let vars = self.vars;
            let help = self
                .suggester
                .get_or_insert_with(|| Suggester::new(vars.names()))
                .help(name, "", "variable")
                .unwrap_or_else(|| "declare it in [vars]".into());
            self.diagnostics.push(
                Diagnostic::error("undefined-reference", format!("undefined variable `vars.{name}`"))
                    .at(at(), "not declared in [vars]")
                    .help(help),
            );
        }
        if !self.used_vars.contains(name) {
            self.used_vars.insert(name.clone());
        }
        if let Some(by) = self.vars.get(name).and_then(|var| var.overridden_by.as_ref()) {
            self.overridden
                .push((span.clone(), format!("`vars.{name}` is set by {by}")));
        }
        known
    }

    fn string<'a: 'v>(&mut self, text: DeString<'a>, span: &Range<usize>) -> DeValue<'v> {
        if !text.contains("${") {
            return DeValue::String(text);
        }
        let Ok(pieces) = template::parse(&text) else {
            for error in template::errors(&text) {
                let at = reference_span(self.source, span, &text, &error.range);
                self.diagnostics.push(
                    Diagnostic::error("bad-interpolation", error.message)
                        .at(at, "here")
                        .help(error.help),
                );
            }
            // Its type is not checked either: the value is not known.
            self.unresolved.push(span.clone());
            return DeValue::String(text);
        };
        let mut any = false;
        let mut undefined = false;
        for piece in &pieces {
            let Piece::Ref(reference, range) = piece else {
                continue;
            };
            any = true;
            let at = || reference_span(self.source, span, &text, range);
            if let Reference::Var(name) = reference {
                undefined |= !self.var_reference(name, span, at);
            } else {
                self.found.push(FoundRef {
                    reference: reference.clone(),
                    span: at(),
                    origin: None,
                });
            }
        }
        if !any {
            return DeValue::String(text);
        }
        if undefined {
            self.unresolved.push(span.clone());
            return DeValue::String(text);
        }
        if let Some(Reference::Var(name)) = template::sole_reference(&pieces, &text)
            && let Some(literal) = self.vars.get(name).and_then(|var| var.literal.as_deref())
            && let Ok(typed) = DeValue::parse(literal)
        {
            return typed.into_inner();
        }
        let vars = self.vars;
        let substituted = template::render::<()>(&pieces, &text, false, |reference, out| {
            let var = match reference {
                Reference::Var(name) => vars.get(name),
                _ => None,
            };
            Ok(var.map(|var| write!(out, "{}", var.value)).is_some())
        });
        DeValue::String(substituted.unwrap_or_else(|()| text.to_string()).into())
    }
}

/// The exact source span of `range` (offsets in the decoded `text`) for a
/// string literal at `span`; the whole literal when escapes make the
/// mapping ambiguous.
pub(crate) fn reference_span(source: &str, span: &Range<usize>, text: &str, range: &Range<usize>) -> Range<usize> {
    let Some(raw) = source.get(span.clone()) else {
        return span.clone();
    };
    let delimiter = if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        3
    } else if raw.starts_with('"') || raw.starts_with('\'') {
        1
    } else {
        return span.clone();
    };
    if raw.len() < 2 * delimiter {
        return span.clone();
    }
    let inner = &raw[delimiter..raw.len() - delimiter];
    for skip in ["", "\n", "\r\n"] {
        if inner.strip_prefix(skip) == Some(text) {
            let start = span.start + delimiter + skip.len() + range.start;
            return start..start + range.len();
        }
    }
    let needle = &text[range.clone()];
    let mut matches = raw.match_indices(needle);
    match (matches.next(), matches.next()) {
        (Some((offset, _)), None) => span.start + offset..span.start + offset + needle.len(),
        _ => span.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_span_points_inside_plain_and_multiline_strings() {
        let source = r#"a = "x ${vars.b} y""#;
        let span = 4..source.len();
        let text = "x ${vars.b} y";
        assert_eq!(&source[reference_span(source, &span, text, &(2..11))], "${vars.b}");
        let source = "a = \"\"\"\nx ${vars.b}\"\"\"";
        let span = 4..source.len();
        assert_eq!(
            &source[reference_span(source, &span, "x ${vars.b}", &(2..11))],
            "${vars.b}"
        );
    }

    #[test]
    fn reference_span_falls_back_to_the_literal_when_escaped() {
        let source = r#"a = "\u0041 ${vars.b} ${vars.b}""#;
        let span = 4..source.len();
        assert_eq!(reference_span(source, &span, "A ${vars.b} ${vars.b}", &(2..11)), span);
    }
}
