//! A run as a pull-request comment: who ran it where and when, its outcome,
//! and a table of steps with their status, attempts, duration and error.

use std::fmt::Write;

use crate::report::run::{RunReport, seconds, split_error};
use crate::state::StepStatus;

pub(crate) fn render(report: &RunReport<'_>) -> String {
    let run = report.run;
    let mut out = String::new();
    let _ = writeln!(out, "## planrun: `{}` {}\n", run.plan_name, run.outcome.as_str());
    let _ = writeln!(out, "- **Run:** `{}`", run.id);
    let _ = writeln!(out, "- **By:** {}@{} (pid {})", run.user, run.host, run.pid);
    let _ = writeln!(
        out,
        "- **When:** {} → {}",
        run.started_at,
        run.finished_at.as_deref().unwrap_or("not finished")
    );
    let _ = writeln!(
        out,
        "- **Plan:** `{}` (hash `{}`)",
        run.plan_path,
        &run.plan_hash[..run.plan_hash.len().min(16)]
    );
    let count = |status: StepStatus| report.steps.iter().filter(|s| s.status == status).count();
    let _ = writeln!(
        out,
        "- **Steps:** {} succeeded, {} satisfied, {} failed, {} rolled back, {} not run\n",
        count(StepStatus::Succeeded),
        count(StepStatus::Satisfied),
        count(StepStatus::Failed) + count(StepStatus::RollbackFailed),
        count(StepStatus::RolledBack),
        count(StepStatus::Pending) + count(StepStatus::Blocked)
    );
    out.push_str("| step | phase | status | attempts | duration | error |\n|---|---|---|--:|--:|---|\n");
    for step in report.steps {
        let duration = seconds(step.started_at.as_deref(), step.finished_at.as_deref())
            .map_or_else(|| "—".to_string(), |s| format!("{s:.1}s"));
        let (error, _) = split_error(step.error.as_deref());
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            step.step_id,
            report.phase(step),
            step.status.as_str(),
            step.attempts,
            duration,
            cell(error)
        );
    }
    out
}

fn cell(text: &str) -> String {
    if text.is_empty() {
        return "—".to_string();
    }
    text.replace('|', "\\|").replace(['<', '>'], "")
}
