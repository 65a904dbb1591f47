//! A mutating command's hold on the state: the store, opened, and its lock,
//! taken for the whole command and released at the end.

use std::sync::Arc;

use crate::exec::error::ExecError;
use crate::exec::event::{Event, Reporter};
use crate::state::{Acquired, LockInfo, Locker, Store};

pub(crate) struct Session {
    pub store: Arc<Store>,
    lock: LockInfo,
}

impl Session {
    /// Takes the lock on `store` for `operation`.
    pub(crate) async fn begin(store: Store, operation: &str, reporter: &dyn Reporter) -> Result<Session, ExecError> {
        let lock = LockInfo::for_this_process(operation);
        if let Acquired::TookOver(previous) = store.lock(&lock).await? {
            reporter.report(&Event::Notice {
                message: format!("took over the lock of {previous}: that process is gone"),
            });
        }
        Ok(Session {
            store: Arc::new(store),
            lock,
        })
    }

    /// Releases the lock.
    pub(crate) async fn end(self) -> Result<(), ExecError> {
        self.store.unlock(&self.lock).await?;
        if let Ok(store) = Arc::try_unwrap(self.store) {
            store.close().await;
        }
        Ok(())
    }
}
