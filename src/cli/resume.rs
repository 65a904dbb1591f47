//! `planrun resume [PLAN]`: continue the latest unfinished run.

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, Format, StateArgs, WalkArgs};
use crate::cli::load::{compile_loud, load_plan, plan_name, replayed, same_plan};
use crate::digest::text_hash;
use crate::error::{Error, Exit};
use crate::exec::error::ExecError;
use crate::exec::resume::{ResumeRequest, Stored, resume};
use crate::exec::secrets::Secrets;
use crate::plan::Source;
use crate::state::{RunRecord, Storage, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
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

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    let (reporter, prompt) = engine::reporter(args.format);
    engine::block_on(async {
        let store = engine::existing_state(&location, "resume").await?;
        let given = args.plan.as_deref().map(load_plan).transpose()?;
        let run = unfinished_run(&store, given.as_ref()).await?;
        let source = match given {
            Some(source) => source,
            None => recorded_plan(&store, &run).await?,
        };
        // Reading the steps overlaps compiling the plan (checked again once
        // the lock is held): on a large plan both take tens of milliseconds.
        let store = Arc::new(store);
        let preload = tokio::spawn(read_steps(
            store.clone(),
            run.id.clone(),
            source.text.clone(),
            run.plan_hash.clone(),
        ));
        let overrides = replayed(&run.overrides)?;
        let compiled =
            tokio::task::spawn_blocking(move || compile_loud(&source, &overrides, false).map(|c| (c, source)));
        let (preloaded, compiled) = tokio::join!(preload, compiled);
        let (compiled, source) = compiled.map_err(|e| Error::Usage(format!("compiling failed: {e}")))??;
        let (mark, mut stored) = preloaded.map_err(|e| Error::Usage(format!("reading the state failed: {e}")))??;
        let compiled = Arc::new(compiled);
        same_plan(&source, &compiled, &run)?;
        args.approvals.check(&compiled.plan)?;
        let secrets = Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?;
        let settings = engine::walk_settings(&location, reporter, prompt, &args.approvals, &args.walk)?;
        let store = Arc::try_unwrap(store).map_err(|_| Error::Usage("the state is still in use".into()))?;
        let session = engine::lock(store, &settings, "resume").await?;
        // Another command may have written between the read and the lock.
        if session.store.last_event(&run.id).await? != mark {
            stored.steps = session.store.steps(&run.id).await?;
        }
        let request = ResumeRequest {
            accept_drift: args.accept_drift,
            rerun: args.rerun.clone(),
        };
        let outcome = resume(&session, compiled, secrets, &run, stored, &request, &settings).await;
        session.end().await?;
        Ok(engine::exit_for(outcome?))
    })?
}

/// The run's steps, with the journal position they were read at, and
/// whether `text` is the plan as applied (hashed here, beside compiling).
async fn read_steps(
    store: Arc<Store>,
    run_id: String,
    text: Arc<str>,
    applied_hash: String,
) -> Result<(Option<i64>, Stored), Error> {
    let mark = store.last_event(&run_id).await?;
    let steps = store.steps(&run_id).await?;
    let plan_unchanged = text_hash(&text) == applied_hash;
    Ok((mark, Stored { steps, plan_unchanged }))
}

/// The latest unfinished run (of the given plan, when there is one),
/// without its plan source.
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
    Ok(found.clone())
}

/// The plan a run was applied from: the file if it is still there (its
/// changes are drift), else the copy kept with the run.
async fn recorded_plan(store: &Store, run: &RunRecord) -> Result<Source, Error> {
    if let Ok(source) = Source::load(std::path::Path::new(&run.plan_path)) {
        return Ok(source);
    }
    let kept = store
        .run(&run.id)
        .await?
        .ok_or_else(|| ExecError::NothingToDo(format!("run `{}` disappeared", run.id)))?;
    Ok(Source::new(format!("{} (as applied)", run.plan_path), kept.plan_source))
}
