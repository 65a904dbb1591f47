//! The reporter when stderr is not a terminal: one plain line per event,
//! no escape codes.

use std::io::Write;

use crate::exec::event::{Event, Reporter};
use crate::report::event_text;

pub(crate) struct Lines;

impl Reporter for Lines {
    fn report(&self, event: &Event) {
        let Some(lines) = event_text::lines(event) else { return };
        let mut err = std::io::stderr().lock();
        for line in lines {
            let _ = writeln!(err, "{line}");
        }
    }
}
