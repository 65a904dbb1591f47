//! Tests of the engine's core against the in-memory store: a plan compiled
//! from text, a runtime on `MemoryStore`, the events it reports.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::compile::{Compiled, compile};
use crate::exec::approval::Approvals;
use crate::exec::event::{Event, Reporter};
use crate::exec::interrupt::Interrupt;
use crate::exec::runtime::{Runtime, Settings};
use crate::exec::secrets::Secrets;
use crate::plan::source::Source;
use crate::state::memory::MemoryStore;
use crate::state::{StepRecord, Storage, Store};

/// A plan of four file writes: `a`, then `b` and `d` after it, `c` after `b`.
/// `{fail}` is the file `b`'s verify looks for (`b.txt` passes, `missing` fails).
pub(crate) const DIAMOND: &str = r#"format = 1
name = "core"
[steps.a]
run = { kind = "file.write", path = "{dir}/a.txt", content = "a" }
[steps.b]
depends_on = ["a"]
run = { kind = "file.write", path = "{dir}/b.txt", content = "b" }
verify = [{ kind = "file.exists", path = "{dir}/{fail}" }]
[steps.c]
depends_on = ["b"]
run = { kind = "file.write", path = "{dir}/c.txt", content = "c" }
[steps.d]
depends_on = ["a"]
run = { kind = "file.write", path = "{dir}/d.txt", content = "d" }
"#;

/// Keeps every event, as a terminal would show them.
#[derive(Default)]
pub(crate) struct Recorded(pub(crate) Mutex<Vec<String>>);

impl Reporter for Recorded {
    fn report(&self, event: &Event) {
        if let (Ok(mut events), Ok(json)) = (self.0.lock(), serde_json::to_value(event)) {
            events.push(json.to_string());
        }
    }
}

pub(crate) struct Harness {
    pub(crate) rt: Arc<Runtime>,
    pub(crate) records: Vec<StepRecord>,
    pub(crate) interrupt: Interrupt,
    pub(crate) dir: tempfile::TempDir,
}

impl Harness {
    /// `plan` with `{dir}` standing for a fresh directory.
    pub(crate) async fn new(plan: &str) -> Harness {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let text = plan.replace("{dir}", &dir.path().display().to_string());
        let compiled: Compiled = compile(&Source::new("plan.toml", text), &[], false)
            .unwrap_or_else(|failed| panic!("the plan compiles: {:?}", failed.diagnostics));
        let secrets = Secrets::resolve(&compiled.plan).expect("no secrets to read");
        let records: Vec<StepRecord> = compiled
            .plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let position = u32::try_from(i).expect("a small plan");
                StepRecord::pending(&step.id, position, crate::plan::hash::step_hash(step))
            })
            .collect();
        let interrupt = Interrupt::new();
        let settings = Settings {
            reporter: Arc::new(Recorded::default()),
            interrupt: interrupt.clone(),
            approvals: Arc::new(Approvals::new(false, Vec::new(), None)),
            parallelism: None,
            keep_going: false,
            kill_grace: Duration::from_secs(1),
            heartbeat: Duration::ZERO,
            logs_dir: dir.path().join("logs"),
            work_dir: dir.path().to_path_buf(),
        };
        let store = Arc::new(Store::Memory(MemoryStore::default()));
        store.add_steps("test-run", &records).await.expect("the steps stored");
        let rt = Runtime::new(Arc::new(compiled), store, "test-run", secrets, &settings).expect("a runtime");
        Harness {
            rt: Arc::new(rt),
            records,
            interrupt,
            dir,
        }
    }

    /// The journal's `KIND STEP` lines, in order.
    pub(crate) async fn journal(&self) -> Vec<String> {
        self.rt
            .store
            .events("test-run")
            .await
            .expect("the journal")
            .into_iter()
            .map(|event| format!("{} {}", event.kind, event.step_id.unwrap_or_default()))
            .collect()
    }

    /// The checkpointing writes so far (see `MemoryStore::commits`).
    pub(crate) fn commits(&self) -> Vec<Vec<String>> {
        match &*self.rt.store {
            Store::Memory(store) => store.commits(),
            _ => Vec::new(),
        }
    }

    /// What the store holds for each step: `ID=status`.
    pub(crate) async fn stored(&self) -> Vec<String> {
        self.rt
            .store
            .steps("test-run")
            .await
            .expect("the steps")
            .into_iter()
            .map(|step| format!("{}={}", step.step_id, step.status.as_str()))
            .collect()
    }
}
