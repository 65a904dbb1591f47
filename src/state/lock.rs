//! Who holds the state: one mutating command (apply, resume, rollback,
//! mark) at a time. Like Terraform's `LockInfo`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::state::record::now;
pub(crate) use crate::supervise::current_host;
use crate::supervise::process_start;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Random, unique per command: releasing only ever removes our own lock.
    pub id: String,
    pub operation: String,
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// Start time of the process (clock ticks since boot, from
    /// `/proc/PID/stat`), so a recycled pid is not taken for the holder.
    pub pid_start: u64,
    pub since: String,
}

impl LockInfo {
    /// A lock for this process and `operation`.
    pub fn for_this_process(operation: &str) -> LockInfo {
        let pid = std::process::id();
        LockInfo {
            id: format!("{:016x}", fastrand::u64(..)),
            operation: operation.to_string(),
            user: current_user(),
            host: current_host(),
            pid,
            pid_start: process_start(pid).unwrap_or(0),
            since: now(),
        }
    }

    /// Whether the holder is a process on this host that no longer exists.
    /// A lock from another host is never judged stale: only `unlock --force`.
    pub fn is_stale_here(&self) -> bool {
        if self.host != current_host() {
            return false;
        }
        match process_start(self.pid) {
            None => true,
            Some(start) => self.pid_start != 0 && start != self.pid_start,
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` by {}@{} (pid {}) since {}",
            self.operation, self.user, self.host, self.pid, self.since
        )
    }
}

/// The result of taking the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Fresh,
    /// The previous holder's process is gone; its lock was taken over.
    TookOver(LockInfo),
}

pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|user| !user.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|user| user.name)
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_not_stale_and_a_dead_one_is() {
        let mut info = LockInfo::for_this_process("apply");
        assert!(info.pid_start > 0);
        assert!(!info.is_stale_here());
        info.pid_start += 1;
        assert!(info.is_stale_here(), "a recycled pid is not the holder");
        info.pid = u32::MAX - 1;
        assert!(info.is_stale_here());
        info.host = "elsewhere".into();
        assert!(!info.is_stale_here(), "another host's lock is never stale");
    }
}
