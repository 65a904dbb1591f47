//! Builds the [`Dag`] of a plan, reporting every unknown dependency, self
//! dependency, cycle and bad output reference.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::graph::cycle::find_cycles;
use crate::graph::dag::{Ancestry, Dag};
use crate::graph::order::levels_and_order;
use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::model::Plan;
use crate::plan::suggest::Suggester;

pub(crate) fn build(plan: &Plan) -> Result<Dag, Diagnostics> {
    let mut diagnostics = Diagnostics::default();
    let index: HashMap<&str, usize> = plan.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let ids: Vec<&str> = plan.steps.iter().map(|s| s.id.as_str()).collect();
    let mut suggester = Suggester::new(ids);
    let mut graph: DiGraph<(), ()> = DiGraph::with_capacity(plan.steps.len(), plan.steps.len());
    for _ in &plan.steps {
        graph.add_node(());
    }
    for (i, step) in plan.steps.iter().enumerate() {
        for dependency in &step.depends_on {
            let name = dependency.get_ref().as_str();
            match index.get(name) {
                Some(&j) if j == i => diagnostics.push(
                    Diagnostic::error("self-dependency", format!("step `{name}` depends on itself"))
                        .at(dependency.span(), "a step cannot wait for itself")
                        .help("remove it from `depends_on`"),
                ),
                Some(&j) => {
                    graph.add_edge(NodeIndex::new(j), NodeIndex::new(i), ());
                }
                None => diagnostics.push(
                    Diagnostic::error(
                        "unknown-dependency",
                        format!("step `{}` depends on unknown step `{name}`", step.id),
                    )
                    .at(dependency.span(), "no step has this id")
                    .help(
                        suggester
                            .help(name, &step.id, "step")
                            .unwrap_or_else(|| "remove it from `depends_on`, or add a step with this id".into()),
                    ),
                ),
            }
        }
    }
    // Only a graph without an order has cycles to name.
    let ordered = levels_and_order(&graph);
    if ordered.is_none() {
        for cycle in find_cycles(&graph) {
            diagnostics.push(cycle_diagnostic(plan, &cycle));
        }
    }
    if diagnostics.has_errors() {
        return Err(diagnostics);
    }
    let Some((levels, order)) = ordered else {
        return Err(diagnostics);
    };
    let dag = Dag { graph, levels, order };
    check_output_refs(plan, &dag, &index, &mut suggester, &mut diagnostics);
    if diagnostics.has_errors() {
        Err(diagnostics)
    } else {
        Ok(dag)
    }
}

/// Steps of a cycle named in its message and pointed at; a longer cycle is
/// shortened in the middle (drawing thousands of labels takes minutes).
const CYCLE_SHOWN: usize = 30;

/// `[a, b, c]`: b depends on a, c on b, a on c. Points at each `depends_on`
/// entry that closes a link, starting with the one back to the first step.
fn cycle_diagnostic(plan: &Plan, cycle: &[usize]) -> Diagnostic {
    let names: Vec<&str> = cycle.iter().map(|&i| plan.steps[i].id.as_str()).collect();
    let mut path = if names.len() > CYCLE_SHOWN {
        format!(
            "{} → … ({} more) → {}",
            names[..CYCLE_SHOWN - 1].join(" → "),
            names.len() - CYCLE_SHOWN,
            names[names.len() - 1]
        )
    } else {
        names.join(" → ")
    };
    path.push_str(&format!(" → {}", names[0]));
    let link = |from: usize, to: usize| {
        plan.steps[to]
            .depends_on
            .iter()
            .find(|d| d.get_ref() == &plan.steps[from].id)
            .map_or_else(|| plan.steps[to].span.clone(), toml::Spanned::span)
    };
    let last = cycle[cycle.len() - 1];
    let mut diagnostic = Diagnostic::error("dependency-cycle", format!("dependency cycle: {path}"))
        .at(
            link(last, cycle[0]),
            format!("`{}` waits for `{}`", names[0], plan.steps[last].id),
        )
        .help("a step cannot wait, directly or not, for a step that waits for it; remove one of these dependencies");
    for pair in cycle.windows(2).take(CYCLE_SHOWN - 1) {
        diagnostic = diagnostic.related(
            link(pair[0], pair[1]),
            format!("`{}` waits for `{}`", plan.steps[pair[1]].id, plan.steps[pair[0]].id),
        );
    }
    diagnostic
}

/// `${steps.ID.outputs.KEY}` must name an existing ancestor of the step.
/// A direct dependency is checked at once; the other references are
/// grouped by the step they read, so that one walk answers all of them.
fn check_output_refs(
    plan: &Plan,
    dag: &Dag,
    index: &HashMap<&str, usize>,
    suggester: &mut Suggester<'_>,
    diagnostics: &mut Diagnostics,
) {
    // (read step, reading step, span) of references to check by ancestry.
    let mut indirect: Vec<(usize, usize, &Range<usize>)> = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        if step.output_refs.is_empty() {
            continue;
        }
        let direct: HashSet<usize> = dag.dependencies(i).into_iter().collect();
        for (target, span) in &step.output_refs {
            match index.get(target.as_str()) {
                None => diagnostics.push(
                    Diagnostic::error(
                        "undefined-reference",
                        format!("step `{}` reads outputs of unknown step `{target}`", step.id),
                    )
                    .at(span.clone(), "no step has this id")
                    .help(
                        suggester
                            .help(target, &step.id, "step")
                            .unwrap_or_else(|| "name a step this one depends on".into()),
                    ),
                ),
                // A step's own outputs exist once its `run` is done: its
                // `verify` and `rollback` may read them.
                Some(&j) if j == i && after_run(step, span) => {}
                Some(&j) if j == i => diagnostics.push(
                    Diagnostic::error(
                        "output-not-ancestor",
                        format!("step `{}` reads its own outputs before its `run` made them", step.id),
                    )
                    .at(span.clone(), "not written yet here")
                    .help("a step's own outputs can be read in its `verify` and `rollback` only"),
                ),
                Some(j) if direct.contains(j) => {}
                Some(&j) => indirect.push((j, i, span)),
            }
        }
    }
    indirect.sort_by_key(|&(j, i, span)| (j, i, span.start));
    let mut ancestry = Ancestry::new(dag);
    for group in indirect.chunk_by(|a, b| a.0 == b.0) {
        let many = group.len() > 1;
        if many {
            ancestry.mark_descendants(group[0].0);
        }
        for &(j, i, span) in group {
            let ancestor = if many {
                ancestry.is_marked(i)
            } else {
                ancestry.is_ancestor(j, i)
            };
            if !ancestor {
                diagnostics.push(not_ancestor(&plan.steps[i].id, &plan.steps[j].id, span));
            }
        }
    }
}

fn not_ancestor(step: &str, target: &str, span: &Range<usize>) -> Diagnostic {
    Diagnostic::error(
        "output-not-ancestor",
        format!("step `{step}` reads outputs of `{target}`, which is not among its dependencies"),
    )
    .at(span.clone(), format!("`{target}` may not have run yet"))
    .help(format!(
        "add \"{target}\" to `depends_on` of `{step}` (directly or through another dependency)"
    ))
}

/// Whether `span` lies in the step's `verify` or `rollback`.
fn after_run(step: &crate::plan::Step, span: &Range<usize>) -> bool {
    let within = |outer: Range<usize>| outer.start <= span.start && span.end <= outer.end;
    step.rollback.as_ref().is_some_and(|r| within(r.span())) || step.verify.iter().any(|v| within(v.span()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fmt::Write;

    use proptest::prelude::*;

    use crate::plan::Source;
    use crate::plan::analyzer::analyze;

    /// A random graph with at least one cycle: random edges, plus a cycle
    /// through 2 or more distinct steps in random order.
    fn cyclic() -> impl Strategy<Value = (usize, BTreeSet<(usize, usize)>)> {
        (2usize..25).prop_flat_map(|n| {
            let cycle = Just((0..n).collect::<Vec<usize>>())
                .prop_shuffle()
                .prop_flat_map(move |nodes| (2..=n).prop_map(move |k| nodes[..k].to_vec()));
            let pairs = prop::collection::vec((0..n, 0..n), 0..60);
            (cycle, pairs).prop_map(move |(cycle, pairs)| {
                let mut edges: BTreeSet<(usize, usize)> = pairs.into_iter().filter(|(a, b)| a != b).collect();
                for (i, &node) in cycle.iter().enumerate() {
                    edges.insert((node, cycle[(i + 1) % cycle.len()]));
                }
                (n, edges)
            })
        })
    }

    /// Step `sB` depends on `sA` for every edge `(A, B)`.
    fn plan_text(n: usize, edges: &BTreeSet<(usize, usize)>) -> String {
        let mut text = String::from("format = 1\nname = 'p'\n");
        for step in 0..n {
            let dependencies: Vec<String> = edges
                .iter()
                .filter(|e| e.1 == step)
                .map(|(a, _)| format!("'s{a}'"))
                .collect();
            let _ = write!(
                text,
                "[steps.s{step}]\ndepends_on = [{}]\ncheck = {{ kind = 'env', name = 'X' }}\n",
                dependencies.join(", ")
            );
        }
        text
    }

    proptest! {
        #[test]
        fn every_cycle_is_rejected_and_named((n, edges) in cyclic()) {
            let (analysis, _) = analyze(&Source::new("p.toml", plan_text(n, &edges)), &[]);
            let plan = analysis.ok_or_else(|| TestCaseError::fail("the plan did not parse"))?.plan;
            let diagnostics = super::build(&plan).err().ok_or_else(|| TestCaseError::fail("a cyclic plan built"))?;
            let cycles: Vec<&str> = diagnostics
                .iter()
                .filter(|d| d.code == "dependency-cycle")
                .map(|d| d.message.as_str())
                .collect();
            prop_assert!(!cycles.is_empty(), "no cycle reported: {:?}", diagnostics);
            for message in cycles {
                let path = message.strip_prefix("dependency cycle: ").unwrap_or_default();
                let nodes: Vec<usize> = path
                    .split(" → ")
                    .map(|id| id.trim_start_matches('s').parse().unwrap_or(usize::MAX))
                    .collect();
                prop_assert!(nodes.len() >= 3 && nodes.first() == nodes.last(), "{}", message);
                for pair in nodes.windows(2) {
                    let (from, to) = (pair[0], pair[1]);
                    prop_assert!(edges.contains(&(from, to)), "s{} → s{} is not an edge: {}", from, to, message);
                }
            }
        }
    }
}
