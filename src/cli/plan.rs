//! `planrun plan PLAN`: the dry-run preview. Runs nothing, writes nothing.

use crate::cli::load::PlanArgs;
use crate::cli::output;
use crate::error::{Error, Exit};
use crate::report::preview::{self, PreviewFormat, PreviewInput};

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
    let input = PreviewInput {
        compiled: &compiled,
        states: None,
    };
    output::stream(|out| preview::write(&input, args.format, out))?;
    Ok(Exit::Success)
}
