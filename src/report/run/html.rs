//! The run as one self-contained HTML page (inline CSS, JS and SVG, no
//! network): the dependency graph coloured by each step's final status, a
//! timeline of every attempt and of the rollback from the journal, each
//! step's details (what its check and verify probes found, the tail of its
//! error and of its log), and who ran it where and when.
//! The graph and the timeline are drawn by the page's script from the data
//! it embeds; the details are plain HTML.

use std::collections::HashMap;
use std::fmt::Write;

use serde::Serialize;

use crate::report::run::junit::{Case, verify_cases};
use crate::report::run::{RunReport, seconds};

#[derive(Serialize)]
struct Data<'a> {
    steps: Vec<StepData<'a>>,
    bars: Vec<Bar>,
    /// Milliseconds from the run's start to its last known instant.
    span_ms: u64,
}

#[derive(Serialize)]
struct StepData<'a> {
    id: &'a str,
    status: &'static str,
    level: usize,
    depends_on: Vec<&'a str>,
}

#[derive(Serialize)]
struct Bar {
    step: String,
    /// `attempt`, `rollback` or `satisfied`.
    kind: &'static str,
    start_ms: u64,
    end_ms: u64,
    outcome: String,
}

pub(crate) fn render(report: &RunReport<'_>) -> String {
    let run = report.run;
    let data = data(report);
    let json = serde_json::to_string(&data).unwrap_or_default().replace("</", "<\\/");
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>planrun: {plan} {outcome}</title>\n<style>{CSS}</style></head>\n<body>\n<h1>planrun: <code>{plan}</code> <span class=\"status {outcome}\">{outcome}</span></h1>\n<ul class=\"meta\"><li>run <code>{id}</code></li><li>by {user}@{host} (pid {pid})</li><li>{started} → {finished}</li><li>plan <code>{path}</code>, hash <code>{hash}</code></li></ul>\n",
        plan = html(&run.plan_name),
        outcome = run.outcome.as_str(),
        id = html(&run.id),
        user = html(&run.user),
        host = html(&run.host),
        pid = run.pid,
        started = html(&run.started_at),
        finished = html(run.finished_at.as_deref().unwrap_or("not finished")),
        path = html(&run.plan_path),
        hash = html(&run.plan_hash),
    );
    out.push_str("<h2>Graph</h2>\n<svg id=\"graph\" role=\"img\" aria-label=\"dependency graph\"></svg>\n");
    out.push_str("<h2>Timeline</h2>\n<svg id=\"timeline\" role=\"img\" aria-label=\"timeline of attempts\"></svg>\n");
    out.push_str("<h2>Steps</h2>\n<table><thead><tr><th>step</th><th>phase</th><th>status</th><th>attempts</th><th>duration</th><th>check · verify</th><th>error</th><th>log tail</th></tr></thead><tbody>\n");
    for step in report.steps {
        let duration = seconds(step.started_at.as_deref(), step.finished_at.as_deref())
            .map_or_else(|| "—".to_string(), |s| format!("{s:.1}s"));
        let _ = writeln!(
            out,
            "<tr data-step=\"{id}\"><td><code>{id}</code></td><td>{phase}</td><td><span class=\"status {status}\">{status}</span></td><td>{attempts}</td><td>{duration}</td><td class=\"probes\">{probes}</td><td><pre>{error}</pre></td><td><pre class=\"log\">{log}</pre></td></tr>",
            id = html(&step.step_id),
            phase = html(report.phase(step)),
            status = step.status.as_str(),
            attempts = step.attempts,
            probes = html(&probes(report, step)),
            error = html(step.error.as_deref().unwrap_or("")),
            log = html(
                &report
                    .log_tails
                    .get(&step.step_id)
                    .map(|lines| lines.join("\n"))
                    .unwrap_or_default()
            ),
        );
    }
    out.push_str("</tbody></table>\n");
    let _ = write!(
        out,
        "<script type=\"application/json\" id=\"data\">{json}</script>\n<script>{JS}</script>\n</body></html>\n"
    );
    out
}

/// What the step's `check` and `verify` probes found, in words: the check
/// from the step's status (satisfied: it passed; ran: it failed), the
/// verifies as the JUnit report counts them.
fn probes(report: &RunReport<'_>, step: &crate::state::StepRecord) -> String {
    use crate::state::StepStatus;
    let has_check = report.plan.get(&step.step_id).is_some_and(|facts| facts.check);
    let check = match (has_check, step.status) {
        (false, _) => "no check".to_string(),
        (true, StepStatus::Satisfied) => "check passed: nothing to do".to_string(),
        (true, _) if step.attempts > 0 => "check failed: it ran".to_string(),
        (true, _) => "check not evaluated".to_string(),
    };
    let cases = verify_cases(report, step);
    if cases.is_empty() {
        return check;
    }
    let (mut passed, mut skipped, mut failed) = (0, 0, None);
    for (number, case) in cases.iter().enumerate() {
        match case {
            Case::Passed => passed += 1,
            Case::Skipped(_) => skipped += 1,
            Case::Failed { message, .. } => failed = Some((number + 1, message.clone())),
        }
    }
    let mut verify = format!("verify: {passed} of {} passed", cases.len());
    if let Some((number, message)) = failed {
        let _ = write!(verify, ", verify {number} failed ({message})");
    }
    if skipped > 0 {
        let _ = write!(verify, ", {skipped} not run");
    }
    format!("{check}; {verify}")
}

fn data<'a>(report: &'a RunReport<'_>) -> Data<'a> {
    let ids: HashMap<&str, usize> = report
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| (step.step_id.as_str(), i))
        .collect();
    let depends = |id: &str| -> Vec<&'a str> {
        report
            .plan
            .get(id)
            .map(|facts| {
                facts
                    .depends_on
                    .iter()
                    .map(String::as_str)
                    .filter(|d| ids.contains_key(d))
                    .collect()
            })
            .unwrap_or_default()
    };
    let steps = report
        .steps
        .iter()
        .map(|step| StepData {
            id: &step.step_id,
            status: step.status.as_str(),
            level: report.plan.get(&step.step_id).map_or(0, |facts| facts.level),
            depends_on: depends(&step.step_id),
        })
        .collect();
    let (bars, span_ms) = bars(report);
    Data { steps, bars, span_ms }
}

/// Every attempt and rollback of every step, from the journal.
fn bars(report: &RunReport<'_>) -> (Vec<Bar>, u64) {
    let start: Option<jiff::Timestamp> = report.run.started_at.parse().ok();
    let at = |text: &str| -> u64 {
        match (start, text.parse::<jiff::Timestamp>()) {
            (Some(start), Ok(at)) => u64::try_from(at.duration_since(start).as_millis()).unwrap_or(0),
            _ => 0,
        }
    };
    let mut open: HashMap<String, (&'static str, u64)> = HashMap::new();
    let mut bars = Vec::new();
    let mut last = 0;
    for event in report.events {
        let now = at(&event.at);
        last = last.max(now);
        let Some(step) = &event.step_id else { continue };
        let close = |bars: &mut Vec<Bar>, outcome: &str, open: &mut HashMap<String, (&'static str, u64)>| {
            if let Some((kind, start_ms)) = open.remove(step) {
                bars.push(Bar {
                    step: step.clone(),
                    kind,
                    start_ms,
                    end_ms: now,
                    outcome: outcome.to_string(),
                });
            }
        };
        match event.kind.as_str() {
            "step_running" => {
                close(&mut bars, "interrupted", &mut open);
                open.insert(step.clone(), ("attempt", now));
            }
            "rollback_started" => {
                open.insert(step.clone(), ("rollback", now));
            }
            "step_satisfied" => bars.push(Bar {
                step: step.clone(),
                kind: "satisfied",
                start_ms: now,
                end_ms: now,
                outcome: "satisfied".into(),
            }),
            "rolled_back" | "rollback_failed" if !open.contains_key(step) => bars.push(Bar {
                step: step.clone(),
                kind: "rollback",
                start_ms: now,
                end_ms: now,
                outcome: event.kind.clone(),
            }),
            "step_succeeded" | "step_failed" | "step_interrupted" | "step_retrying" | "awaiting_approval"
            | "rolled_back" | "rollback_failed" => {
                let outcome = event.kind.trim_start_matches("step_").to_string();
                close(&mut bars, &outcome, &mut open);
            }
            _ => {}
        }
    }
    let end = report.run.finished_at.as_deref().map_or(last, at).max(last);
    for (step, (kind, start_ms)) in open {
        bars.push(Bar {
            step,
            kind,
            start_ms,
            end_ms: end,
            outcome: "unfinished".into(),
        });
    }
    (bars, end.max(1))
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}code,pre{font:12px ui-monospace,monospace}\
pre{margin:0;white-space:pre-wrap;max-width:60em}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top;text-align:left}\
.meta{list-style:none;padding:0;color:#555}.meta li{display:inline;margin-right:1.5em}\
.status{padding:1px 6px;border-radius:3px;background:#eee}.succeeded,.rolled_back{background:#cfc}.satisfied{background:#def}\
.failed,.rollback_failed{background:#fcc}.blocked,.pending{background:#eee}.interrupted,.running,.rolling_back,.paused{background:#ffd}\
svg{display:block;margin:0.5em 0}svg text{font:11px ui-monospace,monospace}";

const JS: &str = r##"
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const ns = "http://www.w3.org/2000/svg";
  const el = (name, attrs, parent) => { const e = document.createElementNS(ns, name); for (const k in attrs) e.setAttribute(k, attrs[k]); parent.appendChild(e); return e; };
  const colour = { succeeded: "#7c7", rolled_back: "#c9f", satisfied: "#8bd", failed: "#e66", rollback_failed: "#e66",
    blocked: "#bbb", pending: "#ddd", interrupted: "#ec5", running: "#ec5", rolling_back: "#ec5" };
  // Graph: a column per level, a row per step within it.
  const graph = document.getElementById("graph");
  const rows = {}, pos = {};
  for (const s of data.steps) { const r = rows[s.level] = (rows[s.level] || 0) + 1; pos[s.id] = [20 + s.level * 190, 10 + (r - 1) * 34]; }
  const height = 20 + 34 * Math.max(1, ...Object.values(rows));
  const width = 40 + 190 * (1 + Math.max(0, ...data.steps.map((s) => s.level)));
  graph.setAttribute("width", width); graph.setAttribute("height", height);
  for (const s of data.steps) for (const d of s.depends_on) {
    const [x1, y1] = pos[d], [x2, y2] = pos[s.id];
    el("line", { x1: x1 + 160, y1: y1 + 12, x2: x2, y2: y2 + 12, stroke: "#999", "class": "edge" }, graph);
  }
  for (const s of data.steps) {
    const g = el("g", { "class": "node", "data-step": s.id, "data-status": s.status }, graph);
    const [x, y] = pos[s.id];
    el("rect", { x: x, y: y, width: 160, height: 24, rx: 4, fill: colour[s.status] || "#ddd", stroke: "#555" }, g);
    el("text", { x: x + 6, y: y + 16 }, g).textContent = s.id.length > 22 ? s.id.slice(0, 21) + "…" : s.id;
    el("title", {}, g).textContent = s.id + ": " + s.status;
  }
  // Timeline: a row per step, a bar per attempt and rollback.
  const tl = document.getElementById("timeline");
  const scale = 700 / data.span_ms, index = {};
  data.steps.forEach((s, i) => { index[s.id] = i; el("text", { x: 0, y: 16 + i * 22 }, tl).textContent = s.id; });
  tl.setAttribute("width", 940); tl.setAttribute("height", 10 + 22 * data.steps.length);
  const barred = new Set();
  for (const b of data.bars) {
    if (!(b.step in index)) continue;
    barred.add(b.step);
    const r = el("rect", { "class": "bar " + b.kind, "data-step": b.step, x: 220 + b.start_ms * scale, y: 4 + index[b.step] * 22,
      width: Math.max(3, (b.end_ms - b.start_ms) * scale), height: 16,
      fill: b.kind === "rollback" ? "#c9f" : (colour[b.outcome] || (b.outcome === "succeeded" ? "#7c7" : "#ec5")) }, tl);
    el("title", {}, r).textContent = b.step + " " + b.kind + ": " + b.outcome + " (" + (b.end_ms - b.start_ms) + " ms)";
  }
  for (const s of data.steps) if (!barred.has(s.id))
    el("rect", { "class": "bar not-run", "data-step": s.id, x: 220, y: 4 + index[s.id] * 22, width: 0, height: 16 }, tl);
})();
"##;
