//! TOML text → [`DeTable`], in pieces for large plans.
//!
//! The `toml` crate lexes a whole document into token and event buffers
//! before it builds the tree: for a 20,000-step plan those buffers alone
//! take over 100 MB. A large plan is therefore cut at its `[steps.ID]` and
//! `[preflight.ID]` headers into pieces of about [`PIECE`] bytes, each
//! parsed on its own and merged, with spans moved back to their place in
//! the whole text.
//!
//! Cutting must never change the result. Whenever it could (a piece with a
//! syntax error, a step defined in two pieces, `steps` written as anything
//! but `[steps.ID]` headers), the whole text is parsed in one go instead,
//! so every error is the one the `toml` crate reports for the whole file.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

/// Below this size a plan is parsed whole; pieces are about this large.
const PIECE: usize = 64 * 1024;

/// The sections whose entries may be split across pieces.
const SPLIT_SECTIONS: [&str; 2] = ["steps", "preflight"];

pub fn parse(text: &str) -> (Spanned<DeTable<'_>>, Vec<toml::de::Error>) {
    if text.len() > 2 * PIECE
        && let Some(table) = parse_in_pieces(text)
    {
        return (table, Vec::new());
    }
    DeTable::parse_recoverable(text)
}

/// `None` when the text cannot be parsed in pieces with the same result.
fn parse_in_pieces(text: &str) -> Option<Spanned<DeTable<'_>>> {
    let cuts = cuts(text);
    let (&first, rest) = cuts.split_first()?;
    let head = DeTable::parse(&text[..first]).ok()?.into_inner();
    if SPLIT_SECTIONS.iter().any(|section| head.contains_key(*section)) {
        return None;
    }
    let mut root = head;
    let mut start = first;
    for &end in rest.iter().chain([&text.len()]) {
        if end - start < PIECE && end != text.len() {
            continue;
        }
        let piece = DeTable::parse(&text[start..end]).ok()?.into_inner();
        merge(&mut root, piece, start)?;
        start = end;
    }
    // `DeTable::parse` gives the root an empty span; keep it the same.
    Some(Spanned::new(0..0, root))
}

/// Merges a parsed piece that started at byte `offset` into `root`. `None`
/// when the piece redefines something: the whole text must be parsed to
/// report it as the `toml` crate does.
fn merge<'i>(root: &mut DeTable<'i>, piece: DeTable<'i>, offset: usize) -> Option<()> {
    for (key, value) in piece {
        match root.get_mut(key.get_ref().as_ref()) {
            None => {
                root.insert(shift_key(key, offset), shift(value, offset));
            }
            Some(existing) if SPLIT_SECTIONS.contains(&key.get_ref().as_ref()) => {
                let (DeValue::Table(into), DeValue::Table(entries)) = (existing.get_mut(), value.into_inner()) else {
                    return None;
                };
                for (id, entry) in entries {
                    if into.contains_key(id.get_ref().as_ref()) {
                        return None;
                    }
                    into.insert(shift_key(id, offset), shift(entry, offset));
                }
            }
            Some(_) => return None,
        }
    }
    Some(())
}

fn moved(span: Range<usize>, offset: usize) -> Range<usize> {
    span.start + offset..span.end + offset
}

fn shift_key<'i>(key: Spanned<DeString<'i>>, offset: usize) -> Spanned<DeString<'i>> {
    Spanned::new(moved(key.span(), offset), key.into_inner())
}

fn shift<'i>(value: Spanned<DeValue<'i>>, offset: usize) -> Spanned<DeValue<'i>> {
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
fn cuts(text: &str) -> Vec<usize> {
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
                if is_split_header(&text[i..end]) {
                    cuts.push(i);
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
            b if b == quote && (!multiline || bytes[i..].starts_with(&[quote; 3])) => {
                if !multiline {
                    return i + 1;
                }
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

/// `[steps.ID]` or `[preflight.ID]` with bare keys, maybe spaced, maybe
/// followed by a comment.
fn is_split_header(line: &str) -> bool {
    let Some((header, rest)) = line.strip_prefix('[').and_then(|l| l.split_once(']')) else {
        return false;
    };
    let rest = rest.trim();
    if header.starts_with('[') || !(rest.is_empty() || rest.starts_with('#')) {
        return false;
    }
    let bare = |key: &str| !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match header.split('.').map(str::trim).collect::<Vec<_>>().as_slice() {
        [section, id] => SPLIT_SECTIONS.contains(section) && bare(id),
        _ => false,
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
                for (key, value) in table.iter() {
                    let _ = write!(out, " {:?}@{:?}=", key.get_ref(), key.span());
                    dump(value, out);
                }
                out.push('}');
            }
            DeValue::Array(items) => {
                let _ = write!(out, "[@{span:?}");
                for item in items.iter() {
                    dump(item, out);
                }
                out.push(']');
            }
            scalar => {
                let _ = write!(out, "{scalar:?}@{span:?} ");
            }
        }
    }

    fn same_as_whole(text: &str) -> bool {
        let whole = DeTable::parse_recoverable(text);
        let pieces = parse(text);
        let (mut a, mut b) = (String::new(), String::new());
        dump(
            &Spanned::new(whole.0.span(), DeValue::Table(whole.0.into_inner())),
            &mut a,
        );
        dump(
            &Spanned::new(pieces.0.span(), DeValue::Table(pieces.0.into_inner())),
            &mut b,
        );
        a == b && whole.1.len() == pieces.1.len()
    }

    fn large_plan(step: impl Fn(usize) -> String) -> String {
        let mut text = String::from("format = 1\nname = \"big\"\n[vars]\nx = 1\n");
        for i in 0..3000 {
            text.push_str(&step(i));
        }
        text
    }

    #[test]
    fn pieces_give_the_same_tree_and_spans_as_the_whole_text() {
        let text = large_plan(|i| {
            format!(
                "[steps.s{i}] # step {i}\ndepends_on = [\n  \"s{}\",\n]\nrun = {{ kind = \"shell\", command = \"\"\"\n[steps.fake]\n\"\"\" }}\n[preflight.p{i}]\nprobe = {{ kind = 'env', name = '[x]' }}\n",
                i.saturating_sub(1)
            )
        });
        assert!(cuts(&text).len() > 1000);
        assert!(parse_in_pieces(&text).is_some());
        assert!(same_as_whole(&text));
    }

    #[test]
    fn redefinitions_and_errors_fall_back_to_the_whole_text() {
        let duplicate = large_plan(|i| format!("[steps.s{}]\nrun = 1\n", i % 2000));
        assert!(parse_in_pieces(&duplicate).is_none());
        assert!(same_as_whole(&duplicate));
        let broken = large_plan(|i| format!("[steps.s{i}]\nrun = {}\n", if i == 2500 { "\"x" } else { "1" }));
        assert!(parse_in_pieces(&broken).is_none());
        assert!(same_as_whole(&broken));
        let inline = format!("steps = {{}}\n{}", large_plan(|i| format!("[steps.s{i}]\nrun = 1\n")));
        assert!(parse_in_pieces(&inline).is_none());
        assert!(same_as_whole(&inline));
    }

    #[test]
    fn only_two_part_step_and_preflight_headers_are_cut() {
        assert!(is_split_header("[steps.a]"));
        assert!(is_split_header("[ preflight . disk ] # comment"));
        assert!(!is_split_header("[[steps]]"));
        assert!(!is_split_header("[steps.a.retry]"));
        assert!(!is_split_header("[vars]"));
        assert!(!is_split_header("[steps.\"a b\"]"));
    }
}
