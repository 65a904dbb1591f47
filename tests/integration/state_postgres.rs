//! The PostgreSQL state backend, against a real server: the conformance
//! suite, a lock shared by two working directories, a run resumed from
//! another directory, a lock that survives its session being ended, and
//! errors that say why the server cannot be used.

use planrun::state::{Location, LockInfo, Locker, StateError, Store, conformance};

use std::time::{Duration, Instant};

use crate::services::{free_port, psql};
use crate::signals::wait_for;
use crate::test::Test;

/// A fresh, empty database on the test server, or `None` (skip) when no
/// server is available outside CI.
fn fresh_database() -> Option<String> {
    let admin = crate::services::require("PG_URL")?;
    let name = format!("planrun_state_{:08x}", fastrand::u32(..));
    let created = std::process::Command::new("psql")
        .args([admin.as_str(), "-qAtc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("run psql");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let mut url = url::Url::parse(&admin).expect("PLANRUN_TEST_PG_URL is a URL");
    url.set_path(&name);
    Some(url.to_string())
}

#[test]
fn the_postgres_store_passes_the_conformance_suite() {
    let Some(url) = fresh_database() else { return };
    let location = Location::Postgres { url };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(conformance::run(|| async {
        Store::open(&location).await.expect("open the state")
    }));
}

const SLOW: &str = r#"format = 1
name = "shared"
[steps.first]
run = { kind = "shell", command = "echo first >> ledger" }
rollback = { kind = "shell", command = "true" }
[steps.wait]
depends_on = ["first"]
run = { kind = "shell", command = "echo waiting >> ledger; while [ ! -f go ]; do sleep 0.05; done; test -f pass" }
rollback = { kind = "shell", command = "true" }
[steps.last]
depends_on = ["wait"]
run = { kind = "shell", command = "echo last >> ledger" }
rollback = { kind = "shell", command = "true" }
"#;

#[test]
fn two_directories_share_one_lock_and_one_run() {
    let Some(url) = fresh_database() else { return };
    let one = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    let two = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    let child = one.spawn(&["apply", "plan.toml"]);
    wait_for("the first apply to hold the lock", || {
        one.read("ledger").contains("waiting")
    });
    let refused = two.cmd(&["apply", "plan.toml"]);
    refused.status(3);
    assert!(refused.stderr.contains("locked by `apply`"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains(&format!("(pid {})", child.id())),
        "{}",
        refused.stderr
    );
    let password = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.password().map(String::from))
        .unwrap_or_default();
    assert!(
        password.is_empty() || !refused.stderr.contains(&format!(":{password}@")),
        "no password in messages: {}",
        refused.stderr
    );

    std::fs::write(one.path().join("go"), "").expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1), "the step fails without `pass`");

    // The run failed in the first directory; the second resumes it.
    std::fs::write(two.path().join("go"), "").expect("write");
    std::fs::write(two.path().join("pass"), "").expect("write");
    two.cmd(&["resume"]).status(0);
    assert_eq!(one.read("ledger"), "first\nwaiting\n");
    assert_eq!(two.read("ledger"), "waiting\nlast\n");
    assert_eq!(two.status()["run"]["outcome"], "succeeded");
    assert_eq!(one.status()["run"]["outcome"], "succeeded", "both see one state");
}

/// The lock's row: `backend_pid` and whether that backend is alive.
fn lock_backend(url: &str) -> String {
    psql(
        url,
        "SELECT l.backend_pid, count(a.pid) FROM planrun_lock l LEFT JOIN pg_stat_activity a ON a.pid = l.backend_pid \
         GROUP BY l.backend_pid",
    )
}

#[test]
fn a_lock_whose_session_ended_under_a_running_holder_is_not_taken_over() {
    let Some(url) = fresh_database() else { return };
    let (_, name) = url.rsplit_once('/').expect("a database in the URL");
    // Every new session of this database ends after 2 s idle, unless the
    // session turns it off (as the lock's does).
    psql(&url, &format!("ALTER DATABASE {name} SET idle_session_timeout = '2s'"));
    let one = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    let two = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    let child = one.spawn(&["apply", "plan.toml"]);
    wait_for("the first apply to hold the lock", || {
        one.read("ledger").contains("waiting")
    });

    // Well past the idle timeout, the lock still holds.
    std::thread::sleep(Duration::from_secs(4));
    let refused = two.cmd(&["apply", "plan.toml"]);
    refused.status(3);
    assert!(
        refused.stderr.contains(&format!("(pid {})", child.id())),
        "{}",
        refused.stderr
    );

    // The lock's session is ended by force: the advisory lock is free, but
    // the row names a process of this host that runs. Refused all the same.
    let before = lock_backend(&url);
    psql(&url, "SELECT pg_terminate_backend(backend_pid) FROM planrun_lock");
    let refused = two.cmd(&["apply", "plan.toml"]);
    refused.status(3);
    assert!(
        refused.stderr.contains("locked by `apply` by ") && refused.stderr.contains(&format!("(pid {})", child.id())),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("took over"), "{}", refused.stderr);

    // The holder takes its lock again on a new session.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = lock_backend(&url);
        if now != before && now.ends_with("|1") {
            break;
        }
        assert!(Instant::now() < deadline, "the holder never took its lock again: {now}");
        std::thread::sleep(Duration::from_millis(100));
    }
    two.cmd(&["apply", "plan.toml"]).status(3);

    std::fs::write(one.path().join("go"), "").expect("write");
    std::fs::write(one.path().join("pass"), "").expect("write");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(one.read("ledger"), "first\nwaiting\nlast\n");
    assert_eq!(two.read("ledger"), "", "the refused applies ran nothing");
}

#[test]
fn a_forced_unlock_stops_the_holder() {
    let Some(url) = fresh_database() else { return };
    let one = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    let two = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    let mut child = one.spawn(&["apply", "plan.toml"]);
    wait_for("the first apply to hold the lock", || {
        one.read("ledger").contains("waiting")
    });
    two.cmd(&["unlock", "--force"]).status(0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let a holder that did not stop finish, so the test ends either way.
    std::fs::write(one.path().join("go"), "").expect("write");
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("lost the lock on the state"), "{stderr}");
    assert!(
        !one.read("ledger").contains("last"),
        "nothing ran after the lock was lost"
    );
}

#[test]
fn a_state_server_that_cannot_be_used_says_why_at_once() {
    let Some(url) = fresh_database() else { return };
    let started = Instant::now();
    let down = format!("postgres://postgres:Unseen-pw-1@127.0.0.1:{}/postgres", free_port());
    let run = Test::new().cmd(&["runs", "--state", &down]);
    run.status(1);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(run.stderr.contains("Connection refused"), "{}", run.stderr);
    assert!(!run.stderr.contains("timed out"), "{}", run.stderr);

    let mut wrong = url::Url::parse(&url).expect("a URL");
    wrong.set_password(Some("Unseen-pw-2")).expect("a password");
    let run = Test::new().cmd(&["runs", "--state", wrong.as_str()]);
    run.status(1);
    assert!(run.stderr.contains("password authentication failed"), "{}", run.stderr);
    for text in [&run.stderr, &run.stdout] {
        assert!(!text.contains("Unseen-pw"), "the password leaked: {text}");
        assert!(!text.contains(" at line "), "driver noise: {text}");
    }
}

#[test]
fn a_refusal_waits_for_the_holder_to_name_itself() {
    use sqlx::Connection;
    let Some(url) = fresh_database() else { return };
    let location = Location::Postgres { url: url.clone() };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = Store::open(&location).await.expect("open the state");
        // A holder that has taken the advisory lock ("planrun" in ASCII)
        // but not yet written its row.
        let mut holder = sqlx::postgres::PgConnection::connect(&url).await.expect("connect");
        sqlx::query("SELECT pg_advisory_lock(31644363112215918)")
            .execute(&mut holder)
            .await
            .expect("take the advisory lock");
        let first = LockInfo::for_this_process("apply");
        let info = serde_json::to_string(&first).expect("serialise");
        let writer = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            sqlx::query("INSERT INTO planrun_lock (id, holder_id, backend_pid, info) VALUES (1, 'x', 0, $1)")
                .bind(info)
                .execute(&mut holder)
                .await
                .expect("write the row");
            holder
        });
        match store.lock(&LockInfo::for_this_process("resume")).await {
            Err(StateError::Locked(named)) => assert_eq!(*named, first, "the refusal names the holder"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        let holder = writer.await.expect("the writer");
        let _ = holder.close().await;
        store.close().await;
    });
}

#[test]
fn reading_commands_create_nothing_in_a_fresh_postgres_state() {
    let Some(url) = fresh_database() else { return };
    let test = Test::new().plan(SLOW).env("PLANRUN_STATE", &url);
    test.cmd(&["plan", "plan.toml"]).status(0);
    test.cmd(&["status"]).status(0);
    test.cmd(&["runs"]).status(0);
    let tables = psql(&url, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'planrun%'");
    assert_eq!(tables.trim(), "0", "no schema was created by reading commands");
}
