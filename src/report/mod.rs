//! Everything planrun shows: diagnostics, previews, graphs, and the
//! reporters that turn engine events into progress bars, plain lines or
//! JSON Lines.

pub(crate) mod diagnostics;
pub(crate) mod event_text;
pub(crate) mod graph;
pub(crate) mod indexed_source;
pub(crate) mod json_lines;
pub(crate) mod lines;
pub(crate) mod preview;
pub(crate) mod progress;
pub(crate) mod run;

/// `1 step`, `2 steps`: counts in messages and previews.
pub(crate) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
