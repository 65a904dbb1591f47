//! Step processes that never outlive planrun unsupervised.
//!
//! A shell step does not run as a direct child of planrun: planrun starts
//! `planrun-supervise` (a few hundred lines, no async runtime) as the
//! leader of a new process group, and the supervisor starts the command in
//! that group. They talk over a socket on the supervisor's stdin:
//!
//! 1. planrun records the group ([`ProcessGroup`]: pgid, the leader's start
//!    time, boot id, host) in the state, durably, then writes `go`. Until
//!    then the command has not started; if planrun dies first, the
//!    supervisor sees the socket close and exits without running anything.
//! 2. When the command ends, the supervisor writes its wait status back
//!    (`status RAW`, or `error MESSAGE` when it could not start) and exits.
//! 3. When the socket closes before that, planrun is gone (killed, crashed):
//!    the supervisor sends SIGTERM to the group, gives it the grace planrun
//!    was started with, then SIGKILL.
//!
//! The next command that acts on the run (`resume`, `rollback`, `mark`,
//! `apply --abandon`) finds the recorded group and waits until it is gone,
//! or kills it (see `exec::leftovers`), before it looks at what the step
//! did. Nothing here needs `unsafe`: the supervisor catches the signals it
//! must survive with `signal-hook`'s safe flag handlers, which the command
//! it starts does not inherit (caught signals revert to their default on
//! `exec`; blocked or ignored ones would not, so it blocks nothing).

mod child;
mod group;
mod spawn;

pub use child::main;
pub use group::{Liveness, ProcessGroup, current_host, process_start};
pub use spawn::SUPERVISE_ARG;
pub(crate) use spawn::{Supervised, spawn};
