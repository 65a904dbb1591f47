//! TOML text → the plan's top level and its `[steps.ID]` and
//! `[preflight.ID]` entries, read piece by piece for large plans.
//!
//! The `toml` crate lexes a whole document into token and event buffers
//! before it builds the tree, and the tree of a 20,000-step plan is large
//! too. A large plan is therefore cut at its `[steps.ID]` and
//! `[preflight.ID]` headers: the head (everything before the first one) is
//! parsed first, then pieces of about [`PIECE`] bytes, on a second thread
//! ([`Pieces::read_ahead`]) that stays at most [`AHEAD`] pieces ahead of
//! the analyzer: only a few pieces' trees exist at a time, and parsing one
//! piece overlaps decoding the entries of the one before. Spans are moved
//! back to their place in the whole text.
//!
//! Cutting must never change the result. Whenever it could (a piece with a
//! syntax error, an entry defined in two pieces, a piece defining anything
//! but entries, `steps` written other than as `[steps.ID]` headers), the
//! reader reports [`ReadAhead::failed`] and the caller parses the whole
//! text in one go instead, so every error is the one the `toml` crate
//! reports.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::Scope;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

/// Below twice this size a plan is parsed whole; pieces are about this large.
const PIECE: usize = 64 * 1024;

/// How many pieces the read-ahead thread may parse before the analyzer
/// takes them.
const AHEAD: usize = 2;

/// The top-level tables whose entries are decoded one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Preflight,
    Steps,
}

impl Section {
    pub(crate) const ALL: [Section; 2] = [Section::Preflight, Section::Steps];

    pub(crate) fn key(self) -> &'static str {
        match self {
            Section::Preflight => "preflight",
            Section::Steps => "steps",
        }
    }

    fn named(key: &str) -> Option<Section> {
        Section::ALL.into_iter().find(|section| section.key() == key)
    }
}

/// One `[steps.ID]` or `[preflight.ID]` table.
pub(crate) struct Entry<'i> {
    pub section: Section,
    pub key: Spanned<DeString<'i>>,
    pub value: Spanned<DeValue<'i>>,
}

/// The entries of a large plan after its head, parsed a piece at a time.
pub(crate) struct Pieces<'i> {
    text: &'i str,
    /// The sections the root has; entries of another mean it is wrong.
    sections: Vec<Section>,
    pieces: std::vec::IntoIter<Range<usize>>,
    seen: HashSet<(usize, DeString<'i>)>,
    /// How many entry headers the cuts found.
    headers: usize,
}

/// Cuts a large plan: its head, as a root table where each section holds
/// no entries (they come from the pieces), and the pieces. `None` for a
/// small plan, or one whose head does not parse or defines a section.
pub(crate) fn split(text: &str) -> Option<(Spanned<DeTable<'_>>, Pieces<'_>)> {
    if text.len() < 2 * PIECE {
        return None;
    }
    let cuts = cuts(text);
    let (&(first, _), rest) = cuts.split_first()?;
    let mut root = DeTable::parse(&text[..first]).ok()?.into_inner();
    if Section::ALL.iter().any(|section| root.contains_key(section.key())) {
        return None;
    }
    // An empty table for each section that has entries, for the top level
    // to decode. Their order and spans are never shown: an empty section
    // cannot be wrong.
    let mut sections = Vec::new();
    for section in Section::ALL {
        if let Some(&(cut, _)) = cuts.iter().find(|(_, cut_section)| *cut_section == section) {
            let key = Spanned::new(cut..cut, DeString::Borrowed(section.key()));
            root.insert(key, Spanned::new(cut..cut, DeValue::Table(DeTable::new())));
            sections.push(section);
        }
    }

    let mut pieces = Vec::new();
    let mut start = first;
    for end in rest.iter().map(|&(cut, _)| cut).chain([text.len()]) {
        if end - start >= PIECE || end == text.len() {
            pieces.push(start..end);
            start = end;
        }
    }
    let pieces = Pieces {
        text,
        sections,
        pieces: pieces.into_iter(),
        seen: HashSet::with_capacity(cuts.len()),
        headers: cuts.len(),
    };
    // `DeTable::parse` gives the root an empty span; keep it the same.
    Some((Spanned::new(0..0, root), pieces))
}

impl<'i> Pieces<'i> {
    /// The entries, parsed on a thread of `scope` ahead of the caller. The
    /// thread stops at the first piece that cannot be read on its own, or
    /// when the returned reader is dropped.
    pub(crate) fn read_ahead<'scope>(mut self, scope: &'scope Scope<'scope, '_>) -> ReadAhead<'i>
    where
        'i: 'scope,
    {
        let (send, receive) = sync_channel(AHEAD);
        let headers = self.headers;
        scope.spawn(move || {
            while let Some(range) = self.pieces.next() {
                let piece = self.read(range);
                let failed = piece.is_none();
                if send.send(piece).is_err() || failed {
                    return;
                }
            }
        });
        ReadAhead {
            receive,
            current: Vec::new().into_iter(),
            failed: false,
            headers,
        }
    }

    /// The entries of the next piece, with spans moved to their place in
    /// the whole text; `None` when it must be read as part of the whole.
    fn read(&mut self, range: Range<usize>) -> Option<Vec<Entry<'i>>> {
        let piece = DeTable::parse(&self.text[range.clone()]).ok()?.into_inner();
        let mut entries = Vec::new();
        for (key, value) in piece {
            let section = Section::named(key.get_ref()).filter(|s| self.sections.contains(s))?;
            let DeValue::Table(table) = value.into_inner() else {
                return None;
            };
            for (id, value) in table {
                if !self.seen.insert((section as usize, id.get_ref().clone())) {
                    return None;
                }
                entries.push(Entry {
                    section,
                    key: shift_key(id, range.start),
                    value: shift(value, range.start),
                });
            }
        }
        Some(entries)
    }
}

/// The entries of [`Pieces`], in document order, as a second thread reads them.
pub(crate) struct ReadAhead<'i> {
    /// Each piece's entries; `None` for one that cannot be read alone.
    receive: Receiver<Option<Vec<Entry<'i>>>>,
    current: std::vec::IntoIter<Entry<'i>>,
    failed: bool,
    headers: usize,
}

impl ReadAhead<'_> {
    /// Whether reading stopped at a piece that cannot be read on its own:
    /// the entries so far must be discarded and the whole text parsed.
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// About how many entries there are (the headers found by the cuts),
    /// to size what holds them.
    pub(crate) fn expected(&self) -> usize {
        self.headers
    }
}

impl<'i> Iterator for ReadAhead<'i> {
    type Item = Entry<'i>;

    fn next(&mut self) -> Option<Entry<'i>> {
        loop {
            if let Some(entry) = self.current.next() {
                return Some(entry);
            }
            if self.failed {
                return None;
            }
            match self.receive.recv().ok()? {
                Some(entries) => self.current = entries.into_iter(),
                None => self.failed = true,
            }
        }
    }
}

/// Moves a value out of a tree, leaving a cheap placeholder with the same
/// span, so that a tree can be taken apart without copying it.
pub(crate) fn take<'i>(value: &mut Spanned<DeValue<'i>>) -> Spanned<DeValue<'i>> {
    let placeholder = Spanned::new(value.span(), DeValue::Boolean(false));
    std::mem::replace(value, placeholder)
}

fn moved(span: Range<usize>, offset: usize) -> Range<usize> {
    span.start + offset..span.end + offset
}

fn shift_key(key: Spanned<DeString<'_>>, offset: usize) -> Spanned<DeString<'_>> {
    Spanned::new(moved(key.span(), offset), key.into_inner())
}

fn shift(value: Spanned<DeValue<'_>>, offset: usize) -> Spanned<DeValue<'_>> {
    let span = moved(value.span(), offset);
    let value = match value.into_inner() {
        DeValue::Table(table) => DeValue::Table(
            table
                .into_iter()
                .map(|(key, value)| (shift_key(key, offset), shift(value, offset)))
                .collect(),
        ),
        DeValue::Array(items) => DeValue::Array(items.into_iter().map(|item| shift(item, offset)).collect()),
        scalar => scalar,
    };
    Spanned::new(span, value)
}

/// Byte offsets of the lines holding a `[steps.ID]` or `[preflight.ID]`
/// header, found by a scan that skips strings, comments and multi-line
/// arrays and inline tables. The scan need not be exact: a wrong cut leaves
/// a piece that does not parse, and the whole text is parsed instead.
fn cuts(text: &str) -> Vec<(usize, Section)> {
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    let mut depth = 0usize;
    let mut line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            b'\n' => line_start = true,
            b' ' | b'\t' | b'\r' => {}
            b'[' if line_start && depth == 0 => {
                let end = line_end(bytes, i);
                if let Some(section) = split_header(&text[i..end]) {
                    cuts.push((i, section));
                }
                i = end;
                continue;
            }
            b'#' => {
                i = line_end(bytes, i);
                continue;
            }
            b'"' | b'\'' => {
                i = string_end(bytes, i);
                line_start = false;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !matches!(byte, b'\n' | b' ' | b'\t' | b'\r') {
            line_start = false;
        }
        i += 1;
    }
    cuts
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |n| from + n)
}

/// The offset just past the string starting at `from` (a quote).
fn string_end(bytes: &[u8], from: usize) -> usize {
    let quote = bytes[from];
    let escapes = quote == b'"';
    let multiline = bytes[from..].starts_with(&[quote; 3]);
    let mut i = from + if multiline { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 1,
            b'\n' if !multiline => return i,
            b if b == quote && !multiline => return i + 1,
            b if b == quote && bytes[i..].starts_with(&[quote; 3]) => {
                // Up to two more quotes may end the content: `""""` closes after one.
                let mut end = i + 3;
                while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                    end += 1;
                }
                return end;
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The section of a `[steps.ID]` or `[preflight.ID]` header line with bare
/// keys, maybe spaced, maybe followed by a comment.
fn split_header(line: &str) -> Option<Section> {
    let (header, rest) = line.strip_prefix('[')?.split_once(']')?;
    let rest = rest.trim();
    if header.starts_with('[') || !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let bare = |key: &str| !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match header.split('.').map(str::trim).collect::<Vec<_>>().as_slice() {
        [section, id] if bare(id) => Section::named(section),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;

    use super::*;

    /// The tree with every span, to compare parses exactly.
    fn dump(value: &Spanned<DeValue<'_>>, out: &mut String) {
        let span = value.span();
        match value.get_ref() {
            DeValue::Table(table) => {
                let _ = write!(out, "{{@{span:?}");
                for (key, value) in table {
                    let _ = write!(out, " {:?}@{:?}=", key.get_ref(), key.span());
                    dump(value, out);
                }
                out.push('}');
            }
            DeValue::Array(items) => {
                let _ = write!(out, "[@{span:?}");
                for item in items {
                    dump(item, out);
                }
                out.push(']');
            }
            scalar => {
                let _ = write!(out, "{scalar:?}@{span:?} ");
            }
        }
    }

    /// The entries read in pieces, or `None` when reading fell back.
    fn entries_in_pieces(text: &str) -> Option<String> {
        let (_, pieces) = split(text)?;
        std::thread::scope(|scope| {
            let mut pieces = pieces.read_ahead(scope);
            let entries = dump_entries(pieces.by_ref());
            (!pieces.failed()).then_some(entries)
        })
    }

    fn dump_entries<'i>(entries: impl Iterator<Item = Entry<'i>>) -> String {
        let mut out = String::new();
        for entry in entries {
            let _ = write!(
                out,
                "{:?} {:?}@{:?}=",
                entry.section,
                entry.key.get_ref(),
                entry.key.span()
            );
            dump(&entry.value, &mut out);
        }
        out
    }

    /// The entries of the whole text parsed in one go, in document order
    /// within each section, preflight first.
    fn entries_whole(text: &str) -> String {
        let root = DeTable::parse(text).map(Spanned::into_inner).unwrap_or_default();
        let mut out = String::new();
        for section in Section::ALL {
            if let Some(DeValue::Table(table)) = root.get(section.key()).map(Spanned::get_ref) {
                for (key, value) in table {
                    let _ = write!(out, "{section:?} {:?}@{:?}=", key.get_ref(), key.span());
                    dump(value, &mut out);
                }
            }
        }
        out
    }

    fn large_plan(step: impl Fn(usize) -> String) -> String {
        let mut text = String::from("format = 1\nname = \"big\"\n[vars]\nx = 1\n");
        for i in 0..3000 {
            text.push_str(&step(i));
        }
        text
    }

    #[test]
    fn pieces_give_the_same_entries_and_spans_as_the_whole_text() {
        let text = large_plan(|i| {
            // A multi-line array, a header inside a multi-line string, and
            // a sub-table: none of them may be cut.
            format!(
                "[steps.s{i}] # step {i}\ndepends_on = [\n  \"s{}\",\n]\n\
                 run = {{ kind = \"shell\", command = \"\"\"\n[steps.fake]\n\"\"\" }}\n\
                 [steps.s{i}.retry]\nattempts = 2\n",
                i.saturating_sub(1)
            )
        });
        let preflight = large_plan(|i| format!("[preflight.p{i}]\nprobe = {{ kind = 'env', name = '[x]' }}\n"));
        assert!(cuts(&text).len() > 1000);
        assert_eq!(entries_in_pieces(&text), Some(entries_whole(&text)));
        assert_eq!(entries_in_pieces(&preflight), Some(entries_whole(&preflight)));
    }

    #[test]
    fn anything_a_piece_cannot_say_alone_falls_back_to_the_whole_text() {
        let duplicate = large_plan(|i| format!("[steps.s{}]\nrun = 1\n", i % 2000));
        let broken = large_plan(|i| format!("[steps.s{i}]\nrun = {}\n", if i == 2500 { "\"x" } else { "1" }));
        let foreign = large_plan(|i| format!("[steps.s{i}]\nrun = 1\n{}", if i == 2500 { "[other]\n" } else { "" }));
        let quoted = large_plan(|i| {
            format!(
                "[preflight.p{i}]\nprobe = 1\n{}",
                if i == 2500 { "[steps.\"q\"]\n" } else { "" }
            )
        });
        let reopened = large_plan(|i| {
            format!(
                "[steps.s{i}]\nrun = 1\n{}",
                if i == 2999 { "[steps.s0.retry]\n" } else { "" }
            )
        });
        for text in [duplicate, broken, foreign, quoted, reopened] {
            assert_eq!(entries_in_pieces(&text), None);
        }
        let inline = format!("steps = {{}}\n{}", large_plan(|i| format!("[steps.s{i}]\nrun = 1\n")));
        assert!(split(&inline).is_none());
    }

    #[test]
    fn only_two_part_step_and_preflight_headers_are_cut() {
        assert_eq!(split_header("[steps.a]"), Some(Section::Steps));
        assert_eq!(split_header("[ preflight . disk ] # comment"), Some(Section::Preflight));
        assert_eq!(split_header("[[steps]]"), None);
        assert_eq!(split_header("[steps.a.retry]"), None);
        assert_eq!(split_header("[vars]"), None);
        assert_eq!(split_header("[steps.\"a b\"]"), None);
    }
}
