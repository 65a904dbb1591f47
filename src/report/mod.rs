//! Everything planrun shows: diagnostics, previews, graphs.

pub mod diagnostics;
pub mod graph;
pub mod preview;
