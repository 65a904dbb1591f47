//! `planrun runs`: every run in the state, with its outcome.

use std::fmt::Write;

use crate::cli::engine::{self, Format, StateArgs};
use crate::cli::output;
use crate::error::{Error, Exit};
use crate::state::{Storage, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    engine::block_on(async {
        let runs = match Store::open_for_reading(&location).await? {
            Some(store) => store.runs().await?,
            None => Vec::new(),
        };
        let text = match args.format {
            Format::Json => {
                let mut text = serde_json::to_string_pretty(&runs).unwrap_or_default();
                text.push('\n');
                text
            }
            Format::Text if runs.is_empty() => String::new(),
            Format::Text => {
                let mut out = format!("{:20}  {:15}  {:30}  {:24}  BY\n", "RUN", "OUTCOME", "PLAN", "STARTED");
                for run in &runs {
                    let _ = writeln!(
                        out,
                        "{:20}  {:15}  {:30}  {:24}  {}@{}",
                        run.id,
                        run.outcome.as_str(),
                        run.plan_name,
                        run.started_at.get(..19).unwrap_or(&run.started_at),
                        run.user,
                        run.host
                    );
                }
                out
            }
        };
        if runs.is_empty() && args.format == Format::Text {
            eprintln!("no runs yet in `{location}`");
        }
        output::stdout(&text)?;
        Ok(Exit::Success)
    })?
}
