//! What the commands that talk to the engine share: the state location,
//! the output format and reporter, the tokio runtime, signal handling, and
//! the exit code of an outcome.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Exit};
use crate::exec::approval::{Approvals, Prompt};
use crate::exec::error::ExecError;
use crate::exec::event::Reporter;
use crate::exec::interrupt::Interrupt;
use crate::exec::runtime::Settings;
use crate::exec::session::Session;
use crate::report::json_lines::JsonLines;
use crate::report::lines::Lines;
use crate::report::progress::ProgressBars;
use crate::state::{Location, RunOutcome, RunRecord, Storage, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct StateArgs {
    /// Where the state lives: `sqlite://PATH` (default `.planrun/state.db`);
    /// also `PLANRUN_STATE`
    #[arg(long, value_name = "URL")]
    pub state: Option<String>,
}

impl StateArgs {
    pub(crate) fn location(&self) -> Result<Location, Error> {
        Location::resolve(self.state.as_deref()).map_err(|e| Error::Usage(format!("--state: {e}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Format {
    /// Progress bars on a terminal, plain lines otherwise
    #[default]
    Text,
    /// JSON Lines events on stdout
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ApprovalArgs {
    /// Approve every manual step without asking
    #[arg(long)]
    pub yes: bool,
    /// Approve this manual step without asking (repeatable)
    #[arg(long, value_name = "STEP")]
    pub approve: Vec<String>,
}

impl ApprovalArgs {
    /// A misspelled `--approve` would silently approve nothing.
    pub(crate) fn check(&self, plan: &crate::plan::Plan) -> Result<(), Error> {
        match self.approve.iter().find(|id| plan.step_index(id).is_none()) {
            Some(id) => Err(Error::Usage(format!("`--approve {id}`: the plan has no step `{id}`"))),
            None => Ok(()),
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct WalkArgs {
    /// Steps that may run at once (default: the plan's `parallelism`, else 4)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub parallelism: Option<u16>,
    /// After a failure, go on with the branches that do not depend on it
    #[arg(long)]
    pub keep_going: bool,
    /// How often to report the steps still running (and a table copy's rows
    /// and rate) once they run longer than it; 0s: never
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub heartbeat: crate::units::duration::Duration,
    #[command(flatten)]
    pub grace: GraceArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct GraceArgs {
    /// How long running steps get to finish after an interrupt, a timed-out
    /// step between SIGTERM and SIGKILL, and a killed run's leftover
    /// processes to end before they are killed
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub kill_grace: crate::units::duration::Duration,
}

impl GraceArgs {
    pub(crate) fn std(&self) -> Duration {
        self.kill_grace.std()
    }
}

fn parse_duration(text: &str) -> Result<crate::units::duration::Duration, String> {
    crate::units::duration::Duration::parse(text)
}

/// The reporter for `format`, and who can answer a manual step's question.
pub(crate) fn reporter(format: Format) -> (Arc<dyn Reporter>, Option<Arc<dyn Prompt>>) {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    match format {
        Format::Json => (Arc::new(JsonLines), None),
        Format::Text if std::io::stderr().is_terminal() && std::env::var("TERM").as_deref() != Ok("dumb") => {
            let progress = Arc::new(ProgressBars::new(color()));
            let prompt: Option<Arc<dyn Prompt>> = interactive.then(|| progress.clone() as Arc<dyn Prompt>);
            (progress, prompt)
        }
        Format::Text => (Arc::new(Lines), None),
    }
}

pub(crate) fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// What the engine needs from a command that runs steps; SIGINT and
/// SIGTERM stop it in two stages from now on. Must be called on the runtime.
pub(crate) fn settings(
    location: &Location,
    reporter: Arc<dyn Reporter>,
    prompt: Option<Arc<dyn Prompt>>,
    approvals: &ApprovalArgs,
    walk: Option<&WalkArgs>,
    grace: Duration,
) -> Result<Settings, Error> {
    let interrupt = interrupt_on_signals(grace, reporter.clone())?;
    Ok(Settings {
        reporter,
        interrupt,
        approvals: Arc::new(Approvals::new(approvals.yes, approvals.approve.iter().cloned(), prompt)),
        parallelism: walk.and_then(|w| w.parallelism).map(usize::from),
        keep_going: walk.is_some_and(|w| w.keep_going),
        kill_grace: grace,
        heartbeat: walk.map_or(Duration::ZERO, |w| w.heartbeat.std()),
        logs_dir: location.logs_dir(),
        work_dir: std::env::current_dir()?,
    })
}

/// Runs `work` on a tokio runtime, then closes what kinds kept open
/// between steps (idle database connections).
pub(crate) fn block_on<F: Future>(work: F) -> Result<F::Output, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(async {
        let output = work.await;
        crate::steps::release_kept().await;
        output
    }))
}

/// The first SIGINT or SIGTERM drains (nothing new starts; running steps
/// get `grace` to finish), the second stops running steps at once. Must be
/// called on the runtime.
fn interrupt_on_signals(grace: Duration, reporter: Arc<dyn Reporter>) -> Result<Interrupt, Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = Interrupt::new();
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let handled = interrupt.clone();
    tokio::spawn(async move {
        let mut received = 0;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                () = handled.stop.cancelled() => return,
            }
            received += 1;
            let message = if received == 1 {
                handled.drain(grace);
                format!(
                    "interrupted: no new step starts; running steps have {} to finish (interrupt again to stop them now)",
                    crate::units::duration::Duration::from_millis(u64::try_from(grace.as_millis()).unwrap_or(u64::MAX))
                )
            } else {
                handled.stop();
                "interrupted again: stopping running steps now".to_string()
            };
            reporter.report(&crate::exec::event::Event::Notice { message });
        }
    });
    Ok(interrupt)
}

/// The settings of a command that walks the plan (`apply`, `resume`,
/// `rehearse`): its `--parallelism`, `--keep-going`, `--heartbeat` and grace.
pub(crate) fn walk_settings(
    location: &Location,
    reporter: Arc<dyn Reporter>,
    prompt: Option<Arc<dyn Prompt>>,
    approvals: &ApprovalArgs,
    walk: &WalkArgs,
) -> Result<Settings, Error> {
    settings(location, reporter, prompt, approvals, Some(walk), walk.grace.std())
}

/// Takes the lock on `store` for `command`; the command stops, as an
/// interrupt does, if the lock is lost later.
pub(crate) async fn lock(store: Store, settings: &Settings, command: &str) -> Result<Session, Error> {
    stop_on_lost_lock(&store, &settings.interrupt, settings.reporter.clone());
    Ok(Session::begin(store, command, settings.reporter.as_ref()).await?)
}

/// Stops the command, as an interrupt does, if `store` loses the lock it
/// holds (see [`Store::lock_lost`]), after saying why.
pub(crate) fn stop_on_lost_lock(store: &Store, interrupt: &Interrupt, reporter: Arc<dyn Reporter>) {
    let (lost, interrupt) = (store.lock_lost(), interrupt.stop.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = lost.cancelled() => {}
            () = interrupt.cancelled() => return,
        }
        reporter.report(&crate::exec::event::Event::Notice {
            message: "lost the lock on the state (its connection ended and another command took it, or `planrun \
                      unlock --force` removed it): stopping"
                .into(),
        });
        interrupt.cancel();
    });
}

/// The state at `location`, which a command that acts on runs needs;
/// without one there is nothing `to` do (exit 2).
pub(crate) async fn existing_state(location: &Location, to: &str) -> Result<Store, Error> {
    Store::open_existing(location)
        .await?
        .ok_or_else(|| ExecError::NothingToDo(format!("no state at `{location}`: nothing to {to}")).into())
}

/// The run `id`, else the latest run that is `wanted`, with its plan
/// source; `none` says why there is nothing to do.
pub(crate) async fn pick_run(
    store: &Store,
    id: Option<&str>,
    wanted: impl Fn(&RunRecord) -> bool,
    none: &str,
) -> Result<RunRecord, Error> {
    let id = match id {
        Some(id) => id.to_string(),
        None => {
            let runs = store.runs().await?;
            let latest = runs.into_iter().rev().find(|run| wanted(run)).map(|run| run.id);
            latest.ok_or_else(|| ExecError::NothingToDo(none.to_string()))?
        }
    };
    store
        .run(&id)
        .await?
        .ok_or_else(|| ExecError::NothingToDo(format!("no run `{id}` in the state (see `planrun runs`)")).into())
}

pub(crate) fn exit_for(outcome: RunOutcome) -> Exit {
    match outcome {
        RunOutcome::Succeeded | RunOutcome::RolledBack | RunOutcome::Abandoned => Exit::Success,
        RunOutcome::Failed | RunOutcome::RollbackFailed => Exit::Failure,
        RunOutcome::Paused => Exit::Conflict,
        RunOutcome::Interrupted | RunOutcome::Running | RunOutcome::RollingBack => Exit::Interrupted,
    }
}
