//! A problem found in a plan, with the exact text it is about.
//!
//! Validation collects every diagnostic instead of stopping at the first one
//! (like Terraform's `tfdiags`); rendering happens in `report::diagnostics`.

use std::ops::Range;
use std::sync::Arc;

use crate::plan::source::Source;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    pub severity: Severity,
    /// Stable, documented identifier, e.g. `unknown-field`.
    pub code: &'static str,
    pub message: String,
    /// Byte range in the source; every diagnostic has one.
    pub span: Range<usize>,
    pub label: String,
    pub help: Option<String>,
    /// Further places that explain the problem (the other steps on a cycle).
    pub related: Vec<(Range<usize>, String)>,
    /// The file the spans point into, when it is not the plan itself
    /// (a `--var-file`, or the text of a `--var` argument).
    pub origin: Option<Arc<Source>>,
}

impl Diagnostic {
    pub(crate) fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Error, code, message)
    }

    pub(crate) fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Severity::Warning, code, message)
    }

    fn new(severity: Severity, code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            span: 0..0,
            label: String::new(),
            help: None,
            related: Vec::new(),
            origin: None,
        }
    }

    #[must_use]
    pub(crate) fn at(mut self, span: Range<usize>, label: impl Into<String>) -> Diagnostic {
        self.span = span;
        self.label = label.into();
        self
    }

    #[must_use]
    pub(crate) fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    #[must_use]
    pub(crate) fn maybe_help(mut self, help: Option<String>) -> Diagnostic {
        self.help = help;
        self
    }

    #[must_use]
    pub(crate) fn related(mut self, span: Range<usize>, label: impl Into<String>) -> Diagnostic {
        self.related.push((span, label.into()));
        self
    }

    #[must_use]
    pub(crate) fn in_file(mut self, origin: Arc<Source>) -> Diagnostic {
        self.origin = Some(origin);
        self
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// An ordered collection of diagnostics for one source.
#[derive(Debug, Default, Clone)]
pub(crate) struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub(crate) fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Diagnostic> {
        self.items.iter_mut()
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&Diagnostic) -> bool) {
        self.items.retain(keep);
    }

    /// Turns every warning into an error (`--deny-warnings`).
    pub(crate) fn deny_warnings(&mut self) {
        for item in &mut self.items {
            item.severity = Severity::Error;
        }
    }

    /// Diagnostics in file order, so output is the same on every run.
    pub(crate) fn sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by(|a, b| {
            (a.span.start, a.span.end, a.severity, &a.message).cmp(&(b.span.start, b.span.end, b.severity, &b.message))
        });
        self.items.dedup();
        self.items
    }
}

impl FromIterator<Diagnostic> for Diagnostics {
    fn from_iter<I: IntoIterator<Item = Diagnostic>>(iter: I) -> Self {
        Diagnostics {
            items: iter.into_iter().collect(),
        }
    }
}
