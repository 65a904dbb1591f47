//! `planrun mark STEP --done|--pending`: an operator's decision about an
//! interrupted step.

use crate::cli::engine::{self, GraceArgs, StateArgs};
use crate::error::{Error, Exit};
use crate::exec::event::Reporter;
use crate::exec::mark::{Decision, mark};
use crate::exec::session::Session;
use crate::report::lines::Lines;
use crate::state::RunRecord;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("decision").required(true))]
pub(crate) struct Args {
    pub step: String,
    /// The step did its work: treat it as succeeded
    #[arg(long, group = "decision")]
    pub done: bool,
    /// The step did not do its work: run it again on resume
    #[arg(long, group = "decision")]
    pub pending: bool,
    /// With --done: also for a step that never started (it is then skipped,
    /// and what depends on it runs without it having run)
    #[arg(long, requires = "done")]
    pub force: bool,
    /// The run (default: the latest unfinished one)
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    #[command(flatten)]
    pub grace: GraceArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    engine::block_on(async {
        let store = engine::existing_state(&location, "mark").await?;
        let unfinished = |run: &RunRecord| run.outcome.is_unfinished();
        let run_id = engine::pick_run(&store, args.run.as_deref(), unfinished, "no unfinished run")
            .await?
            .id;
        let reporter: &dyn Reporter = &Lines;
        let session = Session::begin(store, "mark", reporter).await?;
        let decision = Decision {
            done: args.done,
            force: args.force,
        };
        let marked = mark(&session, &run_id, &args.step, decision, args.grace.std(), reporter).await;
        session.end().await?;
        let status = marked?;
        eprintln!("step `{}` of run {run_id} is now {status}", args.step);
        Ok(Exit::Success)
    })?
}
