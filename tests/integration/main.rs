//! One integration test binary driving the real `planrun` executable.

mod test;

mod apply;
mod crash;
mod diagnostics;
mod fuzz;
mod large;
mod preview;
mod resume;
mod retry;
mod rollback;
mod schema;
mod secrets;
mod signals;
mod state_postgres;
mod validate;
