//! `git`: the work tree is clean, the branch is the expected one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::field_check::FieldCheck;
use crate::steps::KindSpec;

/// Checks a git work tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Git {
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

    fn validate(&self, check: &mut FieldCheck<'_>) {
        check.at_least_one(&[("clean", self.clean), ("branch", self.branch.is_some())]);
    }
}
