//! Manual gates, decided by the engine: `--yes`, `--approve STEP`, an
//! operator at the terminal, or nobody (the run pauses). A gate's kind only
//! says that it is one and what to tell the operator.

use crate::exec::approval::Decision;
use crate::exec::runtime::Runtime;
use crate::exec::step::Ended;
use crate::steps::log::StepLog;
use crate::steps::outcome::Applied;

/// The gate of `step_id` with `instructions`, as an action's end.
pub(crate) async fn decide(rt: &Runtime, step_id: &str, instructions: &str, log: &StepLog) -> Ended<Applied> {
    match rt.approvals.decide(step_id, instructions).await {
        Decision::Preapproved => {
            log.line("approved on the command line");
            Ended::Done(Applied::default())
        }
        Decision::Confirmed => {
            log.line("confirmed by the operator");
            Ended::Done(Applied::default())
        }
        Decision::Declined => Ended::Failed("the operator did not confirm".into(), Vec::new()),
        Decision::NoOperator => Ended::NeedsApproval,
    }
}
