//! Named points where a test can kill planrun inside an action, to prove
//! that settling after a crash finds the right answer at that very point
//! (a file write is too fast to be caught there by a signal from outside).
//!
//! Only debug builds (what `cargo test` builds) have them: when the
//! environment variable `PLANRUN_FAILPOINT` names the point reached,
//! planrun sends itself SIGKILL there, as a crash would, with nothing
//! flushed or cleaned up. Release builds compile [`hit`] to nothing.
//!
//! Points, by kind: `shell:spawned` (the command waits behind its gate,
//! its process group not recorded yet), `shell:recorded` (recorded, the
//! gate still closed), `file.write:recorded` (evidence saved, nothing
//! written), `file.write:written`, `file.replace:recorded`,
//! `file.replace:between-files`,
//! `file.lines:written`, `postgres.exec:committed`,
//! `postgres.exec:statement-done`, `postgres.create_database:created`,
//! `postgres.drop_database:dropped`, `postgres.copy_table:committed` (a
//! batch committed, its checkpoint not saved), `docker.run:created`,
//! `amqp.declare:exchanges-declared`; and the engine's `step:started`
//! (a step's task began, nothing recorded).
//!
//! `PLANRUN_FAILPOINT=panic:POINT` panics there instead, as a bug would.

/// Kills planrun when `PLANRUN_FAILPOINT` names `point` (debug builds only).
#[cfg(debug_assertions)]
pub(crate) fn hit(point: &str) {
    let wanted = std::env::var("PLANRUN_FAILPOINT").unwrap_or_default();
    assert!(
        wanted.strip_prefix("panic:") != Some(point),
        "failpoint {point} reached"
    );
    if wanted == point {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
        // SIGKILL cannot be caught: the process is gone before this.
        std::process::abort();
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(crate) fn hit(_point: &str) {}
