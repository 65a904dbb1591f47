//! planrun: a declarative migration plan engine.
//!
//! The pipeline reads from the modules: `plan` (TOML → validated plan),
//! `graph` (plan → dependency graph), `report` (diagnostics and previews),
//! `steps` (the step kinds), `cli` (the commands); `supervise` keeps step
//! processes from outliving planrun unsupervised.

pub mod cli;
pub mod error;
pub mod exec;
pub mod graph;
pub mod plan;
pub mod report;
pub mod state;
pub mod steps;
pub mod supervise;

pub use cli::run;
