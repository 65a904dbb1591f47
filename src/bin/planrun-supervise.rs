//! Supervises one step process for planrun (see `planrun::supervise`).

use std::process::ExitCode;

fn main() -> ExitCode {
    planrun::supervise::main(std::env::args_os().skip(1))
}
