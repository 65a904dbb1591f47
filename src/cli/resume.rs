//! `planrun resume [PLAN]`: continue the latest unfinished run.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, Format, StateArgs, WalkArgs};
use crate::cli::load::{compile_loud, replayed};
use crate::error::{Error, Exit};
use crate::exec::error::ExecError;
use crate::exec::resume::{ResumeRequest, resume};
use crate::exec::secrets::Secrets;
use crate::exec::session::Session;
use crate::plan::Source;
use crate::state::{RunRecord, StateStore, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The plan file (default: the one the run was applied from)
    pub plan: Option<PathBuf>,
    /// Keep completed steps whose definition changed as done
    #[arg(long)]
    pub accept_drift: bool,
    /// Run this step and everything after it again (repeatable)
    #[arg(long, value_name = "STEP")]
    pub rerun: Vec<String>,
    #[command(flatten)]
    pub walk: WalkArgs,
    #[command(flatten)]
    pub approvals: ApprovalArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    let (reporter, prompt) = engine::reporter(args.format);
    engine::block_on(async {
        let Some(store) = Store::open_existing(&location).await? else {
            return Err(ExecError::NothingToDo(format!("no state at `{location}`: nothing to resume")).into());
        };
        let given = args.plan.as_deref().map(Source::load).transpose()?;
        let run = unfinished_run(&store, given.as_ref()).await?;
        let source = match given {
            Some(source) => source,
            None => recorded_plan(&run),
        };
        let compiled = Arc::new(compile_loud(&source, &replayed(&run.overrides)?, false)?);
        if compiled.plan.name != run.plan_name {
            return Err(Error::Usage(format!(
                "`{}` is plan `{}`, but run `{}` is of plan `{}`",
                source.name, compiled.plan.name, run.id, run.plan_name
            )));
        }
        let secrets = Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?;
        let interrupt = engine::interrupt_on_signals()?;
        let settings = engine::settings(
            &location,
            reporter.clone(),
            prompt,
            &args.approvals,
            Some(&args.walk),
            interrupt,
        )?;
        let session = Session::begin(store, "resume", reporter.as_ref()).await?;
        let request = ResumeRequest {
            accept_drift: args.accept_drift,
            rerun: args.rerun.clone(),
        };
        let outcome = resume(&session, compiled, secrets, &run, &request, &settings).await;
        session.end().await?;
        Ok(engine::exit_for(outcome?))
    })?
}

/// The latest unfinished run (of the given plan, when there is one).
async fn unfinished_run(store: &Store, plan: Option<&Source>) -> Result<RunRecord, Error> {
    let runs = store.runs().await?;
    let unfinished = runs.iter().rev().filter(|run| run.outcome.is_unfinished());
    let found = match plan {
        None => unfinished.into_iter().next(),
        Some(source) => {
            let unfinished: Vec<&RunRecord> = unfinished.collect();
            match unfinished.iter().find(|run| run.plan_path == source.name) {
                Some(run) => Some(*run),
                None => {
                    let name = plan_name(source);
                    unfinished.into_iter().find(|run| Some(&run.plan_name) == name.as_ref())
                }
            }
        }
    };
    let Some(found) = found else {
        let of = plan.map(|s| format!(" of `{}`", s.name)).unwrap_or_default();
        return Err(ExecError::NothingToDo(format!("no unfinished run{of} to resume")).into());
    };
    let id = found.id.clone();
    store
        .run(&id)
        .await?
        .ok_or_else(|| ExecError::NothingToDo(format!("run `{id}` disappeared")).into())
}

/// The `name` of a plan, read without compiling it.
fn plan_name(source: &Source) -> Option<String> {
    let table = toml::de::DeTable::parse(&source.text).ok()?;
    table.get_ref().get("name")?.get_ref().as_str().map(str::to_string)
}

/// The plan a run was applied from: the file if it is still there (its
/// changes are drift), else the copy kept with the run.
pub fn recorded_plan(run: &RunRecord) -> Source {
    Source::load(std::path::Path::new(&run.plan_path))
        .unwrap_or_else(|_| Source::new(format!("{} (as applied)", run.plan_path), run.plan_source.clone()))
}
