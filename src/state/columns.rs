//! What both backends store the same way: JSON-encoded columns, and the
//! schema version check.

use crate::state::error::StateError;
use crate::state::store::Result;

/// The version of the tables this planrun writes (both backends).
pub const SCHEMA_VERSION: i64 = 1;

pub fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

pub fn parse_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StateError::corrupt(format!("{what}: {e}")))
}

/// Judges the stored `schema_version`: `Ok(true)` when there is none yet
/// (a new state: record ours), `Ok(false)` when it can be read.
pub fn needs_version(found: Option<String>) -> Result<bool> {
    match found.map(|v| v.parse::<i64>()) {
        None => Ok(true),
        Some(Ok(found)) if found > SCHEMA_VERSION => Err(StateError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(Ok(_)) => Ok(false),
        Some(Err(_)) => Err(StateError::corrupt("schema_version is not a number")),
    }
}
