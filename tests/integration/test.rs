//! A builder for runs of `planrun` in a fresh temporary directory:
//! `Test::new().plan(..).args(..).run()` then assertions on the output;
//! `run_with(..)` runs another command in the same directory (`rollback`
//! after `apply`), `spawn(..)` starts one to interrupt.

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
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

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
        self.cmd(&[])
    }

    /// Runs planrun with the builder's arguments followed by `extra`, in
    /// the test directory (so several commands share one state).
    pub fn cmd(&self, extra: &[&str]) -> Run {
        let output: Output = self.command(extra).output().expect("run planrun");
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
            dir: self.dir.path().to_path_buf(),
        }
    }

    /// [`Test::cmd`] with extra environment variables for this command only.
    pub fn cmd_env(&self, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(extra);
        command.envs(env.iter().copied());
        let output: Output = command.output().expect("run planrun");
        Run {
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            code: output.status.code(),
            dir: self.dir.path().to_path_buf(),
        }
    }

    /// Runs planrun with `PLANRUN_FAILPOINT=point`: it kills itself with
    /// SIGKILL there (debug builds), as a crash inside the action would.
    pub fn crash_at(&self, point: &str, extra: &[&str]) -> Run {
        let run = self.cmd_env(extra, &[("PLANRUN_FAILPOINT", point)]);
        assert_eq!(
            run.code, None,
            "planrun did not die at `{point}`\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        run
    }

    /// Starts planrun without waiting for it (for signals and crashes).
    pub fn spawn(&self, extra: &[&str]) -> std::process::Child {
        self.command(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start planrun")
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_planrun"));
        command
            .args(&self.args)
            .args(extra)
            .current_dir(self.dir.path())
            .stdin(std::process::Stdio::null())
            .env_remove("PLANRUN_STATE")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// The text of a file in the test directory ("" when missing).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// `planrun status --format json` of the latest run.
    pub fn status(&self) -> serde_json::Value {
        let run = self.cmd(&["status", "--format", "json"]);
        serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// The status of one step in the latest run.
    pub fn step_status(&self, step: &str) -> String {
        let status = self.status();
        status["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["step_id"] == step)
            .and_then(|s| s["status"].as_str())
            .unwrap_or("missing")
            .to_string()
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

/// Every file (not directory) under `dir`.
pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walk(dir).into_iter().filter(|path| path.is_file()).collect();
    files.sort();
    files
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

/// Runs `work` on a connection to the SQLite state at `path`, on a tokio
/// runtime of its own, and closes the connection after it.
pub fn on_state<T>(path: &Path, work: impl AsyncFnOnce(&mut sqlx::SqliteConnection) -> T) -> T {
    use sqlx::{ConnectOptions, Connection};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .connect()
            .await
            .expect("open the state");
        let result = work(&mut conn).await;
        conn.close().await.expect("close the state");
        result
    })
}
