//! The validated, acyclic dependency graph of a plan.

use std::collections::VecDeque;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

/// Node `i` is step `i` of the plan; an edge `a → b` means `b` depends on `a`.
#[derive(Debug, Clone)]
pub(crate) struct Dag {
    pub(crate) graph: DiGraph<(), ()>,
    /// Parallel level of each step: 0 without dependencies, else one more
    /// than its deepest dependency.
    pub(crate) levels: Vec<usize>,
    /// Step indices in execution order (by level, then declaration order).
    pub(crate) order: Vec<usize>,
}

impl Dag {
    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    #[allow(dead_code, reason = "clippy::len_without_is_empty: it goes with `len`")]
    pub(crate) fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub(crate) fn level(&self, step: usize) -> usize {
        self.levels[step]
    }

    /// Step indices in a valid execution order.
    pub(crate) fn order(&self) -> &[usize] {
        &self.order
    }

    /// Each step's place in the execution order, by step index.
    pub(crate) fn positions(&self) -> Vec<usize> {
        let mut positions = vec![0; self.order.len()];
        for (position, &step) in self.order.iter().enumerate() {
            positions[step] = position;
        }
        positions
    }

    /// Number of levels: the length of the longest dependency chain.
    pub(crate) fn level_count(&self) -> usize {
        self.levels.iter().max().map_or(0, |deepest| deepest + 1)
    }

    /// Direct dependencies of `step`, ascending.
    pub(crate) fn dependencies(&self, step: usize) -> Vec<usize> {
        self.neighbors(step, Direction::Incoming)
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

    /// Every step that depends on `step`, directly or not, ascending.
    pub(crate) fn descendants(&self, step: usize) -> Vec<usize> {
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

/// Answers many "must `ancestor` finish before `step` starts?" questions
/// with one scratch buffer, instead of one of the plan's size per question.
pub(crate) struct Ancestry<'d> {
    dag: &'d Dag,
    /// `seen[node] == round`: visited in the current question.
    seen: Vec<u32>,
    round: u32,
    queue: VecDeque<usize>,
}

impl<'d> Ancestry<'d> {
    pub(crate) fn new(dag: &'d Dag) -> Ancestry<'d> {
        Ancestry {
            dag,
            seen: vec![0; dag.len()],
            round: 0,
            queue: VecDeque::new(),
        }
    }

    /// Whether `ancestor` must finish before `step` starts. Only nodes on a
    /// deeper level than `ancestor` can lead to it, which prunes the search.
    pub(crate) fn is_ancestor(&mut self, ancestor: usize, step: usize) -> bool {
        let levels = &self.dag.levels;
        if ancestor == step || levels[ancestor] >= levels[step] {
            return false;
        }
        self.round += 1;
        self.queue.clear();
        self.queue.push_back(step);
        while let Some(node) = self.queue.pop_front() {
            for dependency in self
                .dag
                .graph
                .neighbors_directed(NodeIndex::new(node), Direction::Incoming)
            {
                let dependency = dependency.index();
                if dependency == ancestor {
                    return true;
                }
                if self.seen[dependency] != self.round && levels[dependency] > levels[ancestor] {
                    self.seen[dependency] = self.round;
                    self.queue.push_back(dependency);
                }
            }
        }
        false
    }

    /// Marks every step that depends on `ancestor`, directly or not, for
    /// [`Ancestry::is_marked`]: one walk answers every question about the
    /// same ancestor (a plan where each step reads the first one's outputs).
    pub(crate) fn mark_descendants(&mut self, ancestor: usize) {
        self.round += 1;
        self.queue.clear();
        self.queue.push_back(ancestor);
        while let Some(node) = self.queue.pop_front() {
            for dependent in self
                .dag
                .graph
                .neighbors_directed(NodeIndex::new(node), Direction::Outgoing)
            {
                let dependent = dependent.index();
                if self.seen[dependent] != self.round {
                    self.seen[dependent] = self.round;
                    self.queue.push_back(dependent);
                }
            }
        }
    }

    /// Whether `step` was marked by the last [`Ancestry::mark_descendants`].
    pub(crate) fn is_marked(&self, step: usize) -> bool {
        self.seen[step] == self.round
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::order::levels_and_order;

    #[test]
    fn ancestry_answers_many_questions_with_one_buffer() {
        // 0 → 1 → 3, 0 → 2, 4 alone
        let mut graph = DiGraph::new();
        for _ in 0..5 {
            graph.add_node(());
        }
        for (a, b) in [(0, 1), (1, 3), (0, 2)] {
            graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        let Some((levels, order)) = levels_and_order(&graph) else {
            panic!("acyclic");
        };
        let dag = Dag { graph, levels, order };
        let mut ancestry = Ancestry::new(&dag);
        let answers: Vec<bool> = [(0, 3), (2, 3), (1, 3), (3, 0), (4, 3), (0, 2), (1, 1)]
            .iter()
            .map(|&(a, s)| ancestry.is_ancestor(a, s))
            .collect();
        assert_eq!(answers, [true, false, true, false, false, true, false]);
        ancestry.mark_descendants(0);
        let marked: Vec<bool> = (0..5).map(|step| ancestry.is_marked(step)).collect();
        assert_eq!(marked, [false, true, true, true, false]);
    }
}
