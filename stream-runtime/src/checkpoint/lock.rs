//! One running job per checkpoint directory: the `lock` file, holding its owner's host and
//! process, created atomically when a job starts and deleted when it stops. A lock whose
//! owner ran on this host and is gone (killed with `kill -9`) is taken over; one held by a
//! live process, or by a process on another host, refuses the job.

use serde::{Deserialize, Serialize};

use super::{CheckpointError, CheckpointStore};
use crate::fs::FsError;

/// The lock file's name in the checkpoint directory.
pub(crate) const LOCK: &str = "lock";

/// A lock file left empty by a crash while it was written is taken over after this long
/// (before, it may be a starting job's lock still being written).
const TORN_AFTER_MS: i64 = 10_000;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Owner {
    host: String,
    pid: u32,
    /// The process's start time (clock ticks after boot), so a reused pid is not taken for
    /// the owner.
    started: Option<u64>,
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} on host {}", self.pid, self.host)
    }
}

impl Owner {
    fn me() -> Owner {
        let pid = std::process::id();
        Owner { host: host_name(), pid, started: start_time(pid) }
    }

    /// Whether the owner may still run: not when it ran on this host and its process is
    /// gone (or is another process with the same pid).
    fn may_be_alive(&self) -> bool {
        if self.host != host_name() || !std::path::Path::new("/proc/self/stat").exists() {
            return true;
        }
        match start_time(self.pid) {
            None => false,
            Some(started) => self.started.is_none_or(|s| s == started),
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Field 22 of `/proc/<pid>/stat`: when the process started.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// A held lock on a checkpoint directory, deleted when dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    store: std::sync::Arc<CheckpointStore>,
    path: String,
}

impl DirLock {
    /// Takes the lock of `store`'s directory, or fails with [`CheckpointError::Locked`]
    /// naming the job that holds it.
    pub(crate) fn acquire(store: &std::sync::Arc<CheckpointStore>) -> Result<DirLock, CheckpointError> {
        let path = store.path_of(LOCK);
        let me = Owner::me();
        let content = serde_json::to_vec(&me).unwrap_or_default();
        let io = |e: FsError| CheckpointError::Io { dir: store.url().to_string(), source: e };
        let mut waited_for_torn = false;
        for _ in 0..4 {
            match store.fs().create_new(&path, &content) {
                Ok(()) => return Ok(DirLock { store: std::sync::Arc::clone(store), path }),
                Err(FsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
            let held = match store.fs().read(&path) {
                Ok(bytes) => bytes,
                Err(FsError::NotFound { .. }) => continue,
                Err(e) => return Err(io(e)),
            };
            match serde_json::from_slice::<Owner>(&held) {
                Ok(owner) if owner.may_be_alive() => {
                    return Err(CheckpointError::Locked {
                        dir: store.url().to_string(),
                        owner: owner.to_string(),
                        lock: path,
                    })
                }
                Ok(owner) => {
                    tracing::warn!(dir = %store.url(), "taking over the lock of {owner}, which is no longer running");
                }
                Err(_) => {
                    let age = store.fs().status(&path).map_err(io)?.map(|s| now_ms() - s.modified.as_millis());
                    if let Some(age) = age.filter(|&a| a < TORN_AFTER_MS) {
                        // A job starting now, or one killed while it wrote the lock (a restart
                        // right after a crash): wait until the file is whole or old enough.
                        if waited_for_torn {
                            return Err(CheckpointError::Locked {
                                dir: store.url().to_string(),
                                owner: "a job starting now".to_string(),
                                lock: path,
                            });
                        }
                        waited_for_torn = true;
                        tracing::warn!(dir = %store.url(), "the lock file is being written or was left torn; waiting up to {} s", TORN_AFTER_MS / 1000);
                        std::thread::sleep(std::time::Duration::from_millis((TORN_AFTER_MS - age).max(0) as u64 + 100));
                        continue;
                    }
                    tracing::warn!(dir = %store.url(), "taking over a torn lock file");
                }
            }
            store.fs().delete(&path, false).map_err(io)?;
        }
        Err(CheckpointError::Locked {
            dir: store.url().to_string(),
            owner: "another job starting now".into(),
            lock: path,
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Drop for DirLock {
    fn drop(&mut self) {
        if let Err(e) = self.store.fs().delete(&self.path, false) {
            tracing::warn!(dir = %self.store.url(), "cannot remove the lock file {}: {e}", self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first_and_a_dead_owner_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::open(&dir.path().to_string_lossy()).unwrap());
        let first = DirLock::acquire(&store).unwrap();
        let err = DirLock::acquire(&store).unwrap_err();
        let me = format!("process {} on host {}", std::process::id(), host_name());
        assert!(matches!(&err, CheckpointError::Locked { owner, .. } if *owner == me), "{err}");
        drop(first);
        assert!(!dir.path().join(LOCK).exists());
        // A lock left by a process that is gone (a pid no process has) is taken over.
        let dead = Owner { host: host_name(), pid: u32::MAX - 1, started: Some(1) };
        std::fs::write(dir.path().join(LOCK), serde_json::to_vec(&dead).unwrap()).unwrap();
        let _taken = DirLock::acquire(&store).unwrap();
        // One held on another host is not.
        drop(_taken);
        let remote = Owner { host: "elsewhere".into(), pid: 1, started: None };
        std::fs::write(dir.path().join(LOCK), serde_json::to_vec(&remote).unwrap()).unwrap();
        let err = DirLock::acquire(&store).unwrap_err().to_string();
        assert!(err.contains("process 1 on host elsewhere"), "{err}");
    }
}
