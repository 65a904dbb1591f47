//! The `amqp.*` kinds against a real RabbitMQ, each effect checked with
//! `rabbitmqctl` rather than planrun's own report.

use std::time::{Duration, Instant};

use crate::services::{rabbitmqctl, require, unique};
use crate::test::Test;

/// The names in the first column of `rabbitmqctl list_<what> name`.
fn names(what: &str) -> Vec<String> {
    rabbitmqctl(&[&format!("list_{what}"), "name"])
        .lines()
        .map(|line| line.trim().to_string())
        .collect()
}

/// `source destination routing_key` of every binding.
fn bindings() -> Vec<String> {
    rabbitmqctl(&["list_bindings", "source_name", "destination_name", "routing_key"])
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Waits for the queue to report `count` ready messages (the broker's
/// counters lag a little behind a publish).
fn wait_for_messages(queue: &str, count: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listing = rabbitmqctl(&["list_queues", "name", "messages_ready"]);
        let found = listing
            .lines()
            .find_map(|line| line.split_once(char::is_whitespace).filter(|(name, _)| *name == queue))
            .map(|(_, n)| n.trim().to_string());
        if found.as_deref() == Some(count) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "queue {queue}: {found:?} messages, expected {count}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn declare_is_undone_without_touching_what_existed() {
    let Some(url) = require("AMQP_URL") else { return };
    let before = unique("planrun.before");
    let (exchange, queue) = (unique("planrun.events"), unique("planrun.orders"));
    let earlier = Test::new().plan(&format!(
        r#"
format = 1
name = "earlier"
[steps.exchange]
run = {{ kind = "amqp.declare", url = "{url}", exchanges = [{{ name = "{before}", type = "fanout" }}] }}
"#
    ));
    earlier.cmd(&["apply", "plan.toml"]).status(0);
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "topology"
[steps.topology]
run = {{ kind = "amqp.declare", url = "{url}", exchanges = [{{ name = "{before}", type = "fanout" }}, {{ name = "{exchange}" }}], queues = [{{ name = "{queue}" }}], bindings = [{{ exchange = "{exchange}", queue = "{queue}", routing_key = "order.*" }}, {{ exchange = "{before}", queue = "{queue}" }}] }}
verify = [
  {{ kind = "amqp.exists", url = "{url}", exchange = "{exchange}" }},
  {{ kind = "amqp.exists", url = "{url}", queue = "{queue}" }},
  {{ kind = "amqp.connect", url = "{url}", wait = "5s" }},
]
"#
    ));
    test.cmd(&["apply", "plan.toml"]).status(0);
    assert!(names("exchanges").contains(&exchange));
    assert!(names("queues").contains(&queue));
    assert!(
        bindings().contains(&format!("{exchange} {queue} order.*")),
        "{:?}",
        bindings()
    );
    test.cmd(&["rollback", "plan.toml"]).status(0);
    assert!(!names("exchanges").contains(&exchange), "created exchange deleted");
    assert!(!names("queues").contains(&queue), "created queue deleted");
    assert!(
        names("exchanges").contains(&before),
        "an exchange that existed before stays"
    );
    assert!(!bindings().iter().any(|b| b.contains(&queue)), "{:?}", bindings());
    earlier.cmd(&["rollback", "plan.toml"]).status(0);
    assert!(!names("exchanges").contains(&before));
}

#[test]
fn roundtrip_and_publish_are_confirmed_and_routed() {
    let Some(url) = require("AMQP_URL") else { return };
    let (exchange, queue) = (unique("planrun.events"), unique("planrun.orders"));
    let missing = unique("planrun.missing");
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "messages"
[vars]
url = "{url}"
[steps.topology]
run = {{ kind = "amqp.declare", url = "${{vars.url}}", exchanges = [{{ name = "{exchange}", durable = false }}], queues = [{{ name = "{queue}", durable = false }}], bindings = [{{ exchange = "{exchange}", queue = "{queue}", routing_key = "order.created" }}] }}
verify = [{{ kind = "amqp.roundtrip", url = "${{vars.url}}", exchange = "{exchange}", routing_key = "planrun.probe", timeout = "5s" }}]
[steps.publish]
depends_on = ["topology"]
run = {{ kind = "amqp.publish", url = "${{vars.url}}", exchange = "{exchange}", routing_key = "order.created", payload = '{{"id": 1}}', content_type = "application/json" }}
[steps.unroutable]
depends_on = ["publish"]
run = {{ kind = "amqp.publish", url = "${{vars.url}}", exchange = "{exchange}", routing_key = "nobody.listens", payload = "lost" }}
[steps.no-exchange]
depends_on = ["publish"]
check = {{ kind = "amqp.roundtrip", url = "${{vars.url}}", exchange = "{missing}", routing_key = "x" }}
run = {{ kind = "amqp.publish", url = "${{vars.url}}", exchange = "{missing}", payload = "lost" }}
"#
    ));
    let run = test.cmd(&["apply", "plan.toml", "--keep-going"]);
    run.status(1);
    assert!(run.stderr.contains("ok      topology"), "{}", run.stderr);
    assert!(run.stderr.contains("ok      publish"), "{}", run.stderr);
    assert!(run.stderr.contains("returned as unroutable"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("exchange `{missing}` does not exist")),
        "{}",
        run.stderr
    );
    assert!(run.logs().contains("received it back"), "{}", run.logs());
    // Only the published message reached the queue: the probe's went to its
    // own temporary queue, the unroutable one nowhere.
    wait_for_messages(&queue, "1");
    assert!(!names("exchanges").contains(&missing));
    test.cmd(&["rollback", "plan.toml"]).status(0);
    assert!(!names("queues").contains(&queue));
}

/// Killed between declaring the exchanges and the queues, `amqp.declare`
/// is settled by passive declares: it goes on without an operator, and
/// rollback still deletes everything it created.
#[test]
fn declare_killed_half_way_goes_on_and_rolls_back_whole() {
    let Some(url) = require("AMQP_URL") else { return };
    let (exchange, queue) = (unique("planrun.half"), unique("planrun.half-q"));
    let test = Test::new().plan(&format!(
        r#"
format = 1
name = "half"
[steps.topology]
run = {{ kind = "amqp.declare", url = "{url}", exchanges = [{{ name = "{exchange}" }}], queues = [{{ name = "{queue}" }}], bindings = [{{ exchange = "{exchange}", queue = "{queue}", routing_key = "k" }}] }}
"#
    ));
    test.crash_at("amqp.declare:exchanges-declared", &["apply", "plan.toml"]);
    assert!(names("exchanges").contains(&exchange));
    assert!(!names("queues").contains(&queue));
    let resumed = test.cmd(&["resume"]);
    resumed.status(0);
    assert!(
        resumed.stderr.contains(&format!("missing: queue `{queue}`")),
        "{}",
        resumed.stderr
    );
    assert!(names("queues").contains(&queue));
    assert!(
        bindings().contains(&format!("{exchange} {queue} k")),
        "{:?}",
        bindings()
    );
    test.cmd(&["rollback"]).status(0);
    assert!(
        !names("exchanges").contains(&exchange),
        "the exchange this run created is deleted"
    );
    assert!(!names("queues").contains(&queue));
}
