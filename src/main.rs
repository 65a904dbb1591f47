use std::process::ExitCode;

fn main() -> ExitCode {
    planrun::run(std::env::args_os())
}
