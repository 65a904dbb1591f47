//! The `docker.*` kinds against the real daemon, each effect checked with
//! the docker CLI rather than planrun's own report.

use std::io::{Read, Write};

use crate::services::{docker, free_port, require, unique};
use crate::test::Test;

/// The daemon and the local test image, or `None` (skipped).
fn daemon() -> Option<(String, String)> {
    Some((require("DOCKER_HOST")?, require("DOCKER_IMAGE")?))
}

/// Removes the named containers whatever the test's outcome.
struct Containers(String, Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.1 {
            let _ = std::process::Command::new("docker")
                .args(["-H", &self.0, "rm", "-f", name])
                .output();
        }
    }
}

fn inspect(host: &str, name: &str, format: &str) -> String {
    docker(host, &["inspect", "-f", format, name])
}

fn exists(host: &str, name: &str) -> bool {
    !docker(host, &["ps", "-aq", "--filter", &format!("name=^{name}$")]).is_empty()
}

/// `GET path` on 127.0.0.1:port, the body of the answer.
fn http_get(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the published port");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("send a request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read the answer");
    answer
}

/// A shell that stops at once on SIGTERM (PID 1 ignores it otherwise).
fn serving(port_inside: u16) -> String {
    format!(r#"["sh", "-c", "echo web-ready; trap 'exit 0' TERM; httpd -f -p {port_inside} -h /www & wait"]"#)
}

#[test]
fn run_waits_for_healthy_and_rollback_removes_it() {
    let Some((host, image)) = daemon() else { return };
    let name = unique("planrun-web");
    let _cleanup = Containers(host.clone(), vec![name.clone()]);
    let port = free_port();
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "web"
[vars]
host = "{host}"
[preflight.daemon]
probe = {{ kind = "docker.daemon", endpoint = "${{vars.host}}" }}
[steps.web]
run = {{ kind = "docker.run", endpoint = "${{vars.host}}", name = "{name}", image = "{image}", command = {command}, env = {{ GREETING = "hello" }}, ports = ["127.0.0.1:{port}:8080"], labels = {{ "com.docker.compose.project" = "{name}", "com.docker.compose.service" = "web" }}, health = {{ test = ["wget", "-q", "-O-", "http://127.0.0.1:8080/health"], interval = "500ms", timeout = "2s", retries = 5 }}, restart = "on-failure", wait_healthy = "30s" }}
verify = [
  {{ kind = "docker.image", endpoint = "${{vars.host}}", image = "{image}" }},
  {{ kind = "docker.container", endpoint = "${{vars.host}}", name = "{name}", state = "healthy" }},
  {{ kind = "docker.compose", endpoint = "${{vars.host}}", project = "{name}", service = "web", state = "healthy", wait = "10s" }},
  {{ kind = "docker.exec", endpoint = "${{vars.host}}", container = "{name}", command = ["sh", "-c", "test \"$GREETING\" = hello"] }},
]
[steps.config-test]
depends_on = ["web"]
run = {{ kind = "docker.exec", endpoint = "${{vars.host}}", container = "{name}", command = ["cat", "/www/health"] }}
"#,
        command = serving(8080)
    ));
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(0);
    assert_eq!(inspect(&host, &name, "{{.State.Health.Status}}"), "healthy");
    assert_eq!(
        inspect(&host, &name, "{{.HostConfig.RestartPolicy.Name}}"),
        "on-failure"
    );
    assert_eq!(
        inspect(
            &host,
            &name,
            r#"{{(index (index .HostConfig.PortBindings "8080/tcp") 0).HostIp}}"#
        ),
        "127.0.0.1"
    );
    let answer = http_get(port, "/health");
    assert_eq!(answer.split("\r\n\r\n").nth(1).map(str::trim), Some("ok"), "{answer}");
    assert!(
        run.logs().lines().any(|line| line == "ok"),
        "the exec output is in the step log"
    );
    test.cmd(&["rollback", "plan.toml"]).status(0);
    assert!(!exists(&host, &name), "rollback removed the container");
}

#[test]
fn exec_failure_shows_the_container_logs() {
    let Some((host, image)) = daemon() else { return };
    let name = unique("planrun-exec");
    let _cleanup = Containers(host.clone(), vec![name.clone()]);
    docker(
        &host,
        &[
            "run",
            "-d",
            "--name",
            &name,
            &image,
            "sh",
            "-c",
            &format!("echo {name}-says-hi; trap 'exit 0' TERM; while true; do sleep 1; done"),
        ],
    );
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "exec"
[steps.nginx-t]
run = {{ kind = "docker.exec", container = "{name}", command = ["sh", "-c", "echo 'config test failed' >&2; exit 2"] }}
"#
    ));
    // No `endpoint`: the daemon comes from DOCKER_HOST.
    let test = test.env("DOCKER_HOST", &host);
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert!(
        run.stderr.contains("ended with exit code 2, expected 0"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("config test failed"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{name}-says-hi")), "{}", run.stderr);
}

#[test]
fn run_adopts_a_running_container_and_stop_start_remove_work() {
    let Some((host, image)) = daemon() else { return };
    let (adopted, managed) = (unique("planrun-adopted"), unique("planrun-managed"));
    let _cleanup = Containers(host.clone(), vec![adopted.clone(), managed.clone()]);
    let idle = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;
    docker(
        &host,
        &[
            "run",
            "-d",
            "--name",
            &adopted,
            &image,
            "sh",
            "-c",
            "trap 'exit 0' TERM; while true; do sleep 1; done",
        ],
    );
    let id_before = inspect(&host, &adopted, "{{.Id}}");
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "lifecycle"
[vars]
host = "{host}"
[steps.adopt]
run = {{ kind = "docker.run", endpoint = "${{vars.host}}", name = "{adopted}", image = "{image}", command = {idle} }}
[steps.create]
run = {{ kind = "docker.run", endpoint = "${{vars.host}}", name = "{managed}", image = "{image}", command = {idle}, network = "none" }}
[steps.stop]
depends_on = ["create"]
run = {{ kind = "docker.stop", endpoint = "${{vars.host}}", name = "{managed}", grace = "5s" }}
verify = [{{ kind = "shell", command = "test \"$(docker -H {host} inspect -f '{{{{.State.Running}}}}' {managed})\" = false" }}]
[steps.start]
depends_on = ["stop"]
run = {{ kind = "docker.start", endpoint = "${{vars.host}}", name = "{managed}" }}
verify = [{{ kind = "docker.container", endpoint = "${{vars.host}}", name = "{managed}", wait = "5s" }}]
"#
    ));
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert_eq!(
        inspect(&host, &adopted, "{{.Id}}"),
        id_before,
        "the running container was adopted, not replaced"
    );
    assert_eq!(inspect(&host, &managed, "{{.State.Running}}"), "true");
    assert_eq!(inspect(&host, &managed, "{{.HostConfig.NetworkMode}}"), "none");
    test.cmd(&["rollback", "plan.toml"]).status(0);
    assert!(exists(&host, &adopted), "a container that ran before stays");
    assert!(!exists(&host, &managed), "the container this run created is gone");
    let remove = Test::new().plan(&format!(
        r#"
format = 1
name = "remove"
[steps.remove]
run = {{ kind = "docker.remove", endpoint = "{host}", name = "{adopted}", grace = "5s" }}
[steps.again]
depends_on = ["remove"]
run = {{ kind = "docker.remove", endpoint = "{host}", name = "{adopted}" }}
"#
    ));
    remove.cmd(&["apply", "plan.toml"]).status(0);
    assert!(!exists(&host, &adopted));
}

#[test]
fn wait_healthy_uses_the_image_health_check_and_fails_clearly_without_one() {
    let Some((host, image)) = daemon() else { return };
    let (checked, plain, base) = (
        unique("planrun-imagecheck"),
        unique("planrun-nocheck"),
        unique("planrun-base"),
    );
    let _cleanup = Containers(host.clone(), vec![checked.clone(), plain.clone(), base.clone()]);
    // An image whose own HEALTHCHECK passes, made from the test image.
    let tagged = format!("planrun-test/{checked}:latest");
    docker(&host, &["create", "--name", &base, &image, "true"]);
    docker(
        &host,
        &[
            "commit",
            "--change",
            "HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD true",
            &base,
            &tagged,
        ],
    );
    struct Image(String, String);
    impl Drop for Image {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["-H", &self.0, "rmi", "-f", &self.1])
                .output();
        }
    }
    let _image = Image(host.clone(), tagged.clone());
    let idle = r#"["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]"#;
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "image-health"
[steps.checked]
run = {{ kind = "docker.run", endpoint = "{host}", name = "{checked}", image = "{tagged}", command = {idle}, wait_healthy = "30s" }}
rollback = {{ kind = "docker.remove", endpoint = "{host}", name = "{checked}", grace = "1s" }}
[steps.plain]
depends_on = ["checked"]
run = {{ kind = "docker.run", endpoint = "{host}", name = "{plain}", image = "{image}", command = {idle}, wait_healthy = "30s" }}
rollback = {{ kind = "docker.remove", endpoint = "{host}", name = "{plain}", grace = "1s" }}
"#
    ));
    test.cmd(&["validate", "plan.toml"]).status(0);
    let run = test.cmd(&["apply", "plan.toml"]);
    run.status(1);
    assert_eq!(test.step_status("checked"), "succeeded", "{}", run.stderr);
    assert_eq!(inspect(&host, &checked, "{{.State.Health.Status}}"), "healthy");
    assert_eq!(test.step_status("plain"), "failed");
    assert!(
        run.stderr
            .contains(&format!("container `{plain}` has no health check to wait for")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("defines no HEALTHCHECK"), "{}", run.stderr);
}

#[test]
fn an_unreachable_daemon_is_explained() {
    let port = free_port();
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "no-daemon"
[preflight.daemon]
probe = {{ kind = "docker.daemon", endpoint = "tcp://127.0.0.1:{port}" }}
[steps.ping]
run = {{ kind = "shell", command = "true" }}
"#
    ));
    let run = test.cmd(&["apply", "plan.toml"]);
    assert_ne!(run.code, Some(0), "{}", run.all_output());
    assert!(
        run.all_output().to_lowercase().contains("connection refused"),
        "the cause is named: {}",
        run.all_output()
    );
}

fn waiting_plan(host: &str, image: &str, name: &str) -> String {
    format!(
        r#"
format = 1
name = "wait"
[steps.app]
run = {{ kind = "docker.run", endpoint = "{host}", name = "{name}", image = "{image}", command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"], health = {{ test = ["test", "-f", "/tmp/ready"], interval = "200ms", timeout = "2s", retries = 1000 }}, wait_healthy = "2m" }}
"#
    )
}

/// Killed while `docker.run` waits for its container to be healthy, the
/// step is settled by the container labelled with the run and step: the
/// same container is waited for again, never created twice.
#[test]
fn run_killed_while_waiting_for_health_keeps_its_one_container() {
    let Some((host, image)) = daemon() else { return };
    let name = unique("planrun-wait");
    let _cleanup = Containers(host.clone(), vec![name.clone()]);
    let test = Test::new().plan(&waiting_plan(&host, &image, &name));
    let mut child = test.spawn(&["apply", "plan.toml"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    while !(exists(&host, &name) && inspect(&host, &name, "{{.State.Running}}") == "true") {
        assert!(child.try_wait().ok().flatten().is_none(), "planrun ended early");
        assert!(std::time::Instant::now() < deadline, "the container never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL planrun");
    let _ = child.wait();
    let id = inspect(&host, &name, "{{.Id}}");
    let run_id = test.status()["run"]["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        inspect(&host, &name, r#"{{index .Config.Labels "planrun.run"}}"#),
        run_id
    );
    assert_eq!(
        inspect(&host, &name, r#"{{index .Config.Labels "planrun.step"}}"#),
        "app"
    );
    docker(&host, &["exec", &name, "touch", "/tmp/ready"]);
    let resumed = test.cmd(&["resume"]);
    resumed.status(0);
    assert!(resumed.stderr.contains("created by this step"), "{}", resumed.stderr);
    assert_eq!(
        inspect(&host, &name, "{{.Id}}"),
        id,
        "the same container, not a new one"
    );
    assert_eq!(test.status()["steps"][0]["outputs"]["id"], id);
    test.cmd(&["rollback"]).status(0);
    assert!(!exists(&host, &name), "rollback removes the container this run created");
}

#[test]
fn run_killed_between_create_and_start_starts_its_container() {
    let Some((host, image)) = daemon() else { return };
    let name = unique("planrun-created");
    let _cleanup = Containers(host.clone(), vec![name.clone()]);
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "created"
[steps.app]
run = {{ kind = "docker.run", endpoint = "{host}", name = "{name}", image = "{image}", command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"] }}
"#
    ));
    test.crash_at("docker.run:created", &["apply", "plan.toml"]);
    assert_eq!(inspect(&host, &name, "{{.State.Running}}"), "false");
    let id = inspect(&host, &name, "{{.Id}}");
    let resumed = test.cmd(&["resume"]);
    resumed.status(0);
    assert!(resumed.stderr.contains("took effect in part"), "{}", resumed.stderr);
    assert_eq!(inspect(&host, &name, "{{.Id}}"), id);
    assert_eq!(inspect(&host, &name, "{{.State.Running}}"), "true");
    test.cmd(&["rollback"]).status(0);
    assert!(!exists(&host, &name));
}

/// Killed while `docker.stop` waits out the grace of a container that
/// ignores SIGTERM: settled by the container's state, no operator.
#[test]
fn stop_killed_during_its_grace_is_settled_by_the_container_state() {
    let Some((host, image)) = daemon() else { return };
    let name = unique("planrun-stubborn");
    let _cleanup = Containers(host.clone(), vec![name.clone()]);
    docker(
        &host,
        &[
            "run",
            "-d",
            "--name",
            &name,
            &image,
            "sh",
            "-c",
            "trap '' TERM; while true; do sleep 1; done",
        ],
    );
    let since = docker(&host, &["inspect", "-f", "{{.State.StartedAt}}", &name]);
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "stop"
[steps.stop]
run = {{ kind = "docker.stop", endpoint = "{host}", name = "{name}", grace = "3s" }}
"#
    ));
    let mut child = test.spawn(&["apply", "plan.toml"]);
    // The stop has begun once the daemon sent the container SIGTERM.
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    loop {
        let now = jiff::Timestamp::now().to_string();
        let events = docker(
            &host,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &now,
                "--filter",
                &format!("container={name}"),
                "--filter",
                "event=kill",
            ],
        );
        if events.contains("signal=15") {
            break;
        }
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "planrun ended before the stop began"
        );
        assert!(std::time::Instant::now() < deadline, "the stop never began");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL planrun");
    let _ = child.wait();
    let resumed = test.cmd(&["resume"]);
    resumed.status(0);
    assert!(
        resumed.stderr.contains("settled stop (attempt 1)"),
        "{}",
        resumed.stderr
    );
    assert_eq!(inspect(&host, &name, "{{.State.Running}}"), "false");
}
