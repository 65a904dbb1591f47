//! `system` (free memory and disk) and `env` (an environment variable).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::KindSpec;
use crate::units::byte_size::ByteSize;

/// Passes when at least this much memory is available and disk is free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct System {
    /// Minimum available memory (`MemAvailable`), like `"8GB"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_memory: Option<ByteSize>,
    /// Minimum free disk space on the filesystem holding `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_disk: Option<ByteSize>,
    /// Where to measure free disk (default `.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl KindSpec for System {
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(memory) = self.min_memory {
            parts.push(format!("memory available ≥ {memory}"));
        }
        if let Some(disk) = self.min_disk {
            let path = self.path.as_deref().unwrap_or(".");
            parts.push(format!("disk free on {path} ≥ {disk}"));
        }
        parts.join(", ")
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.at_least_one(&[
            ("min_memory", self.min_memory.is_some()),
            ("min_disk", self.min_disk.is_some()),
        ]);
        if self.path.is_some() && self.min_disk.is_none() {
            check.error(
                "path",
                "`path` only applies to `min_disk`",
                "add `min_disk`, or remove `path`",
            );
        }
    }
}

/// Passes when the variable is set and not empty (and equals `equals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvVar {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

impl KindSpec for EnvVar {
    fn summary(&self) -> String {
        match &self.equals {
            Some(value) => format!("${} = {value:?}", self.name),
            None => format!("${} is set", self.name),
        }
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        let valid = !self.name.is_empty() && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            check.error(
                "name",
                format!("`{}` is not an environment variable name", self.name),
                "use letters, digits and `_`",
            );
        }
    }
}

impl crate::steps::ProbeKind for System {
    async fn inspect(&self, ctx: &crate::steps::context::StepContext) -> Result<(), crate::steps::outcome::StepError> {
        use crate::steps::outcome::StepError;
        let mut problems = Vec::new();
        if let Some(minimum) = self.min_memory {
            let available = available_memory().map_err(StepError::failed)?;
            ctx.log.line(&format!("memory available: {}", ByteSize(available)));
            if available < minimum.0 {
                problems.push(format!(
                    "only {} of memory available, {minimum} needed",
                    ByteSize(available)
                ));
            }
        }
        if let Some(minimum) = self.min_disk {
            let path = ctx.path(self.path.as_deref().unwrap_or("."));
            let stat = nix::sys::statvfs::statvfs(&path)
                .map_err(|e| StepError::failed(format!("cannot measure free disk on `{}`: {e}", path.display())))?;
            let free = stat.blocks_available().saturating_mul(stat.fragment_size());
            ctx.log
                .line(&format!("disk free on {}: {}", path.display(), ByteSize(free)));
            if free < minimum.0 {
                problems.push(format!(
                    "only {} free on `{}`, {minimum} needed",
                    ByteSize(free),
                    path.display()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StepError::failed(problems.join("; ")))
        }
    }
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn available_memory() -> Result<u64, String> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("cannot read /proc/meminfo: {e}"))?;
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemAvailable:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| "no MemAvailable in /proc/meminfo".into())
}

impl crate::steps::ProbeKind for EnvVar {
    async fn inspect(&self, _ctx: &crate::steps::context::StepContext) -> Result<(), crate::steps::outcome::StepError> {
        use crate::steps::outcome::StepError;
        match (std::env::var(&self.name), &self.equals) {
            (Ok(value), Some(expected)) if &value == expected => Ok(()),
            (Ok(_), Some(_)) => Err(StepError::failed(format!("${} has another value", self.name))),
            (Ok(value), None) if !value.is_empty() => Ok(()),
            _ => Err(StepError::failed(format!("${} is not set", self.name))),
        }
    }
}
