//! Plan → dependency graph (petgraph): unknown dependencies, self
//! dependencies and cycles are found here; the graph gives the execution
//! order, the parallel levels and ancestry.

mod build;
mod cycle;
mod dag;
mod order;

pub(crate) use build::build;
pub(crate) use dag::Dag;
