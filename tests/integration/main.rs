//! One integration test binary driving the real `planrun` executable.

mod test;

mod diagnostics;
mod fuzz;
mod large;
mod preview;
mod schema;
mod validate;
