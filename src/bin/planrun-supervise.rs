//! planrun's watchdog (see `planrun::supervise`). Its source is compiled
//! in directly rather than through the library, so this binary stays small
//! and starts fast.

use std::process::ExitCode;

#[path = "../supervise/watchdog.rs"]
mod watchdog;

fn main() -> ExitCode {
    watchdog::main(std::env::args_os().skip(1))
}
