//! Interpolation in plan strings: `${vars.NAME}`, `${secrets.NAME}`,
//! `${env.NAME}`, `${steps.ID.outputs.KEY}`; `$${` is a literal `${`.
//!
//! Parsing is separate from substitution so that validation can report every
//! bad reference with its position before anything is resolved.

use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Reference {
    Var(String),
    Secret(String),
    Env(String),
    Output { step: String, key: String },
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Var(name) => write!(f, "vars.{name}"),
            Reference::Secret(name) => write!(f, "secrets.{name}"),
            Reference::Env(name) => write!(f, "env.{name}"),
            Reference::Output { step, key } => write!(f, "steps.{step}.outputs.{key}"),
        }
    }
}

/// One piece of a parsed template; ranges are byte offsets into the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    /// `$${` written in the plan, meaning a literal `${`.
    EscapedOpen,
    Ref(Reference, Range<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    /// Byte range of the offending `${...` in the string.
    pub range: Range<usize>,
    pub message: String,
    pub help: String,
}

/// Splits `text` into literal text and references; the first malformed
/// reference is the error (see [`errors`] for all of them).
pub(crate) fn parse(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut errors = Vec::new();
    let pieces = scan(text, &mut errors);
    match errors.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(pieces),
    }
}

/// Every malformed reference in `text`, in order.
pub(crate) fn errors(text: &str) -> Vec<TemplateError> {
    let mut errors = Vec::new();
    scan(text, &mut errors);
    errors
}

/// The pieces of `text`; a malformed reference is left out of them and
/// added to `errors`, and the scan goes on after it.
fn scan<'t>(text: &'t str, errors: &mut Vec<TemplateError>) -> Vec<Piece<'t>> {
    let mut pieces = Vec::new();
    let mut rest_start = 0;
    let mut search_from = 0;
    while let Some(found) = text[search_from..].find("${") {
        let open = search_from + found;
        if open > 0 && text.as_bytes()[open - 1] == b'$' {
            if open - 1 > rest_start {
                pieces.push(Piece::Text(&text[rest_start..open - 1]));
            }
            pieces.push(Piece::EscapedOpen);
            rest_start = open + 2;
            search_from = open + 2;
            continue;
        }
        let Some(close) = text[open..].find('}').map(|i| open + i) else {
            errors.push(TemplateError {
                range: open..text.len(),
                message: "unclosed `${` in interpolation".into(),
                help: "close it with `}`, or write `$${` for a literal `${`".into(),
            });
            return pieces;
        };
        if open > rest_start {
            pieces.push(Piece::Text(&text[rest_start..open]));
        }
        match parse_reference(&text[open + 2..close]) {
            Ok(reference) => pieces.push(Piece::Ref(reference, open..close + 1)),
            Err((message, help)) => errors.push(TemplateError {
                range: open..close + 1,
                message,
                help,
            }),
        }
        rest_start = close + 1;
        search_from = close + 1;
    }
    if rest_start < text.len() {
        pieces.push(Piece::Text(&text[rest_start..]));
    }
    pieces
}

fn parse_reference(inner: &str) -> Result<Reference, (String, String)> {
    if inner.trim() != inner && !inner.trim().is_empty() {
        return Err((
            format!("spaces in `${{{inner}}}`"),
            format!("write it without spaces: `${{{}}}`", inner.trim()),
        ));
    }
    // Up to five parts, without allocating: a fifth means too many.
    let mut split = inner.split('.');
    let parts: [Option<&str>; 5] = std::array::from_fn(|_| split.next());
    let valid_name =
        |name: &str| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let reference = match parts {
        [Some("vars"), Some(name), None, ..] if valid_name(name) => Reference::Var(name.into()),
        [Some("secrets"), Some(name), None, ..] if valid_name(name) => Reference::Secret(name.into()),
        [Some("env"), Some(name), None, ..] if valid_name(name) => Reference::Env(name.into()),
        [Some("steps"), Some(step), Some("outputs"), Some(key), None] if valid_name(step) && valid_name(key) => {
            Reference::Output {
                step: step.into(),
                key: key.into(),
            }
        }
        [Some(namespace), ..] if ["vars", "secrets", "env", "steps"].contains(&namespace) => {
            let form = if namespace == "steps" {
                "`${steps.ID.outputs.KEY}`".to_string()
            } else {
                format!("`${{{namespace}.NAME}}`")
            };
            return Err((
                format!("malformed reference `${{{inner}}}`"),
                format!("write it as {form}; names use letters, digits, `_` and `-`"),
            ));
        }
        _ => {
            return Err((
                format!("unknown interpolation `${{{inner}}}`"),
                format!(
                    "references start with `vars.`, `secrets.`, `env.` or `steps.`; for a literal `${{` (a shell variable, say) write `$${{{inner}}}`"
                ),
            ));
        }
    };
    Ok(reference)
}

/// Rebuilds the string, asking `resolve` for each reference. `resolve`
/// returns `None` to keep the reference as written (resolved later).
/// Escapes are kept unless `unescape` is set (the final rendering).
pub(crate) fn substitute<E>(
    text: &str,
    unescape: bool,
    mut resolve: impl FnMut(&Reference) -> Result<Option<String>, E>,
) -> Result<String, SubstituteError<E>> {
    let pieces = parse(text).map_err(SubstituteError::Template)?;
    let write = |reference: &Reference, out: &mut String| {
        let value = resolve(reference)?;
        Ok(value.map(|value| out.push_str(&value)).is_some())
    };
    render(&pieces, text, unescape, write).map_err(SubstituteError::Resolve)
}

/// [`substitute`] for a string already parsed into `pieces`. `resolve`
/// writes a reference's value to the output and says whether it did; a
/// reference it does not write is kept as written.
pub(crate) fn render<E>(
    pieces: &[Piece<'_>],
    text: &str,
    unescape: bool,
    mut resolve: impl FnMut(&Reference, &mut String) -> Result<bool, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(literal) => out.push_str(literal),
            Piece::EscapedOpen if unescape => out.push_str("${"),
            Piece::EscapedOpen => out.push_str("$${"),
            Piece::Ref(reference, range) => {
                if !resolve(reference, &mut out)? {
                    out.push_str(&text[range.clone()]);
                }
            }
        }
    }
    Ok(out)
}

#[derive(Debug)]
pub(crate) enum SubstituteError<E> {
    Template(TemplateError),
    Resolve(E),
}

/// `Some(reference)` when the whole string (parsed into `pieces`) is
/// exactly one reference, so a typed value (a port number) can stand in
/// for it.
pub(crate) fn sole_reference<'p>(pieces: &'p [Piece<'_>], text: &str) -> Option<&'p Reference> {
    match pieces {
        [Piece::Ref(reference, range)] if range.len() == text.len() => Some(reference),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(text: &str) -> Result<Vec<(Reference, Range<usize>)>, TemplateError> {
        Ok(parse(text)?
            .into_iter()
            .filter_map(|piece| match piece {
                Piece::Ref(reference, range) => Some((reference, range)),
                _ => None,
            })
            .collect())
    }

    fn refs(text: &str) -> Vec<String> {
        references(text)
            .unwrap_or_default()
            .into_iter()
            .map(|(r, range)| format!("{r}@{}..{}", range.start, range.end))
            .collect()
    }

    #[test]
    fn finds_every_namespace_with_positions() {
        assert_eq!(
            refs("a ${vars.x} ${secrets.pw}${env.HOME} ${steps.backup.outputs.file}"),
            [
                "vars.x@2..11",
                "secrets.pw@12..25",
                "env.HOME@25..36",
                "steps.backup.outputs.file@37..65"
            ]
        );
    }

    #[test]
    fn dollar_dollar_brace_is_a_literal() {
        assert_eq!(refs("echo $${HOME} ${vars.x}"), ["vars.x@14..23"]);
        let out = substitute::<()>("echo $${HOME}", true, |_| Ok(None));
        assert_eq!(out.ok().as_deref(), Some("echo ${HOME}"));
        let kept = substitute::<()>("echo $${HOME}", false, |_| Ok(None));
        assert_eq!(kept.ok().as_deref(), Some("echo $${HOME}"));
    }

    #[test]
    fn reports_unclosed_and_unknown_references() {
        let error = references("x ${vars.a").err();
        assert_eq!(error.map(|e| e.range), Some(2..10));
        let error = references("echo ${HOME}").err();
        assert_eq!(error.as_ref().map(|e| e.range.clone()), Some(5..12));
        assert!(error.is_some_and(|e| e.help.contains("$${HOME}")));
        assert!(references("${steps.a.output.k}").is_err());
        assert!(references("${vars.}").is_err());
        assert!(references("${ vars.x }").is_err());
    }

    #[test]
    fn every_malformed_reference_is_an_error() {
        let ranges: Vec<Range<usize>> = errors("${vars.} ${foo.bar} ${env.} ${vars.ok} ${x")
            .into_iter()
            .map(|e| e.range)
            .collect();
        assert_eq!(ranges, [0..8, 9..19, 20..27, 39..42]);
    }

    #[test]
    fn substitutes_and_keeps_unresolved_references() {
        let out = substitute::<()>("${vars.a}-${secrets.b}", false, |r| {
            Ok(matches!(r, Reference::Var(_)).then(|| "A".to_string()))
        });
        assert_eq!(out.ok().as_deref(), Some("A-${secrets.b}"));
    }

    #[test]
    fn sole_reference_requires_the_whole_string() {
        let sole = |text: &str| parse(text).ok().and_then(|p| sole_reference(&p, text).cloned());
        assert_eq!(sole("${vars.port}"), Some(Reference::Var("port".into())));
        assert_eq!(sole(" ${vars.port}"), None);
        assert_eq!(sole("${vars.a}${vars.b}"), None);
    }
}
