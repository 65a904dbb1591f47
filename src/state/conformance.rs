//! The conformance suite every `StateStore` backend must pass (like
//! Terraform's `statemgr/testing.go`). Backends call [`run`] from their
//! tests with a function that opens a store on the same, empty state.

use std::future::Future;

use indexmap::IndexMap;
use serde_json::json;

use crate::state::StateError;
use crate::state::lock::{Acquired, LockInfo};
use crate::state::record::{NewEvent, PlanFile, RunRecord, StepRecord, now};
use crate::state::status::{RunOutcome, StepStatus};
use crate::state::store::StateStore;
use crate::supervise::ProcessGroup;

/// Runs every check. `open` must return a store on the same state each
/// time (a reopen must see what an earlier store wrote).
pub async fn run<S, F, Fut>(open: F)
where
    S: StateStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let prefix = format!("conformance-{:08x}", fastrand::u32(..));
    runs_and_steps_round_trip(&open().await, &prefix).await;
    a_run_of_many_steps_reads_back_whole_in_plan_order(&open().await, &prefix).await;
    checkpoints_update_one_step_and_journal(&open().await, &prefix).await;
    checkpoints_of_several_steps_are_written_and_journaled_in_order(&open().await, &prefix).await;
    outcomes_set_and_clear_finished_at(&open().await, &prefix).await;
    process_groups_are_recorded_without_a_journal_entry_and_cleared(&open().await, &prefix).await;
    writes_survive_a_reopen(&open, &prefix).await;
    locking_excludes_a_second_holder(&open).await;
}

fn sample_run(id: &str) -> RunRecord {
    RunRecord {
        id: id.to_string(),
        plan_name: "sample".into(),
        plan_path: "plans/sample.toml".into(),
        plan_hash: "ab".repeat(32),
        plan_source: "format = 1\nname = \"sample\"\n".into(),
        overrides: IndexMap::from([("dir".to_string(), "/tmp/x".to_string())]),
        vars: IndexMap::from([("dir".to_string(), json!("/tmp/x")), ("port".to_string(), json!(5432))]),
        user: "tester".into(),
        host: "host".into(),
        pid: 42,
        started_at: now(),
        finished_at: None,
        outcome: RunOutcome::Running,
    }
}

fn sample_steps() -> Vec<StepRecord> {
    vec![
        StepRecord::pending("first", 0, "11".repeat(32)),
        StepRecord::pending("second", 1, "22".repeat(32)),
    ]
}

async fn runs_and_steps_round_trip<S: StateStore>(store: &S, prefix: &str) {
    let id = format!("{prefix}-round-trip");
    let run = sample_run(&id);
    store.create_run(&run, &sample_steps()).await.expect("create_run");
    let loaded = store.run(&id).await.expect("run").expect("the run exists");
    assert_eq!(loaded, run, "a run reads back exactly as written");
    assert_eq!(store.steps(&id).await.expect("steps"), sample_steps());
    assert!(store.run("no-such-run").await.expect("run").is_none());
    let listed = store.runs().await.expect("runs");
    let mine = listed.iter().find(|r| r.id == id).expect("listed");
    assert!(mine.plan_source.is_empty(), "listings leave the source out");
    assert_eq!(mine.outcome, RunOutcome::Running);

    let changed = PlanFile {
        path: "elsewhere/sample.toml",
        hash: &"cd".repeat(32),
        source: "format = 1\nname = \"sample\"\n# changed\n",
    };
    let event = NewEvent::run("plan_changed", "resumed with a changed plan");
    store.set_plan(&id, &changed, &event).await.expect("set_plan");
    let loaded = store.run(&id).await.expect("run").expect("the run exists");
    assert_eq!(
        (
            loaded.plan_path.as_str(),
            loaded.plan_hash.as_str(),
            loaded.plan_source.as_str()
        ),
        (changed.path, changed.hash, changed.source),
        "set_plan replaces the plan a run follows"
    );
    assert!(matches!(
        store.set_plan("no-such-run", &changed, &event).await,
        Err(StateError::NoSuchRun(_))
    ));

    let joined = StepRecord::pending("third", 2, "33".repeat(32));
    store
        .add_steps(&id, std::slice::from_ref(&joined))
        .await
        .expect("add_steps");
    let ids: Vec<String> = store
        .steps(&id)
        .await
        .expect("steps")
        .into_iter()
        .map(|s| s.step_id)
        .collect();
    assert_eq!(ids, ["first", "second", "third"], "steps come back in plan order");
}

/// More steps than SQLite reads in one statement, whose ids sort in
/// another order than the plan's, each with every field set.
async fn a_run_of_many_steps_reads_back_whole_in_plan_order<S: StateStore>(store: &S, prefix: &str) {
    let id = format!("{prefix}-many");
    let steps: Vec<StepRecord> = (0..2_345u32)
        .map(|position| {
            let mut step = StepRecord::pending(&format!("step-{position}"), position, format!("{position:064}"));
            step.status = StepStatus::Succeeded;
            step.attempts = 1 + position % 3;
            step.started_at = Some(now());
            step.finished_at = Some(now());
            if position % 7 == 0 {
                step.outputs = IndexMap::from([("n".to_string(), position.to_string())]);
                step.undo = Some(json!({ "created": position }));
                step.progress = Some(json!({ "last_key": position }));
                step.error = Some(format!("attempt {position} \"failed\"\nonce"));
            }
            step
        })
        .collect();
    store.create_run(&sample_run(&id), &steps).await.expect("create_run");
    assert_eq!(store.steps(&id).await.expect("steps"), steps);
}

async fn process_groups_are_recorded_without_a_journal_entry_and_cleared<S: StateStore>(store: &S, prefix: &str) {
    let id = format!("{prefix}-process");
    store
        .create_run(&sample_run(&id), &sample_steps())
        .await
        .expect("create_run");
    let journal = store.events(&id).await.expect("events").len();
    let group = ProcessGroup {
        pgid: 4242,
        started: 987_654,
        boot_id: "boot".into(),
        host: "db1".into(),
        grace_ms: 10_000,
        ended: false,
    };
    store
        .set_process(&id, "second", Some(&group))
        .await
        .expect("set_process");
    let steps = store.steps(&id).await.expect("steps");
    assert_eq!(steps[1].process.as_ref(), Some(&group), "the group is recorded");
    assert_eq!(steps[0].process, None, "on that step only");
    assert_eq!(
        store.events(&id).await.expect("events").len(),
        journal,
        "recording a group is not a transition"
    );
    let mut step = steps[1].clone();
    step.process = None;
    step.status = StepStatus::Interrupted;
    store
        .put_step(&id, &step, &NewEvent::step("second", "step_interrupted", "x"))
        .await
        .expect("put_step");
    assert_eq!(
        store.steps(&id).await.expect("steps")[1].process,
        None,
        "a checkpoint clears it"
    );
    store
        .set_process(&id, "second", Some(&group))
        .await
        .expect("set_process");
    store.set_process(&id, "second", None).await.expect("set_process");
    assert_eq!(store.steps(&id).await.expect("steps")[1].process, None);
    assert_eq!(
        store.events(&id).await.expect("events").len(),
        journal + 1,
        "a step's groups after its checkpoint journal nothing either"
    );
}

async fn checkpoints_of_several_steps_are_written_and_journaled_in_order<S: StateStore>(store: &S, prefix: &str) {
    let id = format!("{prefix}-several");
    // More steps than one statement of the SQLite backend holds.
    let count = crate::state::sql::MAX_PUT_STEPS + 3;
    let pending: Vec<StepRecord> = (0..count)
        .map(|i| StepRecord::pending(&format!("s{i}"), u32::try_from(i).unwrap_or(0), "33".repeat(32)))
        .collect();
    store.create_run(&sample_run(&id), &pending).await.expect("create_run");
    for batch in [&[0, 1][..], &[1, 2, 3], &(3..count).collect::<Vec<_>>()] {
        let checkpoints: Vec<(StepRecord, NewEvent)> = batch
            .iter()
            .map(|&i| {
                let mut step = pending[i].clone();
                step.status = StepStatus::Succeeded;
                step.attempts = 1;
                step.outputs = IndexMap::from([("n".to_string(), i.to_string())]);
                (step, NewEvent::step(&format!("s{i}"), "step_succeeded", format!("{i}")))
            })
            .collect();
        store.put_steps(&id, &checkpoints).await.expect("put_steps");
    }
    let steps = store.steps(&id).await.expect("steps");
    assert!(
        steps.iter().all(|step| step.status == StepStatus::Succeeded),
        "{steps:?}"
    );
    assert_eq!(steps[count - 1].outputs["n"], (count - 1).to_string());
    let messages: Vec<String> = store
        .events(&id)
        .await
        .expect("events")
        .into_iter()
        .skip(1)
        .map(|event| event.message)
        .collect();
    let expected: Vec<String> = [0, 1, 1, 2, 3]
        .into_iter()
        .chain(3..count)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(messages, expected, "each checkpoint journaled once, in the order given");
}

async fn checkpoints_update_one_step_and_journal<S: StateStore>(store: &S, prefix: &str) {
    let id = format!("{prefix}-checkpoints");
    store
        .create_run(&sample_run(&id), &sample_steps())
        .await
        .expect("create_run");
    let mut step = StepRecord::pending("second", 1, "22".repeat(32));
    step.status = StepStatus::Running;
    step.attempts = 1;
    step.started_at = Some(now());
    store
        .put_step(&id, &step, &NewEvent::step("second", "step_started", "attempt 1"))
        .await
        .expect("put_step");
    step.status = StepStatus::Succeeded;
    step.finished_at = Some(now());
    step.outputs = IndexMap::from([("file".to_string(), "backup.sql".to_string())]);
    step.undo = Some(json!({"created": true}));
    store
        .put_step(&id, &step, &NewEvent::step("second", "step_succeeded", "ok"))
        .await
        .expect("put_step");
    store
        .save_progress(&id, "second", &json!({"last_key": 1000}))
        .await
        .expect("save_progress");
    step.progress = Some(json!({"last_key": 1000}));

    let steps = store.steps(&id).await.expect("steps");
    assert_eq!(steps[1], step, "the checkpoint holds every field");
    assert_eq!(steps[0], sample_steps()[0], "other steps are untouched");

    let last = store.last_event(&id).await.expect("last_event");
    assert!(last.is_some_and(|seq| seq > 0));
    assert_eq!(store.last_event("no-such-run").await.expect("last_event"), None);
    let events = store.events(&id).await.expect("events");
    assert_eq!(events.last().map(|e| e.seq), last, "the last event is the latest entry");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["run_created", "step_started", "step_succeeded"],
        "the journal is in order"
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(events[1].step_id.as_deref(), Some("second"));
    store
        .append_event(&id, &NewEvent::run("note", "hello"))
        .await
        .expect("append_event");
    assert!(
        store.last_event(&id).await.expect("last_event") > last,
        "every write moves it"
    );
    assert_eq!(store.events(&id).await.expect("events").len(), 4);
    store
        .add_steps(&id, std::slice::from_ref(&step))
        .await
        .expect("add_steps");
    assert_eq!(
        store.events(&id).await.expect("events").len(),
        4,
        "replacing a checkpointed step journals nothing"
    );
}

async fn outcomes_set_and_clear_finished_at<S: StateStore>(store: &S, prefix: &str) {
    let id = format!("{prefix}-outcomes");
    store
        .create_run(&sample_run(&id), &sample_steps())
        .await
        .expect("create_run");
    store
        .set_outcome(&id, RunOutcome::Failed, &NewEvent::run("run_failed", "x"))
        .await
        .expect("set_outcome");
    let run = store.run(&id).await.expect("run").expect("exists");
    assert_eq!(run.outcome, RunOutcome::Failed);
    assert!(run.finished_at.is_some());
    store
        .set_outcome(&id, RunOutcome::Running, &NewEvent::run("run_resumed", "x"))
        .await
        .expect("set_outcome");
    let run = store.run(&id).await.expect("run").expect("exists");
    assert_eq!(run.outcome, RunOutcome::Running);
    assert!(run.finished_at.is_none(), "a resumed run is not finished");
    let missing = store
        .set_outcome("no-such-run", RunOutcome::Failed, &NewEvent::run("x", "x"))
        .await;
    assert!(matches!(missing, Err(StateError::NoSuchRun(_))), "{missing:?}");
}

async fn writes_survive_a_reopen<S, F, Fut>(open: &F, prefix: &str)
where
    S: StateStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let id = format!("{prefix}-reopen");
    {
        let store = open().await;
        store
            .create_run(&sample_run(&id), &sample_steps())
            .await
            .expect("create_run");
        let mut step = StepRecord::pending("first", 0, "11".repeat(32));
        step.status = StepStatus::Failed;
        step.error = Some("exit code 1".into());
        store
            .put_step(&id, &step, &NewEvent::step("first", "step_failed", "exit code 1"))
            .await
            .expect("put_step");
    }
    let store = open().await;
    let steps = store.steps(&id).await.expect("steps");
    assert_eq!(steps[0].status, StepStatus::Failed);
    assert_eq!(steps[0].error.as_deref(), Some("exit code 1"));
}

async fn locking_excludes_a_second_holder<S, F, Fut>(open: &F)
where
    S: StateStore,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    let (one, two) = (open().await, open().await);
    let _ = one.force_unlock().await.expect("force_unlock");
    let first = LockInfo::for_this_process("apply");
    assert_eq!(one.lock(&first).await.expect("lock"), Acquired::Fresh);
    assert_eq!(one.lock_holder().await.expect("holder"), Some(first.clone()));

    let second = LockInfo::for_this_process("rollback");
    match two.lock(&second).await {
        Err(StateError::Locked(holder)) => assert_eq!(*holder, first, "the refusal names the holder"),
        other => panic!("a second holder must be refused, got {other:?}"),
    }
    two.unlock(&second).await.expect("unlock");
    assert_eq!(
        one.lock_holder().await.expect("holder"),
        Some(first.clone()),
        "only the holder can unlock"
    );
    one.unlock(&first).await.expect("unlock");
    assert_eq!(one.lock_holder().await.expect("holder"), None);

    // A holder that dies without unlocking is taken over, and reported.
    let mut dead = LockInfo::for_this_process("apply");
    dead.pid = u32::MAX - 1;
    {
        let crashed = open().await;
        assert_eq!(crashed.lock(&dead).await.expect("lock"), Acquired::Fresh);
    }
    assert_eq!(lock_soon(&two, &second).await, Acquired::TookOver(dead));
    two.unlock(&second).await.expect("unlock");

    // A holder on another host that may be alive is never taken over:
    // only a forced unlock frees it.
    let mut remote = LockInfo::for_this_process("resume");
    remote.host = "another-host".into();
    remote.pid = u32::MAX - 1;
    let elsewhere = open().await;
    assert_eq!(elsewhere.lock(&remote).await.expect("lock"), Acquired::Fresh);
    assert!(matches!(two.lock(&second).await, Err(StateError::Locked(_))));
    assert_eq!(two.force_unlock().await.expect("force"), Some(remote));
    assert_eq!(lock_soon(&two, &second).await, Acquired::Fresh);
    two.unlock(&second).await.expect("unlock");
}

/// Takes the lock, allowing the server a moment to notice a dead session.
async fn lock_soon<S: StateStore>(store: &S, info: &LockInfo) -> Acquired {
    for _ in 0..100 {
        match store.lock(info).await {
            Err(StateError::Locked(_)) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            other => return other.expect("lock"),
        }
    }
    panic!("the lock of a dead holder was never released");
}
