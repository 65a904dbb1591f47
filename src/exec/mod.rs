//! The engine: walks the dependency graph with a tokio executor, runs each
//! step's probes and actions, checkpoints every transition, and reports
//! what happens through [`event::Reporter`]. It never prints.

pub mod apply;
pub mod approval;
pub mod context;
pub mod error;
pub mod event;
pub mod interrupt;
pub mod leftovers;
pub mod live;
pub mod log;
pub mod mark;
pub mod preflight;
pub mod redact;
pub mod resolve;
pub mod resume;
pub mod rollback;
pub mod runtime;
pub mod secrets;
pub mod session;
pub mod step;
pub mod walk;
