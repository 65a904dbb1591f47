//! Building SQL text safely: identifiers and literals are quoted here, and
//! nowhere else. Values are bound as parameters wherever PostgreSQL allows
//! it; only `COPY`, which takes no parameters, gets quoted literals.

/// One identifier, always quoted, so it is taken exactly as written
/// (case-sensitive): `Users` → `"Users"`, `a"b` → `"a""b"`.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified name, `schema.table` → `"schema"."table"`.
/// A part already in double quotes is kept as written, so a name with a
/// dot in it can be given as `"my.table"`.
pub(crate) fn quote_qualified(name: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                part.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut part)),
            c => part.push(c),
        }
    }
    parts.push(part);
    if quoted {
        return Err(format!("`{name}` has an unclosed double quote"));
    }
    if parts.iter().any(String::is_empty) || parts.len() > 3 {
        return Err(format!("`{name}` is not a name like `table` or `schema.table`"));
    }
    Ok(parts.iter().map(|p| quote_ident(p)).collect::<Vec<_>>().join("."))
}

/// A string literal, safe whatever `standard_conforming_strings` is: a
/// backslash switches to the `E'...'` form with backslashes doubled (what
/// PostgreSQL's own `quote_literal` does).
pub(crate) fn quote_literal(value: &str) -> String {
    let quoted = value.replace('\'', "''");
    if value.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// Splits a script into statements at top-level semicolons, skipping
/// semicolons in strings (`'…'`, `E'…'`, `$tag$…$tag$`), quoted identifiers,
/// comments and SQL-standard function bodies (`BEGIN ATOMIC … END`, with
/// the `CASE … END` inside them). Empty statements are dropped.
pub(crate) fn split_statements(script: &str) -> Vec<String> {
    let bytes = script.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut i = 0;
    // Open `BEGIN ATOMIC` bodies and `CASE`s inside them.
    let mut atomic = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b if (b.is_ascii_alphabetic() || b == b'_') && !is_ident_byte(bytes, i.wrapping_sub(1)) => {
                let end = word_end(bytes, i);
                let word = &script[i..end];
                let opens = (word.eq_ignore_ascii_case("begin")
                    && next_word(script, end).eq_ignore_ascii_case("atomic"))
                    || (atomic > 0 && word.eq_ignore_ascii_case("case"));
                if opens {
                    atomic += 1;
                } else if atomic > 0 && word.eq_ignore_ascii_case("end") {
                    atomic -= 1;
                }
                i = end;
            }
            b';' if atomic > 0 => i += 1,
            b'\'' => {
                let escapes = i > 0 && matches!(bytes[i - 1], b'e' | b'E') && !is_ident_byte(bytes, i.wrapping_sub(2));
                i = skip_quoted(bytes, i, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'$' if !is_ident_byte(bytes, i.wrapping_sub(1)) => i = skip_dollar_quoted(script, i),
            b';' => {
                push_statement(&mut statements, &script[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    push_statement(&mut statements, &script[start..]);
    statements
}

fn push_statement(statements: &mut Vec<String>, text: &str) {
    if has_code(text) {
        statements.push(text.trim().to_string());
    }
}

/// Whether `text` holds more than whitespace and comments.
fn has_code(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b if b.is_ascii_whitespace() => i += 1,
            _ => return true,
        }
    }
    false
}

/// Past the identifier-like word starting at `start`.
fn word_end(bytes: &[u8], start: usize) -> usize {
    let mut end = start;
    while is_ident_byte(bytes, end) {
        end += 1;
    }
    end
}

/// The word after `at`, past whitespace and comments ("" when none).
fn next_word(script: &str, at: usize) -> &str {
    let start = skip_space(script, at);
    let bytes = script.as_bytes();
    if bytes.get(start).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        &script[start..word_end(bytes, start)]
    } else {
        ""
    }
}

/// Past whitespace and comments from `at`.
pub(crate) fn skip_space(script: &str, mut at: usize) -> usize {
    let bytes = script.as_bytes();
    while at < bytes.len() {
        match bytes[at] {
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                at = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| at + n + 1);
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => at = skip_block_comment(bytes, at),
            b if b.is_ascii_whitespace() => at += 1,
            _ => break,
        }
    }
    at
}

/// The first `count` words of a statement, upper-cased, past comments.
pub(crate) fn leading_words(statement: &str, count: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut at = 0;
    while words.len() < count {
        let word = next_word(statement, at);
        if word.is_empty() {
            break;
        }
        at = skip_space(statement, at) + word.len();
        words.push(word.to_ascii_uppercase());
    }
    words
}

/// Whether the byte at `at` (if any) continues an identifier or a number.
fn is_ident_byte(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80)
}

/// Past the quote closing the one at `open` (a doubled quote is part of the text).
fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Past the end of a (nestable) `/* … */` comment starting at `open`.
fn skip_block_comment(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Past a `$tag$ … $tag$` string starting at `open`; a `$` that does not
/// open one (a parameter like `$1`) is skipped alone.
fn skip_dollar_quoted(script: &str, open: usize) -> usize {
    let rest = &script[open + 1..];
    let tag_len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let tag = &rest[..tag_len];
    if !rest[tag_len..].starts_with('$') || tag.starts_with(|c: char| c.is_ascii_digit()) {
        return open + 1;
    }
    let delimiter = format!("${tag}$");
    let body = open + delimiter.len();
    script[body..]
        .find(&delimiter)
        .map_or(script.len(), |at| body + at + delimiter.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_exactly() {
        assert_eq!(quote_ident("users"), r#""users""#);
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(quote_qualified("public.Users").as_deref(), Ok(r#""public"."Users""#));
        assert_eq!(quote_qualified(r#""my.table""#).as_deref(), Ok(r#""my.table""#));
        assert_eq!(quote_qualified(r#"s."a""b""#).as_deref(), Ok(r#""s"."a""b""#));
        assert!(quote_qualified("a..b").is_err());
        assert!(quote_qualified(r#""open"#).is_err());
        assert!(quote_qualified("").is_err());
    }

    #[test]
    fn literals_survive_quotes_and_backslashes() {
        assert_eq!(quote_literal("42"), "'42'");
        assert_eq!(quote_literal("O'Brien"), "'O''Brien'");
        assert_eq!(quote_literal(r"a\'b"), r"E'a\\''b'");
    }

    #[test]
    fn scripts_split_at_top_level_semicolons_only() {
        let script = r#"
            -- a comment; not a statement
            CREATE TABLE "a;b" (v text DEFAULT 'x;y');
            /* block; /* nested; */ still comment; */
            INSERT INTO t VALUES (E'it\'s; fine');
            CREATE FUNCTION f() RETURNS int AS $fn$ SELECT 1; $fn$ LANGUAGE sql;
            SELECT $1;;
            CREATE DATABASE x
        "#;
        let statements = split_statements(script);
        assert_eq!(statements.len(), 5, "{statements:#?}");
        assert!(statements[0].ends_with("DEFAULT 'x;y')"));
        assert!(statements[1].starts_with("/* block"));
        assert!(statements[2].starts_with("CREATE FUNCTION") && statements[2].ends_with("LANGUAGE sql"));
        assert_eq!(statements[3], "SELECT $1");
        assert_eq!(statements[4], "CREATE DATABASE x");
        assert!(split_statements(" -- only a comment\n ; ").is_empty());
    }

    #[test]
    fn standard_function_bodies_stay_whole() {
        let script = "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT f(1); end_date; BEGIN; COMMIT";
        let statements = split_statements(script);
        assert_eq!(statements.len(), 5, "{statements:#?}");
        assert!(statements[0].ends_with("SELECT 2;\nEND"), "{}", statements[0]);
        assert_eq!(statements[1], "SELECT f(1)");
        assert_eq!(statements[3], "BEGIN");
    }

    #[test]
    fn leading_words_skip_comments() {
        assert_eq!(
            leading_words("/* x */ -- y\n  rollback  to s", 3),
            ["ROLLBACK", "TO", "S"]
        );
        assert_eq!(leading_words("COMMIT", 3), ["COMMIT"]);
        assert!(leading_words("-- nothing", 2).is_empty());
    }
}
