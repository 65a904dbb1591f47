//! Everything planrun shows: diagnostics, previews, graphs, and the
//! reporters that turn engine events into progress bars, plain lines or
//! JSON Lines.

pub mod diagnostics;
pub mod event_text;
pub mod graph;
pub mod indexed_source;
pub mod json_lines;
pub mod lines;
pub mod preview;
pub mod progress;
pub mod run;

/// `1 step`, `2 steps`: counts in messages and previews.
pub(crate) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
