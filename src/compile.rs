//! The front half of the pipeline: source → analyzed plan → graph, with
//! every diagnostic collected. Like just's `compiler.rs`.

use std::collections::HashMap;

use crate::graph::{self, Dag};
use crate::plan::analyzer::{self, analyze};
use crate::plan::diagnostic::{Diagnostic, Diagnostics};
use crate::plan::model::Plan;
use crate::plan::source::Source;
use crate::plan::vars::Override;

/// A plan that compiled: its graph and its warnings.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub plan: Plan,
    pub dag: Dag,
    pub warnings: Vec<Diagnostic>,
}

impl Compiled {
    /// Step indices grouped by phase (phases in order of first appearance),
    /// each group in execution order.
    pub(crate) fn steps_by_phase(&self) -> Vec<(&str, Vec<usize>)> {
        let mut groups: Vec<(&str, Vec<usize>)> = self.plan.phases.iter().map(|p| (p.as_str(), Vec::new())).collect();
        let slot: HashMap<&str, usize> = self
            .plan
            .phases
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        for &i in self.dag.order() {
            if let Some(&p) = slot.get(self.plan.steps[i].phase.as_str()) {
                groups[p].1.push(i);
            }
        }
        groups
    }
}

/// A plan that did not compile; `diagnostics` has at least one error.
#[derive(Debug)]
pub(crate) struct Failed {
    pub source: Source,
    pub diagnostics: Vec<Diagnostic>,
}

pub(crate) fn compile(source: &Source, overrides: &[Override], deny_warnings: bool) -> Result<Compiled, Box<Failed>> {
    let (analysis, mut diagnostics) = analyze(source, overrides);
    let fail = |diagnostics: Diagnostics| {
        Box::new(Failed {
            source: source.clone(),
            diagnostics: diagnostics.sorted(),
        })
    };
    let Some(analysis) = analysis else {
        return Err(fail(diagnostics));
    };
    // The graph is checked even when some steps had errors, so that every
    // problem is reported in one pass.
    let dag = match graph::build(&analysis.plan) {
        Ok(dag) => Some(dag),
        Err(graph_diagnostics) => {
            diagnostics.extend(graph_diagnostics);
            None
        }
    };
    if diagnostics.has_errors() {
        return Err(fail(diagnostics));
    }
    analyzer::unused_warnings(&analysis, &mut diagnostics);
    analyzer::step_warnings(&analysis.plan, &mut diagnostics);
    if deny_warnings && !diagnostics.is_empty() {
        diagnostics.deny_warnings();
    }
    match dag {
        Some(dag) if !diagnostics.has_errors() => Ok(Compiled {
            plan: analysis.plan,
            dag,
            warnings: diagnostics.sorted(),
        }),
        _ => Err(fail(diagnostics)),
    }
}
