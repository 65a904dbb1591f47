//! Durations as written in plans: `"500ms"`, `"30s"`, `"5m"`, `"1h30m"`, `"2d"`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// What [`Duration::parse`] accepts, for the JSON Schema (without spaces).
const PATTERN: &str = "^([0-9]+d([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?|[0-9]+h([0-9]+m)?([0-9]+s)?([0-9]+ms)?|[0-9]+m([0-9]+s)?([0-9]+ms)?|[0-9]+s([0-9]+ms)?|[0-9]+ms)$";

/// A non-negative duration with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Duration {
    millis: u64,
}

impl Duration {
    pub(crate) const fn from_millis(millis: u64) -> Duration {
        Duration { millis }
    }

    pub(crate) const fn from_secs(secs: u64) -> Duration {
        Duration { millis: secs * 1000 }
    }

    pub(crate) fn as_millis(self) -> u64 {
        self.millis
    }

    pub(crate) fn std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.millis)
    }

    /// Parses `1h30m`-style text: one or more `<integer><unit>` groups.
    pub(crate) fn parse(text: &str) -> Result<Duration, String> {
        let invalid = || {
            format!(
                "invalid duration `{text}`: expected a number with a unit, like \"500ms\", \"30s\", \"5m\" or \"1h30m\""
            )
        };
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut millis: u64 = 0;
        // Units go from the largest to the smallest, each at most once.
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return Err(invalid());
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("duration `{text}` is too large"))?;
            rest = &rest[digits..];
            if rest.starts_with(['.', ',']) {
                return Err(format!(
                    "invalid duration `{text}`: whole numbers only; a smaller unit takes the fraction, like \"1500ms\" or \"1m30s\""
                ));
            }
            if rest.is_empty() {
                return Err(format!(
                    "invalid duration `{text}`: the number needs a unit (ms, s, m, h or d), like \"{number}s\""
                ));
            }
            let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
            let unit = rest[..unit_len].trim();
            let position = UNITS.iter().position(|(name, _)| *name == unit).ok_or_else(invalid)?;
            if position < next_unit {
                return Err(format!(
                    "invalid duration `{text}`: each unit at most once, the largest first, like \"1h30m\""
                ));
            }
            next_unit = position + 1;
            let factor = UNITS[position].1;
            millis = number
                .checked_mul(factor)
                .and_then(|part| millis.checked_add(part))
                .ok_or_else(|| format!("duration `{text}` is too large"))?;
            rest = &rest[unit_len..];
        }
        Ok(Duration { millis })
    }
}

impl fmt::Display for Duration {
    /// The shortest canonical spelling: `90s` is shown as `1m30s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.millis;
        for (unit, factor) in UNITS {
            if rest >= factor {
                write!(f, "{}{unit}", rest / factor)?;
                rest %= factor;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like \"30s\" or \"5m\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Duration, E> {
                Duration::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: one or more <integer><unit> groups, units d, h, m, s, ms, each at most once and the largest first (\"500ms\", \"30s\", \"1h30m\").",
            "type": "string",
            "pattern": PATTERN
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_why_a_duration_is_not_one() {
        let error = |text: &str| Duration::parse(text).err().unwrap_or_default();
        assert!(error("1.5s").contains("whole numbers only"), "{}", error("1.5s"));
        assert!(error("0").contains("needs a unit"), "{}", error("0"));
        assert!(error("99999999999999999999h").contains("too large"));
        assert!(error("abc").contains("expected a number with a unit"));
    }

    #[test]
    fn parses_compound_durations() {
        assert_eq!(Duration::parse("1h30m").map(Duration::as_millis), Ok(5_400_000));
        assert_eq!(Duration::parse("500ms").map(Duration::as_millis), Ok(500));
        assert_eq!(Duration::parse("2d").map(Duration::as_millis), Ok(172_800_000));
    }

    #[test]
    fn rejects_missing_units_signs_and_garbage() {
        for text in [
            "",
            "5",
            "-5s",
            "5 mins",
            "s",
            "1.5h",
            "5x",
            "99999999999999999999d",
            "1d1d",
            "30m1h",
            "5s5s",
        ] {
            assert!(Duration::parse(text).is_err(), "{text} should not parse");
        }
    }

    #[test]
    fn the_schema_pattern_agrees_with_the_parser() {
        let pattern = regex::Regex::new(PATTERN).ok();
        for text in [
            "30s",
            "5ms",
            "5m",
            "1h30m15s500ms",
            "2d1h",
            "1d1d",
            "30m1h",
            "5s5ms5s",
            "5",
            "",
            "m",
        ] {
            let matched = pattern.as_ref().is_some_and(|p| p.is_match(text));
            assert_eq!(matched, Duration::parse(text).is_ok(), "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["0s", "500ms", "1m30s", "2d1h", "1h0m"] {
            let parsed = Duration::parse(text).unwrap_or_default();
            assert_eq!(Duration::parse(&parsed.to_string()), Ok(parsed));
        }
        assert_eq!(Duration::from_secs(90).to_string(), "1m30s");
    }
}
