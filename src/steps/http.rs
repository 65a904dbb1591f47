//! `http`: a request with status and body expectations.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::duration::Duration;
use crate::plan::field_check::FieldCheck;
use crate::steps::KindSpec;

/// Sends a request and checks the answer. With `wait`, retries every
/// `interval` until it passes or `wait` runs out ("wait until healthy").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Http {
    pub url: String,
    /// HTTP method (default `GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Expected status (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Text the response body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// PEM file of a CA to trust (for self-signed certificates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    /// Skip TLS certificate verification (like `curl -k`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Keep trying until this much time has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
    /// Pause between tries while waiting (default 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Timeout of one request (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<Duration>,
}

const METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"];

impl Http {
    pub fn method(&self) -> String {
        self.method.as_deref().unwrap_or("GET").to_ascii_uppercase()
    }

    pub fn is_safe_method(&self) -> bool {
        matches!(self.method().as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

impl KindSpec for Http {
    fn summary(&self) -> String {
        let mut out = format!("{} {}", self.method(), self.url);
        match self.status {
            Some(status) => out.push_str(&format!(" → {status}")),
            None => out.push_str(" → 2xx"),
        }
        if let Some(text) = &self.body_contains {
            out.push_str(&format!(" containing {text:?}"));
        }
        if self.insecure {
            out.push_str(" (insecure TLS)");
        }
        if let Some(wait) = self.wait {
            out.push_str(&format!(" (wait up to {wait})"));
        }
        out
    }

    fn validate(&self, check: &mut FieldCheck<'_>) {
        check.url("url", &self.url, &["http", "https"]);
        if !METHODS.contains(&self.method().as_str()) {
            check.error(
                "method",
                format!("unknown HTTP method `{}`", self.method()),
                format!("use one of {}", METHODS.join(", ")),
            );
        }
        if let Some(status) = self.status
            && !(100..=599).contains(&status)
        {
            check.error(
                "status",
                format!("{status} is not an HTTP status"),
                "use a status between 100 and 599",
            );
        }
        if self.insecure && self.ca_cert.is_some() {
            check.error(
                "insecure",
                "`insecure` and `ca_cert` cannot be used together",
                "trust the CA with `ca_cert`, or skip verification with `insecure`",
            );
        }
    }
}
