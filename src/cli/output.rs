//! Writing data to stdout: a closed pipe (`planrun plan x | head`) is not
//! an error.

use std::io::{self, BufWriter, Write};

use crate::error::Error;

pub(crate) fn stdout(text: &str) -> Result<(), Error> {
    stream(|out| out.write_all(text.as_bytes()))
}

/// Lets `write` stream its output to stdout through a buffer, so large
/// output is never held in memory whole.
pub(crate) fn stream(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let mut out = BufWriter::new(io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Io),
    }
}
