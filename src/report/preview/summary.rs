//! The numbers every preview ends with: how many steps, how parallel, how
//! long the longest chain, and what cannot be undone.

use serde::Serialize;

use crate::compile::Compiled;
use crate::plan::Step;
use crate::steps::Action;

#[derive(Debug, Serialize)]
pub(super) struct Summary<'a> {
    pub steps: usize,
    pub phases: usize,
    /// Parallel levels: steps in one level may run together.
    pub levels: usize,
    /// Number of steps on the longest dependency chain.
    pub critical_path_length: usize,
    /// One longest chain, first step first.
    pub critical_path: Vec<&'a str>,
    /// Steps whose `run` changes things.
    pub mutating_steps: usize,
    /// Mutating steps that `planrun rollback` cannot undo, in execution order.
    pub without_rollback: Vec<&'a str>,
    pub warnings: usize,
}

impl<'a> Summary<'a> {
    pub(crate) fn of(compiled: &'a Compiled) -> Summary<'a> {
        let steps = &compiled.plan.steps;
        let mutating = |i: usize| steps[i].run.as_ref().is_some_and(|run| run.get_ref().is_mutating());
        let critical_path: Vec<&str> = critical_path(compiled)
            .into_iter()
            .map(|i| steps[i].id.as_str())
            .collect();
        Summary {
            steps: steps.len(),
            phases: compiled.plan.phases.len(),
            levels: compiled.dag.level_count(),
            critical_path_length: critical_path.len(),
            critical_path,
            mutating_steps: (0..steps.len()).filter(|&i| mutating(i)).count(),
            without_rollback: compiled
                .dag
                .order()
                .iter()
                .filter(|&&i| matches!(Undo::of(&steps[i]), Undo::Missing))
                .map(|&i| steps[i].id.as_str())
                .collect(),
            warnings: compiled.warnings.len(),
        }
    }
}

/// How `planrun rollback` would undo a step.
pub(super) enum Undo<'a> {
    /// With the step's `rollback` action.
    Action(&'a Action),
    /// planrun restores what an action of this kind changed, by itself.
    BuiltIn(&'static str),
    /// The step changes things that nothing undoes.
    Missing,
    /// The step changes nothing.
    NotNeeded,
}

impl Undo<'_> {
    pub(crate) fn of(step: &Step) -> Undo<'_> {
        match (&step.rollback, &step.run) {
            (Some(rollback), _) => Undo::Action(rollback.get_ref()),
            (None, Some(run)) if run.get_ref().has_builtin_undo() => Undo::BuiltIn(run.get_ref().kind()),
            (None, Some(run)) if run.get_ref().is_mutating() => Undo::Missing,
            (None, _) => Undo::NotNeeded,
        }
    }
}

/// A longest dependency chain, as step indices. A step's level is one more
/// than its deepest dependency, so the chain is found by walking back from
/// a deepest step through dependencies one level up; ties go to the step
/// declared first, so the answer is stable.
fn critical_path(compiled: &Compiled) -> Vec<usize> {
    let dag = &compiled.dag;
    let deepest = dag
        .order()
        .iter()
        .copied()
        .max_by_key(|&i| (dag.level(i), std::cmp::Reverse(i)));
    let mut path: Vec<usize> = deepest.into_iter().collect();
    while let Some(&step) = path.last() {
        let level = dag.level(step);
        match dag
            .dependencies(step)
            .into_iter()
            .find(|&d| level > 0 && dag.level(d) == level - 1)
        {
            Some(dependency) => path.push(dependency),
            None => break,
        }
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::plan::Source;

    #[test]
    fn the_critical_path_is_a_longest_chain_and_unrollable_steps_are_listed() {
        let text = "format = 1\nname = 'p'\n\
            [steps.a]\nrun = { kind = 'shell', command = 'a' }\nrollback = { kind = 'shell', command = 'x' }\n\
            [steps.b]\nrun = { kind = 'shell', command = 'b' }\nrollback = { kind = 'shell', command = 'x' }\n\
            [steps.c]\ndepends_on = ['a', 'b']\nrun = { kind = 'shell', command = 'c' }\n\
            [steps.d]\ndepends_on = ['c']\nrun = { kind = 'manual', instructions = 'look' }\n\
            [steps.e]\ndepends_on = ['a']\ncheck = { kind = 'env', name = 'X' }\n";
        let compiled = compile(&Source::new("p.toml", text), &[], false).map_err(|f| f.diagnostics);
        let Ok(compiled) = compiled else {
            panic!("{compiled:?}");
        };
        let summary = Summary::of(&compiled);
        assert_eq!(summary.critical_path, ["a", "c", "d"]);
        assert_eq!(summary.critical_path_length, 3);
        assert_eq!(summary.levels, 3);
        assert_eq!(summary.mutating_steps, 3);
        assert_eq!(summary.without_rollback, ["c"]);
        assert_eq!(summary.warnings, 1);
    }
}
