//! The `postgres.*` kinds against a real server, each effect checked with
//! `psql` rather than planrun's own report.

use std::time::{Duration, Instant};

use crate::services::{on_database, psql, require, unique};
use crate::test::Test;

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
    let deadline = Instant::now() + Duration::from_secs(60);
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
    // lands in the middle of the copy.
    let plan = format!(
        r#"
format = 1
name = "copy-crash"
[steps.copy]
run = {{ kind = "postgres.copy_table", source = "{source}", target = "{target}", table = "events", batch_size = 10000, where = "id % 10000 <> 1 OR pg_sleep(0.05) IS NOT NULL" }}
idempotent = true
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
    use sqlx::{ConnectOptions, Connection};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(state)
            .connect()
            .await
            .expect("open the state");
        let updated = sqlx::query("UPDATE steps SET progress = ? WHERE step_id = 'copy'")
            .bind(progress.to_string())
            .execute(&mut conn)
            .await
            .expect("write the progress");
        assert_eq!(updated.rows_affected(), 1);
        conn.close().await.expect("close the state");
    });
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
