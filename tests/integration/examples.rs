//! The shipped examples run for real: the quickstart anywhere, the
//! services example against the services of `scripts/services.sh`.

use std::path::Path;

use crate::test::Test;

fn example(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)).expect("example")
}

#[test]
fn the_quickstart_applies_applies_again_and_rolls_back_to_nothing() {
    let test = Test::new().file("examples/quickstart.toml", example("quickstart.toml"));
    test.cmd(&["apply", "examples/quickstart.toml"]).status(0);
    let config = test.read(".planrun-quickstart/app.conf");
    assert!(config.contains("name=demo") && config.contains("port=8080"), "{config}");
    let again = test.cmd(&["apply", "examples/quickstart.toml"]);
    again.status(0);
    assert!(again.stderr.contains("skip    create-workdir"), "{}", again.stderr);
    assert_eq!(
        test.read(".planrun-quickstart/app.conf"),
        config,
        "a second apply changes nothing"
    );
    // Each rollback undoes one run, the latest first; the second run only
    // satisfied what the first had made.
    test.cmd(&["rollback", "examples/quickstart.toml"]).status(0);
    assert!(test.path().join(".planrun-quickstart").exists());
    test.cmd(&["rollback", "examples/quickstart.toml"]).status(0);
    assert!(!test.path().join(".planrun-quickstart").exists());
    let runs = test.cmd(&["runs", "--format", "json"]);
    assert_eq!(runs.stdout.matches("\"rolled_back\"").count(), 2, "{}", runs.stdout);
}

#[test]
fn the_services_example_applies_twice_and_rolls_back_one_run_at_a_time() {
    let (Some(pg), Some(amqp), Some(_)) = (
        crate::services::require("PG_URL"),
        crate::services::require("AMQP_URL"),
        crate::services::require("DOCKER_IMAGE"),
    ) else {
        return;
    };
    let suffix = format!("{:06x}", fastrand::u32(..0xff_ffff));
    let pg = url::Url::parse(&pg).expect("PLANRUN_TEST_PG_URL is a URL");
    let amqp = url::Url::parse(&amqp).expect("PLANRUN_TEST_AMQP_URL is a URL");
    let database = |name: &str| {
        let mut url = pg.clone();
        url.set_path(name);
        url.to_string()
    };
    let vars = services_vars(&pg, &amqp, &suffix);
    let test = Test::new()
        .file("examples/services.toml", example("services.toml"))
        .env("PGPASSWORD", pg.password().unwrap_or_default())
        .env("AMQP_PASSWORD", amqp.password().unwrap_or_default());
    let mut args = vec!["apply", "examples/services.toml"];
    for var in &vars {
        args.extend(["--var", var.as_str()]);
    }
    let run = test.cmd(&args);
    run.status(0);
    // The services' password is distinctive: masking it leaves the rest of
    // a URL readable.
    assert!(
        run.logs()
            .contains(&format!("connected to postgres://{}:***@", pg.username())),
        "{}",
        run.logs()
    );
    let users = || {
        crate::services::output(
            "psql",
            &[
                &database(&format!("planrun_example_auth_{suffix}")),
                "-Atc",
                "SELECT count(*) FROM users",
            ],
        )
    };
    let container = format!("planrun-example-web-{suffix}");
    let running = || crate::services::output("docker", &["inspect", "-f", "{{.State.Running}}", &container]);
    assert_eq!(users(), "20000");
    assert_eq!(running(), "true");

    // Applied again, every step finds its work done.
    let again = test.cmd(&args);
    again.status(0);
    for step in ["seed-shared-db", "auth-schema", "copy-users", "run-web"] {
        assert!(
            again.stderr.contains(&format!("skip    {step}")),
            "{step}: {}",
            again.stderr
        );
    }
    // Rolling back the second run leaves what the first made.
    test.cmd(&["rollback"]).status(0);
    assert_eq!(users(), "20000", "the first run's rows are still there");
    assert_eq!(running(), "true", "the first run's container still runs");

    // Rolling back the first run removes it all.
    test.cmd(&["rollback"]).status(0);
    let databases = crate::services::output(
        "psql",
        &[
            &database("postgres"),
            "-Atc",
            &format!("SELECT count(*) FROM pg_database WHERE datname LIKE 'planrun_example_%_{suffix}'"),
        ],
    );
    assert_eq!(databases, "0", "the databases the run created are gone");
    let left = crate::services::output("docker", &["ps", "-aq", "--filter", &format!("name={container}")]);
    assert_eq!(left, "", "the container is gone");
}

/// The `--var`s of the services example: what it creates is named with
/// `suffix`, and everything that names a service comes from the services'
/// URLs.
fn services_vars(pg: &url::Url, amqp: &url::Url, suffix: &str) -> [String; 12] {
    let port = crate::services::free_port().to_string();
    [
        format!("shared_db=planrun_example_shared_{suffix}"),
        format!("auth_db=planrun_example_auth_{suffix}"),
        format!("exchange=planrun.example.events.{suffix}"),
        format!("queue=planrun.example.payments.{suffix}"),
        format!("container=planrun-example-web-{suffix}"),
        format!("web_port={port}"),
        format!("pg_host={}", pg.host_str().unwrap_or("127.0.0.1")),
        format!("pg_port={}", pg.port().unwrap_or(5432)),
        format!("pg_user={}", pg.username()),
        format!("amqp_host={}", amqp.host_str().unwrap_or("127.0.0.1")),
        format!("amqp_port={}", amqp.port().unwrap_or(5672)),
        format!("amqp_user={}", amqp.username()),
    ]
}
