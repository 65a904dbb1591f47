//! A step's log: every line its commands print, redacted, appended to
//! `<logs>/<run>/<step>.log`, with the last lines kept to show on failure.
//!
//! The file is created on the first line written: a quiet step leaves no
//! file behind (creating thousands of empty files costs more than the
//! steps themselves).

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::redact::Redactor;

const TAIL_LINES: usize = 20;

pub(crate) struct StepLog {
    /// `None`: the lines only reach the tail (probes of a dry run).
    path: Option<PathBuf>,
    redactor: Arc<Redactor>,
    inner: Mutex<Inner>,
}

struct Inner {
    file: Option<File>,
    /// Whether opening the file was tried (and so `file` is final).
    opened: bool,
    /// A section header not written yet: it goes in before the next line.
    header: Option<String>,
    tail: VecDeque<String>,
}

impl StepLog {
    /// A log appending to `path`. A log that cannot be written is not
    /// fatal: the lines still reach the tail shown on failure.
    pub(crate) fn open(path: &Path, redactor: Arc<Redactor>) -> StepLog {
        StepLog {
            path: Some(path.to_path_buf()),
            redactor,
            inner: Mutex::new(Inner {
                file: None,
                opened: false,
                header: None,
                tail: VecDeque::with_capacity(TAIL_LINES),
            }),
        }
    }

    /// A log that writes no file: its lines only reach the tail.
    pub(crate) fn discard(redactor: Arc<Redactor>) -> StepLog {
        StepLog {
            path: None,
            redactor,
            inner: Mutex::new(Inner {
                file: None,
                opened: true,
                header: None,
                tail: VecDeque::with_capacity(TAIL_LINES),
            }),
        }
    }

    /// Appends one line (without its newline).
    pub(crate) fn line(&self, text: &str) {
        let text = self.redactor.redact(text.trim_end_matches(['\n', '\r']));
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if !inner.opened {
            inner.opened = true;
            inner.file = self
                .path
                .as_ref()
                .and_then(|path| std::fs::OpenOptions::new().create(true).append(true).open(path).ok());
        }
        let header = inner.header.take();
        if let Some(file) = inner.file.as_mut() {
            let mut bytes = header.map(|h| format!("{h}\n")).unwrap_or_default();
            bytes.push_str(&text);
            bytes.push('\n');
            let _ = file.write_all(bytes.as_bytes());
        }
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(text.into_owned());
    }

    /// A section header, like `== run (attempt 2) ==`, written before
    /// the section's first line.
    pub(crate) fn section(&self, title: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.header = Some(format!("== {title} =="));
            inner.tail.clear();
        }
    }

    /// The last lines written since the last section header.
    pub(crate) fn tail(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|inner| inner.tail.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn redactor(&self) -> &Redactor {
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

    #[test]
    fn a_quiet_step_leaves_no_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("quiet.log");
        let log = StepLog::open(&path, Arc::new(Redactor::default()));
        log.section("run");
        log.section("verify 1");
        assert!(!path.exists());
        log.line("now something");
        let text = std::fs::read_to_string(&path).expect("log file");
        assert_eq!(text, "== verify 1 ==\nnow something\n");
    }
}
