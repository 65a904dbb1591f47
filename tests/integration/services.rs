//! The real services the kind tests talk to, and independent ways to look
//! at them (`psql`, `rabbitmqctl`, the docker CLI).
//!
//! Addresses come from `PLANRUN_TEST_*`, else from `scripts/services.sh
//! env`. When a service is missing, a test fails loudly under `CI=true` and
//! elsewhere prints `skipped: <reason>` and passes.

use std::collections::HashMap;
use std::process::Command;
use std::sync::OnceLock;

/// `PLANRUN_TEST_<name>`, or `None` (after saying why) when the service is
/// not there and this is not CI.
pub fn require(name: &str) -> Option<String> {
    let key = format!("PLANRUN_TEST_{name}");
    if let Some(value) = std::env::var(&key).ok().or_else(|| from_script().get(&key).cloned()) {
        return Some(value);
    }
    let reason = format!("{key} is not set and `scripts/services.sh env` does not report it");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{reason}: start the services with `scripts/services.sh up`"
    );
    eprintln!("skipped: {reason} (start them with `scripts/services.sh up`)");
    record_skip(&reason);
    None
}

/// Where skipped tests are listed, one line each: libtest swallows the
/// `eprintln!` of a passing test, so `scripts/test.sh` prints this list
/// after the run (and empties it before).
pub const SKIPPED_LIST: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/skipped-tests.txt");

fn record_skip(reason: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(SKIPPED_LIST) {
        let _ = writeln!(file, "{test}: {reason}");
    }
}

/// `export KEY=value` lines of `scripts/services.sh env`, read once.
fn from_script() -> &'static HashMap<String, String> {
    static VARS: OnceLock<HashMap<String, String>> = OnceLock::new();
    VARS.get_or_init(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/services.sh");
        let Ok(output) = Command::new("bash").arg(script).arg("env").output() else {
            return HashMap::new();
        };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.strip_prefix("export ")?.split_once('='))
            .map(|(key, value)| (key.to_string(), value.trim_matches(['"', '\'']).to_string()))
            .collect()
    })
}

/// A name no other test (or earlier run) uses: `prefix_<random>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{:08x}", fastrand::u32(..))
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// Runs a command and returns its trimmed stdout; panics when it fails.
pub fn output(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}`: {e}"));
    assert!(
        output.status.success(),
        "`{program} {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The same server URL, on another database.
pub fn on_database(url: &str, database: &str) -> String {
    let (server, _) = url.rsplit_once('/').expect("a URL ending with /DATABASE");
    format!("{server}/{database}")
}

/// `psql -At`: rows of `|`-separated values.
pub fn psql(url: &str, sql: &str) -> String {
    output("psql", &["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
}

/// `rabbitmqctl -q`, on the node `PLANRUN_TEST_RABBITMQ_NODE` names (the
/// services script's node is not the default `rabbit@HOST`).
pub fn rabbitmqctl(args: &[&str]) -> String {
    let node = std::env::var("PLANRUN_TEST_RABBITMQ_NODE")
        .ok()
        .or_else(|| from_script().get("PLANRUN_TEST_RABBITMQ_NODE").cloned());
    let mut all = vec!["-q"];
    if let Some(node) = &node {
        all.extend(["-n", node.as_str()]);
    }
    all.extend(args);
    output("rabbitmqctl", &all)
}

/// The docker CLI, on the daemon at `host` (a `DOCKER_HOST` value).
pub fn docker(host: &str, args: &[&str]) -> String {
    let mut all = vec!["-H", host];
    all.extend(args);
    output("docker", &all)
}
