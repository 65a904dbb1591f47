//! Renders plan diagnostics with miette: file, line, column, the underlined
//! text, and `help:`.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::plan::diagnostic::{Diagnostic, Severity};
use crate::plan::source::Source;
use crate::report::indexed_source::IndexedSource;
use crate::report::plural;

/// Diagnostics drawn in full; the rest are only counted (like rustc, a
/// plan with thousands of errors needs its first ones fixed first).
pub(crate) const SHOWN: usize = 100;

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub color: bool,
    pub width: usize,
}

impl Style {
    /// Colors only on a terminal and without `NO_COLOR`.
    pub(crate) fn for_stderr() -> Style {
        use std::io::IsTerminal;
        let terminal = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: terminal && !no_color,
            width: if terminal { terminal_width().unwrap_or(100) } else { 100 },
        }
    }
}

fn terminal_width() -> Option<usize> {
    std::env::var("COLUMNS").ok()?.parse().ok()
}

/// All diagnostics as one text (the first [`SHOWN`] of them drawn in full),
/// each followed by a blank line, then a one-line count.
pub(crate) fn render(source: &Source, diagnostics: &[Diagnostic], style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    // Indexed when first needed: a valid plan draws nothing.
    let mut plan_source: Option<Arc<IndexedSource>> = None;
    let mut out = String::new();
    for diagnostic in diagnostics.iter().take(SHOWN) {
        let code = match &diagnostic.origin {
            Some(origin) => Arc::new(IndexedSource::new(origin.name.clone(), origin.text.clone())),
            None => plan_source
                .get_or_insert_with(|| Arc::new(IndexedSource::new(source.name.clone(), source.text.clone())))
                .clone(),
        };
        let report = Report { diagnostic, code };
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!(
                "{}: {}\n",
                severity_word(diagnostic.severity),
                diagnostic.message
            ));
        }
        out.push('\n');
    }
    if let Some(hidden) = diagnostics.get(SHOWN..).filter(|rest| !rest.is_empty()) {
        let errors = hidden.iter().filter(|d| d.is_error()).count();
        let warnings = hidden.len() - errors;
        let what = match (errors, warnings) {
            (e, 0) => plural(e, "more error"),
            (0, w) => plural(w, "more warning"),
            (e, w) => format!("{} and {}", plural(e, "more error"), plural(w, "more warning")),
        };
        out.push_str(&format!("… and {what}, not shown: fix these first\n\n"));
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    out.push_str(&summary_line(errors, warnings, &source.name));
    out
}

pub(crate) fn summary_line(errors: usize, warnings: usize, name: &str) -> String {
    match (errors, warnings) {
        (0, 0) => format!("`{name}` is valid\n"),
        (0, w) => format!("`{name}` is valid, with {}\n", plural(w, "warning")),
        (e, 0) => format!("`{name}` is invalid: {}\n", plural(e, "error")),
        (e, w) => format!(
            "`{name}` is invalid: {} and {}\n",
            plural(e, "error"),
            plural(w, "warning")
        ),
    }
}

fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

struct Report<'a> {
    diagnostic: &'a Diagnostic,
    code: Arc<IndexedSource>,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(format!("planrun::{}", self.diagnostic.code)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.diagnostic;
        let primary = LabeledSpan::new_primary_with_span(Some(d.label.clone()), (d.span.start, d.span.len()));
        let related = d
            .related
            .iter()
            .map(|(span, label)| LabeledSpan::new_with_span(Some(label.clone()), (span.start, span.len())));
        Some(Box::new(std::iter::once(primary).chain(related)))
    }
}
