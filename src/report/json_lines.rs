//! `--format json`: one JSON object per event on stdout, for CI.

use std::io::Write;

use crate::exec::event::{Event, Reporter};

pub(crate) struct JsonLines;

impl Reporter for JsonLines {
    fn report(&self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = std::io::stdout().lock();
            // A closed pipe must not stop the run.
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        }
    }
}
