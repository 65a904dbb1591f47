//! `planrun apply PLAN`: preflight, then run every step, checkpointed.

use std::collections::HashMap;
use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, Format, StateArgs, WalkArgs};
use crate::cli::load::{PlanArgs, compile_loud, load_plan, recorded, replayed};
use crate::cli::saved_plan::{SavedPlan, is_saved_plan};
use crate::digest::text_hash;
use crate::error::{Error, Exit};
use crate::exec::apply::{ApplyRequest, apply};
use crate::exec::error::ExecError;
use crate::exec::resolve::Scope;
use crate::exec::resume::{ResumeRequest, Stored, resume};
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
        expected,
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
        let continued = match &expected {
            Some(expected) => match check_review(&session, &compiled, &given, expected).await {
                Ok(seen) => seen.unfinished.filter(|_| !args.abandon),
                Err(refused) => {
                    session.end().await?;
                    return Err(refused);
                }
            },
            None => None,
        };
        let outcome = match continued {
            Some((run, _)) if args.rollback_on_failure => {
                session.end().await?;
                return Err(Error::Usage(format!(
                    "the approved preview continues run {}, and `--rollback-on-failure` is for a new run: \
                     apply without it (`planrun rollback` undoes the run after a failure)",
                    run.id
                )));
            }
            // The approved preview showed this run's steps, done and
            // pending: applying it continues the run, as `resume` would.
            Some((run, steps)) => {
                let stored = Stored {
                    plan_unchanged: text_hash(&compiled.plan.source.text) == run.plan_hash,
                    steps,
                };
                let request = ResumeRequest {
                    accept_drift: false,
                    rerun: Vec::new(),
                };
                resume(&session, compiled, secrets, &run, stored, &request, &settings).await
            }
            None => apply(&session, compiled, secrets, &request, &settings).await,
        };
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
    expected: Option<Expected>,
}

/// The review a run must match: a hash (`--expect-hash`, or a saved
/// plan's), and, from a saved plan, what it covered, to say what changed.
struct Expected {
    /// Lowercase hex digits, 12 to 64 of them.
    hash: String,
    /// Where the hash came from, for messages.
    from: String,
    saved: Option<SavedPlan>,
}

fn input(args: &Args) -> Result<Input, Error> {
    if !is_saved_plan(&args.plan.plan) {
        return Ok(Input {
            source: load_plan(&args.plan.plan)?,
            overrides: args.plan.overrides()?,
            plan_path: args.plan.plan.display().to_string(),
            expected: args
                .expect_hash
                .as_deref()
                .map(|hash| {
                    Ok::<_, Error>(Expected {
                        hash: ReviewHash::parse(hash)
                            .map_err(|why| Error::Usage(format!("`--expect-hash {hash}`: {why}")))?,
                        from: "the approved preview".into(),
                        saved: None,
                    })
                })
                .transpose()?,
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
    let hash = ReviewHash::parse(&saved.review_hash).map_err(|why| {
        Error::Usage(format!(
            "`{}` is damaged: its review hash `{}`: {why}",
            args.plan.plan.display(),
            saved.review_hash
        ))
    })?;
    Ok(Input {
        source: Source::new(saved.plan_path.clone(), saved.plan_source.clone()),
        overrides: replayed(&saved.overrides)?,
        plan_path: saved.plan_path.clone(),
        expected: Some(Expected {
            hash,
            from: format!("`{}`", args.plan.plan.display()),
            saved: Some(saved),
        }),
    })
}

/// Refuses (exit 3) when the plan as it is now does not hash to `expected`;
/// else what it found of the plan's runs.
async fn check_review(
    session: &Session,
    compiled: &crate::compile::Compiled,
    given: &indexmap::IndexMap<String, String>,
    expected: &Expected,
) -> Result<crate::cli::plan::Seen, Error> {
    let seen = crate::cli::plan::seen_of(&session.store, &compiled.plan.name).await?;
    let review = ReviewHash::of(compiled, given, seen.state(), |name| std::env::var(name).ok());
    if review.matches(&expected.hash) {
        return Ok(seen);
    }
    let what = match &expected.saved {
        Some(saved) => changed_parts(saved, &review, seen.state()),
        None => format!(
            "the plan file, a var override, an env var it reads, its secrets' sources or the state \
             (its latest run, now {}) changed since the preview; the parts now (compare with \
             `review.parts` of `planrun plan --format json`):\n{}",
            seen.state().describe(),
            review.describe_parts()
        ),
    };
    Err(Error::Conflict(format!(
        "the plan is not the one reviewed: it hashes to sha256:{} now, not the {} of {}\n{what}\n\
         nothing was run; preview again and have the new preview approved",
        review.hash,
        &expected.hash[..expected.hash.len().min(16)],
        expected.from,
    )))
}

/// What differs between a saved plan's review and `now`, a line each.
fn changed_parts(saved: &SavedPlan, now: &ReviewHash, state: crate::exec::review::StateSeen<'_>) -> String {
    let mut lines = Vec::new();
    for (part, digest) in &now.parts {
        if saved.review_parts.get(*part) == Some(digest) {
            continue;
        }
        lines.push(match *part {
            "plan" => "  - the plan changed".to_string(),
            "overrides" => "  - the var overrides changed".to_string(),
            "env" => "  - an env value the plan reads changed".to_string(),
            "secrets" => "  - the sources of its secrets changed".to_string(),
            "state" => format!(
                "  - the state changed: the preview saw {}, now it holds {} (a saved plan runs once)",
                saved.latest_run.as_deref().unwrap_or("another state"),
                state.describe()
            ),
            other => format!("  - `{other}` changed"),
        });
    }
    if lines.is_empty() {
        lines.push(format!("  - the parts now:\n{}", now.describe_parts()));
    }
    lines.join("\n")
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
