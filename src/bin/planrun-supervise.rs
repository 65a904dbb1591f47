//! Supervises one step process for planrun (see `planrun::supervise`). The
//! supervisor's source is compiled in directly rather than through the
//! library, so this binary stays small and starts about as fast as
//! `/bin/true`: planrun starts one for every shell process of a step.

use std::process::ExitCode;

#[path = "../supervise/child.rs"]
mod child;

fn main() -> ExitCode {
    child::main(std::env::args_os().skip(1))
}
