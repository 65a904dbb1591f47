//! Step processes that never outlive planrun unsupervised.
//!
//! Two pieces, neither needing `unsafe`:
//!
//! - **A gate.** A shell step's command starts as `/bin/sh` that first
//!   reads one line from a pipe held by planrun, as the leader of a new
//!   process group. planrun records the group ([`ProcessGroup`]: pgid, the
//!   leader's start time, boot id, host) in the state, durably, then opens
//!   the gate. A command never runs unrecorded: if planrun dies first, the
//!   pipe closes and the shell exits without running it.
//! - **A watchdog.** Each planrun process starts one `planrun-supervise`
//!   (or itself as one, when that binary is missing) and tells it over a
//!   socket which groups run. When the socket closes with groups still
//!   running, planrun is gone: each group gets SIGTERM, the grace planrun
//!   was started with, then SIGKILL. One process per command, not per
//!   step: a step costs one `exec`, as a bare `sh -c` would.
//!
//! The next command that acts on the run (`resume`, `rollback`, `mark`,
//! `apply --abandon`) finds the recorded groups and waits until they are
//! gone, or kills them (see `exec::leftovers`), before it looks at what
//! the step did.

mod gate;
mod group;
mod watchdog;

pub(crate) use gate::SUPERVISE_ARG;
pub(crate) use gate::{Gated, GatedCommand, spawn};
pub(crate) use group::{Liveness, ProcessGroup, current_host, process_start};
pub(crate) use watchdog::main;
