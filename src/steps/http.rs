//! `http`: a request with status and body expectations.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::KindSpec;
use crate::units::duration::Duration;

/// Sends a request and checks the answer. With `wait`, retries every
/// `interval` until it passes or `wait` runs out ("wait until healthy").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Http {
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
    pub(crate) fn method(&self) -> String {
        self.method.as_deref().unwrap_or("GET").to_ascii_uppercase()
    }

    pub(crate) fn is_safe_method(&self) -> bool {
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

    fn validate(&self, check: &mut dyn FieldChecks) {
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

mod behaviour {
    //! Sends the request with reqwest (rustls) and checks the answer.

    use std::time::Duration;

    use super::Http;
    use crate::steps::context::StepContext;
    use crate::steps::outcome::{Applied, StepError};
    use crate::steps::wait;
    use crate::steps::{ActionKind, ProbeKind};

    const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    const BODY_IN_ERRORS: usize = 300;

    impl Http {
        fn client(&self, ctx: &StepContext) -> Result<reqwest::Client, StepError> {
            let mut builder = reqwest::Client::builder()
                .timeout(
                    self.request_timeout
                        .map_or(DEFAULT_REQUEST_TIMEOUT, crate::units::duration::Duration::std),
                )
                .redirect(reqwest::redirect::Policy::limited(5));
            if self.insecure {
                builder = builder.tls_danger_accept_invalid_certs(true);
            }
            if let Some(path) = &self.ca_cert {
                let path = ctx.path(path);
                let pem = std::fs::read(&path)
                    .map_err(|e| StepError::failed(format!("cannot read CA certificate `{}`: {e}", path.display())))?;
                let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| StepError::failed(format!("`{}` is not a PEM certificate: {e}", path.display())))?;
                builder = builder.tls_certs_merge(certificates);
            }
            builder
                .build()
                .map_err(|e| StepError::failed(format!("cannot set up the HTTP client: {e}")))
        }

        async fn exchange(&self, client: &reqwest::Client, ctx: &StepContext) -> Result<(), StepError> {
            let method = reqwest::Method::from_bytes(self.method().as_bytes())
                .map_err(|_| StepError::failed(format!("bad HTTP method `{}`", self.method())))?;
            let mut request = client.request(method, &self.url);
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            if let Some(body) = &self.body {
                request = request.body(body.clone());
            }
            let response = request.send().await.map_err(|e| {
                let message = describe(&e);
                let hint = tls_hint(&message).map(String::from).into_iter().collect();
                StepError::with_detail(message, hint)
            })?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            ctx.log.line(&format!("{} {} → {status}", self.method(), self.url));
            let status_ok = match self.status {
                Some(expected) => status.as_u16() == expected,
                None => status.is_success(),
            };
            if !status_ok {
                let expected = self.status.map_or("a 2xx status".to_string(), |s| s.to_string());
                return Err(StepError::with_detail(
                    format!("{} answered {status}, expected {expected}", self.url),
                    excerpt(&body),
                ));
            }
            if let Some(needle) = &self.body_contains
                && !body.contains(needle.as_str())
            {
                return Err(StepError::with_detail(
                    format!("the body of {} does not contain {needle:?}", self.url),
                    excerpt(&body),
                ));
            }
            Ok(())
        }

        async fn send(&self, ctx: &StepContext) -> Result<(), StepError> {
            let client = self.client(ctx)?;
            let interval = self
                .interval
                .map_or(wait::DEFAULT_INTERVAL, crate::units::duration::Duration::std);
            wait::until(
                ctx,
                self.wait.map(crate::units::duration::Duration::std),
                interval,
                || self.exchange(&client, ctx),
            )
            .await
        }
    }

    /// The error and its causes: reqwest's own message alone ("error
    /// sending request") hides the reason.
    fn describe(error: &reqwest::Error) -> String {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        message
    }

    /// What to do about a certificate rustls refused, where its reason is
    /// terse. A self-signed certificate marked `CA:TRUE` (what many
    /// `generate-ssl-certs` scripts make) is refused as a server's own:
    /// rustls, like browsers, wants a leaf certificate signed by the CA.
    pub(super) fn tls_hint(message: &str) -> Option<&'static str> {
        if message.contains("CaUsedAsEndEntity") {
            Some(
                "hint: the server presents a CA certificate (basicConstraints CA:TRUE) as its own; make a CA, and a \
                 leaf certificate it signs with a subjectAltName for the host, serve the leaf and give the CA as \
                 `ca_cert` (or skip verification with `insecure = true`)",
            )
        } else if message.contains("NotValidForName") {
            Some("hint: the certificate has no subjectAltName for this host (a CN alone is not enough)")
        } else if message.contains("UnknownIssuer") {
            Some("hint: the certificate is not signed by a CA planrun trusts: give its CA as `ca_cert`")
        } else {
            None
        }
    }

    fn excerpt(body: &str) -> Vec<String> {
        let mut text: String = body.chars().take(BODY_IN_ERRORS).collect();
        if body.chars().count() > BODY_IN_ERRORS {
            text.push('…');
        }
        text.lines().map(String::from).collect()
    }

    impl ProbeKind for Http {
        async fn inspect(&self, ctx: &StepContext) -> Result<(), StepError> {
            self.send(ctx).await
        }
    }

    impl ActionKind for Http {
        fn is_mutating(&self) -> bool {
            !self.is_safe_method()
        }

        async fn perform(&self, ctx: &StepContext) -> Result<Applied, StepError> {
            self.send(ctx).await.map(|()| Applied::default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::behaviour::tls_hint;

    /// rustls refuses the guide's self-signed `CA:TRUE` certificate where
    /// curl accepts it, with a reason only a TLS expert reads.
    #[test]
    fn a_ca_certificate_used_as_the_servers_own_gets_a_hint() {
        let refused = "error sending request: invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))";
        assert!(tls_hint(refused).is_some_and(|hint| hint.contains("leaf certificate")));
        assert!(tls_hint("connection refused").is_none());
    }
}
