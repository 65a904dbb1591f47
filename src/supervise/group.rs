//! A step's process group as the state records it, and how a later command
//! tells whether it still runs: by `/proc`, never by a pid alone.

use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// The process group of a running step, recorded before its command starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessGroup {
    /// The group id: the pid of the command's shell, its leader.
    pub pgid: i32,
    /// The leader's start time (clock ticks since boot, `/proc/PID/stat`
    /// field 22): a reused pid has another.
    pub started: u64,
    /// `/proc/sys/kernel/random/boot_id`: a group from before a reboot is gone.
    pub boot_id: String,
    pub host: String,
    /// How long the watchdog gives it after planrun dies, before SIGKILL.
    pub grace_ms: u64,
    /// Known to be gone: a later command waited for it (or killed it). The
    /// record stays as evidence that the command was let go, so it may
    /// have run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended: bool,
}

/// Whether a recorded group still has live processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    Gone,
    /// Its live members, as `pid command` strings.
    Alive(Vec<String>),
    /// Recorded on another host: nothing here can see it.
    Elsewhere,
}

impl ProcessGroup {
    /// The group led by `pid`, which must have just been started.
    pub fn led_by(pid: u32, grace: Duration) -> ProcessGroup {
        ProcessGroup {
            pgid: i32::try_from(pid).unwrap_or(i32::MAX),
            started: process_start(pid).unwrap_or(0),
            boot_id: boot_id(),
            host: current_host(),
            grace_ms: u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
            ended: false,
        }
    }

    pub fn liveness(&self) -> Liveness {
        if self.ended {
            return Liveness::Gone;
        }
        if self.host != current_host() {
            return Liveness::Elsewhere;
        }
        if self.boot_id != boot_id() {
            return Liveness::Gone;
        }
        // A live process with the leader's pid but another start time means
        // the pid was reused, which the kernel does only once no group of
        // that id is left: ours is gone.
        let leader = u32::try_from(self.pgid).ok().and_then(process_start);
        if leader.is_some_and(|start| start != self.started) {
            return Liveness::Gone;
        }
        let members = members(self.pgid);
        if members.is_empty() {
            Liveness::Gone
        } else {
            Liveness::Alive(members)
        }
    }

    /// Sends `signal` to every process of the group.
    pub fn signal(&self, signal: Signal) {
        let _ = killpg(Pid::from_raw(self.pgid), signal);
    }
}

impl std::fmt::Display for ProcessGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process group {} on {}", self.pgid, self.host)
    }
}

/// The live (not zombie) processes whose group is `pgid`, as `pid command`.
fn members(pgid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut members: Vec<(u32, String)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = Stat::read(pid)?;
            (stat.pgrp == pgid && !matches!(stat.state, 'Z' | 'X')).then_some((pid, stat.command))
        })
        .collect();
    members.sort_unstable();
    members
        .into_iter()
        .map(|(pid, command)| format!("{pid} {command}"))
        .collect()
}

/// What `/proc/PID/stat` says about a process.
struct Stat {
    command: String,
    state: char,
    pgrp: i32,
    start: u64,
}

impl Stat {
    fn read(pid: u32) -> Option<Stat> {
        use std::io::Read;
        // One read of a buffer larger than any such line: the kernel writes
        // the whole line at once (a step reads its leader's on every start).
        let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
        let mut buffer = [0u8; 4096];
        let length = file.read(&mut buffer).ok()?;
        // A command's name is bytes, not always UTF-8.
        if length < buffer.len() {
            return Stat::parse(&String::from_utf8_lossy(buffer.get(..length)?));
        }
        let mut text = buffer.to_vec();
        file.read_to_end(&mut text).ok()?;
        Stat::parse(&String::from_utf8_lossy(&text))
    }

    fn parse(stat: &str) -> Option<Stat> {
        // The command (field 2) is in parentheses and may contain spaces
        // and parentheses itself; the fields after the last `)` are plain.
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let command = stat.get(open + 1..close)?.to_string();
        let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
        Some(Stat {
            command,
            state: fields.first()?.chars().next()?,
            pgrp: fields.get(2)?.parse().ok()?,
            start: fields.get(19)?.parse().ok()?,
        })
    }
}

/// The start time of a live process (field 22 of `/proc/PID/stat`); `None`
/// when there is no such process, or only its zombie.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    Stat::read(pid)
        .filter(|stat| !matches!(stat.state, 'Z' | 'X'))
        .map(|stat| stat.start)
}

/// This machine's host name, as runs and locks record it.
pub(crate) fn current_host() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// This boot's id, read once: it cannot change while planrun runs.
fn boot_id() -> String {
    static BOOT_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|id| id.trim().to_string())
                .unwrap_or_default()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    #[test]
    fn a_live_group_is_alive_and_a_reaped_one_gone() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("sleep");
        let group = ProcessGroup::led_by(child.id(), Duration::from_secs(1));
        assert!(group.started > 0);
        match group.liveness() {
            Liveness::Alive(members) => assert!(members[0].ends_with(" sleep"), "{members:?}"),
            other => panic!("expected alive, got {other:?}"),
        }
        group.signal(Signal::SIGKILL);
        child.wait().expect("wait");
        assert_eq!(group.liveness(), Liveness::Gone);
    }

    #[test]
    fn a_reused_pid_another_boot_or_another_host_is_not_ours() {
        let group = ProcessGroup::led_by(std::process::id(), Duration::from_secs(1));
        let reused = ProcessGroup {
            started: group.started + 1,
            ..group.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Gone);
        let rebooted = ProcessGroup {
            boot_id: "another boot".into(),
            ..group.clone()
        };
        assert_eq!(rebooted.liveness(), Liveness::Gone);
        let elsewhere = ProcessGroup {
            host: "elsewhere".into(),
            ..group
        };
        assert_eq!(elsewhere.liveness(), Liveness::Elsewhere);
    }

    #[test]
    fn a_process_whose_name_is_not_utf8_is_still_seen_alive() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("a directory");
        let program = dir.path().join(std::ffi::OsStr::from_bytes(b"sl\xffep"));
        std::fs::copy("/bin/sleep", &program).expect("a copy of sleep");
        let mut child = std::process::Command::new(&program)
            .arg("30")
            .process_group(0)
            .spawn()
            .expect("the copy runs");
        let group = ProcessGroup::led_by(child.id(), Duration::from_secs(1));
        assert!(group.started > 0, "its start time is read");
        let liveness = group.liveness();
        group.signal(Signal::SIGKILL);
        child.wait().expect("wait");
        assert!(matches!(liveness, Liveness::Alive(_)), "{liveness:?}");
    }

    #[test]
    fn stat_reads_a_command_with_parentheses_and_spaces() {
        let line = "4242 (a (b) c) S 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        let stat = Stat::parse(line).expect("parsed");
        assert_eq!(stat.command, "a (b) c");
        assert_eq!((stat.state, stat.pgrp, stat.start), ('S', 4240, 987_654));
        let own = Stat::read(std::process::id()).expect("own stat");
        assert!(own.start > 0 && own.state != 'Z');
    }
}
