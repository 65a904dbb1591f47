//! `planrun unlock [--force]`: free a lock whose holder is gone.

use crate::cli::engine::{self, StateArgs};
use crate::error::{Error, Exit};
use crate::state::{Locker, StateError, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Remove the lock even if its holder may still be running (another host)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub state: StateArgs,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let location = args.state.location()?;
    engine::block_on(async {
        let Some(store) = Store::open_existing(&location).await? else {
            eprintln!("not locked: `{location}` does not exist");
            return Ok(Exit::Success);
        };
        let holder = match store.lock_holder().await {
            Ok(holder) => holder,
            // An unreadable lock names nobody: only `--force` removes it.
            Err(StateError::Corrupt(reason)) if args.force => {
                match store.force_unlock().await {
                    Ok(_) | Err(StateError::Corrupt(_)) => {}
                    Err(error) => return Err(error.into()),
                }
                eprintln!("removed an unreadable lock ({reason})");
                return Ok(Exit::Success);
            }
            Err(error) => return Err(error.into()),
        };
        let Some(holder) = holder else {
            eprintln!("not locked");
            return Ok(Exit::Success);
        };
        if !args.force && !holder.is_stale_here() {
            return Err(Error::Conflict(format!(
                "the state is locked by {holder}, which may still be running\nhint: if you are sure it is not, run `planrun unlock --force`"
            )));
        }
        store.force_unlock().await?;
        eprintln!("removed the lock of {holder}");
        Ok(Exit::Success)
    })?
}
