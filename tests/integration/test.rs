//! A builder for runs of `planrun` in a fresh temporary directory:
//! `Test::new().plan(..).args(..).run()` then assertions on the output;
//! `run_with(..)` runs another command in the same directory (`rollback`
//! after `apply`), `spawn(..)` starts one to interrupt.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

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

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `plan.toml` in the test directory.
    pub fn plan(self, text: &str) -> Test {
        self.file("plan.toml", text)
    }

    pub fn file(self, name: &str, text: &str) -> Test {
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

    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_planrun"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("PLANRUN_STATE")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    pub fn run(&self) -> Run {
        self.finish(self.command(&self.args).output().expect("run planrun"))
    }

    /// Runs `planrun` with other arguments, in the same directory.
    pub fn run_with(&self, args: &[&str]) -> Run {
        let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
        self.finish(self.command(&args).output().expect("run planrun"))
    }

    /// Starts `planrun` without waiting for it; its output is discarded.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
        self.command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start planrun")
    }

    fn finish(&self, output: Output) -> Run {
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
            dir: self.dir.path().to_path_buf(),
        }
    }
}

impl Run {
    /// Everything planrun printed, stdout then stderr.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The text of every step log of every run.
    pub fn logs(&self) -> String {
        walk(&self.dir.join(".planrun/logs"))
            .into_iter()
            .filter(|path| path.extension().is_some_and(|e| e == "log"))
            .map(|path| std::fs::read_to_string(path).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

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
