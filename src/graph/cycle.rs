//! Naming the steps of each dependency cycle, in order.

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

/// One cycle per strongly connected component with more than one node,
/// each as step indices in dependency order, starting from the lowest
/// index: `[a, b, c]` means a → b → c → a (b depends on a, and so on).
pub(crate) fn find_cycles(graph: &DiGraph<(), ()>) -> Vec<Vec<usize>> {
    let mut cycles: Vec<Vec<usize>> = tarjan_scc(graph)
        .into_iter()
        .filter(|component| component.len() > 1)
        .filter_map(|component| {
            let members: HashSet<usize> = component.iter().map(|n| n.index()).collect();
            cycle_through(graph, &members)
        })
        .collect();
    cycles.sort();
    cycles
}

/// A shortest cycle through the lowest node of a strongly connected
/// component (breadth-first, inside the component only).
fn cycle_through(graph: &DiGraph<(), ()>, members: &HashSet<usize>) -> Option<Vec<usize>> {
    let start = *members.iter().min()?;
    let mut parent: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut next: Vec<usize> = graph
            .neighbors(NodeIndex::new(node))
            .map(petgraph::prelude::NodeIndex::index)
            .collect();
        next.sort_unstable();
        for neighbor in next {
            if !members.contains(&neighbor) {
                continue;
            }
            if neighbor == start {
                let mut path = vec![node];
                let mut current = node;
                while let Some(&previous) = parent.get(&current) {
                    path.push(previous);
                    current = previous;
                }
                path.reverse();
                return Some(path);
            }
            if neighbor != start && !parent.contains_key(&neighbor) {
                parent.insert(neighbor, node);
                queue.push_back(neighbor);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> DiGraph<(), ()> {
        let mut g = DiGraph::new();
        for _ in 0..n {
            g.add_node(());
        }
        for &(a, b) in edges {
            g.add_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
        g
    }

    #[test]
    fn names_each_cycle_in_order() {
        let g = graph(5, &[(0, 1), (1, 2), (2, 0), (3, 4), (4, 3)]);
        assert_eq!(find_cycles(&g), vec![vec![0, 1, 2], vec![3, 4]]);
    }

    #[test]
    fn acyclic_graphs_have_none() {
        let g = graph(3, &[(0, 1), (1, 2), (0, 2)]);
        assert!(find_cycles(&g).is_empty());
    }
}
