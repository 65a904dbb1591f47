use std::process::ExitCode;

/// Compiling a large plan and running many small steps allocate and free
/// many small objects; mimalloc does that in about half the time of the
/// system allocator (see `bench/plan.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    planrun::run(std::env::args_os())
}
