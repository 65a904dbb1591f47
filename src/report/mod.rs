//! Everything planrun shows: diagnostics, previews, graphs, and the
//! reporters that turn engine events into progress bars, plain lines or
//! JSON Lines.

pub mod diagnostics;
pub mod event_text;
pub mod graph;
pub mod json_lines;
pub mod lines;
pub mod preview;
pub mod progress;
