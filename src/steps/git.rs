//! `git`: the work tree is clean, the branch is the expected one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::KindSpec;

/// Checks a git work tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Git {
    /// The repository (default `.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// No uncommitted changes (untracked files count).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub clean: bool,
    /// The checked-out branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

impl KindSpec for Git {
    fn summary(&self) -> String {
        let path = self.path.as_deref().unwrap_or(".");
        let mut parts = Vec::new();
        if self.clean {
            parts.push("clean work tree".to_string());
        }
        if let Some(branch) = &self.branch {
            parts.push(format!("on branch {branch}"));
        }
        format!("git {path}: {}", parts.join(", "))
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.at_least_one(&[("clean", self.clean), ("branch", self.branch.is_some())]);
    }
}

impl crate::steps::ProbeKind for Git {
    async fn inspect(&self, ctx: &crate::steps::context::StepContext) -> Result<(), crate::steps::outcome::StepError> {
        use crate::steps::outcome::StepError;
        let path = ctx.path(self.path.as_deref().unwrap_or("."));
        let git = |args: &'static [&'static str]| {
            let path = path.clone();
            async move {
                let output = tokio::process::Command::new("git")
                    .arg("-C")
                    .arg(&path)
                    .args(args)
                    .stdin(std::process::Stdio::null())
                    .output()
                    .await
                    .map_err(|e| StepError::failed(format!("cannot run git: {e}")))?;
                if !output.status.success() {
                    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
                    return Err(StepError::failed(format!("git {}: {stderr}", args.join(" "))));
                }
                Ok(String::from_utf8_lossy(&output.stdout).into_owned())
            }
        };
        if self.clean {
            let status = git(&["status", "--porcelain"]).await?;
            if !status.trim().is_empty() {
                let changes: Vec<String> = status.lines().take(10).map(String::from).collect();
                return Err(StepError::with_detail(
                    format!("`{}` has uncommitted changes", path.display()),
                    changes,
                ));
            }
        }
        if let Some(expected) = &self.branch {
            let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).await?;
            if branch.trim() != expected {
                return Err(StepError::failed(format!(
                    "on branch `{}`, not `{expected}`",
                    branch.trim()
                )));
            }
        }
        Ok(())
    }
}
