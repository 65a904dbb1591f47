//! The reporter on a terminal: an overall bar plus one line per running
//! step with its elapsed time; what happened is printed above the bars.
//! This is the only place that touches indicatif.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exec::approval::Prompt;
use crate::exec::event::{Event, Reporter};
use crate::report::event_text;

pub(crate) struct ProgressBars {
    multi: MultiProgress,
    overall: ProgressBar,
    running: Mutex<HashMap<String, ProgressBar>>,
    color: bool,
}

impl ProgressBars {
    pub(crate) fn new(color: bool) -> ProgressBars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let template = if color {
            "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} steps · {elapsed_precise}"
        } else {
            "{prefix} [{bar:30}] {pos}/{len} steps · {elapsed_precise}"
        };
        let overall = multi.add(ProgressBar::new(0).with_style(style(template).progress_chars("=> ")));
        overall.set_prefix("planrun");
        ProgressBars {
            multi,
            overall,
            running: Mutex::new(HashMap::new()),
            color,
        }
    }

    fn start(&self, step: &str) {
        let template = if self.color {
            "  {spinner:.green} {msg} ({elapsed})"
        } else {
            "  {spinner} {msg} ({elapsed})"
        };
        let bar = self.multi.add(ProgressBar::new_spinner().with_style(style(template)));
        bar.set_message(step.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut running) = self.running.lock() {
            running.insert(step.to_string(), bar);
        }
    }

    fn stop(&self, step: &str) {
        if let Some(bar) = self.running.lock().ok().and_then(|mut running| running.remove(step)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Reporter for ProgressBars {
    fn report(&self, event: &Event) {
        match event {
            Event::RunStarted { to_run, .. } => self.overall.set_length(*to_run as u64),
            Event::RollbackStarted { steps, .. } => {
                self.overall.set_position(0);
                self.overall.set_length(*steps as u64);
            }
            Event::StepStarted { step, .. } => self.start(step),
            Event::StepFinished { step, .. } => {
                self.stop(step);
                self.overall.inc(1);
            }
            Event::RunFinished { counts, .. } => {
                if let Ok(mut running) = self.running.lock() {
                    for (_, bar) in running.drain() {
                        bar.finish_and_clear();
                    }
                }
                self.overall.finish_and_clear();
                let _ = self.multi.clear();
                // The summary table, then the one-line outcome below.
                let _ = self.multi.println(format!("\n  {:<16} {:>6}", "status", "steps"));
                for (status, count) in counts {
                    let _ = self.multi.println(format!("  {:<16} {count:>6}", status.as_str()));
                }
            }
            _ => {}
        }
        if let Some(lines) = event_text::lines(event) {
            for line in lines {
                let _ = self.multi.println(line);
            }
        }
    }
}

impl Prompt for ProgressBars {
    fn confirm(&self, step_id: &str, instructions: &str) -> bool {
        self.multi.suspend(|| ask(step_id, instructions))
    }
}

/// Asks on the terminal; only an explicit `yes` approves.
pub(crate) fn ask(step_id: &str, instructions: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nmanual step `{step_id}`:");
    for line in instructions.lines() {
        let _ = writeln!(err, "  | {line}");
    }
    let _ = write!(err, "Type `yes` when done (anything else stops here): ");
    let _ = err.flush();
    let mut answer = String::new();
    let read = std::io::stdin().lock().read_line(&mut answer);
    read.is_ok() && answer.trim().eq_ignore_ascii_case("yes")
}
