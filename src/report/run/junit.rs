//! JUnit XML: one test suite per run, a test case per step (`classname`
//! the phase) and per `verify` probe of a step that ran, so CI test tabs
//! show a migration's verifications.

use std::fmt::Write;

use crate::report::run::{RunReport, failed_verify, seconds, split_error};
use crate::state::{StepRecord, StepStatus};

pub(super) enum Case {
    Passed,
    Failed { message: String, detail: String },
    Skipped(String),
}

pub(crate) fn render(report: &RunReport<'_>) -> String {
    let mut cases = Vec::new();
    for step in report.steps {
        let class = format!("{}.{}", report.run.plan_name, report.phase(step));
        let time = seconds(step.started_at.as_deref(), step.finished_at.as_deref()).unwrap_or(0.0);
        cases.push((class.clone(), step.step_id.clone(), time, step_case(step)));
        for (number, case) in verify_cases(report, step).into_iter().enumerate() {
            cases.push((
                class.clone(),
                format!("{} verify {}", step.step_id, number + 1),
                0.0,
                case,
            ));
        }
    }
    let failures = cases.iter().filter(|c| matches!(c.3, Case::Failed { .. })).count();
    let skipped = cases.iter().filter(|c| matches!(c.3, Case::Skipped(_))).count();
    let time = seconds(Some(&report.run.started_at), report.run.finished_at.as_deref()).unwrap_or(0.0);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"planrun\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\">",
        cases.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{time:.3}\" timestamp=\"{}\" hostname=\"{}\">",
        xml(&report.run.plan_name),
        xml(&report.run.id),
        cases.len(),
        xml(&report.run.started_at),
        xml(&report.run.host)
    );
    let _ = writeln!(
        out,
        "    <properties><property name=\"outcome\" value=\"{}\"/><property name=\"plan_hash\" value=\"{}\"/><property name=\"user\" value=\"{}\"/></properties>",
        report.run.outcome.as_str(),
        xml(&report.run.plan_hash),
        xml(&report.run.user)
    );
    for (class, name, time, case) in &cases {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
            xml(class),
            xml(name)
        );
        match case {
            Case::Passed => out.push_str("/>\n"),
            Case::Failed { message, detail } => {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml(message),
                    xml(detail)
                );
            }
            Case::Skipped(why) => {
                let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>\n    </testcase>", xml(why));
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn step_case(step: &StepRecord) -> Case {
    let (message, detail) = split_error(step.error.as_deref());
    match step.status {
        StepStatus::Succeeded | StepStatus::Satisfied | StepStatus::RolledBack => Case::Passed,
        StepStatus::Failed | StepStatus::RollbackFailed => Case::Failed {
            message: format!("{}: {message}", step.status.as_str()),
            detail: detail.to_string(),
        },
        StepStatus::Interrupted | StepStatus::Running | StepStatus::RollingBack => Case::Failed {
            message: format!("{}: the run stopped while this step ran", step.status.as_str()),
            detail: String::new(),
        },
        StepStatus::Pending | StepStatus::Blocked => Case::Skipped(step.status.as_str().to_string()),
    }
}

/// The verify probes of a step whose action ran: passed up to the one that
/// failed (read from the stored error), skipped after it.
pub(super) fn verify_cases(report: &RunReport<'_>, step: &StepRecord) -> Vec<Case> {
    let count = report.verify_count(step);
    if count == 0 || step.attempts == 0 {
        return Vec::new();
    }
    let failed = if step.status == StepStatus::Failed {
        failed_verify(step.error.as_deref())
    } else {
        None
    };
    (1..=count)
        .map(|number| match failed {
            Some(at) if number == at => {
                let (message, detail) = split_error(step.error.as_deref());
                Case::Failed {
                    message: message.to_string(),
                    detail: detail.to_string(),
                }
            }
            Some(at) if number > at => Case::Skipped("an earlier verify failed".into()),
            // The action failed before any verify ran.
            None if step.status == StepStatus::Failed => Case::Skipped("the step failed before verifying".into()),
            _ => Case::Passed,
        })
        .collect()
}

/// Text as XML character data or an attribute value.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}
