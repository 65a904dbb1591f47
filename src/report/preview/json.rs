//! The preview for machines: a documented, stable shape
//! (`docs/preview-json.md`). Fields are only ever added within one
//! `preview_version`; renaming or removing one bumps it.

use std::io;

use indexmap::IndexMap;
use serde::Serialize;

use crate::exec::review::ReviewHash;
use crate::plan::hash::{plan_hash, source_hash, step_hash};
use crate::plan::model::Retry;
use crate::plan::raw::{SecretSource, VarValue};
use crate::plan::risk::Risk;
use crate::redact::Redactor;
use crate::report::preview::summaries::KindSummaries;
use crate::report::preview::summary::Summary;
use crate::report::preview::{PreviewInput, Warning, warnings};
use crate::steps::{Action, Probe};
use crate::units::duration::Duration;

const PREVIEW_VERSION: u32 = 1;

#[derive(Serialize)]
struct Preview<'a> {
    preview_version: u32,
    name: &'a str,
    description: Option<&'a str>,
    source: &'a str,
    source_sha256: String,
    plan_hash: String,
    /// What `apply --expect-hash` checks, and the digest of each part.
    #[serde(skip_serializing_if = "Option::is_none")]
    review: Option<&'a ReviewHash>,
    parallelism: Option<usize>,
    vars: &'a IndexMap<String, VarValue>,
    secrets: &'a IndexMap<String, SecretSource>,
    phases: Vec<Phase<'a>>,
    summary: Summary<'a>,
    preflight: Vec<Preflight<'a>>,
    warnings: Vec<Warning<'a>>,
    steps: Vec<Step<'a>>,
}

#[derive(Serialize)]
struct Phase<'a> {
    name: &'a str,
    /// Step ids in execution order.
    steps: Vec<&'a str>,
}

#[derive(Serialize)]
struct Preflight<'a> {
    id: &'a str,
    description: Option<&'a str>,
    kind: &'static str,
    summary: String,
    probe: &'a Probe,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct Step<'a> {
    id: &'a str,
    order: usize,
    level: usize,
    phase: &'a str,
    description: Option<&'a str>,
    depends_on: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    idempotent: bool,
    timeout: Duration,
    retry: Retry,
    check: Option<&'a Probe>,
    preconditions: Vec<&'a Probe>,
    run: Option<&'a Action>,
    verify: Vec<&'a Probe>,
    rollback: Option<&'a Action>,
    summaries: Summaries,
    mutating: bool,
    can_roll_back: bool,
    /// Why a reviewer should look twice (`plan::risk`); empty: nothing.
    risks: &'a [Risk],
    help: Option<&'a str>,
    definition_hash: String,
}

/// One line per action and probe, as the text preview shows them.
#[derive(Serialize)]
struct Summaries {
    check: Option<String>,
    preconditions: Vec<String>,
    run: Option<String>,
    verify: Vec<String>,
    rollback: Option<String>,
}

/// Writes the JSON preview of `input` to `out`, pretty-printed, with
/// what `redactor` masks masked.
pub(super) fn write(input: &PreviewInput<'_>, redactor: &Redactor, out: &mut dyn io::Write) -> io::Result<()> {
    let plan = &input.compiled.plan;
    let hashes: Vec<String> = plan.steps.iter().map(step_hash).collect();
    let risks = crate::plan::risk::assess(plan);
    let preview = Preview::of(input, &hashes, &risks);
    if redactor.is_empty() {
        serde_json::to_writer_pretty(&mut *out, &preview)?;
    } else {
        let mut value = serde_json::to_value(&preview)?;
        redactor.redact_json(&mut value);
        serde_json::to_writer_pretty(&mut *out, &value)?;
    }
    out.write_all(b"\n")
}

impl<'a> Preview<'a> {
    /// The preview of `input`; `hashes` and `risks`: each step's definition
    /// hash and risks, by plan index.
    fn of(input: &PreviewInput<'a>, hashes: &[String], risks: &'a [Vec<Risk>]) -> Preview<'a> {
        let compiled = input.compiled;
        let plan = &compiled.plan;
        let shown = KindSummaries::of(plan);
        Preview {
            preview_version: PREVIEW_VERSION,
            name: &plan.name,
            description: plan.description.as_deref(),
            source: &plan.source.name,
            source_sha256: source_hash(&plan.source),
            plan_hash: plan_hash(plan.steps.iter().zip(hashes).map(|(s, h)| (s.id.as_str(), h.as_str()))),
            review: input.review,
            parallelism: plan.parallelism,
            vars: &plan.vars,
            secrets: &plan.secrets,
            phases: compiled
                .steps_by_phase()
                .into_iter()
                .map(|(name, steps)| Phase {
                    name,
                    steps: steps.into_iter().map(|i| plan.steps[i].id.as_str()).collect(),
                })
                .collect(),
            summary: Summary::of(compiled),
            preflight: plan
                .preflight
                .iter()
                .map(|p| Preflight {
                    id: &p.id,
                    description: p.description.as_deref(),
                    kind: p.probe.get_ref().kind(),
                    summary: shown.probe(p.probe.get_ref()),
                    probe: p.probe.get_ref(),
                    help: p.help.as_deref(),
                })
                .collect(),
            warnings: warnings(compiled),
            steps: Step::all(input, shown, hashes, risks),
        }
    }
}

impl<'a> Step<'a> {
    /// Every step of `input`'s plan, in execution order.
    fn all(input: &PreviewInput<'a>, shown: KindSummaries, hashes: &[String], risks: &'a [Vec<Risk>]) -> Vec<Step<'a>> {
        let order = input.positions();
        input
            .compiled
            .dag
            .order()
            .iter()
            .map(|&i| Step::of(input, i, order[i], shown, hashes[i].clone(), &risks[i]))
            .collect()
    }

    /// Step `i` of `input`'s plan, `order`th in the execution order.
    fn of(
        input: &PreviewInput<'a>,
        i: usize,
        order: usize,
        shown: KindSummaries,
        definition_hash: String,
        risks: &'a [Risk],
    ) -> Step<'a> {
        let compiled = input.compiled;
        let step = &compiled.plan.steps[i];
        let check = step.check.as_ref().map(toml::Spanned::get_ref);
        let preconditions: Vec<&Probe> = step.preconditions.iter().map(toml::Spanned::get_ref).collect();
        let run = step.run.as_ref().map(toml::Spanned::get_ref);
        let verify: Vec<&Probe> = step.verify.iter().map(toml::Spanned::get_ref).collect();
        let rollback = step.rollback.as_ref().map(toml::Spanned::get_ref);
        Step {
            id: &step.id,
            order,
            level: compiled.dag.level(i),
            phase: &step.phase,
            description: step.description.as_deref(),
            depends_on: step.depends_on.iter().map(|d| d.get_ref().as_str()).collect(),
            state: input.state(i),
            idempotent: step.idempotent,
            timeout: step.timeout,
            retry: step.retry,
            summaries: Summaries {
                check: check.map(|c| shown.probe(c)),
                preconditions: preconditions.iter().map(|p| shown.probe(p)).collect(),
                run: run.map(|r| shown.action(r)),
                verify: verify.iter().map(|p| shown.probe(p)).collect(),
                rollback: rollback.map(|r| shown.action(r)),
            },
            check,
            preconditions,
            run,
            verify,
            rollback,
            mutating: run.is_some_and(Action::is_mutating),
            can_roll_back: step.can_roll_back(),
            risks,
            help: step.help.as_deref(),
            definition_hash,
        }
    }
}
