//! Plan → dependency graph (petgraph): unknown dependencies, self
//! dependencies and cycles are found here; the graph gives the execution
//! order, the parallel levels and ancestry.

mod build;
mod cycle;
mod dag;
mod order;

pub use build::build;
pub use dag::Dag;
