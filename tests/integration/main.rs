//! One integration test binary driving the real `planrun` executable.

mod test;

mod apply;
mod crash;
mod resume;
mod retry;
mod rollback;
mod secrets;
mod signals;
mod state_postgres;
mod validate;
