//! Heartbeats: while steps run longer than `Runtime::heartbeat`, an
//! [`Event::Heartbeat`] names them every period, with how long they have
//! run and how many rows a table copy moved (and its rate), so a CI log
//! off a terminal shows a long migration is alive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

use crate::exec::event::{Beat, Event};
use crate::exec::runtime::Runtime;
use crate::exec::step::millis;

/// The steps running now, by id: since when, their progress, and the rows
/// an earlier attempt had copied when this one started (not counted in
/// this attempt's rate).
pub(crate) type RunningSteps = Mutex<HashMap<String, (Instant, Arc<Mutex<Option<Value>>>, u64)>>;

/// A step registered as running; unregistered when dropped.
pub(crate) struct Running<'a> {
    rt: &'a Runtime,
    step: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.rt.running.lock() {
            running.remove(&self.step);
        }
    }
}

/// Registers `step` (and its progress) as running from now on.
pub(crate) fn register<'a>(rt: &'a Runtime, step: &str, progress: &Arc<Mutex<Option<Value>>>) -> Running<'a> {
    let before = progress
        .lock()
        .ok()
        .and_then(|progress| progress.as_ref().and_then(rows))
        .unwrap_or(0);
    if let Ok(mut running) = rt.running.lock() {
        running.insert(step.to_string(), (Instant::now(), progress.clone(), before));
    }
    Running {
        rt,
        step: step.to_string(),
    }
}

/// Stops the heartbeat task when dropped.
pub(crate) struct Heartbeat(Option<tokio::task::JoinHandle<()>>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Starts the heartbeat of `rt` (nothing when its period is zero).
pub(crate) fn start(rt: &Arc<Runtime>) -> Heartbeat {
    let every = rt.heartbeat;
    if every.is_zero() {
        return Heartbeat(None);
    }
    let rt = rt.clone();
    Heartbeat(Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let beats = beats(&rt, every);
            if !beats.is_empty() {
                rt.report(Event::Heartbeat { steps: beats });
            }
        }
    })))
}

/// The steps running for at least `at_least`, longest first.
fn beats(rt: &Runtime, at_least: std::time::Duration) -> Vec<Beat> {
    let Ok(running) = rt.running.lock() else {
        return Vec::new();
    };
    let mut beats: Vec<Beat> = running
        .iter()
        .filter(|(_, (since, ..))| since.elapsed() >= at_least)
        .map(|(step, (since, progress, before))| {
            let elapsed = since.elapsed();
            let rows = progress
                .lock()
                .ok()
                .and_then(|progress| progress.as_ref().and_then(rows));
            let elapsed_ms = millis(elapsed);
            Beat {
                step: step.clone(),
                elapsed_ms,
                rows,
                rows_per_second: rows
                    .filter(|_| elapsed_ms >= 1000)
                    .map(|rows| rows.saturating_sub(*before).saturating_mul(1000) / elapsed_ms),
            }
        })
        .collect();
    beats.sort_by(|a, b| b.elapsed_ms.cmp(&a.elapsed_ms).then_with(|| a.step.cmp(&b.step)));
    beats
}

/// Rows copied, from a step's progress: a `copied` count at its top level
/// or one level down (a kind's entry).
fn rows(progress: &Value) -> Option<u64> {
    let object = progress.as_object()?;
    object
        .get("copied")
        .and_then(Value::as_u64)
        .or_else(|| object.values().find_map(|entry| entry.get("copied")?.as_u64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_from_a_copy_progress_at_either_level() {
        assert_eq!(rows(&serde_json::json!({ "last_key": "42", "copied": 42 })), Some(42));
        assert_eq!(rows(&serde_json::json!({ "copy": { "copied": 7 } })), Some(7));
        assert_eq!(rows(&serde_json::json!({ "undo": { "file": "x" } })), None);
    }

    #[tokio::test]
    async fn a_step_running_longer_than_the_period_gets_a_beat_with_its_rows() {
        let h = crate::exec::testing::Harness::new(&crate::exec::testing::DIAMOND.replace("{fail}", "b.txt")).await;
        let progress = Arc::new(Mutex::new(Some(serde_json::json!({ "copied": 3000 }))));
        let running = register(&h.rt, "b", &progress);
        assert!(beats(&h.rt, std::time::Duration::from_secs(5)).is_empty(), "not yet");
        let every = std::time::Duration::ZERO;
        let beat = beats(&h.rt, every);
        assert_eq!(beat.len(), 1);
        assert_eq!(beat[0].step, "b");
        assert_eq!(beat[0].rows, Some(3000));
        drop(running);
        assert!(beats(&h.rt, every).is_empty(), "unregistered when it ends");
    }

    #[tokio::test]
    async fn the_rate_counts_only_the_rows_this_attempt_copied() {
        let h = crate::exec::testing::Harness::new(&crate::exec::testing::DIAMOND.replace("{fail}", "b.txt")).await;
        // A resumed copy: 1,000,000 rows copied by the attempt before.
        let progress = Arc::new(Mutex::new(Some(serde_json::json!({ "copied": 1_000_000 }))));
        let _running = register(&h.rt, "b", &progress);
        if let Ok(mut running) = h.rt.running.lock()
            && let Some(entry) = running.get_mut("b")
        {
            entry.0 -= std::time::Duration::from_secs(2);
        }
        *progress.lock().expect("progress") = Some(serde_json::json!({ "copied": 1_002_000 }));
        let beat = beats(&h.rt, std::time::Duration::ZERO);
        assert_eq!(beat[0].rows, Some(1_002_000), "rows copied in all");
        let rate = beat[0].rows_per_second.expect("a rate after a second");
        assert!(
            (900..=1000).contains(&rate),
            "2,000 rows in about 2 s, not 500,000/s: {rate}"
        );
    }
}
