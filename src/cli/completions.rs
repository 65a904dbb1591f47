//! `planrun completions SHELL` and `planrun man`: shell completions and a
//! man page, generated from the CLI definition (so they never drift from it).

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Exit};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "planrun", &mut out);
    crate::cli::output::stdout(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Success)
}

/// The man page of `planrun` (roff), with a section per subcommand.
pub(crate) fn man(_: &ManArgs) -> Result<Exit, Error> {
    let command = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let name = format!("planrun-{}", sub.get_name());
        let sub = sub.clone().name(name);
        clap_mangen::Man::new(sub).render(&mut out)?;
    }
    crate::cli::output::stdout(&String::from_utf8_lossy(&out))?;
    Ok(Exit::Success)
}
