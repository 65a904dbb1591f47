//! What an interrupted run left running. A step's action records its
//! process group before its command starts (see `crate::supervise`); when
//! planrun is killed, the watchdog stops the group, but not at once (it
//! gets the grace planrun had). A command that acts on the run — `resume`,
//! `rollback`, `mark`, `apply --abandon` — first waits here until every
//! recorded group is gone, killing what is left after its own grace, and
//! says what it did. Only then may it evaluate a `check` or accept a
//! decision: a step never runs twice at the same time. The record stays,
//! marked ended, as evidence that the step's command was let go.

use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::exec::error::ExecError;
use crate::exec::event::{Event, Reporter};
use crate::state::{NewEvent, StepRecord, Storage, Store};
use crate::supervise::{Liveness, ProcessGroup};

/// How often a live group is looked at again.
const POLL: Duration = Duration::from_millis(20);
/// How long a group may take to disappear after SIGKILL.
const AFTER_KILL: Duration = Duration::from_secs(5);
/// Added to a remote group's own grace: the watchdog needs a moment.
const REMOTE_MARGIN: Duration = Duration::from_secs(2);

/// What became of one recorded group.
enum Fate {
    AlreadyGone,
    EndedAfter(Duration),
    KilledAfter(Duration),
    Remote(Duration),
}

/// Waits until no process group recorded in `steps` (of run `run_id`) is
/// alive, killing what is left after `grace`; clears the records in the
/// state and in `steps`, journalled. An interrupt (`interrupted`) ends the
/// wait: nothing is decided or recorded, the groups are left as they are,
/// and the next command waits for them again.
pub(crate) async fn settle(
    store: &Store,
    run_id: &str,
    steps: &mut [StepRecord],
    grace: Duration,
    reporter: &dyn Reporter,
    interrupted: &CancellationToken,
) -> Result<(), ExecError> {
    let recorded: Vec<usize> = (0..steps.len())
        .filter(|&i| steps[i].process.as_ref().is_some_and(|group| !group.ended))
        .collect();
    if recorded.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let waited = async {
        let (mut ended, waiting) = look_at(steps, &recorded, run_id, started, grace, reporter).await;
        let still = wait_for(&mut ended, waiting, started, grace).await;
        (ended, still)
    };
    let (ended, still) = tokio::select! {
        waited = waited => waited,
        () = interrupted.cancelled() => {
            return Err(ExecError::Interrupted(format!(
                "interrupted while waiting for the processes of run {run_id} to end: nothing was decided, \
                 and what still runs was left running (the next command waits for it again)"
            )));
        }
    };
    if !still.is_empty() {
        let alive: Vec<String> = still
            .iter()
            .map(|(slot, group)| format!("{} ({group})", steps[recorded[*slot]].step_id))
            .collect();
        return Err(ExecError::StillRunning(alive));
    }
    mark_ended(store, run_id, steps, &recorded, &ended, reporter).await
}

/// Looks once at the group of each step of `recorded` (indexes into
/// `steps`), saying which it waits for: one already gone has ended; one
/// alive is to be waited for (with `grace`); one on another machine is
/// waited for here, until its watchdog has surely stopped it. Returns the
/// fate of each, by slot in `recorded` (`None`: still alive), and the live
/// groups with their slots.
async fn look_at(
    steps: &[StepRecord],
    recorded: &[usize],
    run_id: &str,
    started: Instant,
    grace: Duration,
    reporter: &dyn Reporter,
) -> (Vec<Option<Fate>>, Vec<(usize, ProcessGroup)>) {
    let mut ended: Vec<Option<Fate>> = Vec::new();
    let mut waiting = Vec::new();
    for &index in recorded {
        let Some(group) = steps[index].process.clone() else {
            continue;
        };
        let step = &steps[index].step_id;
        match group.liveness() {
            Liveness::Gone => ended.push(Some(Fate::AlreadyGone)),
            Liveness::Alive(members) => {
                reporter.report(&Event::Notice {
                    message: format!(
                        "step `{step}` of run {run_id} still runs in {group} ({}): waiting up to {} for it to end",
                        members.join(", "),
                        shown(grace)
                    ),
                });
                ended.push(None);
                waiting.push((ended.len() - 1, group));
            }
            Liveness::Elsewhere => {
                let wait = Duration::from_millis(group.grace_ms) + REMOTE_MARGIN;
                reporter.report(&Event::Notice {
                    message: format!(
                        "step `{step}` of run {run_id} ran in {group}, which cannot be seen from here: waiting {} (the watchdog there stops it within {} of planrun's end)",
                        shown(wait),
                        shown(Duration::from_millis(group.grace_ms))
                    ),
                });
                tokio::time::sleep_until(started + wait).await;
                ended.push(Some(Fate::Remote(wait)));
            }
        }
    }
    (ended, waiting)
}

/// Marks the group of each step of `recorded` ended, in `steps` and in the
/// state, journalled with its fate (`ended`, by slot), and says so for
/// each (one already gone too: the operator learns nothing still runs).
async fn mark_ended(
    store: &Store,
    run_id: &str,
    steps: &mut [StepRecord],
    recorded: &[usize],
    ended: &[Option<Fate>],
    reporter: &dyn Reporter,
) -> Result<(), ExecError> {
    for (slot, &index) in recorded.iter().enumerate() {
        let record = &mut steps[index];
        let Some(group) = record.process.as_mut() else {
            continue;
        };
        // Kept, marked ended: it says the command was let go, so it may
        // have run (see the shell kind's settling).
        group.ended = true;
        let group = group.clone();
        let message = match ended.get(slot).and_then(Option::as_ref) {
            Some(Fate::AlreadyGone) | None => format!("{group} had ended"),
            Some(Fate::EndedAfter(after)) => format!("{group} ended after {}", shown(*after)),
            Some(Fate::KilledAfter(after)) => format!("{group} was killed (SIGKILL) after {}", shown(*after)),
            Some(Fate::Remote(after)) => format!("{group}: waited {} for the watchdog there to stop it", shown(*after)),
        };
        reporter.report(&Event::Notice {
            message: format!("step `{}`: {message}", record.step_id),
        });
        let event = NewEvent::step(&record.step_id, "processes_settled", message);
        store.put_step(run_id, record, &event).await?;
    }
    Ok(())
}

/// Polls the live groups until they end, SIGKILLs what is left after
/// `grace`; returns the groups still alive after that.
async fn wait_for(
    ended: &mut [Option<Fate>],
    mut waiting: Vec<(usize, ProcessGroup)>,
    started: Instant,
    grace: Duration,
) -> Vec<(usize, ProcessGroup)> {
    let mut killed = false;
    loop {
        waiting.retain(|(slot, group)| {
            if group.liveness() == Liveness::Gone {
                let after = started.elapsed();
                ended[*slot] = Some(if killed {
                    Fate::KilledAfter(after)
                } else {
                    Fate::EndedAfter(after)
                });
                false
            } else {
                true
            }
        });
        if waiting.is_empty() {
            return waiting;
        }
        if !killed && started.elapsed() >= grace {
            for (_, group) in &waiting {
                group.signal(Signal::SIGKILL);
            }
            killed = true;
        }
        if killed && started.elapsed() >= grace + AFTER_KILL {
            return waiting;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn shown(duration: Duration) -> String {
    crate::units::duration::Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)).to_string()
}
