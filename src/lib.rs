//! planrun: a declarative migration plan engine.
//!
//! The pipeline reads from the modules: `plan` (TOML → validated plan),
//! `graph` (plan → dependency graph), `report` (diagnostics and previews),
//! `steps` (the step kinds), `cli` (the commands); `supervise` keeps step
//! processes from outliving planrun unsupervised.

#![warn(unreachable_pub)]
pub(crate) mod cli;
pub(crate) mod compile;
pub(crate) mod digest;
pub(crate) mod error;
pub(crate) mod exec;
pub(crate) mod failpoint;
pub(crate) mod graph;
pub(crate) mod plan;
pub(crate) mod redact;
pub(crate) mod report;
pub mod state;
pub(crate) mod steps;
pub(crate) mod supervise;
pub(crate) mod units;

pub use cli::run;
