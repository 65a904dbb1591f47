//! The text of a plan (or var file) and where it came from.
//!
//! Every diagnostic points into a `Source`, so it is loaded once and shared.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::plan::diagnostic::Diagnostic;

/// A loaded text file. `text` is always valid UTF-8; the bytes it came from
/// were checked by [`Source::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub path: PathBuf,
    /// The path as the user wrote it, used in diagnostics.
    pub name: String,
    pub text: Arc<str>,
}

impl Source {
    /// A source from text already in memory (tests, `--var` values).
    pub(crate) fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Source {
        let name = name.into();
        Source {
            path: PathBuf::from(&name),
            name,
            text: text.into(),
        }
    }

    /// Reads a plan file and rejects what cannot be a plan: unreadable,
    /// empty or binary files.
    pub(crate) fn load(path: &Path) -> Result<Source, LoadError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| LoadError::Io {
            path: name.clone(),
            error,
        })?;
        Source::from_bytes(name, path.to_path_buf(), bytes).map_err(LoadError::Invalid)
    }

    /// Takes the bytes by value: a plan can be megabytes, and the valid
    /// text is kept without another copy.
    fn from_bytes(name: String, path: PathBuf, bytes: Vec<u8>) -> Result<Source, Box<InvalidFile>> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            let diagnostic = Diagnostic::error("empty-file", format!("`{name}` is empty"))
                .at(0..0, "the plan starts here")
                .help("a plan needs at least `format = 1`, a `name` and one `[steps.<id>]` table");
            let text = String::from_utf8_lossy(&bytes).into();
            let source = Source { path, name, text };
            return Err(Box::new(InvalidFile { source, diagnostic }));
        }
        let (text, bad) = match String::from_utf8(bytes) {
            Ok(text) => {
                let nul = text.find('\0').map(|offset| (offset, "a NUL byte"));
                (text, nul)
            }
            Err(error) => {
                let offset = error.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
                (text, Some((offset, "bytes that are not UTF-8")))
            }
        };
        if let Some((offset, what)) = bad {
            let at = floor_char_boundary(&text, offset);
            // The snippet is printed to a terminal: show NUL bytes as a
            // visible symbol rather than writing them. Offsets up to the
            // first bad byte, where the label points, do not move.
            let text = text.replace('\0', "\u{2400}").into();
            let diagnostic = Diagnostic::error("binary-file", format!("`{name}` is not a text file"))
                .at(at..at, format!("{what} at byte {offset}"))
                .help("a plan is a UTF-8 TOML file; check that the right file was given");
            let source = Source { path, name, text };
            return Err(Box::new(InvalidFile { source, diagnostic }));
        }
        Ok(Source {
            path,
            name,
            text: text.into(),
        })
    }
}

/// Where each line of a text starts, to turn byte offsets into 1-based
/// lines and columns for plain-text and JSON output (many lookups, so a
/// binary search rather than a scan from the start each time).
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset);
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A file that exists but cannot be a plan; carries its own diagnostic.
#[derive(Debug)]
pub(crate) struct InvalidFile {
    pub source: Source,
    pub diagnostic: Diagnostic,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("cannot read `{path}`: {error}")]
    Io {
        path: String,
        #[source]
        error: std::io::Error,
    },
    #[error("{}", .0.diagnostic.message)]
    Invalid(Box<InvalidFile>),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(bytes: &[u8]) -> Result<Source, Box<InvalidFile>> {
        Source::from_bytes("p.toml".into(), "p.toml".into(), bytes.to_vec())
    }

    #[test]
    fn empty_and_whitespace_files_are_rejected() {
        for bytes in [&b""[..], b"  \n\t\n"] {
            let error = load(bytes).err().map(|e| e.diagnostic.code);
            assert_eq!(error, Some("empty-file"));
        }
    }

    #[test]
    fn nul_and_invalid_utf8_are_rejected_with_their_offset() {
        let error = load(b"name = 'x'\n\0").err().map(|e| e.diagnostic.span);
        assert_eq!(error, Some(11..11));
        let error = load(b"ab\xff\xfe").err().map(|e| e.diagnostic.span);
        assert_eq!(error, Some(2..2));
    }

    #[test]
    fn line_col_is_one_based_and_counts_chars() {
        let lines = LineIndex::new("ab\né = 1\n");
        assert_eq!(lines.line_col(0), (1, 1));
        assert_eq!(lines.line_col(3), (2, 1));
        assert_eq!(lines.line_col(5), (2, 2));
        assert_eq!(lines.line_col(4), (2, 1), "inside `é`: its start");
        assert_eq!(lines.line_col(99), (3, 1), "past the end: the end");
    }
}
