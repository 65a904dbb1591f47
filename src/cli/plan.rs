//! `planrun plan PLAN`: the dry-run preview. Runs nothing, writes nothing.

use crate::cli::load::PlanArgs;
use crate::cli::output;
use crate::error::{Error, Exit};
use crate::report::preview::{self, PreviewFormat};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
}

pub fn run(args: &Args) -> Result<Exit, Error> {
    let compiled = args.plan.compile()?;
    output::stdout(&preview::render(&compiled, args.format))?;
    Ok(Exit::Success)
}
