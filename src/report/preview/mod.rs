//! Dry-run previews of a compiled plan: text for a terminal, Markdown for a
//! code review, JSON for machines. All deterministic: the same plan gives
//! byte-identical output.
//!
//! Vars were substituted when the plan was compiled; secrets, env and step
//! outputs are shown as written (`${secrets.NAME}`) and never resolved here.

mod json;
mod markdown;
mod summaries;
mod summary;
mod text;

use std::collections::BTreeMap;
use std::io;

use crate::compile::Compiled;
use crate::exec::review::ReviewHash;
use crate::plan::source::LineIndex;
use crate::redact::Redactor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PreviewFormat {
    Text,
    Markdown,
    Json,
}

/// What a preview shows: a compiled plan and, for a plan that has already
/// partly run, a state for some of its steps (`done`, `pending`, `drifted`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PreviewInput<'a> {
    pub compiled: &'a Compiled,
    /// State by step id; steps not in the map are shown without one.
    pub states: Option<&'a BTreeMap<String, String>>,
    /// What `apply --expect-hash` checks (`planrun plan` shows it).
    pub review: Option<&'a ReviewHash>,
}

impl<'a> PreviewInput<'a> {
    /// Each step's 0-based position in the execution order, by step index.
    fn positions(&self) -> Vec<usize> {
        self.compiled.dag.positions()
    }

    /// The state of step `index`, when states are shown and it has one.
    fn state(&self, index: usize) -> Option<&'a str> {
        let id = &self.compiled.plan.steps[index].id;
        self.states?.get(id).map(String::as_str)
    }
}

#[cfg(test)]
pub(crate) fn render(compiled: &Compiled, format: PreviewFormat) -> String {
    render_input(
        &PreviewInput {
            compiled,
            states: None,
            review: None,
        },
        format,
    )
}

#[cfg(test)]
pub(crate) fn render_input(input: &PreviewInput<'_>, format: PreviewFormat) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail, and every renderer writes UTF-8.
    let _ = write(input, format, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes the preview to `out`. The JSON of a large plan is tens of
/// megabytes, so it is streamed rather than built in memory first.
pub(crate) fn write(input: &PreviewInput<'_>, format: PreviewFormat, out: &mut dyn io::Write) -> io::Result<()> {
    // A password typed into a URL var (not a declared secret) is masked
    // wherever the var's value went: a URL field, a shell command.
    let redactor = Redactor::new(input.compiled.plan.typed_passwords());
    match format {
        PreviewFormat::Text => out.write_all(redactor.redact(&text::render(input)).as_bytes()),
        // The Markdown is measured masked, to fit a comment as printed; it is
        // masked once more whole, for a secret across two of its parts.
        PreviewFormat::Markdown => out.write_all(redactor.redact(&markdown::render(input, &redactor)).as_bytes()),
        PreviewFormat::Json => json::write(input, &redactor, out),
    }
}

/// The risky steps (`plan::risk`), in execution order: id and reasons.
fn risky(compiled: &Compiled) -> Vec<(&str, String)> {
    crate::plan::risk::risky_steps(&compiled.plan, compiled.dag.order())
}

/// A warning as previews list it, with its 1-based position.
#[derive(Debug, serde::Serialize)]
struct Warning<'a> {
    code: &'static str,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    help: Option<&'a str>,
}

fn warnings(compiled: &Compiled) -> Vec<Warning<'_>> {
    let source = &compiled.plan.source;
    let lines = LineIndex::new(&source.text);
    compiled
        .warnings
        .iter()
        .map(|warning| {
            let (file, (line, column)) = match &warning.origin {
                Some(origin) => (&origin.name, LineIndex::new(&origin.text).line_col(warning.span.start)),
                None => (&source.name, lines.line_col(warning.span.start)),
            };
            Warning {
                code: warning.code,
                message: &warning.message,
                file,
                line,
                column,
                help: warning.help.as_deref(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::plan::Source;

    #[test]
    fn every_format_can_show_a_state_per_step() {
        let text = "format = 1\nname = 'p'\n\
            [steps.a]\ncheck = { kind = 'env', name = 'A' }\n\
            [steps.b]\ndepends_on = ['a']\ncheck = { kind = 'env', name = 'B' }\n";
        let compiled = compile(&Source::new("p.toml", text), &[], false).map_err(|f| f.diagnostics);
        let Ok(compiled) = compiled else {
            panic!("{compiled:?}");
        };
        let states = BTreeMap::from([("a".to_string(), "done".to_string())]);
        let input = PreviewInput {
            compiled: &compiled,
            states: Some(&states),
            review: None,
        };
        assert!(render_input(&input, PreviewFormat::Text).contains("[1] a  (level 0)  [done]"));
        assert!(render_input(&input, PreviewFormat::Markdown).contains("| ✓ | — | — | done |"));
        assert!(render_input(&input, PreviewFormat::Json).contains("\"state\": \"done\""));
        let plain = render(&compiled, PreviewFormat::Json);
        assert!(!plain.contains("\"state\""));
    }
}
