//! The `postgres.*` kinds against a real server, each effect checked with
//! `psql` rather than planrun's own report.

use std::time::{Duration, Instant};

use crate::services::{on_database, psql, require, unique};
use crate::test::{Test, on_state};

/// A fresh database on the test server, dropped when the guard goes.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    fn new(admin: &str, prefix: &str) -> Database {
        let name = unique(prefix);
        psql(admin, &format!("CREATE DATABASE {name}"));
        Database {
            admin: admin.to_string(),
            url: on_database(admin, &name),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                &self.admin,
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn database_exists(admin: &str, name: &str) -> bool {
    psql(
        admin,
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    ) == "1"
}

#[test]
fn create_database_is_undone_only_when_this_run_created_it() {
    let Some(admin) = require("PG_URL") else { return };
    let created = unique("planrun_new");
    let existing = Database::new(&admin, "planrun_old");
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "databases"
[vars]
admin = "{admin}"
[steps.new]
run = {{ kind = "postgres.create_database", url = "${{vars.admin}}", name = "{created}" }}
verify = [{{ kind = "postgres.exists", url = "${{vars.admin}}", database = "{created}" }}]
[steps.existing]
run = {{ kind = "postgres.create_database", url = "${{vars.admin}}", name = "{existing}" }}
"#,
        existing = existing.name
    ));
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert!(database_exists(&admin, &created));
    let rollback = test.cmd(&["rollback", "plan.toml"]);
    rollback.status(0);
    assert!(
        !database_exists(&admin, &created),
        "the database this run created is dropped"
    );
    assert!(
        database_exists(&admin, &existing.name),
        "a database that existed before stays"
    );
    assert!(
        rollback.logs().contains("existed before this run: left in place"),
        "{}",
        rollback.logs()
    );
}

#[test]
fn exec_is_atomic_in_a_transaction_and_probes_only_read() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_exec");
    let extra = unique("planrun_exec_extra");
    let _extra_guard = ExtraDatabase(admin.clone(), extra.clone());
    let test = Test::new()
        .file(
            "sql/schema.sql",
            "CREATE SCHEMA app;\nCREATE TABLE app.users (id int PRIMARY KEY, name text);\n\
             INSERT INTO app.users VALUES (1, 'a;b'), (2, $$it's$$);\n",
        )
        .file(
            "sql/databases.sql",
            format!("-- runs outside a transaction\nCREATE DATABASE {extra};\nCOMMENT ON DATABASE {extra} IS 'x;y';\n"),
        );
    // A relative `file` starts at the working directory; an absolute one is taken as is.
    let databases = test.path().join("sql/databases.sql").display().to_string();
    let test = test.plan(&format!(
            r#"
format = 1
name = "exec"
[vars]
db = "{db}"
admin = "{admin}"
[steps.schema]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", file = "sql/schema.sql" }}
verify = [
  {{ kind = "postgres.exists", url = "${{vars.db}}", schema = "app" }},
  {{ kind = "postgres.exists", url = "${{vars.db}}", table = "app.users" }},
  {{ kind = "postgres.row_count", url = "${{vars.db}}", table = "app.users", equals = 2 }},
  {{ kind = "postgres.row_count", url = "${{vars.db}}", table = "app.users", where = "name LIKE '%;%'", equals = 1 }},
  {{ kind = "postgres.query", url = "${{vars.db}}", sql = "SELECT name FROM app.users WHERE id = 2", equals = "it's" }},
  {{ kind = "postgres.query", url = "${{vars.db}}", sql = "SELECT 1 FROM app.users WHERE id = 3", expect = "no_rows" }},
  {{ kind = "postgres.connect", url = "${{vars.db}}", wait = "5s" }},
]
[steps.no-transaction]
depends_on = ["schema"]
run = {{ kind = "postgres.exec", url = "${{vars.admin}}", transaction = false, file = "{databases}" }}
[steps.atomic]
depends_on = ["no-transaction"]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", sql = "CREATE TABLE app.half (id int); INSERT INTO app.nope VALUES (1)" }}
[steps.read-only]
depends_on = ["no-transaction"]
check = {{ kind = "postgres.query", url = "${{vars.db}}", sql = "CREATE TABLE app.sneaky (id int)" }}
run = {{ kind = "shell", command = "true" }}
"#,
            db = db.url
        ));
    let run = test.cmd(&["apply", "plan.toml", "--keep-going"]);
    run.status(1);
    assert!(run.stderr.contains("ok      schema"), "{}", run.stderr);
    assert!(run.stderr.contains("ok      no-transaction"), "{}", run.stderr);
    assert!(run.stderr.contains("FAILED  atomic"), "{}", run.stderr);
    assert!(
        run.stderr.contains(r#"relation "app.nope" does not exist"#),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("ok      read-only"), "{}", run.stderr);
    assert!(
        database_exists(&admin, &extra),
        "CREATE DATABASE ran outside a transaction"
    );
    let tables = psql(
        &db.url,
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'app'",
    );
    assert_eq!(
        tables, "users",
        "the failed script left nothing, the probe created nothing"
    );
}

/// Drops a database a plan creates, whatever the test's outcome.
struct ExtraDatabase(String, String);

impl Drop for ExtraDatabase {
    fn drop(&mut self) {
        let _ = std::process::Command::new("psql")
            .args([
                "-X",
                "-q",
                &self.0,
                "-c",
                &format!("DROP DATABASE IF EXISTS {}", self.1),
            ])
            .output();
    }
}

#[test]
fn a_password_in_a_var_never_shows() {
    let Some(admin) = require("PG_URL") else { return };
    let role = unique("planrun_role");
    let password = format!("Pw-{}-x", unique("secret"));
    psql(
        &admin,
        &format!("CREATE ROLE {role} LOGIN CREATEDB PASSWORD '{password}'"),
    );
    let url = url::Url::parse(&admin).expect("a URL");
    let with = |database: &str| {
        let mut url = url.clone();
        url.set_username(&role).expect("user");
        url.set_password(Some(&password)).expect("password");
        url.set_path(&format!("/{database}"));
        url.to_string()
    };
    let test = Test::new().plan(
        r#"
format = 1
name = "secret"
[vars]
good = "set on the command line"
bad = "set on the command line"
[steps.works]
run = { kind = "postgres.exec", url = "${vars.good}", sql = "SELECT 1" }
verify = [{ kind = "postgres.connect", url = "${vars.good}" }]
[steps.fails]
depends_on = ["works"]
run = { kind = "postgres.copy_table", source = "${vars.bad}", target = "${vars.good}", table = "t" }
"#,
    );
    let good = format!("good={}", with("postgres"));
    let bad = format!("bad={}", with("no_such_database"));
    let run = test.cmd(&["apply", "plan.toml", "--var", &good, "--var", &bad]);
    psql(&admin, &format!("DROP ROLE {role}"));
    run.status(1);
    assert!(run.stderr.contains("no_such_database"), "{}", run.stderr);
    let status = test.cmd(&["status"]);
    for text in [run.all_output(), run.logs(), status.all_output()] {
        assert!(!text.contains(&password), "the password leaked:\n{text}");
    }
}

/// `count|md5` of a table, ordered by `key`: equal for equal contents.
fn fingerprint(url: &str, table: &str, key: &str, filter: &str) -> String {
    psql(
        url,
        &format!("SELECT count(*), md5(string_agg(t::text, ',' ORDER BY {key})) FROM {table} t WHERE {filter}"),
    )
}

#[test]
fn copy_table_copies_filtered_columns_by_text_and_uuid_keys() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    psql(
        &source.url,
        r"CREATE TABLE settings (key text PRIMARY KEY, value text, service text, secret text);
          INSERT INTO settings SELECT 'k' || g || CASE g % 3 WHEN 0 THEN '''' WHEN 1 THEN '\' ELSE '' END,
                 'v' || g, CASE WHEN g % 2 = 0 THEN 'auth' ELSE 'admin' END, 's' || g
          FROM generate_series(1, 500) g;
          CREATE TABLE sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), n int NOT NULL);
          INSERT INTO sessions (n) SELECT g FROM generate_series(1, 3000) g;",
    );
    psql(
        &target.url,
        "CREATE TABLE auth_settings (key varchar(40) PRIMARY KEY, value text, service text);
         CREATE TABLE sessions (id uuid PRIMARY KEY, n int NOT NULL);",
    );
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "copy"
[vars]
source = "{source}"
target = "{target}"
[steps.settings]
run = {{ kind = "postgres.copy_table", source = "${{vars.source}}", target = "${{vars.target}}", table = "public.settings", target_table = "auth_settings", columns = ["key", "value", "service"], where = "service = 'auth'", key = "key", batch_size = 7 }}
verify = [{{ kind = "postgres.row_count", url = "${{vars.target}}", table = "auth_settings", same_as = {{ url = "${{vars.source}}", table = "settings", where = "service = 'auth'" }} }}]
[steps.sessions]
run = {{ kind = "postgres.copy_table", source = "${{vars.source}}", target = "${{vars.target}}", table = "sessions", batch_size = 1000 }}
"#,
        source = source.url,
        target = target.url
    ));
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(0);
    let logs = run.logs();
    assert!(logs.contains("text format") && logs.contains("binary format"), "{logs}");
    let odd_keys = r"SELECT count(*) FROM {table} WHERE right(key, 1) IN ('''', '\') AND service = 'auth'";
    let expected = psql(&source.url, &odd_keys.replace("{table}", "settings"));
    assert!(expected.parse::<i32>().unwrap_or(0) > 100, "{expected}");
    assert_eq!(
        psql(&target.url, &odd_keys.replace("{table}", "auth_settings")),
        expected,
        "keys ending in a quote or a backslash were copied"
    );
    let columns = "SELECT key, value, service FROM settings WHERE service = 'auth'";
    assert_eq!(
        psql(
            &source.url,
            &format!("SELECT count(*), md5(string_agg(t::text, ',' ORDER BY key)) FROM ({columns}) t")
        ),
        fingerprint(&target.url, "auth_settings", "key", "true"),
    );
    assert_eq!(
        fingerprint(&source.url, "sessions", "id", "true"),
        fingerprint(&target.url, "sessions", "id", "true")
    );
}

#[test]
fn copy_table_verifies_a_filter_on_a_column_it_does_not_copy() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    psql(
        &source.url,
        "CREATE TABLE settings (key text PRIMARY KEY, value text, service text);
         INSERT INTO settings SELECT 'k' || g, 'v' || g, CASE WHEN g % 2 = 0 THEN 'auth' ELSE 'admin' END
         FROM generate_series(1, 100) g;",
    );
    // The target has `service` too, but the copy leaves it NULL: the
    // filter cannot be checked there.
    psql(
        &target.url,
        "CREATE TABLE settings (key text PRIMARY KEY, value text, service text);",
    );
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "copy-subset"
[steps.copy]
run = {{ kind = "postgres.copy_table", source = "{source}", target = "{target}", table = "settings", columns = ["key", "value"], where = "service = 'auth'", batch_size = 7 }}
idempotent = true
"#,
        source = source.url,
        target = target.url
    ));
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(0);
    assert!(
        run.logs().contains("50 source row(s) match `where`, 50 copied"),
        "{}",
        run.logs()
    );
    assert_eq!(
        psql(&target.url, "SELECT count(*), count(service) FROM settings"),
        "50|0"
    );
}

/// Polls `sql` on `url` until it returns a number of at least `at_least`.
fn wait_for_count(url: &str, sql: &str, at_least: i64, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let count: i64 = psql(url, sql).parse().unwrap_or(0);
        if count >= at_least {
            return;
        }
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "planrun ended before the copy reached {at_least} rows"
        );
        assert!(Instant::now() < deadline, "the copy never reached {at_least} rows");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_killed_copy_resumes_without_duplicates() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    let rows = 200_000;
    psql(
        &source.url,
        &format!(
            "CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL);
             INSERT INTO events SELECT g, md5(g::text), now() FROM generate_series(1, {rows}) g"
        ),
    );
    // The filter keeps every row but sleeps on one row per batch (in the
    // batch query and in the COPY), so each batch takes ~0.1s and a kill
    // lands in the middle of the copy. The step is not `idempotent`: the
    // copy is settled by its checkpoint, without an operator.
    let plan = format!(
        r#"
format = 1
name = "copy-crash"
[steps.copy]
run = {{ kind = "postgres.copy_table", source = "{source}", target = "{target}", table = "events", batch_size = 10000, where = "id % 10000 <> 1 OR pg_sleep(0.05) IS NOT NULL" }}
"#,
        source = source.url,
        target = target.url
    );
    for kill_at in [1, 60_000, 150_000] {
        psql(
            &target.url,
            "DROP TABLE IF EXISTS events; CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL)",
        );
        let test = Test::new().plan(&plan);
        let mut child = test.spawn(&["apply", "plan.toml"]);
        wait_for_count(&target.url, "SELECT count(*) FROM events", kill_at, &mut child);
        child.kill().expect("SIGKILL planrun");
        let _ = child.wait();
        let copied: i64 = psql(&target.url, "SELECT count(*) FROM events").parse().unwrap_or(0);
        assert!(copied < rows, "killed at {kill_at}: the copy had already finished");
        let resumed = test.cmd(&["resume"]);
        resumed.status(0);
        assert!(
            resumed.stderr.contains("settled copy (attempt 1)"),
            "{}",
            resumed.stderr
        );
        assert!(resumed.logs().contains("resuming after key"), "{}", resumed.logs());
        assert_eq!(
            psql(&target.url, "SELECT count(*) = count(DISTINCT id) FROM events"),
            "t",
            "killed at {kill_at}: duplicate keys"
        );
        assert_eq!(
            fingerprint(&source.url, "events", "id", "true"),
            fingerprint(&target.url, "events", "id", "true"),
            "killed at {kill_at}: the target differs from the source"
        );
    }
}

/// Writes `progress` for step `copy` into the state, as a crash would
/// have left it.
fn set_progress(state: &std::path::Path, progress: &serde_json::Value) {
    set_step_progress(state, "copy", progress);
}

/// Writes `progress` for `step` into the state.
fn set_step_progress(state: &std::path::Path, step: &str, progress: &serde_json::Value) {
    let updated = on_state(state, async |conn| {
        sqlx::query("UPDATE steps SET progress = ? WHERE step_id = ?")
            .bind(progress.to_string())
            .bind(step)
            .execute(conn)
            .await
            .expect("write the progress")
    });
    assert_eq!(updated.rows_affected(), 1);
}

/// Runs `sql` in a transaction that ends with `end` (`COMMIT` or
/// `ROLLBACK`); returns the transaction's id.
fn transaction(url: &str, sql: &str, end: &str) -> i64 {
    let xid = crate::services::output(
        "psql",
        &[
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            "BEGIN",
            "-c",
            sql,
            "-c",
            "SELECT txid_current()",
            "-c",
            end,
        ],
    );
    xid.trim().parse().expect("a transaction id")
}

#[test]
fn a_pending_batch_is_settled_by_its_transaction_status() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    psql(
        &source.url,
        "CREATE TABLE events (id int PRIMARY KEY, body text NOT NULL);
         INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 30) g",
    );
    let plan = format!(
        r#"
format = 1
name = "settle"
[steps.copy]
run = {{ kind = "postgres.copy_table", source = "{source}", target = "{target}", table = "events", batch_size = 10 }}
idempotent = true
"#,
        source = source.url,
        target = target.url
    );
    let first_batch = "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 10) g";
    for (end, expected_log) in [
        ("COMMIT", "the interrupted batch up to key 10 was committed"),
        ("ROLLBACK", "the interrupted batch was not committed"),
    ] {
        psql(&target.url, "DROP TABLE IF EXISTS events");
        let test = Test::new().plan(&plan);
        // The target table is missing: the step fails and leaves a run to resume.
        test.cmd(&["apply", "plan.toml"]).status(1);
        psql(
            &target.url,
            "CREATE TABLE events (id int PRIMARY KEY, body text NOT NULL)",
        );
        // As if planrun died between saving `pending` and saving the commit.
        let xid = transaction(&target.url, first_batch, end);
        let pending =
            serde_json::json!({ "last_key": null, "copied": 0, "pending": { "xid": xid, "upper": "10", "rows": 10 } });
        set_progress(&test.path().join(".planrun/state.db"), &pending);
        let resumed = test.cmd(&["resume"]);
        resumed.status(0);
        assert!(resumed.logs().contains(expected_log), "{end}: {}", resumed.logs());
        assert_eq!(
            fingerprint(&source.url, "events", "id", "true"),
            fingerprint(&target.url, "events", "id", "true"),
            "{end}: the target differs from the source"
        );
    }
}

#[test]
fn a_pending_batch_of_unknown_fate_asks_for_a_fresh_start() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    psql(
        &source.url,
        "CREATE TABLE events (id int PRIMARY KEY, body text NOT NULL);
         INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 30) g",
    );
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "unknown"
[steps.copy]
run = {{ kind = "postgres.copy_table", source = "{source}", target = "{target}", table = "events", batch_size = 10 }}
idempotent = true
"#,
        source = source.url,
        target = target.url
    ));
    test.cmd(&["apply", "plan.toml"]).status(1);
    psql(
        &target.url,
        "CREATE TABLE events (id int PRIMARY KEY, body text NOT NULL)",
    );
    // Transaction 0 is one whose status the server never knows (NULL).
    let pending =
        serde_json::json!({ "last_key": "10", "copied": 10, "pending": { "xid": 0, "upper": "20", "rows": 10 } });
    set_progress(&test.path().join(".planrun/state.db"), &pending);
    let resumed = test.cmd(&["resume"]);
    resumed.status(1);
    assert!(
        resumed
            .stderr
            .contains("(the interrupted batch after key 10 up to key 20) committed"),
        "{}",
        resumed.stderr
    );
    assert!(
        resumed.stderr.contains("delete the rows this copy wrote to `events`")
            && resumed.stderr.contains("`planrun resume --rerun copy`"),
        "the advice starts over on a clean target rather than retrying: {}",
        resumed.stderr
    );
}

/// A second session (psql reading its stdin, named `blocker`), holding a
/// lock on a table so that planrun's statement blocks on it; released on
/// `release` or when dropped.
struct Blocker {
    psql: std::process::Child,
}

impl Blocker {
    fn open(url: &str) -> Blocker {
        let psql = std::process::Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", url])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start psql");
        let mut blocker = Blocker { psql };
        blocker.send("SET application_name = 'blocker';");
        blocker
    }

    fn send(&mut self, sql: &str) {
        use std::io::Write;
        let stdin = self.psql.stdin.as_mut().expect("psql's stdin");
        writeln!(stdin, "{sql}").expect("write to psql");
        stdin.flush().expect("flush psql");
    }

    fn lock(url: &str, table: &str) -> Blocker {
        let mut blocker = Blocker::open(url);
        blocker.send(&format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;"));
        blocker.wait_granted(url, table);
        blocker
    }

    /// Until the blocker holds a lock on `table`.
    fn wait_granted(&self, url: &str, table: &str) {
        let granted = format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = 'blocker' AND l.granted AND l.relation = '{table}'::regclass"
        );
        poll_until(|| psql_count(url, &granted) >= 1, "the blocker took its lock");
    }

    fn release(mut self) {
        let _ = self.psql.kill();
        let _ = self.psql.wait();
    }
}

impl Drop for Blocker {
    fn drop(&mut self) {
        let _ = self.psql.kill();
        let _ = self.psql.wait();
    }
}

fn psql_count(url: &str, sql: &str) -> i64 {
    psql(url, sql).parse().unwrap_or(0)
}

/// Polls `condition` every 10 ms for up to 60 s.
fn poll_until(mut condition: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !condition() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until planrun's session on `db` waits for a lock.
fn wait_blocked(child: &mut std::process::Child, db: &Database) {
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'planrun' \
         AND datname = '{}' AND wait_event_type = 'Lock'",
        db.name
    );
    poll_until(
        || {
            assert!(
                child.try_wait().ok().flatten().is_none(),
                "planrun ended before its statement blocked"
            );
            psql_count(&db.admin, &waiting) >= 1
        },
        "planrun's statement waits for the lock",
    );
}

/// Waits until planrun's statement blocks, then kills planrun with
/// SIGKILL: the statement is in flight on the server.
fn kill_while_blocked(mut child: std::process::Child, db: &Database) {
    wait_blocked(&mut child, db);
    child.kill().expect("SIGKILL planrun");
    let _ = child.wait();
}

/// `resume` right away, which must go through without an operator.
fn resume_alone(test: &Test) -> crate::test::Run {
    let run = test.cmd(&["resume"]);
    assert_eq!(
        run.code,
        Some(0),
        "resume asked for a decision or failed\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout,
        run.stderr
    );
    run
}

fn exec_plan(db: &Database, extra: &str) -> String {
    format!(
        r#"
format = 1
name = "exec-crash"
[vars]
db = "{url}"
[steps.migrate]
{extra}
verify = [{{ kind = "postgres.query", url = "${{vars.db}}", sql = "SELECT 1 FROM t" }}]
"#,
        url = db.url
    )
}

/// Regression: a `postgres.exec` interrupted while its statement waited
/// for a lock went to `planrun mark`; an operator marking it pending
/// while the dead client's statement still ran on the server ran it twice.
#[test]
fn exec_killed_while_blocked_on_a_lock_runs_exactly_once_after_resume() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_lockkill");
    psql(&db.url, "CREATE TABLE t (id int); CREATE TABLE ledger (n int)");
    let test = Test::new().plan(&exec_plan(
        &db,
        r#"run = { kind = "postgres.exec", url = "${vars.db}", lock_timeout = "1m", sql = "INSERT INTO ledger VALUES (1); INSERT INTO t VALUES (1)" }"#,
    ));
    let blocker = Blocker::lock(&db.url, "t");
    kill_while_blocked(test.spawn(&["apply", "plan.toml"]), &db);
    blocker.release();
    let run = resume_alone(&test);
    assert!(
        run.stderr.contains("settled migrate (attempt 1): no effect"),
        "{}",
        run.stderr
    );
    assert_eq!(
        psql(&db.url, "SELECT count(*) FROM ledger"),
        "1",
        "the SQL ran exactly once"
    );
    assert_eq!(psql(&db.url, "SELECT count(*) FROM t"), "1");
    assert_eq!(test.step_status("migrate"), "succeeded");
}

/// The dead client's statement still waits on the server when `resume`
/// starts: its session is waited for, then terminated, before the SQL
/// runs again; and the new attempt waits for the lock behind it.
#[test]
fn a_session_left_by_a_killed_exec_is_ended_before_the_sql_runs_again() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_zombie");
    psql(&db.url, "CREATE TABLE t (id int); CREATE TABLE ledger (n int)");
    let test = Test::new().plan(&exec_plan(
        &db,
        r#"run = { kind = "postgres.exec", url = "${vars.db}", lock_timeout = "1m", sql = "INSERT INTO ledger VALUES (1); INSERT INTO t VALUES (1)" }"#,
    ));
    let blocker = Blocker::lock(&db.url, "t");
    kill_while_blocked(test.spawn(&["apply", "plan.toml"]), &db);
    let resume = test.spawn(&["resume", "--kill-grace", "100ms"]);
    // Once the new attempt waits for the lock, the old session is gone.
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'planrun' AND datname = '{}'",
        db.name
    );
    poll_until(
        || {
            psql_count(&db.admin, &waiting) == 1
                && psql_count(&db.admin, &format!("{waiting} AND wait_event_type = 'Lock'")) == 1
        },
        "the new attempt waits for the lock alone",
    );
    blocker.release();
    let output = resume.wait_with_output().expect("resume ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // On PostgreSQL 14+ the server may notice the dead client first
    // (`client_connection_check_interval`): either way it is gone.
    assert!(
        stderr.contains("its session (pid"),
        "the old session was looked for:\n{stderr}"
    );
    assert_eq!(
        psql(&db.url, "SELECT count(*) FROM ledger"),
        "1",
        "the SQL ran exactly once"
    );
}

/// A session of the interrupted attempt that is still there when `resume`
/// settles the step is waited for up to `--kill-grace`, then terminated.
/// (The evidence is pointed at a session the test holds open: a dead
/// planrun's own session may be ended by the server first.)
#[test]
fn a_session_still_there_after_the_grace_is_terminated() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_terminate");
    let test = Test::new().plan(&exec_plan(
        &db,
        r#"run = { kind = "postgres.exec", url = "${vars.db}", sql = "CREATE TABLE t (id int); INSERT INTO t VALUES (1)" }"#,
    ));
    test.crash_at("postgres.exec:committed", &["apply", "plan.toml"]);
    let other = Blocker::open(&db.url);
    let identity = format!(
        "SELECT pid || ',' || (extract(epoch FROM backend_start) * 1000000)::int8 \
         FROM pg_stat_activity WHERE application_name = 'blocker' AND datname = '{}'",
        db.name
    );
    let mut found = String::new();
    poll_until(
        || {
            found = psql(&db.admin, &identity);
            !found.is_empty()
        },
        "the other session is there",
    );
    let (pid, started) = found.split_once(',').expect("pid,start");
    let mut progress = test.status()["steps"][0]["progress"].clone();
    progress["evidence"]["backend"] = serde_json::json!({
        "pid": pid.parse::<i32>().expect("a pid"),
        "started_us": started.parse::<i64>().expect("a start time"),
    });
    set_step_progress(&test.path().join(".planrun/state.db"), "migrate", &progress);
    let run = test.cmd(&["resume", "--kill-grace", "200ms"]);
    run.status(0);
    assert!(
        run.stderr
            .contains(&format!("its session (pid {pid}) was still running after 200 ms")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("terminated it"), "{}", run.stderr);
    assert!(psql(&db.admin, &identity).is_empty(), "the session was terminated");
    other.release();
}

#[test]
fn exec_killed_after_its_commit_is_not_run_again() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_commitkill");
    psql(&db.url, "CREATE TABLE t (id int)");
    let test = Test::new().plan(&exec_plan(
        &db,
        r#"run = { kind = "postgres.exec", url = "${vars.db}", sql = "INSERT INTO t VALUES (1), (2)" }"#,
    ));
    test.crash_at("postgres.exec:committed", &["apply", "plan.toml"]);
    let run = resume_alone(&test);
    assert!(run.stderr.contains("took effect: not run again"), "{}", run.stderr);
    assert!(run.stderr.contains("committed"), "{}", run.stderr);
    assert_eq!(psql(&db.url, "SELECT count(*) FROM t"), "2");
    let status = test.status();
    let step = &status["steps"][0];
    assert_eq!(step["status"], "succeeded");
    assert_eq!(
        step["outputs"]["rows_affected"], "2",
        "outputs are known from the evidence"
    );
}

#[test]
fn statements_outside_a_transaction_continue_after_the_last_committed_one() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_stmtkill");
    psql(&db.url, "CREATE TABLE t (id int); CREATE TABLE ledger (n int)");
    let test = Test::new()
        .file(
            "steps.sql",
            "INSERT INTO ledger VALUES (1);\nINSERT INTO t VALUES (2);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n\
             BEGIN;\nINSERT INTO ledger VALUES (3);\nINSERT INTO ledger VALUES (4);\nCOMMIT;\n",
        )
        .plan(&exec_plan(
            &db,
            r#"run = { kind = "postgres.exec", url = "${vars.db}", transaction = false, lock_timeout = "1m", file = "steps.sql" }"#,
        ));
    let blocker = Blocker::lock(&db.url, "t");
    kill_while_blocked(test.spawn(&["apply", "plan.toml"]), &db);
    blocker.release();
    let run = resume_alone(&test);
    assert!(run.stderr.contains("took effect in part"), "{}", run.stderr);
    let logs = run.logs();
    assert!(logs.contains("statement 1 of"), "{logs}");
    assert!(
        logs.contains("statement 3 cannot run in a transaction: running it on its own"),
        "{logs}"
    );
    assert_eq!(
        psql(&db.url, "SELECT string_agg(n::text, ',' ORDER BY n) FROM ledger"),
        "1,3,4",
        "statement 1 ran once, the block once"
    );
    assert_eq!(psql(&db.url, "SELECT count(*) FROM t"), "1");
    assert_eq!(
        psql(
            &db.url,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass"
        ),
        "t"
    );
}

/// A statement that cannot run in a transaction (`CREATE INDEX
/// CONCURRENTLY`) killed in flight: nothing tells whether it finished, so
/// the step goes to the operator (it used to run again by itself), and
/// once decided it starts at that statement, not before.
#[test]
fn a_statement_outside_a_transaction_killed_in_flight_goes_to_the_operator() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_stmtflight");
    psql(&db.url, "CREATE TABLE t (id int); CREATE TABLE ledger (n int)");
    let test = Test::new().plan(&exec_plan(
        &db,
        r#"run = { kind = "postgres.exec", url = "${vars.db}", transaction = false, lock_timeout = "1m", sql = "INSERT INTO ledger VALUES (1); CREATE INDEX CONCURRENTLY t_id ON t (id)" }"#,
    ));
    let blocker = Blocker::lock(&db.url, "t");
    kill_while_blocked(test.spawn(&["apply", "plan.toml"]), &db);
    blocker.release();
    let refused = test.cmd(&["resume"]);
    refused.status(3);
    assert!(refused.stderr.contains("not safe to run again"), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("ran outside a transaction, so whether it finished cannot be known"),
        "{}",
        refused.stderr
    );
    // The operator looks: released, the killed session may have built the
    // index, left it invalid, or not begun.
    let index = psql(
        &db.url,
        "SELECT coalesce((SELECT indisvalid::text FROM pg_index WHERE indexrelid = to_regclass('t_id')), 'none')",
    );
    if index == "true" {
        test.cmd(&["mark", "migrate", "--done"]).status(0);
    } else {
        psql(&db.url, "DROP INDEX IF EXISTS t_id");
        test.cmd(&["mark", "migrate", "--pending"]).status(0);
    }
    resume_alone(&test);
    assert_eq!(
        psql(&db.url, "SELECT count(*) FROM ledger"),
        "1",
        "statement 1 ran once"
    );
    assert_eq!(
        psql(
            &db.url,
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass"
        ),
        "t"
    );
}

#[test]
fn statements_killed_between_two_commits_go_on_with_the_next() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_stmtdone");
    psql(&db.url, "CREATE TABLE t (id int)");
    let test = Test::new().plan(&exec_plan(
        &db,
        r#"run = { kind = "postgres.exec", url = "${vars.db}", transaction = false, sql = "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)" }"#,
    ));
    test.crash_at("postgres.exec:statement-done", &["apply", "plan.toml"]);
    assert_eq!(psql(&db.url, "SELECT count(*) FROM t"), "1");
    resume_alone(&test);
    assert_eq!(
        psql(&db.url, "SELECT string_agg(id::text, ',' ORDER BY id) FROM t"),
        "1,2"
    );
}

#[test]
fn create_and_drop_database_killed_inside_are_settled_by_existence() {
    let Some(admin) = require("PG_URL") else { return };
    let name = unique("planrun_settled");
    let _guard = ExtraDatabase(admin.clone(), name.clone());
    let plan = |kind: &str| {
        format!(
            r#"
format = 1
name = "databases"
[steps.db]
run = {{ kind = "{kind}", url = "{admin}", name = "{name}" }}
"#
        )
    };
    let create = Test::new().plan(&plan("postgres.create_database"));
    create.crash_at("postgres.create_database:created", &["apply", "plan.toml"]);
    let run = resume_alone(&create);
    assert!(run.stderr.contains("the database exists"), "{}", run.stderr);
    assert!(database_exists(&admin, &name));
    // The undo record survived the crash: rollback drops what this run created.
    create.cmd(&["rollback"]).status(0);
    assert!(!database_exists(&admin, &name));
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let drop = Test::new().plan(&plan("postgres.drop_database"));
    drop.crash_at("postgres.drop_database:dropped", &["apply", "plan.toml"]);
    let run = resume_alone(&drop);
    assert!(run.stderr.contains("the database does not exist"), "{}", run.stderr);
    assert!(!database_exists(&admin, &name));
}

#[test]
fn exec_sets_safe_timeouts_and_names_the_session_in_the_way() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_locks");
    psql(&db.url, "CREATE TABLE t (id int)");
    let check = |name: &str, value: &str| {
        format!(
            "DO $$ BEGIN IF current_setting('{name}') <> '{value}' THEN RAISE EXCEPTION '{name} is %', current_setting('{name}'); END IF; END $$"
        )
    };
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "locks"
[vars]
db = "{url}"
[steps.settings]
timeout = "90s"
run = {{ kind = "postgres.exec", url = "${{vars.db}}", sql = "{lock}; {statement}" }}
[steps.blocked]
depends_on = ["settings"]
retry = {{ attempts = 2, delay = "10ms" }}
run = {{ kind = "postgres.exec", url = "${{vars.db}}", lock_timeout = "1500ms", sql = "ALTER TABLE t ADD COLUMN x int" }}
"#,
        url = db.url,
        lock = check("lock_timeout", "3s"),
        statement = check("statement_timeout", "90s"),
    ));
    let blocker = Blocker::lock(&db.url, "t");
    let run = test.cmd(&["apply", "plan.toml"]);
    drop(blocker);
    run.status(1);
    assert!(run.stderr.contains("ok      settings"), "{}", run.stderr);
    assert!(
        run.stderr.contains("retry   blocked: attempt 1 failed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("lock timeout"), "{}", run.stderr);
    assert!(
        run.stderr.contains("blocked by session") && run.stderr.contains("application blocker"),
        "the failure names the session in the way:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("within 1500 ms (`lock_timeout`)"), "{}", run.stderr);
    assert_eq!(test.status()["steps"][1]["attempts"], 2);
}

#[test]
fn exec_scripts_wrapped_in_their_own_transaction_run_in_planruns() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_wrapped");
    let test = Test::new()
        .file(
            "wrapped.sql",
            "BEGIN;\nCREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nCOMMIT;\n",
        )
        .file(
            "early.sql",
            "CREATE TABLE b (id int);\nCOMMIT;\nCREATE TABLE c (id int);\n",
        )
        .plan(&format!(
            r#"
format = 1
name = "wrapped"
[steps.wrapped]
run = {{ kind = "postgres.exec", url = "{url}", file = "wrapped.sql" }}
[steps.early]
run = {{ kind = "postgres.exec", url = "{url}", file = "early.sql" }}
"#,
            url = db.url
        ));
    let run = test.cmd(&["apply", "plan.toml", "--keep-going"]);
    run.status(1);
    assert!(run.stderr.contains("ok      wrapped"), "{}", run.stderr);
    assert!(
        run.stderr.contains("statement 2 (`COMMIT`) controls the transaction"),
        "{}",
        run.stderr
    );
    assert_eq!(
        psql(
            &db.url,
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
        ),
        "a",
        "nothing of the refused script ran"
    );
}

#[test]
fn a_verify_script_passes_when_it_runs_without_error_and_changes_nothing() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_verify");
    psql(&db.url, "CREATE TABLE users (id int, email text); CREATE SEQUENCE s");
    let test = Test::new()
        .file(
            "verify/users.sql",
            "-- as other migration tools write them\nBEGIN;\nSELECT id, email FROM users WHERE false;\nSELECT 1 / count(*) FROM users;\nROLLBACK;\n",
        )
        .file(
            "verify/sneaky.sql",
            "BEGIN;\nCOMMIT;\nCREATE TABLE sneaky (id int);\nCOMMIT;\n",
        )
        .plan(&format!(
            r#"
format = 1
name = "verify"
[vars]
db = "{url}"
[steps.seed]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", sql = "INSERT INTO users VALUES (1, 'a@example.com')" }}
verify = [{{ kind = "postgres.query", url = "${{vars.db}}", file = "verify/users.sql" }}]
[steps.sneaky]
depends_on = ["seed"]
run = {{ kind = "shell", command = "true" }}
verify = [{{ kind = "postgres.query", url = "${{vars.db}}", file = "verify/sneaky.sql", expect = "ok" }}]
"#,
            url = db.url
        ));
    let empty = Test::new()
        .file("verify/users.sql", test.read("verify/users.sql"))
        .plan(&format!(
            r#"
format = 1
name = "verify-empty"
[steps.check]
run = {{ kind = "shell", command = "true" }}
verify = [{{ kind = "postgres.query", url = "{url}", file = "verify/users.sql" }}]
"#,
            url = db.url
        ));
    let failed = empty.cmd(&["apply", "plan.toml"]);
    failed.status(1);
    assert!(
        failed.stderr.contains("failed at statement 2 of 2") && failed.stderr.contains("division by zero"),
        "an empty table fails the script:\n{}",
        failed.stderr
    );
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(run.stderr.contains("ok      seed"), "{}", run.stderr);
    assert!(run.stderr.contains("FAILED  sneaky"), "{}", run.stderr);
    assert!(run.stderr.contains("read-only transaction"), "{}", run.stderr);
    assert_eq!(
        psql(&db.url, "SELECT count(*) FROM pg_tables WHERE tablename = 'sneaky'"),
        "0",
        "the probe's COMMIT did not let its CREATE through"
    );
}

/// Regression for issue 9: SIGKILL at a random instant of a
/// `postgres.exec` (one transaction, and statement by statement), then an
/// immediate `resume`: every statement takes effect exactly once, and no
/// operator is ever asked.
#[test]
fn sigkill_at_any_moment_of_sql_then_resume_runs_each_statement_exactly_once() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_randkill");
    psql(&db.url, "CREATE TABLE ledger (step text, n int)");
    let statements: String = (1..=20).fold(String::new(), |mut all, n| {
        all.push_str(&format!(
            "INSERT INTO ledger SELECT '${{step}}', {n} FROM pg_sleep(0.02);\n"
        ));
        all
    });
    let mut rng = fastrand::Rng::with_seed(0x0009_5e77);
    let (mut cut, iterations) = (0, 12);
    for iteration in 0..iterations {
        psql(&db.url, "TRUNCATE ledger");
        let plan = format!(
            r#"
format = 1
name = "random-kill"
[steps.one]
run = {{ kind = "postgres.exec", url = "{url}", file = "one.sql" }}
[steps.each]
run = {{ kind = "postgres.exec", url = "{url}", file = "each.sql", transaction = false }}
"#,
            url = db.url
        );
        let test = Test::new()
            .file("one.sql", statements.replace("${step}", "one"))
            .file("each.sql", statements.replace("${step}", "each"))
            .plan(&plan);
        let mut child = test.spawn(&["apply", "plan.toml", "--parallelism", "2"]);
        std::thread::sleep(Duration::from_millis(rng.u64(100..700)));
        let _ = child.kill();
        let _ = child.wait();
        let recorded = test.path().join(".planrun/state.db").exists() && !test.status()["run"].is_null();
        if !recorded {
            // Killed before the run was recorded: nothing ran yet.
            test.cmd(&["apply", "plan.toml"]).status(0);
        } else if test.status()["run"]["outcome"] != "succeeded" {
            cut += 1;
            let run = test.cmd(&["resume"]);
            assert_eq!(run.code, Some(0), "iteration {iteration}:\n{}", run.stderr);
        }
        for step in ["one", "each"] {
            assert_eq!(
                psql(
                    &db.url,
                    &format!("SELECT count(*), count(DISTINCT n) FROM ledger WHERE step = '{step}'")
                ),
                "20|20",
                "iteration {iteration}: `{step}` ran each statement once"
            );
        }
    }
    assert!(
        cut >= iterations / 4,
        "only {cut} of {iterations} kills landed in the middle of the run"
    );
}

#[test]
fn a_deadlock_names_the_other_session_and_rolls_back() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_deadlock");
    psql(
        &db.url,
        "CREATE TABLE a (v int); CREATE TABLE b (v int); INSERT INTO a VALUES (0); INSERT INTO b VALUES (0)",
    );
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "deadlock"
[steps.both]
run = {{ kind = "postgres.exec", url = "{url}", lock_timeout = "1m", sql = "UPDATE a SET v = 1; UPDATE b SET v = 1" }}
"#,
        url = db.url
    ));
    // The other session holds `b`; planrun takes `a`, then waits for `b`;
    // the other session then waits for `a`: a deadlock.
    let mut other = Blocker::open(&db.url);
    other.send("BEGIN; UPDATE b SET v = 2;");
    other.wait_granted(&db.url, "b");
    let mut child = test.spawn(&["apply", "plan.toml"]);
    wait_blocked(&mut child, &db);
    other.send("UPDATE a SET v = 2;");
    let output = child.wait_with_output().expect("planrun ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    other.release();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("deadlock detected"), "{stderr}");
    assert!(
        stderr.contains("application blocker"),
        "the other session is named:\n{stderr}"
    );
    assert!(stderr.contains("the transaction was rolled back"), "{stderr}");
    assert_eq!(psql(&db.url, "SELECT v FROM a"), "0", "planrun's half was rolled back");
}

/// The sequences behind copied serial and identity keys were left at 1, so
/// the first insert after a migration collided with a copied row.
#[test]
fn copy_table_moves_sequences_past_the_copied_keys_so_the_first_insert_does_not_collide() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    let tables = "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);
                  CREATE TABLE payments (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, amount int);
                  CREATE TABLE notes (id serial PRIMARY KEY, body text);";
    psql(&source.url, tables);
    psql(&target.url, tables);
    psql(
        &source.url,
        "INSERT INTO users (email) SELECT 'u' || g || '@x' FROM generate_series(1, 250) g;
         INSERT INTO payments (amount) SELECT g FROM generate_series(1, 120) g;
         DELETE FROM payments WHERE id > 100;",
    );
    // Ahead already in the target: never lowered.
    psql(&target.url, "SELECT setval('notes_id_seq', 500)");
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "sequences"
[vars]
source = "{source}"
target = "{target}"
[steps.users]
run = {{ kind = "postgres.copy_table", source = "${{vars.source}}", target = "${{vars.target}}", table = "users", batch_size = 100 }}
[steps.payments]
run = {{ kind = "postgres.copy_table", source = "${{vars.source}}", target = "${{vars.target}}", table = "payments" }}
[steps.notes]
run = {{ kind = "postgres.copy_table", source = "${{vars.source}}", target = "${{vars.target}}", table = "notes" }}
"#,
        source = source.url,
        target = target.url
    ));
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert_eq!(
        psql(&target.url, "INSERT INTO users (email) VALUES ('new@x') RETURNING id"),
        "251",
        "the first insert after the copy gets the next free id"
    );
    assert_eq!(
        psql(&target.url, "INSERT INTO payments (amount) VALUES (1) RETURNING id"),
        "121",
        "ids the source handed out and deleted are not handed out again"
    );
    assert_eq!(
        psql(&target.url, "INSERT INTO notes (body) VALUES ('x') RETURNING id"),
        "501",
        "a sequence already ahead is left alone"
    );
}

/// A copy killed after its last batch committed, before the sequences
/// moved, looked done to a `check` that counts rows: the sequences stayed
/// behind and the first sign-up after the migration collided.
#[test]
fn the_sequences_move_with_the_last_batch_so_all_rows_there_means_sequences_moved() {
    let Some(admin) = require("PG_URL") else { return };
    let source = Database::new(&admin, "planrun_src");
    let target = Database::new(&admin, "planrun_dst");
    let table = "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);";
    psql(&source.url, table);
    psql(&target.url, table);
    psql(
        &source.url,
        "INSERT INTO users (email) SELECT 'u' || g || '@x' FROM generate_series(1, 30) g",
    );
    let plan = |batch_size: u32| {
        format!(
            r#"
format = 1
name = "last-batch"
[steps.users]
run = {{ kind = "postgres.copy_table", source = "{source}", target = "{target}", table = "users", batch_size = {batch_size} }}
"#,
            source = source.url,
            target = target.url
        )
    };
    // One batch, the last: killed right after its commit, every row is
    // there and so is the sequence, before any resume.
    let single = Test::new().plan(&plan(100));
    single.crash_at("postgres.copy_table:committed", &["apply", "plan.toml"]);
    assert_eq!(psql(&target.url, "SELECT count(*) FROM users"), "30");
    assert_eq!(psql(&target.url, "SELECT last_value FROM users_id_seq"), "30");
    // Killed after the first of three batches: the rest and the sequence
    // come with the resume.
    psql(&target.url, "TRUNCATE users; SELECT setval('users_id_seq', 1, false)");
    let batched = Test::new().plan(&plan(10));
    batched.crash_at("postgres.copy_table:committed", &["apply", "plan.toml"]);
    assert_eq!(psql(&target.url, "SELECT count(*) FROM users"), "10");
    batched.cmd(&["resume"]).status(0);
    assert_eq!(
        psql(&target.url, "INSERT INTO users (email) VALUES ('new@x') RETURNING id"),
        "31"
    );
}

#[test]
fn steps_on_one_url_share_a_connection_that_starts_each_step_as_a_new_session() {
    let Some(admin) = require("PG_URL") else { return };
    let db = Database::new(&admin, "planrun_pool");
    let doomed = unique("planrun_pool_doomed");
    let _doomed_guard = ExtraDatabase(admin.clone(), doomed.clone());
    psql(&admin, &format!("CREATE DATABASE {doomed}"));
    let doomed_url = on_database(&admin, &doomed);
    // `seen` records the session of each step. `first` leaves settings, a
    // temporary table and an advisory lock behind; `second` finds none of
    // them; a shell step then ends that session behind planrun's back, and
    // `third` still runs (on a new one). `drop-it` drops a database that a
    // probe had just read: nothing of ours may still sit in it.
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "pool"
[vars]
db = "{db}"
admin = "{admin}"
doomed = "{doomed_url}"
[steps.setup]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", sql = "CREATE TABLE seen (step text, pid int, search_path text)" }}
[steps.first]
depends_on = ["setup"]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", transaction = false, sql = "INSERT INTO seen SELECT 'first', pg_backend_pid(), current_setting('search_path'); SET search_path = nowhere, public; CREATE TEMP TABLE left_behind (id int); SELECT pg_advisory_lock(4242)" }}
verify = [{{ kind = "postgres.query", url = "${{vars.db}}", sql = "SELECT 1 FROM public.seen WHERE step = 'first'" }}]
[steps.second]
depends_on = ["first"]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", sql = "INSERT INTO seen SELECT 'second', pg_backend_pid(), current_setting('search_path') WHERE to_regclass('pg_temp.left_behind') IS NULL AND pg_try_advisory_lock(4243)" }}
[steps.lock-is-free]
depends_on = ["second"]
run = {{ kind = "shell", command = "psql -X -At '${{vars.db}}' -c 'SELECT pg_try_advisory_lock(4242)' | grep -qx t" }}
[steps.end-the-session]
depends_on = ["lock-is-free"]
run = {{ kind = "shell", command = "psql -X -q '${{vars.db}}' -c \"SELECT pg_terminate_backend(pid) FROM seen WHERE step = 'second'\"" }}
[steps.third]
depends_on = ["end-the-session"]
run = {{ kind = "postgres.exec", url = "${{vars.db}}", sql = "INSERT INTO seen SELECT 'third', pg_backend_pid(), ''" }}
[steps.read-doomed]
depends_on = ["third"]
verify = [{{ kind = "postgres.query", url = "${{vars.doomed}}", sql = "SELECT 1" }}]
[steps.drop-it]
depends_on = ["read-doomed"]
run = {{ kind = "shell", command = "psql -X -q '${{vars.admin}}' -v ON_ERROR_STOP=1 -c 'DROP DATABASE {doomed}'" }}
"#,
        db = db.url,
    ));
    test.cmd(&["apply", "plan.toml", "--parallelism", "1"]).status(0);
    let pids = psql(
        &db.url,
        "SELECT string_agg(step || '=' || pid, ' ' ORDER BY step) FROM seen",
    );
    let pid = |step: &str| -> String {
        pids.split(' ')
            .find_map(|pair| pair.strip_prefix(&format!("{step}=")))
            .unwrap_or_else(|| panic!("no row for {step} in `{pids}`"))
            .to_string()
    };
    assert_eq!(
        pid("first"),
        pid("second"),
        "the second step took the first one's session: {pids}"
    );
    assert_ne!(
        pid("second"),
        pid("third"),
        "an ended session is not handed out: {pids}"
    );
    assert_eq!(
        psql(&db.url, "SELECT search_path FROM seen WHERE step = 'second'"),
        "\"$user\", public",
        "the second step saw the default search_path, not the first one's"
    );
    assert!(!database_exists(&admin, &doomed), "the dropped database is gone");
    // Closed politely when planrun ends: the server lets the sessions go.
    let sessions = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{}'", db.name);
    poll_until(|| psql(&admin, &sessions) == "0", "planrun's sessions to end with it");
}
