//! Writing data to stdout: a closed pipe (`planrun plan x | head`) is not
//! an error.

use std::io::Write;

use crate::error::Error;

pub fn stdout(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Io),
    }
}
