//! `planrun graph PLAN --format dot|mermaid`.

use crate::cli::load::PlanArgs;
use crate::cli::output;
use crate::error::{Error, Exit};
use crate::report::graph::{self, GraphFormat};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let compiled = args.plan.compile()?;
    output::stdout(&graph::render(&compiled, args.format))?;
    Ok(Exit::Success)
}
