//! `planrun rollback`: undo what a run did, in reverse dependency order.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, Format, GraceArgs, StateArgs};
use crate::cli::load::{compile_loud, load_plan, plan_name, replayed, same_plan};
use crate::error::{Error, Exit};
use crate::exec::error::ExecError;
use crate::exec::rollback::rollback_run;
use crate::exec::secrets::Secrets;
use crate::plan::Source;
use crate::state::{RunOutcome, RunRecord};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The plan to take rollbacks from (default: the plan exactly as the run applied it)
    pub plan: Option<PathBuf>,
    /// The run to undo (default: the latest one not rolled back or abandoned)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// Rollbacks that may run at once (default: the plan's `parallelism`, else 4)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub parallelism: Option<u16>,
    #[command(flatten)]
    pub grace: GraceArgs,
    #[command(flatten)]
    pub approvals: ApprovalArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    let (reporter, prompt) = engine::reporter(args.format);
    engine::block_on(async {
        let store = engine::existing_state(&location, "roll back").await?;
        let given = args.plan.as_deref().map(load_plan).transpose()?;
        // With a plan given, the latest run of that plan (by its name).
        let name = given.as_ref().and_then(plan_name);
        let undoable = |run: &RunRecord| {
            !matches!(run.outcome, RunOutcome::RolledBack | RunOutcome::Abandoned)
                && name.as_ref().is_none_or(|name| *name == run.plan_name)
        };
        let none = match (&given, &name) {
            (Some(source), Some(name)) => format!("no run of plan `{name}` (`{}`) to roll back", source.name),
            _ => "no run to roll back".to_string(),
        };
        let run = engine::pick_run(&store, args.run.as_deref(), undoable, &none).await?;
        let source = match given {
            Some(source) => source,
            None => Source::new(format!("{} (as applied)", run.plan_path), run.plan_source.clone()),
        };
        let compiled = Arc::new(compile_loud(&source, &replayed(&run.overrides)?, false)?);
        same_plan(&source, &compiled, &run)?;
        args.approvals.check(&compiled.plan)?;
        let secrets = Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?;
        let mut settings = engine::settings(&location, reporter, prompt, &args.approvals, None, args.grace.std())?;
        settings.parallelism = args.parallelism.map(usize::from);
        let session = engine::lock(store, &settings, "rollback").await?;
        let outcome = rollback_run(&session, compiled, secrets, &run, &settings).await;
        session.end().await?;
        Ok(engine::exit_for(outcome?))
    })?
}
