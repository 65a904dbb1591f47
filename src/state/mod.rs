//! Durable state: runs, step checkpoints, the event journal and the lock,
//! behind the [`StateStore`] interface. SQLite is the embedded default;
//! PostgreSQL is for teams sharing one state and lock.

mod columns;
#[doc(hidden)]
pub mod conformance;
mod error;
pub mod location;
pub mod lock;
#[cfg(test)]
pub(crate) mod memory;
mod postgres;
pub mod record;
mod sql;
mod sqlite;
pub mod status;
mod store;

pub use error::StateError;
pub use location::Location;
pub use lock::{Acquired, LockInfo};
pub use record::{EventRecord, NewEvent, PlanFile, RunRecord, StepRecord};
pub use status::{RunOutcome, StepStatus};
pub use store::{Locker, StateStore, Storage, Store};
