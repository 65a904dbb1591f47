//! The `StateStore` interface every backend implements, and `Store`, the
//! closed set of backends a command can open.
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

pub type Result<T> = std::result::Result<T, StateError>;

/// Storage and locking of runs. Backends pass `state::conformance`.
pub trait StateStore: Send + Sync {
    /// Stores a new run with all its steps (pending).
    fn create_run(&self, run: &RunRecord, steps: &[StepRecord]) -> impl Future<Output = Result<()>> + Send;

    /// Adds or replaces steps of a run (new steps joining on resume).
    fn add_steps(&self, run_id: &str, steps: &[StepRecord]) -> impl Future<Output = Result<()>> + Send;

    /// Checkpoints one step and journals why, in one transaction.
    fn put_step(&self, run_id: &str, step: &StepRecord, event: &NewEvent) -> impl Future<Output = Result<()>> + Send;

    /// Records how far a long step got (see `StepRecord::progress`).
    fn save_progress(&self, run_id: &str, step_id: &str, progress: &Value) -> impl Future<Output = Result<()>> + Send;

    /// Records the process group a step's action runs in (`None`: none).
    fn set_process(
        &self,
        run_id: &str,
        step_id: &str,
        group: Option<&ProcessGroup>,
    ) -> impl Future<Output = Result<()>> + Send;

    fn append_event(&self, run_id: &str, event: &NewEvent) -> impl Future<Output = Result<()>> + Send;

    /// Sets the outcome (and `finished_at`, cleared for `Running`) and
    /// journals it, in one transaction.
    fn set_outcome(
        &self,
        run_id: &str,
        outcome: RunOutcome,
        event: &NewEvent,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Replaces the plan a run follows (a resumed run that took a changed
    /// plan file: its rollbacks come from the new one) and journals it.
    fn set_plan(&self, run_id: &str, plan: &PlanFile<'_>, event: &NewEvent) -> impl Future<Output = Result<()>> + Send;

    fn run(&self, run_id: &str) -> impl Future<Output = Result<Option<RunRecord>>> + Send;

    /// Every run, oldest first, without their plan source.
    fn runs(&self) -> impl Future<Output = Result<Vec<RunRecord>>> + Send;

    /// The steps of a run, in plan order.
    fn steps(&self, run_id: &str) -> impl Future<Output = Result<Vec<StepRecord>>> + Send;

    /// The journal of a run, in order.
    fn events(&self, run_id: &str) -> impl Future<Output = Result<Vec<EventRecord>>> + Send;

    /// The sequence number of the run's latest journal entry: it changes
    /// with every write to the run, so a read made before taking the lock
    /// can be checked after.
    fn last_event(&self, run_id: &str) -> impl Future<Output = Result<Option<i64>>> + Send;

    /// Takes the lock, or fails with `StateError::Locked` naming the
    /// holder. A stale lock of a dead process on this host is taken over.
    fn lock(&self, info: &LockInfo) -> impl Future<Output = Result<Acquired>> + Send;

    /// Releases the lock if `info` still holds it.
    fn unlock(&self, info: &LockInfo) -> impl Future<Output = Result<()>> + Send;

    /// Removes whatever lock is held; returns it.
    fn force_unlock(&self) -> impl Future<Output = Result<Option<LockInfo>>> + Send;

    fn lock_holder(&self) -> impl Future<Output = Result<Option<LockInfo>>> + Send;
}

/// The backends, as one closed set.
pub enum Store {
    Sqlite(SqliteStore),
    /// Boxed: it carries its connection options and lock connection.
    Postgres(Box<PostgresStore>),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call,
            Store::Postgres($store) => $call,
        }
    };
}

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
            Store::Postgres(store) => store.lock_lost(),
        }
    }

    /// Releases resources (the SQLite WAL is checkpointed on close).
    pub async fn close(self) {
        dispatch!(self, store => store.close().await);
    }
}

impl StateStore for Store {
    async fn create_run(&self, run: &RunRecord, steps: &[StepRecord]) -> Result<()> {
        dispatch!(self, store => store.create_run(run, steps).await)
    }

    async fn add_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<()> {
        dispatch!(self, store => store.add_steps(run_id, steps).await)
    }

    async fn put_step(&self, run_id: &str, step: &StepRecord, event: &NewEvent) -> Result<()> {
        dispatch!(self, store => store.put_step(run_id, step, event).await)
    }

    async fn save_progress(&self, run_id: &str, step_id: &str, progress: &Value) -> Result<()> {
        dispatch!(self, store => store.save_progress(run_id, step_id, progress).await)
    }

    async fn set_process(&self, run_id: &str, step_id: &str, group: Option<&ProcessGroup>) -> Result<()> {
        dispatch!(self, store => store.set_process(run_id, step_id, group).await)
    }

    async fn append_event(&self, run_id: &str, event: &NewEvent) -> Result<()> {
        dispatch!(self, store => store.append_event(run_id, event).await)
    }

    async fn set_outcome(&self, run_id: &str, outcome: RunOutcome, event: &NewEvent) -> Result<()> {
        dispatch!(self, store => store.set_outcome(run_id, outcome, event).await)
    }

    async fn set_plan(&self, run_id: &str, plan: &PlanFile<'_>, event: &NewEvent) -> Result<()> {
        dispatch!(self, store => store.set_plan(run_id, plan, event).await)
    }

    async fn run(&self, run_id: &str) -> Result<Option<RunRecord>> {
        dispatch!(self, store => store.run(run_id).await)
    }

    async fn runs(&self) -> Result<Vec<RunRecord>> {
        dispatch!(self, store => store.runs().await)
    }

    async fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>> {
        dispatch!(self, store => store.steps(run_id).await)
    }

    async fn events(&self, run_id: &str) -> Result<Vec<EventRecord>> {
        dispatch!(self, store => store.events(run_id).await)
    }

    async fn last_event(&self, run_id: &str) -> Result<Option<i64>> {
        dispatch!(self, store => store.last_event(run_id).await)
    }

    async fn lock(&self, info: &LockInfo) -> Result<Acquired> {
        dispatch!(self, store => store.lock(info).await)
    }

    async fn unlock(&self, info: &LockInfo) -> Result<()> {
        dispatch!(self, store => store.unlock(info).await)
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>> {
        dispatch!(self, store => store.force_unlock().await)
    }

    async fn lock_holder(&self) -> Result<Option<LockInfo>> {
        dispatch!(self, store => store.lock_holder().await)
    }
}
