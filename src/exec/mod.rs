//! The engine: walks the dependency graph with a tokio executor, runs each
//! step's probes and actions, checkpoints every transition, and reports
//! what happens through [`event::Reporter`]. It never prints.

pub mod apply;
pub mod approval;
pub mod error;
pub mod event;
mod forward;
mod gate;
pub(crate) mod heartbeat;
pub mod interrupt;
pub mod leftovers;
pub mod live;
pub mod mark;
pub mod preflight;
pub mod resolve;
pub mod resume;
pub mod review;
pub mod rollback;
pub mod runtime;
pub mod secrets;
pub mod session;
pub(crate) mod settle;
mod sink;
pub mod step;
#[cfg(test)]
mod testing;
pub(crate) mod walk;
