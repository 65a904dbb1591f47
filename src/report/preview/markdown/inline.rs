//! Text from the plan made safe inside the Markdown preview: code spans
//! that survive a table cell, block quotes that cannot end themselves,
//! escaped prose, and long names shortened so no single one can take the
//! comment's room.

/// Inline code that survives a table cell: `|` escaped (GitHub splits cells
/// on it even inside backticks), line breaks shown as `⏎`, and a fence
/// longer than any run of backticks inside.
pub(super) fn code(text: &str) -> String {
    let text = text
        .trim()
        .replace('|', "\\|")
        .replace("\r\n", " ⏎ ")
        .replace('\n', " ⏎ ");
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text from the plan as a block quote, so that it cannot end the quote or
/// start a heading, a table or a fence of its own.
pub(super) fn quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|line| match escape(line.trim_end()) {
            line if line.is_empty() => ">".to_string(),
            line => format!("> {line}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A message as Markdown: its `code` spans kept, characters that would
/// start formatting outside them escaped.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (n, part) in text.split('`').enumerate() {
        if n > 0 {
            out.push('`');
        }
        if n % 2 == 1 {
            out.push_str(part);
            continue;
        }
        for c in part.chars() {
            if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// `text` cut to at most `max` characters, an `…` saying where: a name,
/// an id or a message outside a table is shown whole only when short.
pub(super) fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some(_) => {
            let kept: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{kept}…").into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_escape_pipes_and_outgrow_backticks() {
        assert_eq!(code("a | b"), "`a \\| b`");
        assert_eq!(code("echo `date`"), "`` echo `date` ``");
        assert_eq!(code("x\ny"), "`x ⏎ y`");
    }

    #[test]
    fn a_description_is_quoted_and_cannot_start_a_heading_or_a_table() {
        assert_eq!(
            quote("line1\n## Injected heading\n| a | b |\n\nlast `x_y`"),
            "> line1\n> \\#\\# Injected heading\n> \\| a \\| b \\|\n>\n> last `x_y`"
        );
    }

    #[test]
    fn messages_keep_their_code_spans() {
        assert_eq!(
            escape("step `a_b` has *no* rollback"),
            "step `a_b` has \\*no\\* rollback"
        );
    }

    #[test]
    fn only_text_longer_than_the_limit_is_shortened() {
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abcde…");
        assert_eq!(shorten("ééééééé", 3).chars().count(), 3);
    }
}
