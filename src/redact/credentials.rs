//! Connection URLs in messages: shown without their password, and the
//! password (as written, percent-decoded, or as a `password=` parameter)
//! scrubbed from anything a driver says about them. This holds whether or
//! not the password is a declared secret: one typed into a var is kept out
//! of output and state too.

use crate::redact::MASK;

/// Shows a connection URL without its password (in the user info or a
/// `password=` parameter).
pub(crate) fn display_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "password" {
                    "***".into()
                } else {
                    value.into_owned()
                };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// The password values a URL carries.
pub(crate) fn passwords(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(password) = parsed.password() {
        out.push(password.to_string());
        if let Ok(decoded) = percent_decode(password) {
            out.push(decoded);
        }
    }
    out.extend(
        parsed
            .query_pairs()
            .filter(|(key, _)| key == "password")
            .map(|(_, value)| value.into_owned()),
    );
    out.retain(|p| !p.is_empty());
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out
}

fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

/// `text` (something a driver said about `url`) without the passwords of
/// `url`; the URL itself, if quoted, is shown as [`display_url`] does.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    const PLACEHOLDER: &str = "\u{0}url\u{0}";
    let mut out = text.replace(url, PLACEHOLDER);
    for password in passwords(url) {
        out = out.replace(&password, MASK);
    }
    out.replace(PLACEHOLDER, &display_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed_raw_decoded_and_from_parameters() {
        let url = "postgres://app:p%40ss@db:5432/x?password=other&sslmode=disable";
        let text = format!("failed for {url}: password p@ss, p%40ss and other rejected");
        let scrubbed = scrub(&text, url);
        assert!(!scrubbed.contains("p@ss") && !scrubbed.contains("p%40ss"), "{scrubbed}");
        assert!(!scrubbed.contains("other"), "{scrubbed}");
        assert!(scrubbed.contains("postgres://app:***@db:5432/x"), "{scrubbed}");
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(
            display_url("amqp://guest:guest@host:5672/%2f"),
            "amqp://guest:***@host:5672/%2f"
        );
        assert_eq!(
            display_url("postgres://app@db/x?sslmode=require&password=s3"),
            "postgres://app@db/x?sslmode=require&password=***"
        );
        assert_eq!(display_url("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn the_quoted_url_keeps_what_is_not_the_password() {
        let url = "postgres://postgres:postgres@db/x";
        assert_eq!(
            scrub(&format!("cannot reach {url}: bad password postgres"), url),
            "cannot reach postgres://postgres:***@db/x: bad password ***"
        );
    }

    #[test]
    fn a_url_without_password_is_left_alone() {
        assert_eq!(scrub("no secret here", "postgres://db/x"), "no secret here");
    }
}
