//! A builder for one run of `planrun` in a fresh temporary directory:
//! `Test::new().plan(..).args(..).run()` then assertions on the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    pub dir: PathBuf,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temporary directory"),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Writes `plan.toml` in the test directory.
    pub fn plan(self, text: &str) -> Test {
        self.file("plan.toml", text)
    }

    /// Copies `tests/fixtures/<name>` to `plan.toml` in the test directory.
    pub fn fixture(self, name: &str) -> Test {
        let text = std::fs::read_to_string(fixture_path(name)).expect("read fixture");
        self.plan(&text)
    }

    pub fn file(self, name: &str, text: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(path, text).expect("write test file");
        self
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| (*a).to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn run(&self) -> Run {
        let output: Output = Command::new(env!("CARGO_BIN_EXE_planrun"))
            .args(&self.args)
            .current_dir(self.dir.path())
            .env_remove("PLANRUN_STATE")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("run planrun");
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
            dir: self.dir.path().to_path_buf(),
        }
    }
}

impl Run {
    pub fn status(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Files under the test directory other than the ones the test wrote.
    pub fn written_files(&self, except: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for entry in walk(&self.dir) {
            let relative = entry.strip_prefix(&self.dir).unwrap_or(&entry).display().to_string();
            if !except.contains(&relative.as_str()) {
                out.push(relative);
            }
        }
        out.sort();
        out
    }
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.push(path.clone());
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
