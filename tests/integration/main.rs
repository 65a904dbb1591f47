//! One integration test binary driving the real `planrun` executable.

mod services;
mod test;

mod amqp;
mod docker;
mod postgres;
mod validate;
