//! The validated, acyclic dependency graph of a plan.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

/// Node `i` is step `i` of the plan; an edge `a → b` means `b` depends on `a`.
#[derive(Debug, Clone)]
pub struct Dag {
    pub(crate) graph: DiGraph<(), ()>,
    /// Parallel level of each step: 0 without dependencies, else one more
    /// than its deepest dependency.
    pub(crate) levels: Vec<usize>,
    /// Step indices in execution order (by level, then declaration order).
    pub(crate) order: Vec<usize>,
}

impl Dag {
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn level(&self, step: usize) -> usize {
        self.levels[step]
    }

    /// Step indices in a valid execution order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Number of levels: the length of the longest dependency chain.
    pub fn level_count(&self) -> usize {
        self.levels.iter().max().map_or(0, |deepest| deepest + 1)
    }

    /// Direct dependencies of `step`, ascending.
    pub fn dependencies(&self, step: usize) -> Vec<usize> {
        self.neighbors(step, Direction::Incoming)
    }

    /// Direct dependents of `step`, ascending.
    pub fn dependents(&self, step: usize) -> Vec<usize> {
        self.neighbors(step, Direction::Outgoing)
    }

    fn neighbors(&self, step: usize, direction: Direction) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(step), direction)
            .map(NodeIndex::index)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether `ancestor` must finish before `step` starts. Only nodes on a
    /// deeper level than `ancestor` can lead to it, which prunes the search.
    pub fn is_ancestor(&self, ancestor: usize, step: usize) -> bool {
        if ancestor == step || self.levels[ancestor] >= self.levels[step] {
            return false;
        }
        let mut seen = vec![false; self.len()];
        let mut queue = VecDeque::from([step]);
        while let Some(node) = queue.pop_front() {
            for dependency in self.graph.neighbors_directed(NodeIndex::new(node), Direction::Incoming) {
                let dependency = dependency.index();
                if dependency == ancestor {
                    return true;
                }
                if !seen[dependency] && self.levels[dependency] > self.levels[ancestor] {
                    seen[dependency] = true;
                    queue.push_back(dependency);
                }
            }
        }
        false
    }

    /// Every step that depends on `step`, directly or not, ascending.
    pub fn descendants(&self, step: usize) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        let mut queue = VecDeque::from([step]);
        while let Some(node) = queue.pop_front() {
            for dependent in self.graph.neighbors_directed(NodeIndex::new(node), Direction::Outgoing) {
                if !seen[dependent.index()] {
                    seen[dependent.index()] = true;
                    queue.push_back(dependent.index());
                }
            }
        }
        (0..self.len()).filter(|&i| seen[i]).collect()
    }
}
