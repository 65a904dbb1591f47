//! Levels and execution order of an acyclic graph (Kahn's algorithm).

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};

/// `(levels, order)`, or `None` when the graph has a cycle. The order sorts
/// by level, then by index (declaration order), so it is deterministic.
pub(crate) fn levels_and_order(graph: &DiGraph<(), ()>) -> Option<(Vec<usize>, Vec<usize>)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A random DAG: edges go forward in a random permutation of the nodes,
    /// so they point both ways in index order.
    fn dag() -> impl Strategy<Value = (usize, Vec<(usize, usize)>)> {
        (1usize..40).prop_flat_map(|n| {
            let permutation = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
            let pairs = prop::collection::vec((0..n, 0..n), 0..120);
            (permutation, pairs).prop_map(move |(permutation, pairs)| {
                let edges = pairs
                    .into_iter()
                    .filter(|(a, b)| a < b)
                    .map(|(a, b)| (permutation[a], permutation[b]))
                    .collect();
                (n, edges)
            })
        })
    }

    proptest! {
        #[test]
        fn the_order_respects_every_edge_and_levels_are_consistent((n, edges) in dag()) {
            let mut graph: DiGraph<(), ()> = DiGraph::new();
            for _ in 0..n {
                graph.add_node(());
            }
            for &(a, b) in &edges {
                graph.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
            }
            let (levels, order) = levels_and_order(&graph).ok_or_else(|| TestCaseError::fail("no order"))?;
            let mut position = vec![usize::MAX; n];
            for (p, &node) in order.iter().enumerate() {
                prop_assert_eq!(position[node], usize::MAX, "node {} twice in the order", node);
                position[node] = p;
            }
            for &(a, b) in &edges {
                prop_assert!(position[a] < position[b], "{} must come before {}", a, b);
            }
            for node in 0..n {
                let deepest = edges.iter().filter(|e| e.1 == node).map(|&(a, _)| levels[a] + 1).max();
                prop_assert_eq!(levels[node], deepest.unwrap_or(0), "level of {}", node);
            }
            prop_assert!(order.windows(2).all(|w| (levels[w[0]], w[0]) < (levels[w[1]], w[1])));
        }
    }
}
