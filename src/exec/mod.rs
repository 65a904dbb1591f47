//! The engine: walks the dependency graph with a tokio executor, runs each
//! step's probes and actions, checkpoints every transition, and reports
//! what happens through [`event::Reporter`]. It never prints.

pub(crate) mod apply;
pub(crate) mod approval;
pub(crate) mod error;
pub(crate) mod event;
mod forward;
mod gate;
pub(crate) mod heartbeat;
pub(crate) mod interrupt;
pub(crate) mod leftovers;
pub(crate) mod live;
pub(crate) mod mark;
pub(crate) mod preflight;
pub(crate) mod resolve;
pub(crate) mod resume;
pub(crate) mod review;
pub(crate) mod rollback;
pub(crate) mod runtime;
pub(crate) mod secrets;
pub(crate) mod session;
pub(crate) mod settle;
mod sink;
pub(crate) mod step;
#[cfg(test)]
mod testing;
pub(crate) mod walk;
