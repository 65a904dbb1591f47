//! `planrun apply PLAN`: preflight, then run every step, checkpointed.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, Format, StateArgs, WalkArgs};
use crate::cli::load::{PlanArgs, compile_loud, load_plan, recorded, replayed};
use crate::cli::saved_plan::{SavedPlan, is_saved_plan};
use crate::error::{Error, Exit};
use crate::exec::apply::{ApplyRequest, apply};
use crate::exec::error::ExecError;
use crate::exec::resolve::Scope;
use crate::exec::review::ReviewHash;
use crate::exec::secrets::Secrets;
use crate::exec::session::Session;
use crate::plan::raw::VarValue;
use crate::plan::vars::Override;
use crate::plan::{Plan, Source};
use crate::state::Store;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub walk: WalkArgs,
    /// After a failure, roll back what this run did
    #[arg(long)]
    pub rollback_on_failure: bool,
    /// Give up an unfinished run of this plan and start a new one
    #[arg(long)]
    pub abandon: bool,
    /// Run only if the plan, its overrides, the env it reads and the state
    /// still hash to this review hash (`planrun plan` prints it); else exit 3
    #[arg(long, value_name = "HASH")]
    pub expect_hash: Option<String>,
    #[command(flatten)]
    pub approvals: ApprovalArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    // Everything that can be wrong with the input is found before the
    // state is touched: an invalid plan, vars or secrets write nothing.
    let Input {
        source,
        mut overrides,
        plan_path,
        expect_hash,
    } = input(args)?;
    let given = recorded(&overrides);
    let mut compiled = compile_loud(&source, &overrides, args.plan.deny_warnings)?;
    args.plan.check_policy(&compiled)?;
    args.approvals.check(&compiled.plan)?;
    let secrets = Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?;
    // Vars read from the environment are fixed for the whole run: kept
    // with it as overrides, so `resume` and `rollback` see the same values.
    let from_env = env_vars(&compiled.plan, &overrides, &secrets);
    if !from_env.is_empty() {
        overrides.extend(from_env);
        compiled = compile_loud(&source, &overrides, args.plan.deny_warnings)?;
    }
    let compiled = Arc::new(compiled);
    let location = args.state.location()?;
    let request = ApplyRequest {
        plan_path,
        overrides: recorded(&overrides),
        rollback_on_failure: args.rollback_on_failure,
        abandon: args.abandon,
    };
    let (reporter, prompt) = engine::reporter(args.format);
    engine::block_on(async {
        let settings = engine::walk_settings(&location, reporter, prompt, &args.approvals, &args.walk)?;
        let store = Store::open(&location).await?;
        let session = engine::lock(store, &settings, "apply").await?;
        // Checked under the lock: the state it covers cannot change before the run starts.
        if let Some(expected) = &expect_hash
            && let Err(refused) = check_review(&session, &compiled, &given, expected).await
        {
            session.end().await?;
            return Err(refused);
        }
        let outcome = apply(&session, compiled, secrets, &request, &settings).await;
        session.end().await?;
        Ok(engine::exit_for(outcome?))
    })?
}

/// What to apply: a plan file with its `--var`s, or a saved plan
/// (`plan --out`), which carries its overrides and its review hash.
struct Input {
    source: Source,
    overrides: Vec<Override>,
    plan_path: String,
    expect_hash: Option<String>,
}

fn input(args: &Args) -> Result<Input, Error> {
    if !is_saved_plan(&args.plan.plan) {
        return Ok(Input {
            source: load_plan(&args.plan.plan)?,
            overrides: args.plan.overrides()?,
            plan_path: args.plan.plan.display().to_string(),
            expect_hash: args.expect_hash.clone(),
        });
    }
    if !args.plan.vars.is_empty() || !args.plan.var_files.is_empty() || args.expect_hash.is_some() {
        return Err(Error::Usage(
            "a saved plan carries its var overrides and its review hash: apply it without `--var`, `--var-file` or `--expect-hash`".into(),
        ));
    }
    let saved = SavedPlan::read(&args.plan.plan)?;
    let changes = saved.changes_outside_the_state();
    if !changes.is_empty() {
        return Err(Error::Conflict(format!(
            "`{}` is not what would run now:\n{}\nnothing was run; preview again (`planrun plan {} --out ...`) and have it approved",
            args.plan.plan.display(),
            changes
                .iter()
                .map(|change| format!("  - {change}"))
                .collect::<Vec<_>>()
                .join("\n"),
            saved.plan_path
        )));
    }
    Ok(Input {
        source: Source::new(saved.plan_path.clone(), saved.plan_source.clone()),
        overrides: replayed(&saved.overrides)?,
        plan_path: saved.plan_path,
        expect_hash: Some(saved.review_hash),
    })
}

/// Refuses (exit 3) when the plan as it is now does not hash to `expected`.
async fn check_review(
    session: &Session,
    compiled: &crate::compile::Compiled,
    given: &indexmap::IndexMap<String, String>,
    expected: &str,
) -> Result<(), Error> {
    let unfinished = crate::cli::plan::unfinished_of(&session.store, &compiled.plan.name).await?;
    let review = ReviewHash::of(
        compiled,
        given,
        unfinished.as_ref().map(|(run, steps)| (run, steps.as_slice())),
        |name| std::env::var(name).ok(),
    );
    if review.matches(expected) {
        return Ok(());
    }
    Err(Error::Conflict(format!(
        "the plan is not the one reviewed: it hashes to sha256:{} now, not {expected}\n\
         the plan file, a var override, an env var it reads, its secrets' sources or the state changed since the preview; \
         the parts now (compare with `review.parts` of `planrun plan --format json`):\n{}\n\
         nothing was run; preview again and have the new preview approved",
        review.hash,
        review.describe_parts()
    )))
}

/// The vars whose value reads the environment (`${env.X}`), as overrides
/// holding their current value. Vars that also hold a secret are left out:
/// they are resolved again from the secret's source.
fn env_vars(plan: &Plan, given: &[Override], secrets: &Secrets) -> Vec<Override> {
    let outputs = HashMap::new();
    let scope = Scope {
        secrets,
        outputs: &outputs,
    };
    plan.vars
        .iter()
        .filter(|(name, _)| !given.iter().any(|o| &o.name == *name))
        .filter_map(|(name, value)| match value {
            VarValue::String(text) if text.contains("${env.") && !text.contains("${secrets.") => {
                let value = scope.resolve_str(text).ok()?;
                // Kept literal: the value is not a template.
                Override::from_arg(&format!("{name}={}", value.replace("${", "$${"))).ok()
            }
            _ => None,
        })
        .collect()
}
