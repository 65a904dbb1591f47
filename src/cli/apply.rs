//! `planrun apply PLAN`: preflight, then run every step, checkpointed.

use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, Format, StateArgs, WalkArgs};
use crate::cli::load::{PlanArgs, compile_loud, recorded};
use crate::error::{Error, Exit};
use crate::exec::apply::{ApplyRequest, apply};
use crate::exec::error::ExecError;
use crate::exec::secrets::Secrets;
use crate::exec::session::Session;
use crate::plan::Source;
use crate::state::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub walk: WalkArgs,
    /// After a failure, roll back what this run did
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Give up an unfinished run of this plan and start a new one
    #[arg(long)]
    pub abandon: bool,
    #[command(flatten)]
    pub approvals: ApprovalArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &Args) -> Result<Exit, Error> {
    // Everything that can be wrong with the input is found before the
    // state is touched: an invalid plan, vars or secrets write nothing.
    let source = Source::load(&args.plan.plan)?;
    let overrides = args.plan.overrides()?;
    let compiled = Arc::new(compile_loud(&source, &overrides, args.plan.deny_warnings)?);
    let secrets = Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?;
    let location = args.state.location()?;
    let request = ApplyRequest {
        plan_path: args.plan.plan.display().to_string(),
        overrides: recorded(&overrides),
        rollback_on_failure: args.rollback_on_failure,
        abandon: args.abandon,
    };
    let (reporter, prompt) = engine::reporter(args.format);
    engine::block_on(async {
        let interrupt = engine::interrupt_on_signals()?;
        let settings = engine::settings(
            &location,
            reporter.clone(),
            prompt,
            &args.approvals,
            Some(&args.walk),
            interrupt,
        )?;
        let store = Store::open(&location).await?;
        engine::stop_on_lost_lock(&store, &settings.interrupt, reporter.clone());
        let session = Session::begin(store, "apply", reporter.as_ref()).await?;
        let outcome = apply(&session, compiled, secrets, &request, &settings).await;
        session.end().await?;
        Ok(engine::exit_for(outcome?))
    })?
}
