//! Levels and execution order of an acyclic graph (Kahn's algorithm).

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

/// `(levels, order)`, or `None` when the graph has a cycle. The order sorts
/// by level, then by index (declaration order), so it is deterministic.
pub fn levels_and_order(graph: &DiGraph<(), ()>) -> Option<(Vec<usize>, Vec<usize>)> {
    let n = graph.node_count();
    let mut indegree: Vec<usize> = (0..n)
        .map(|i| graph.neighbors_directed(NodeIndex::new(i), Direction::Incoming).count())
        .collect();
    let mut levels = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut visited = 0;
    let mut cursor = 0;
    while cursor < ready.len() {
        let node = ready[cursor];
        cursor += 1;
        visited += 1;
        for dependent in graph.neighbors_directed(NodeIndex::new(node), Direction::Outgoing) {
            let dependent = dependent.index();
            levels[dependent] = levels[dependent].max(levels[node] + 1);
            indegree[dependent] -= 1;
            if indegree[dependent] == 0 {
                ready.push(dependent);
            }
        }
    }
    if visited != n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (levels[i], i));
    Some((levels, order))
}
