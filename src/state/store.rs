//! What every backend implements, [`Storage`] and [`Locker`], and `Store`,
//! the closed set of backends a command can open.
//!
//! Every write is one short transaction touching only the rows it is
//! about, so a checkpoint costs the same in a 10-step and a 20,000-step
//! run (no rewrite of the whole state, unlike Terraform's local state).

use std::future::Future;

use serde_json::Value;

use crate::state::error::StateError;
use crate::state::location::Location;
use crate::state::lock::{Acquired, LockInfo};
use crate::state::postgres::PostgresStore;
use crate::state::record::{EventRecord, NewEvent, PlanFile, RunRecord, StepRecord};
use crate::state::sqlite::SqliteStore;
use crate::state::status::RunOutcome;
use crate::supervise::ProcessGroup;

pub(crate) type Result<T> = std::result::Result<T, StateError>;

/// The backends, as one closed set.
pub enum Store {
    Sqlite(SqliteStore),
    /// Boxed: it carries its connection options and lock connection.
    Postgres(Box<PostgresStore>),
    /// Tests of the engine run against it.
    #[cfg(test)]
    Memory(crate::state::memory::MemoryStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
            #[cfg(test)]
            Store::Memory($store) => $call,
        }
    };
}

// The two traits a backend implements, and `Store`'s dispatch to its
// backends, from one list of methods: adding a method is one line here,
// one small impl per backend and a check in `state::conformance`.
macro_rules! store_traits {
    ($(
        $(#[$trait_doc:meta])*
        trait $trait:ident {
            $(
                $(#[$doc:meta])*
                fn $name:ident(&self $(, $arg:ident: $ty:ty)* $(,)?) -> $ret:ty;
            )*
        }
    )*) => {
        $(
            $(#[$trait_doc])*
            pub trait $trait: Send + Sync {
                $(
                    $(#[$doc])*
                    fn $name(&self $(, $arg: $ty)*) -> impl Future<Output = Result<$ret>> + Send;
                )*
            }

            impl $trait for Store {
                $(
                    async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                        dispatch!(self, store => store.$name($($arg),*).await)
                    }
                )*
            }

            impl<T: $trait> $trait for std::sync::Arc<T> {
                $(
                    async fn $name(&self $(, $arg: $ty)*) -> Result<$ret> {
                        T::$name(self $(, $arg)*).await
                    }
                )*
            }
        )*
    };
}

store_traits! {
    /// Runs, their steps and their journal (Terraform's `Storage`).
    /// Every write is one transaction.
    trait Storage {
        /// Stores a new run with all its steps (pending).
        fn create_run(&self, run: &RunRecord, steps: &[StepRecord]) -> ();

        /// Adds or replaces steps of a run (new steps joining on resume).
        fn add_steps(&self, run_id: &str, steps: &[StepRecord]) -> ();

        /// Checkpoints one step and journals why, in one transaction.
        fn put_step(&self, run_id: &str, step: &StepRecord, event: &NewEvent) -> ();

        /// Checkpoints several steps and journals why, in the order given,
        /// in one transaction.
        fn put_steps(&self, run_id: &str, checkpoints: &[(StepRecord, NewEvent)]) -> ();

        /// Records how far a long step got (see `StepRecord::progress`).
        fn save_progress(&self, run_id: &str, step_id: &str, progress: &Value) -> ();

        /// Records the process group a step's action runs in (`None`: none).
        fn set_process(&self, run_id: &str, step_id: &str, group: Option<&ProcessGroup>) -> ();

        fn append_event(&self, run_id: &str, event: &NewEvent) -> ();

        /// Sets the outcome (and `finished_at`, cleared for `Running`) and
        /// journals it, in one transaction.
        fn set_outcome(&self, run_id: &str, outcome: RunOutcome, event: &NewEvent) -> ();

        /// Replaces the plan a run follows (a resumed run that took a changed
        /// plan file: its rollbacks come from the new one) and journals it.
        fn set_plan(&self, run_id: &str, plan: &PlanFile<'_>, event: &NewEvent) -> ();

        fn run(&self, run_id: &str) -> Option<RunRecord>;

        /// Every run, oldest first, without their plan source.
        fn runs(&self) -> Vec<RunRecord>;

        /// The steps of a run, in plan order.
        fn steps(&self, run_id: &str) -> Vec<StepRecord>;

        /// The journal of a run, in order.
        fn events(&self, run_id: &str) -> Vec<EventRecord>;

        /// The sequence number of the run's latest journal entry: it changes
        /// with every write to the run, so a read made before taking the lock
        /// can be checked after.
        fn last_event(&self, run_id: &str) -> Option<i64>;
    }

    /// The one writer at a time (Terraform's `Locker`).
    trait Locker {
        /// Takes the lock, or fails with `StateError::Locked` naming the
        /// holder. A stale lock of a dead process on this host is taken over.
        fn lock(&self, info: &LockInfo) -> Acquired;

        /// Releases the lock if `info` still holds it.
        fn unlock(&self, info: &LockInfo) -> ();

        /// Removes whatever lock is held; returns it.
        fn force_unlock(&self) -> Option<LockInfo>;

        fn lock_holder(&self) -> Option<LockInfo>;
    }
}

/// A backend: storage and locking. Backends pass `state::conformance`.
pub trait StateStore: Storage + Locker {}

impl<T: Storage + Locker> StateStore for T {}

impl Store {
    /// Opens (creating when needed) the state at `location`.
    pub async fn open(location: &Location) -> Result<Store> {
        match location {
            Location::Sqlite { path, sync } => Ok(Store::Sqlite(SqliteStore::open(path, *sync).await?)),
            Location::Postgres { url } => Ok(Store::Postgres(Box::new(
                PostgresStore::open(url, &location.to_string()).await?,
            ))),
        }
    }

    /// Opens the state only if it exists: read-only commands never create it.
    pub async fn open_existing(location: &Location) -> Result<Option<Store>> {
        match location {
            Location::Sqlite { path, .. } if !path.exists() => Ok(None),
            _ => Store::open(location).await.map(Some),
        }
    }

    /// Opens the state to read it, if it exists and holds a state: nothing
    /// is created, migrated or written.
    pub async fn open_for_reading(location: &Location) -> Result<Option<Store>> {
        match location {
            Location::Sqlite { path, .. } if !path.exists() => Ok(None),
            Location::Sqlite { path, .. } => Ok(SqliteStore::open_for_reading(path).await?.map(Store::Sqlite)),
            Location::Postgres { url } => Ok(PostgresStore::open_for_reading(url, &location.to_string())
                .await?
                .map(|store| Store::Postgres(Box::new(store)))),
        }
    }

    /// Cancelled when the lock this store held was lost (PostgreSQL only:
    /// its session ended and another command took over, or `unlock
    /// --force` removed it); the command must stop.
    pub fn lock_lost(&self) -> tokio_util::sync::CancellationToken {
        match self {
            Store::Sqlite(_) => tokio_util::sync::CancellationToken::new(),
            #[cfg(test)]
            Store::Memory(_) => tokio_util::sync::CancellationToken::new(),
            Store::Postgres(store) => store.lock_lost(),
        }
    }

    /// Releases resources (the SQLite WAL is checkpointed on close).
    pub async fn close(self) {
        dispatch!(self, store => store.close().await);
    }
}
