//! `planrun report [--run ID] --format junit|markdown|html`: a run, after
//! the fact, for a CI's test tab, a pull request or a person.

use std::collections::HashMap;

use crate::cli::engine::{self, StateArgs};
use crate::cli::load::replayed;
use crate::cli::output;
use crate::cli::status::find_run;
use crate::compile::compile;
use crate::error::{Error, Exit};
use crate::plan::Source;
use crate::report::run::{RunReport, StepFacts, html, junit, markdown};
use crate::state::{RunRecord, Storage, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ReportFormat {
    /// JUnit XML: a test case per step and per verify probe
    Junit,
    /// A summary for a pull request
    Markdown,
    /// One self-contained page: the graph coloured by status, a timeline of
    /// every attempt and the rollback, each step's details and log tail
    Html,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The run to report (default: the latest)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    #[arg(long, value_enum)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub state: StateArgs,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    engine::block_on(async {
        let Some(store) = Store::open_for_reading(&location).await? else {
            return Err(Error::Usage(format!("no runs yet: `{location}` does not exist")));
        };
        let Some(run) = find_run(&store, args.run.as_deref()).await? else {
            return Err(Error::Usage(format!("no runs yet in `{location}`")));
        };
        let steps = store.steps(&run.id).await?;
        let events = store.events(&run.id).await?;
        store.close().await;
        let report = RunReport {
            run: &run,
            steps: &steps,
            events: &events,
            plan: plan_facts(&run),
            log_tails: log_tails(&location.logs_dir().join(&run.id), &steps),
        };
        let text = match args.format {
            ReportFormat::Junit => junit::render(&report),
            ReportFormat::Markdown => markdown::render(&report),
            ReportFormat::Html => html::render(&report),
        };
        output::stdout(&text)?;
        Ok(Exit::Success)
    })?
}

/// The last lines of each step's log in `dir` (the logs are masked as
/// they are written).
fn log_tails(dir: &std::path::Path, steps: &[crate::state::StepRecord]) -> HashMap<String, Vec<String>> {
    const LINES: usize = 20;
    steps
        .iter()
        .filter_map(|step| {
            let text = std::fs::read_to_string(dir.join(format!("{}.log", step.step_id))).ok()?;
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(LINES)..]
                .iter()
                .map(|l| (*l).to_string())
                .collect();
            Some((step.step_id.clone(), tail))
        })
        .collect()
}

/// Each step's phase and number of verify probes, from the plan as the run
/// applied it (empty when it no longer compiles: the report still shows
/// every step, without its verify cases).
fn plan_facts(run: &RunRecord) -> HashMap<String, StepFacts> {
    let Ok(overrides) = replayed(&run.overrides) else {
        return HashMap::new();
    };
    let source = Source::new(run.plan_path.clone(), run.plan_source.clone());
    let Ok(compiled) = compile(&source, &overrides, false) else {
        return HashMap::new();
    };
    compiled
        .plan
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let facts = StepFacts {
                phase: step.phase.clone(),
                verify: step.verify.len(),
                check: step.check.is_some(),
                depends_on: step.depends_on.iter().map(|d| d.get_ref().clone()).collect(),
                level: compiled.dag.level(index),
            };
            (step.id.clone(), facts)
        })
        .collect()
}
