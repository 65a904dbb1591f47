//! `planrun logs STEP`: the log of a step in a run (default: the latest).

use crate::cli::engine::{self, StateArgs};
use crate::cli::output;
use crate::cli::status::find_run;
use crate::error::{Error, Exit};
use crate::exec::error::ExecError;
use crate::state::{Storage, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The step (or `preflight.ID`)
    pub step: String,
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    #[command(flatten)]
    pub state: StateArgs,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    engine::block_on(async {
        let store = Store::open_for_reading(&location)
            .await?
            .ok_or_else(|| ExecError::NothingToDo(format!("no state at `{location}`: nothing to show")))?;
        let run = find_run(&store, args.run.as_deref())
            .await?
            .ok_or_else(|| Error::Usage("no runs yet".into()))?;
        let path = location.logs_dir().join(&run.id).join(format!("{}.log", args.step));
        match std::fs::read_to_string(&path) {
            Ok(text) => output::stdout(&text)?,
            Err(_) => {
                // Logs are local files; another machine sharing the state
                // still has the error and the tail kept with the step.
                let steps = store.steps(&run.id).await?;
                let step = steps.iter().find(|s| s.step_id == args.step).ok_or_else(|| {
                    Error::Usage(format!("run `{}` has no step `{}` and no such log", run.id, args.step))
                })?;
                eprintln!("no log file at `{}`; what the state kept:", path.display());
                output::stdout(&format!(
                    "{}: {}\n",
                    step.status,
                    step.error.as_deref().unwrap_or("no error recorded")
                ))?;
            }
        }
        Ok(Exit::Success)
    })?
}
