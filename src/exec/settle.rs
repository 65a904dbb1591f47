//! Settling in-doubt steps: asking the system before asking a person.
//!
//! A step found `running` or `interrupted` by a later command was stopped
//! during its `run` (or its `verify`): its attempt may or may not have
//! taken effect. Before `resume` decides what to run again, and before
//! `rollback` undoes such a step, the step's kind is asked, with the
//! evidence its attempt recorded, whether it did (see `steps::outcome::
//! Settle`): took effect → the action is not run again, its `verify`
//! still runs; no effect, or in part → it runs again (continuing where it
//! stopped); cannot tell → the step's `idempotent` or `check` decides,
//! else an operator (`planrun mark`).
//!
//! Each answer is journaled (`step_settled`), reported as an event, and
//! kept in the step's progress as `settled`, which `planrun status` shows.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::exec::event::Event;
use crate::exec::runtime::Runtime;
use crate::exec::step::{Ended, bounded};
use crate::plan::Step;
use crate::state::{NewEvent, StateError, StepRecord, StepStatus, Storage};
use crate::steps::outcome::{Settlement, Verdict};

/// A step stopped while running, whose attempt may have taken effect.
pub(crate) fn in_doubt(record: &StepRecord) -> bool {
    matches!(record.status, StepStatus::Running | StepStatus::Interrupted) && record.attempts > 0
}

/// Asks about every in-doubt step of `records` whose kind can tell
/// (except the steps in `skip`, by plan index); the answers by step id.
/// Each record's progress is updated with what settling saved.
pub(crate) async fn settle_in_doubt(
    rt: &Runtime,
    records: &mut [StepRecord],
    skip: &HashSet<usize>,
) -> Result<HashMap<String, Settlement>, StateError> {
    let doubtful: HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .filter(|(_, record)| in_doubt(record))
        .map(|(at, record)| (record.step_id.as_str(), at))
        .collect();
    if doubtful.is_empty() {
        return Ok(HashMap::new());
    }
    let steps: Vec<(&Step, usize)> = rt
        .compiled
        .plan
        .steps
        .iter()
        .enumerate()
        .filter(|(index, step)| !skip.contains(index) && settles(step))
        .filter_map(|(_, step)| doubtful.get(step.id.as_str()).map(|&at| (step, at)))
        .collect();
    let asked = futures_util::future::join_all(steps.iter().map(|&(step, at)| ask(rt, step, &records[at]))).await;
    let mut answers = HashMap::new();
    for ((step, at), answer) in steps.into_iter().zip(asked) {
        let (settlement, progress) = answer?;
        records[at].progress = progress;
        answers.insert(step.id.clone(), settlement);
    }
    Ok(answers)
}

fn settles(step: &Step) -> bool {
    step.run.as_ref().is_some_and(|run| run.get_ref().can_settle())
}

/// Asks `step`'s kind about the attempt `record` describes, journals and
/// reports the answer; returns it with the step's progress after it.
pub(crate) async fn ask(
    rt: &Runtime,
    step: &Step,
    record: &StepRecord,
) -> Result<(Settlement, Option<Value>), StateError> {
    let log = rt.open_log(&step.id);
    log.section(&format!("settle attempt {}", record.attempts));
    let progress = Arc::new(Mutex::new(record.progress.clone()));
    let cancel = rt.interrupt.child_token();
    let mut ctx = rt.context(&step.id, &log, &progress, cancel.clone());
    ctx.timeout = step.timeout.std();
    ctx.progress.attempt = record.attempts;
    ctx.recorded_process.clone_from(&record.process);
    let mut interrupted = false;
    let settlement = match step.run.as_ref().map(|run| rt.resolve(run.get_ref())) {
        Some(Ok(action)) => {
            let ended = bounded(action.settle(&ctx), false, &cancel, rt, step.timeout.std()).await;
            interrupted = matches!(ended, Ended::Interrupted);
            answer(ended, step)
        }
        Some(Err(error)) => Settlement::new(
            "nothing",
            format!("the step cannot be resolved now: {error}"),
            Verdict::Unknown,
        ),
        None => Settlement::new("nothing", "the step has no `run`", Verdict::Unknown),
    };
    let settlement = Settlement {
        asked: rt.redactor.redact(&settlement.asked).into_owned(),
        found: rt.redactor.redact(&settlement.found).into_owned(),
        verdict: settlement.verdict,
    };
    log.line(&format!("asked {}: {}", settlement.asked, settlement.found));
    if interrupted {
        // No answer: the next command asks again; the state keeps the
        // last real one.
        let progress = progress.lock().map(|saved| saved.clone()).unwrap_or_default();
        return Ok((settlement, progress));
    }
    let entry = json!({
        "attempt": record.attempts,
        "asked": settlement.asked,
        "found": settlement.found,
        "verdict": settlement.verdict.as_str(),
    });
    // What was found is journaled below even if it cannot be kept here.
    let _ = ctx.progress.save_entry("settled", entry).await;
    let message = format!(
        "attempt {}: asked {}: {} ({})",
        record.attempts,
        settlement.asked,
        settlement.found,
        settlement.verdict.as_str()
    );
    rt.store
        .append_event(&rt.run_id, &NewEvent::step(&step.id, "step_settled", message))
        .await?;
    rt.report(Event::StepSettled {
        step: step.id.clone(),
        attempt: record.attempts,
        asked: settlement.asked.clone(),
        found: settlement.found.clone(),
        verdict: settlement.verdict.as_str().to_string(),
    });
    let progress = progress.lock().map(|saved| saved.clone()).unwrap_or_default();
    Ok((settlement, progress))
}

fn answer(ended: Ended<Settlement>, step: &Step) -> Settlement {
    let (asked, why) = (
        "the system the step acts on",
        match ended {
            Ended::Done(settlement) => return settlement,
            Ended::Failed(message, _) => format!("asking failed: {message}"),
            Ended::TimedOut => format!("asking timed out after {}", step.timeout),
            Ended::Interrupted => "interrupted while asking".to_string(),
            Ended::NeedsApproval => "asking needs an operator".to_string(),
        },
    );
    Settlement::new(asked, why, Verdict::Unknown)
}

/// Whether a settling already found that no attempt of the step in
/// `record` changed anything (kept in its progress).
pub(crate) fn found_nothing(record: &StepRecord) -> bool {
    record.progress.as_ref().is_some_and(|progress| {
        let settled = &progress["settled"];
        settled["verdict"] == "no_effect" && settled["attempt"] == json!(record.attempts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: StepStatus, attempts: u32, progress: Option<Value>) -> StepRecord {
        let mut record = StepRecord::pending("s", 0, String::new());
        record.status = status;
        record.attempts = attempts;
        record.progress = progress;
        record
    }

    #[test]
    fn only_steps_stopped_while_running_are_in_doubt() {
        assert!(in_doubt(&record(StepStatus::Running, 1, None)));
        assert!(in_doubt(&record(StepStatus::Interrupted, 2, None)));
        assert!(!in_doubt(&record(StepStatus::Interrupted, 0, None)));
        assert!(!in_doubt(&record(StepStatus::Failed, 1, None)));
    }

    #[test]
    fn a_no_effect_answer_counts_for_its_attempt_only() {
        let progress = json!({ "settled": { "attempt": 2, "verdict": "no_effect" } });
        assert!(found_nothing(&record(
            StepStatus::RollingBack,
            2,
            Some(progress.clone())
        )));
        assert!(!found_nothing(&record(StepStatus::RollingBack, 3, Some(progress))));
        let partly = json!({ "settled": { "attempt": 2, "verdict": "partly" } });
        assert!(!found_nothing(&record(StepStatus::RollingBack, 2, Some(partly))));
    }
}
