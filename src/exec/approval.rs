//! Manual gates: who may approve a `manual` step, and how to ask.

use std::collections::HashSet;
use std::sync::Arc;

/// Asks an operator on a terminal. Implemented by the CLI; blocking.
pub(crate) trait Prompt: Send + Sync {
    /// Shows the instructions and returns whether the operator confirmed.
    fn confirm(&self, step_id: &str, instructions: &str) -> bool;
}

pub(crate) struct Approvals {
    /// `--yes`: every gate is approved.
    all: bool,
    /// `--approve STEP`.
    steps: HashSet<String>,
    prompt: Option<Arc<dyn Prompt>>,
    /// One question on the terminal at a time.
    asking: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Approved on the command line (`--yes` or `--approve`).
    Preapproved,
    Confirmed,
    Declined,
    /// Nobody can be asked: the run pauses here.
    NoOperator,
}

impl Approvals {
    pub(crate) fn new(
        all: bool,
        steps: impl IntoIterator<Item = String>,
        prompt: Option<Arc<dyn Prompt>>,
    ) -> Approvals {
        Approvals {
            all,
            steps: steps.into_iter().collect(),
            prompt,
            asking: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) async fn decide(&self, step_id: &str, instructions: &str) -> Decision {
        if self.all || self.steps.contains(step_id) {
            return Decision::Preapproved;
        }
        let Some(prompt) = self.prompt.clone() else {
            return Decision::NoOperator;
        };
        let _turn = self.asking.lock().await;
        let (step_id, instructions) = (step_id.to_string(), instructions.to_string());
        let confirmed = tokio::task::spawn_blocking(move || prompt.confirm(&step_id, &instructions))
            .await
            .unwrap_or(false);
        if confirmed {
            Decision::Confirmed
        } else {
            Decision::Declined
        }
    }
}
