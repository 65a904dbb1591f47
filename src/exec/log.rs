//! A step's log: every line its commands print, redacted, appended to
//! `<logs>/<run>/<step>.log`, with the last lines kept to show on failure.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::exec::redact::Redactor;

const TAIL_LINES: usize = 20;

pub struct StepLog {
    path: PathBuf,
    redactor: Arc<Redactor>,
    inner: Mutex<Inner>,
}

struct Inner {
    file: Option<File>,
    tail: VecDeque<String>,
}

impl StepLog {
    /// Opens the log for appending. A log that cannot be written is not
    /// fatal: the lines still reach the tail shown on failure.
    pub fn open(path: &Path, redactor: Arc<Redactor>) -> StepLog {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok();
        StepLog {
            path: path.to_path_buf(),
            redactor,
            inner: Mutex::new(Inner {
                file,
                tail: VecDeque::with_capacity(TAIL_LINES),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (without its newline).
    pub fn line(&self, text: &str) {
        let text = self.redactor.redact(text.trim_end_matches(['\n', '\r']));
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some(file) = inner.file.as_mut() {
            let _ = file.write_all(format!("{text}\n").as_bytes());
        }
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(text.into_owned());
    }

    /// A section header, like `== run (attempt 2) ==`.
    pub fn section(&self, title: &str) {
        self.line(&format!("== {title} =="));
        if let Ok(mut inner) = self.inner.lock() {
            inner.tail.clear();
        }
    }

    /// The last lines written since the last section header.
    pub fn tail(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|inner| inner.tail.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_redacted_in_the_file_and_the_tail() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("step.log");
        let log = StepLog::open(&path, Arc::new(Redactor::new(["s3cret".to_string()])));
        log.section("run");
        log.line("password is s3cret\n");
        assert_eq!(log.tail(), ["password is ***"]);
        let text = std::fs::read_to_string(&path).expect("log file");
        assert_eq!(text, "== run ==\npassword is ***\n");
    }
}
