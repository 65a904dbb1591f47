//! One integration test binary driving the real `planrun` executable.

mod services;
mod test;

mod amqp;
mod apply;
mod ci_example;
mod completions;
mod crash;
mod diagnostics;
mod docker;
mod examples;
mod fuzz;
mod large;
mod leftovers;
mod output;
mod plan_state;
mod postgres;
mod preview;
mod rehearse;
mod report;
mod resume;
mod retry;
mod review;
mod rollback;
mod schema;
mod secrets;
mod settle;
mod signals;
mod state_postgres;
mod validate;
