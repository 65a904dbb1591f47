//! Command-line interface: argument types and one file per subcommand.
//! Only this module (and `report`) writes to the terminal.

mod apply;
mod completions;
mod engine;
mod graph;
mod load;
mod logs;
mod mark;
mod output;
mod plan;
mod rehearse;
mod report;
mod resume;
mod rollback;
mod runs;
mod saved_plan;
mod schema;
mod status;
mod unlock;
mod validate;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{Error, Exit};
use crate::report::diagnostics::{self, Style};

#[derive(Debug, Parser)]
#[command(name = "planrun", version, about = "Declarative, checkpointed migration plans", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a plan and report every problem in it
    Validate(validate::Args),
    /// Preview what a plan would do, without running anything
    Plan(plan::Args),
    /// Print the dependency graph as Graphviz dot or Mermaid
    Graph(graph::Args),
    /// Print the JSON Schema of the plan format
    Schema(schema::Args),
    /// Run a plan: preflight, then every step, checkpointed
    Apply(apply::Args),
    /// Continue the latest unfinished run where it stopped
    Resume(resume::Args),
    /// Undo what a run did, in reverse dependency order
    Rollback(rollback::Args),
    /// Show where a run stands, step by step
    Status(status::Args),
    /// List the runs in the state
    Runs(runs::Args),
    /// Print the log of a step
    Logs(logs::Args),
    /// Record an operator's decision about a step: --done or --pending
    Mark(mark::Args),
    /// Remove a lock whose holder is gone
    Unlock(unlock::Args),
    /// Apply, roll back and apply again (a sandbox or staging): proves each rollback undoes its step
    Rehearse(rehearse::Args),
    /// Report a run: a self-contained HTML page, JUnit XML for CI test tabs, Markdown for a pull request
    Report(report::Args),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions(completions::Args),
    /// Print the man page (roff): `planrun man > planrun.1`
    Man(completions::ManArgs),
}

/// Runs planrun with these arguments (the first is the program name).
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // planrun as its own watchdog, when `planrun-supervise` is not installed.
    if args.get(1).is_some_and(|arg| arg == crate::supervise::SUPERVISE_ARG) {
        return crate::supervise::main(args.into_iter().skip(2));
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Invalid
            } else {
                Exit::Success
            }
            .into();
        }
    };
    // `plan --detailed-exitcode` keeps 2 for "steps would run": any error is 1.
    let errors_exit_1 = matches!(&cli.command, Command::Plan(args) if args.detailed_exitcode);
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Resume(args) => resume::run(&args),
        Command::Rollback(args) => rollback::run(&args),
        Command::Status(args) => status::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Logs(args) => logs::run(&args),
        Command::Mark(args) => mark::run(&args),
        Command::Unlock(args) => unlock::run(&args),
        Command::Rehearse(args) => rehearse::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => completions::man(&args),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            report_error(&error);
            if errors_exit_1 { Exit::Failure } else { error.exit() }.into()
        }
    }
}

fn report_error(error: &Error) {
    match error {
        Error::Invalid(failed) => {
            eprint!(
                "{}",
                diagnostics::render(&failed.source, &failed.diagnostics, Style::for_stderr())
            );
        }
        Error::Load(crate::plan::source::LoadError::Invalid(invalid)) => {
            let rendered = diagnostics::render(
                &invalid.source,
                std::slice::from_ref(&invalid.diagnostic),
                Style::for_stderr(),
            );
            eprint!("{rendered}");
        }
        other => eprintln!("error: {other}"),
    }
}
