//! `planrun plan PLAN`: the dry-run preview. It runs nothing and writes
//! nothing. When the plan has an unfinished run in the state, each step
//! shows where it stands (done, pending, drifted, …). `--live` also
//! evaluates the preflight probes and every step's `check`, read-only.

use std::collections::BTreeMap;

use crate::cli::engine::{self, StateArgs};
use crate::cli::load::PlanArgs;
use crate::cli::output;
use crate::error::{Error, Exit};
use crate::exec::error::ExecError;
use crate::exec::live;
use crate::exec::resume::step_states;
use crate::exec::secrets::Secrets;
use crate::plan::Compiled;
use crate::report::preview::{self, PreviewFormat, PreviewInput};
use crate::state::{StateStore, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
    /// Also run the preflight probes and each step's `check`, read-only,
    /// to show what applying would do now (exit 1 when a preflight fails)
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn run(args: &Args) -> Result<Exit, Error> {
    let compiled = args.plan.compile()?;
    let location = args.state.location()?;
    let secrets = if args.live {
        Some(Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?)
    } else {
        None
    };
    let (states, preflight_failed) = engine::block_on(async {
        let mut states = recorded_states(&compiled, &location).await?;
        let mut preflight_failed = false;
        if let Some(secrets) = &secrets {
            let work_dir = std::env::current_dir()?;
            let report = live::evaluate(&compiled, secrets, work_dir, 8).await;
            for (id, result) in &report.preflight {
                match result {
                    Ok(()) => eprintln!("preflight ok      {id}"),
                    Err(error) => {
                        preflight_failed = true;
                        eprintln!("preflight FAILED  {id}: {error}");
                    }
                }
            }
            let states = states.get_or_insert_with(BTreeMap::new);
            for (step, check) in compiled.plan.steps.iter().zip(report.checks) {
                let Some(check) = check else { continue };
                let current = states.get(&step.id).map(String::as_str);
                if matches!(current, Some("done" | "drifted")) {
                    continue;
                }
                let live = match check {
                    Ok(()) => "satisfied now (check passes: run would be skipped)".to_string(),
                    Err(reason) => format!("would run (check: {reason})"),
                };
                let state = match current {
                    Some(current) => format!("{current}; {live}"),
                    None => live,
                };
                states.insert(step.id.clone(), state);
            }
        }
        Ok::<_, Error>((states, preflight_failed))
    })??;
    let input = PreviewInput {
        compiled: &compiled,
        states: states.as_ref(),
    };
    output::stream(|out| preview::write(&input, args.format, out))?;
    Ok(if preflight_failed { Exit::Failure } else { Exit::Success })
}

/// States from the latest unfinished run of this plan: what `resume` would
/// continue. `None` without one (the state is never created here).
async fn recorded_states(
    compiled: &Compiled,
    location: &crate::state::Location,
) -> Result<Option<BTreeMap<String, String>>, Error> {
    let Some(store) = Store::open_for_reading(location).await? else {
        return Ok(None);
    };
    let stored = unfinished_steps(&store, &compiled.plan.name).await;
    store.close().await;
    Ok(stored?.map(|stored| step_states(compiled, &stored)))
}

async fn unfinished_steps(store: &Store, plan: &str) -> Result<Option<Vec<crate::state::StepRecord>>, Error> {
    let runs = store.runs().await?;
    let unfinished = runs
        .iter()
        .rev()
        .find(|run| run.plan_name == plan && run.outcome.is_unfinished());
    match unfinished {
        Some(run) => Ok(Some(store.steps(&run.id).await?)),
        None => Ok(None),
    }
}
