//! `planrun status`: where a run stands, step by step.

use std::fmt::Write;

use serde::Serialize;

use crate::cli::engine::{self, Format, StateArgs};
use crate::cli::output;
use crate::error::{Error, Exit};
use crate::state::{RunRecord, StepRecord, StepStatus, Storage, Store};
use crate::supervise::{Liveness, ProcessGroup};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The run to show (default: the latest)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Serialize)]
struct Status<'a> {
    run: &'a RunRecord,
    steps: &'a [StepRecord],
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    engine::block_on(async {
        let Some(store) = Store::open_for_reading(&location).await? else {
            eprintln!("no runs yet: `{location}` does not exist");
            return Ok(Exit::Success);
        };
        let Some(run) = find_run(&store, args.run.as_deref()).await? else {
            eprintln!("no runs yet in `{location}`");
            return Ok(Exit::Success);
        };
        let steps = store.steps(&run.id).await?;
        let text = match args.format {
            Format::Json => {
                let mut text = serde_json::to_string_pretty(&Status {
                    run: &run,
                    steps: &steps,
                })
                .unwrap_or_default();
                text.push('\n');
                text
            }
            Format::Text => render(&run, &steps),
        };
        store.close().await;
        output::stdout(&text)?;
        Ok(Exit::Success)
    })?
}

/// The run `id`, or the latest run.
pub(crate) async fn find_run(store: &Store, id: Option<&str>) -> Result<Option<RunRecord>, Error> {
    let id = match id {
        Some(id) => id.to_string(),
        None => match store.runs().await?.pop() {
            Some(run) => run.id,
            None => return Ok(None),
        },
    };
    match store.run(&id).await? {
        Some(run) => Ok(Some(run)),
        None => Err(Error::Usage(format!("no run `{id}`"))),
    }
}

fn render(run: &RunRecord, steps: &[StepRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "run {} of `{}` ({})", run.id, run.plan_name, run.plan_path);
    let _ = writeln!(
        out,
        "{}: started {} by {}@{} (pid {}){}",
        run.outcome,
        run.started_at,
        run.user,
        run.host,
        run.pid,
        run.finished_at
            .as_ref()
            .map(|at| format!(", finished {at}"))
            .unwrap_or_default()
    );
    let width = steps.iter().map(|s| s.step_id.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(out, "\n{:width$}  {:15}  {:>8}  NOTE", "STEP", "STATUS", "ATTEMPTS");
    for step in steps {
        let live = step.process.as_ref().filter(|group| !group.ended);
        let note = match (live, in_doubt_note(step), step.error.as_deref()) {
            (Some(group), ..) => process_note(group),
            (None, Some(doubt), _) => doubt,
            (None, None, error) => error.and_then(|e| e.lines().next()).unwrap_or_default().to_string(),
        };
        let _ = writeln!(
            out,
            "{:width$}  {:15}  {:>8}  {note}",
            step.step_id,
            step.status.as_str(),
            step.attempts
        );
    }
    out
}

/// For a step stopped while running: what settling asked and found about
/// its latest attempt, else what `resume` will ask (from the evidence the
/// attempt recorded).
fn in_doubt_note(step: &StepRecord) -> Option<String> {
    if !matches!(step.status, StepStatus::Running | StepStatus::Interrupted) {
        return None;
    }
    let progress = step.progress.as_ref()?;
    let settled = &progress["settled"];
    if settled["attempt"] == serde_json::json!(step.attempts) {
        let verdict = match settled["verdict"].as_str().unwrap_or_default() {
            "took_effect" => "took effect",
            "no_effect" => "no effect",
            "partly" => "took effect in part",
            _ => "cannot tell",
        };
        return Some(format!(
            "{verdict}: asked {}: {}",
            settled["asked"].as_str().unwrap_or_default(),
            settled["found"].as_str().unwrap_or_default(),
        ));
    }
    let ask = progress["evidence"]["ask"].as_str()?;
    Some(format!("resume will ask {ask}"))
}

/// Where a step's recorded processes stand (the next `resume`, `rollback`
/// or `mark` waits for them).
fn process_note(group: &ProcessGroup) -> String {
    match group.liveness() {
        Liveness::Alive(members) => format!("{group}: still alive ({})", members.join(", ")),
        Liveness::Gone => format!("{group}: ended"),
        Liveness::Elsewhere => format!("{group}: cannot be seen from here"),
    }
}
