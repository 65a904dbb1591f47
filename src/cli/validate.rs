//! `planrun validate PLAN`: every problem at once, exit 2 on errors.

use crate::cli::load::PlanArgs;
use crate::error::{Error, Exit};
use crate::report::diagnostics::{self, Style};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let compiled = args.plan.compile_quietly()?;
    let source = &compiled.plan.source;
    eprint!(
        "{}",
        diagnostics::render(source, &compiled.warnings, Style::for_stderr())
    );
    args.plan.check_policy(&compiled)?;
    Ok(Exit::Success)
}
