//! `planrun rehearse PLAN`: for a sandbox or staging, apply, roll back and
//! apply again (Liquibase's `update-testing-rollback`, over a whole graph).
//! After the rollback, every step that ran and has a `check` must find its
//! check failing again: its rollback really undid it. It names each step
//! whose rollback left its work in place and each step that cannot be
//! applied a second time, prints a table, and exits 1 on any such step.

use std::sync::Arc;

use crate::cli::engine::{self, ApprovalArgs, StateArgs, WalkArgs};
use crate::cli::load::{PlanArgs, compile_loud, load_plan, recorded};
use crate::cli::output;
use crate::compile::Compiled;
use crate::error::{Error, Exit};
use crate::exec::apply::{ApplyRequest, apply};
use crate::exec::error::ExecError;
use crate::exec::live;
use crate::exec::rollback::rollback_run;
use crate::exec::secrets::Secrets;
use crate::exec::session::Session;
use crate::state::{RunOutcome, StepRecord, StepStatus, Storage, Store};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    pub plan: PlanArgs,
    #[command(flatten)]
    pub walk: WalkArgs,
    #[command(flatten)]
    pub approvals: ApprovalArgs,
    #[command(flatten)]
    pub state: StateArgs,
}

/// One step through the three passes.
struct Row {
    step: String,
    first: String,
    rollback: String,
    check_after: String,
    second: String,
    problem: Option<&'static str>,
}

pub(crate) fn run(args: &Args) -> Result<Exit, Error> {
    let source = load_plan(&args.plan.plan)?;
    let overrides = args.plan.overrides()?;
    let compiled = Arc::new(compile_loud(&source, &overrides, args.plan.deny_warnings)?);
    args.approvals.check(&compiled.plan)?;
    let secrets = Secrets::resolve(&compiled.plan).map_err(ExecError::Secrets)?;
    let location = args.state.location()?;
    let (reporter, prompt) = engine::reporter(engine::Format::Text);
    let request = ApplyRequest {
        plan_path: args.plan.plan.display().to_string(),
        overrides: recorded(&overrides),
        rollback_on_failure: false,
        abandon: false,
    };
    engine::block_on(async {
        let settings = engine::walk_settings(&location, reporter, prompt, &args.approvals, &args.walk)?;
        let store = Store::open(&location).await?;
        let session = engine::lock(store, &settings, "rehearse").await?;
        let result = rehearse(&session, &compiled, &secrets, &request, &settings).await;
        session.end().await?;
        let rows = result?;
        // A rehearsal in which no step ran (all satisfied already) proved
        // nothing, and must not pass a gate as one that did.
        let failed = rows.iter().any(|row| row.problem.is_some()) || !rows.iter().any(Row::ran);
        output::stdout(&table(&rows))?;
        Ok(if failed { Exit::Failure } else { Exit::Success })
    })?
}

async fn rehearse(
    session: &Session,
    compiled: &Arc<Compiled>,
    secrets: &Secrets,
    request: &ApplyRequest,
    settings: &crate::exec::runtime::Settings,
) -> Result<Vec<Row>, Error> {
    let name = &compiled.plan.name;
    let first = apply(session, compiled.clone(), secrets.clone(), request, settings).await?;
    if first != RunOutcome::Succeeded {
        return Err(Error::Conflict(format!(
            "the first apply ended {first}: nothing to rehearse; `planrun resume` or `planrun rollback` it"
        )));
    }
    let run = latest_run(session, name).await?;
    let applied = session.store.steps(&run.id).await?;
    let undone = rollback_run(session, compiled.clone(), secrets.clone(), &run, settings).await?;
    let rolled_back = session.store.steps(&run.id).await?;
    let checks = live::evaluate(compiled, secrets, settings.work_dir.clone(), 8)
        .await
        .checks;
    // A rollback that failed is the rehearsal's finding: its table says
    // which step, and nothing is applied again over a half-undone run.
    let (second, again) = if undone == RunOutcome::RolledBack {
        let second = apply(session, compiled.clone(), secrets.clone(), request, settings).await?;
        let again = session.store.steps(&latest_run(session, name).await?.id).await?;
        (second, again)
    } else {
        (undone, Vec::new())
    };
    let status = |records: &[StepRecord], id: &str| {
        records
            .iter()
            .find(|record| record.step_id == id)
            .map_or("—".to_string(), |record| record.status.to_string())
    };
    let rows = compiled
        .plan
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let ran = applied
                .iter()
                .any(|record| record.step_id == step.id && record.status == StepStatus::Succeeded);
            let check_after = match (&checks[index], ran) {
                (None, _) => "no check".to_string(),
                (Some(_), false) => "—".to_string(),
                (Some(Ok(())), true) => "still passes".to_string(),
                (Some(Err(_)), true) => "fails again".to_string(),
            };
            let second_status = status(&again, &step.id);
            let rollback_status = status(&rolled_back, &step.id);
            let problem = if rollback_status == StepStatus::RollbackFailed.as_str() {
                Some("its rollback failed")
            } else if check_after == "still passes" {
                Some("its rollback left its work in place")
            } else if second != RunOutcome::Succeeded && second_status == "failed" {
                Some("cannot be applied a second time")
            } else {
                None
            };
            Row {
                step: step.id.clone(),
                first: status(&applied, &step.id),
                rollback: rollback_status,
                check_after,
                second: second_status,
                problem,
            }
        })
        .collect();
    Ok(rows)
}

impl Row {
    /// Whether the first apply ran the step (not satisfied, not skipped).
    fn ran(&self) -> bool {
        self.first == StepStatus::Succeeded.as_str()
    }
}

async fn latest_run(session: &Session, name: &str) -> Result<crate::state::RunRecord, Error> {
    let runs = session.store.runs().await?;
    let run = runs
        .into_iter()
        .rev()
        .find(|run| run.plan_name == name)
        .ok_or_else(|| Error::Usage(format!("no run of `{name}`")))?;
    Ok(session.store.run(&run.id).await?.unwrap_or(run))
}

fn table(rows: &[Row]) -> String {
    use std::fmt::Write;
    let width = rows.iter().map(|row| row.step.len()).max().unwrap_or(4).max(4);
    let mut out = format!(
        "\n{:<width$}  {:<10}  {:<15}  {:<14}  {:<11}  PROBLEM\n",
        "STEP", "APPLY", "ROLLBACK", "CHECK AFTER", "APPLY AGAIN"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:<10}  {:<15}  {:<14}  {:<11}  {}",
            row.step,
            row.first,
            row.rollback,
            row.check_after,
            row.second,
            row.problem.unwrap_or("")
        );
    }
    let problems = rows.iter().filter(|row| row.problem.is_some()).count();
    let ran = rows.iter().filter(|row| row.ran()).count();
    let summary = if ran == 0 {
        "nothing was rehearsed: the first apply ran no step (each was satisfied already); \
         rehearse in a world the plan has not been applied to"
            .to_string()
    } else if problems > 0 {
        format!("{problems} step(s) with a problem")
    } else if ran < rows.len() {
        format!(
            "every rollback of the {ran} step(s) that ran undid its step, and the plan applied a second time; \
             {} step(s) did not run (satisfied already) and were not rehearsed",
            rows.len() - ran
        )
    } else {
        "every rollback undid its step, and the plan applied a second time".to_string()
    };
    let _ = writeln!(out, "\nrehearsal: {summary}");
    out
}
