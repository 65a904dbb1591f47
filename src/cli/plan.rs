//! `planrun plan PLAN`: the dry-run preview. It runs nothing and writes
//! nothing. When the plan has an unfinished run in the state, each step
//! shows where it stands (done, pending, drifted, …). `--live` also
//! evaluates the preflight probes and every step's `check`, read-only, and
//! says for each step whether applying would run it, skip it, or cannot
//! know yet (its check reads what a step before it would change). With an
//! unfinished run, the preview uses that run's var overrides, as `resume`
//! would, unless others are given.

use std::collections::BTreeMap;
use std::path::Path;

use crate::cli::engine::{self, StateArgs};
use crate::cli::load::{PlanArgs, compile_loud, load_plan, plan_name, recorded, replayed};
use crate::cli::output;
use crate::cli::saved_plan::{SavedPlan, SavedRun, is_saved_plan};
use crate::compile::Compiled;
use crate::error::{Error, Exit};
use crate::exec::error::ExecError;
use crate::exec::live::{self, Prediction};
use crate::exec::resume::step_states;
use crate::exec::review::{ReviewHash, StateSeen};
use crate::exec::secrets::Secrets;
use crate::plan::vars::Override;
use crate::report::preview::{self, PreviewFormat, PreviewInput};
use crate::state::{Location, RunRecord, StepRecord, Storage, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
    /// Also run the preflight probes and each step's `check`, read-only,
    /// to show what applying would do now (exit 1 when a preflight fails)
    #[arg(long)]
    pub live: bool,
    /// Also write what was previewed to FILE (a saved plan, `.planrun`):
    /// `planrun apply FILE` runs exactly that, or refuses saying what changed
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// Exit 0 when nothing would run, 2 when steps would run, 1 on an error
    /// (with --live, steps whose check passes now count as nothing to do)
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

/// The unfinished run of a plan and its steps, as the state holds them.
type Unfinished = (RunRecord, Vec<StepRecord>);

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    if let Some(out) = args.out.as_ref().filter(|out| !is_saved_plan(out)) {
        return Err(Error::Usage(format!(
            "`--out {}`: a saved plan's name ends with `.planrun`",
            out.display()
        )));
    }
    let source = load_plan(&args.plan.plan)?;
    let location = args.state.location()?;
    // The unfinished run of this plan, if any: what `resume` would
    // continue, with the var overrides it was applied with.
    let seen = match plan_name(&source) {
        Some(name) => engine::block_on(seen(&location, name))??,
        None => Seen::default(),
    };
    let overrides = previewed_overrides(seen.unfinished.as_ref(), args.plan.overrides()?)?;
    let compiled = compile_loud(&source, &overrides, args.plan.deny_warnings)?;
    args.plan.check_policy(&compiled)?;
    let secrets = if args.live {
        Some(Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?)
    } else {
        None
    };
    let review = ReviewHash::of(&compiled, &recorded(&overrides), seen.state(), |name| {
        std::env::var(name).ok()
    });
    let latest_run = seen.state().describe();
    let saved_run = seen.unfinished.as_ref().map(saved_run);
    let mut states = seen.unfinished.map(|(_, steps)| step_states(&compiled, &steps));
    let (preflight_failed, would_run) = match &secrets {
        Some(secrets) => engine::block_on(live_states(&compiled, secrets, &mut states))??,
        None => (false, any_not_done(&compiled, states.as_ref())),
    };
    let input = PreviewInput {
        compiled: &compiled,
        states: states.as_ref(),
        review: Some(&review),
    };
    output::stream(|out| preview::write(&input, args.format, out))?;
    if let Some(out) = &args.out {
        let live = args.live.then(|| states.clone().unwrap_or_default());
        let saved = SavedPlan::new(
            &args.plan.plan,
            &compiled,
            recorded(&overrides),
            saved_run,
            live,
            (&review, latest_run),
        );
        save(&saved, out)?;
    }
    Ok(if preflight_failed {
        Exit::Failure
    } else if args.detailed_exitcode && would_run {
        Exit::WouldRun
    } else {
        Exit::Success
    })
}

/// The var overrides to preview with: those `given`, or, when none are
/// given, those the unfinished run was applied with (as `resume` would);
/// a note on stderr says which when the two differ.
fn previewed_overrides(unfinished: Option<&Unfinished>, given: Vec<Override>) -> Result<Vec<Override>, Error> {
    Ok(match unfinished {
        Some((run, _)) if given.is_empty() && !run.overrides.is_empty() => {
            eprintln!(
                "note: run {} of this plan is unfinished: previewing with the var overrides it was applied with, as `resume` would",
                run.id
            );
            replayed(&run.overrides)?
        }
        Some((run, _)) if recorded(&given) != run.overrides => {
            eprintln!(
                "note: run {} of this plan is unfinished with other var overrides: `resume` would use those, not these",
                run.id
            );
            given
        }
        _ => given,
    })
}

/// What a saved plan keeps of the unfinished run: its id, and each step's
/// status and attempts.
fn saved_run((run, steps): &Unfinished) -> SavedRun {
    SavedRun {
        id: run.id.clone(),
        steps: steps
            .iter()
            .map(|step| {
                (
                    step.step_id.clone(),
                    format!("{} ({} attempts)", step.status, step.attempts),
                )
            })
            .collect(),
    }
}

/// Without --live: whether any step is not done in the unfinished run
/// (`states`), which is every step without one (apply starts a new run).
fn any_not_done(compiled: &Compiled, states: Option<&BTreeMap<String, String>>) -> bool {
    compiled
        .plan
        .steps
        .iter()
        .any(|step| states.is_none_or(|states| states.get(&step.id).is_none_or(|state| state != "done")))
}

/// Writes `saved` to `out` (`--out`) and says so on stderr.
fn save(saved: &SavedPlan, out: &Path) -> Result<(), Error> {
    saved.write(out)?;
    eprintln!(
        "saved the plan to {}: `planrun apply {}` runs exactly this",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Evaluates the preflight probes (reported on stderr) and every check,
/// and adds what applying would do now to each step's state; whether a
/// preflight failed, and whether any step would (or might) run.
async fn live_states(
    compiled: &Compiled,
    secrets: &Secrets,
    states: &mut Option<BTreeMap<String, String>>,
) -> Result<(bool, bool), Error> {
    let report = live::evaluate(compiled, secrets, std::env::current_dir()?, 8).await;
    let mut preflight_failed = false;
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
    let done: Vec<bool> = compiled
        .plan
        .steps
        .iter()
        .map(|step| matches!(states.get(&step.id).map(String::as_str), Some("done" | "drifted")))
        .collect();
    let predictions = live::predict(compiled, &done, &report.checks);
    let would_run = predictions
        .iter()
        .any(|prediction| !matches!(prediction, Prediction::Done | Prediction::Satisfied));
    for (step, prediction) in compiled.plan.steps.iter().zip(predictions) {
        if prediction == Prediction::Done || (step.check.is_none() && !states.contains_key(&step.id)) {
            continue;
        }
        let state = match states.get(&step.id) {
            Some(current) => format!("{current}; {prediction}"),
            None => prediction.to_string(),
        };
        states.insert(step.id.clone(), state);
    }
    Ok((preflight_failed, would_run))
}

/// The plan's runs as a preview sees them: the latest unfinished one and
/// its steps (what `resume` would continue), and what the review hash
/// covers of the state. Nothing without a state (it is never created here).
async fn seen(location: &Location, name: String) -> Result<Seen, Error> {
    let Some(store) = Store::open_for_reading(location).await? else {
        return Ok(Seen::default());
    };
    let found = seen_of(&store, &name).await;
    store.close().await;
    found
}

/// What [`seen`] finds of the plan `name` in `store`: its latest run, and
/// its latest unfinished run with that run's steps.
#[derive(Default)]
pub(crate) struct Seen {
    pub latest: Option<RunRecord>,
    pub unfinished: Option<Unfinished>,
}

impl Seen {
    /// What the review hash covers: the latest run, with its steps when
    /// it is the unfinished one.
    pub(crate) fn state(&self) -> StateSeen<'_> {
        let steps = match (&self.latest, &self.unfinished) {
            (Some(latest), Some((run, steps))) if latest.id == run.id => steps.as_slice(),
            _ => &[],
        };
        StateSeen {
            latest: self.latest.as_ref(),
            steps,
        }
    }
}

pub(crate) async fn seen_of(store: &Store, name: &str) -> Result<Seen, Error> {
    let runs = store.runs().await?;
    let latest = runs.iter().rev().find(|run| run.plan_name == name).cloned();
    let unfinished = match runs
        .into_iter()
        .rev()
        .find(|run| run.plan_name == name && run.outcome.is_unfinished())
    {
        Some(run) => {
            let steps = store.steps(&run.id).await?;
            Some((run, steps))
        }
        None => None,
    };
    Ok(Seen { latest, unfinished })
}
