//! `planrun schema`: the JSON Schema of the plan format.

use crate::cli::output;
use crate::error::{Error, Exit};
use crate::plan::schema::plan_schema_json;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_: &Args) -> Result<Exit, Error> {
    output::stdout(&plan_schema_json())?;
    Ok(Exit::Success)
}
