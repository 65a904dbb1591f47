//! Everything planrun shows: diagnostics, previews, graphs.

pub mod diagnostics;
pub mod graph;
pub mod preview;

/// `1 step`, `2 steps`: counts in messages and previews.
pub(crate) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
