use std::process::ExitCode;

/// Compiling a large plan allocates and frees many small objects: with
/// glibc's allocator a third of `validate`'s time on 20,000 steps went to
/// malloc, free and page faults, and with mimalloc it takes about 0.6× as
/// long (interleaved runs; `bench/plan.sh` compares builds with PLANRUN=).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    planrun::run(std::env::args_os())
}
