//! The text a diagnostic points into, as miette reads it, with the start of
//! every line indexed once.
//!
//! miette's own `SourceCode` for strings scans from the start of the text
//! for every span it reads, so rendering many diagnostics of a large plan
//! took quadratic time; it also counted columns in bytes and took a lone
//! `\r` for a line break. Here a span is found by binary search, lines end
//! at `\n` only (as in TOML), and columns count characters.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

#[derive(Debug)]
pub(crate) struct IndexedSource {
    name: String,
    text: Arc<str>,
    /// Byte offset where each line starts; the first is 0.
    starts: Vec<usize>,
}

impl IndexedSource {
    pub(crate) fn new(name: impl Into<String>, text: Arc<str>) -> IndexedSource {
        let text = without_lone_carriage_returns(text);
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        IndexedSource {
            name: name.into(),
            text,
            starts,
        }
    }

    /// The 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).saturating_sub(1)
    }

    /// Where the line after `line` starts (the end of the text for the last).
    fn line_end(&self, line: usize) -> usize {
        self.starts.get(line + 1).copied().unwrap_or(self.text.len())
    }
}

/// A `\r` not followed by `\n` drawn as a space: on a terminal it would
/// move the cursor back over the line, and miette would take it for a line
/// break. Offsets do not move.
fn without_lone_carriage_returns(text: Arc<str>) -> Arc<str> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !text.contains('\r') || !(0..bytes.len()).any(lone) {
        return text;
    }
    let shown: String = text
        .char_indices()
        .map(|(i, c)| if c == '\r' && lone(i) { ' ' } else { c })
        .collect();
    shown.into()
}

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len();
        if end > self.text.len() || !self.text.is_char_boundary(start) {
            return Err(MietteError::OutOfBounds);
        }
        let first_line = self.line_of(start);
        let last_line = self.line_of(start + span.len().saturating_sub(1));
        let from_line = first_line.saturating_sub(context_lines_before);
        let to_line = (last_line + context_lines_after).min(self.starts.len() - 1);
        // Like miette's own sources: without context before, the contents
        // start at the span, and say the span's column.
        let (data_start, line, column) = if context_lines_before == 0 {
            let column = self.text[self.starts[first_line]..start].chars().count();
            (start, first_line, column)
        } else {
            (self.starts[from_line], from_line, 0)
        };
        let data_end = self.line_end(to_line).max(end);
        // miette counts the line breaks from the start of the text to the
        // end of the contents, and decides from that which labels share a
        // snippet.
        let line_count = self.starts.partition_point(|&start| start <= data_end) - 1;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[data_start..data_end],
            (data_start, data_end - data_start).into(),
            line,
            column,
            line_count,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, span: (usize, usize), around: usize) -> (String, usize, usize) {
        let source = IndexedSource::new("p.toml", text.into());
        match source.read_span(&span.into(), around, around) {
            Ok(contents) => (
                String::from_utf8_lossy(contents.data()).into_owned(),
                contents.line(),
                contents.column(),
            ),
            Err(error) => (error.to_string(), usize::MAX, usize::MAX),
        }
    }

    #[test]
    fn reads_whole_lines_around_a_span() {
        let text = "a = 1\nb = 2\nc = 3\nd = 4\n";
        assert_eq!(read(text, (6, 1), 1), ("a = 1\nb = 2\nc = 3\n".into(), 0, 0));
        assert_eq!(read(text, (0, 0), 1), ("a = 1\nb = 2\n".into(), 0, 0));
        assert_eq!(read(text, (18, 5), 1), ("c = 3\nd = 4\n".into(), 2, 0));
    }

    #[test]
    fn columns_count_characters() {
        let text = "x = \"日本語🎉\" # é\ny = 1\n";
        let offset = text.find('#').unwrap_or_default();
        let (_, line, column) = read(text, (offset, 1), 0);
        assert_eq!((line, column), (0, 11));
    }

    #[test]
    fn a_lone_carriage_return_does_not_end_a_line() {
        assert_eq!(read("a = 1\rb", (6, 1), 0).1, 0);
        assert_eq!(read("a = 1\rb\r", (6, 1), 1).0, "a = 1 b ");
        assert_eq!(read("a = 1\r\nb", (7, 1), 0).1, 1);
    }

    #[test]
    fn spans_past_the_end_are_out_of_bounds() {
        assert_eq!(read("a", (0, 5), 1).1, usize::MAX);
    }
}
