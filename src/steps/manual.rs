//! `manual`: an operator reads the instructions and confirms.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::steps::FieldChecks;
use crate::steps::KindSpec;

/// A gate: the run stops until an operator confirms on a terminal, or
/// approves with `--approve STEP` / `--yes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manual {
    /// What the operator must do or check before confirming.
    pub instructions: String,
}

impl KindSpec for Manual {
    fn summary(&self) -> String {
        let first = self.instructions.lines().next().unwrap_or_default().trim();
        format!("operator confirms: {first}")
    }

    fn validate(&self, check: &mut dyn FieldChecks) {
        check.non_empty("instructions", &self.instructions);
    }
}

impl crate::steps::ActionKind for Manual {
    fn gate(&self) -> Option<&str> {
        Some(&self.instructions)
    }

    fn is_mutating(&self) -> bool {
        false
    }

    /// A gate is decided by the engine (see `Action::gate`), never
    /// performed: asked to, it can only say it needs an operator.
    async fn perform(
        &self,
        _ctx: &crate::steps::context::StepContext,
    ) -> Result<crate::steps::outcome::Applied, crate::steps::outcome::StepError> {
        Err(crate::steps::outcome::StepError::NeedsApproval)
    }
}
