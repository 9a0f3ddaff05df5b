//! A cluster's checkpoint directory `DIR`: each process keeps its checkpoints (and the driver
//! its batch log) in a directory of its own, `DIR/process-I-of-N`, and process 0 writes a
//! manifest `DIR/manifests/manifest-<ms>` once every process has written its checkpoint of a
//! batch. Recovery starts from the newest manifest whose files are all there; a restart with
//! another number of processes reads the manifest's process count to find the old processes'
//! files and re-spread their state.

use std::collections::BTreeSet;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};

use super::store::KEEP;
use super::{CheckpointError, Fingerprint};
use crate::fs::{self, FileSystem, FsError};
use crate::time::Time;

const MANIFESTS: &str = "manifests";
const MANIFEST: &str = "manifest-";

/// The directory of process `process` of `processes` under the cluster's checkpoint
/// directory `base`.
///
/// ```ignore
/// assert_eq!(process_dir("hdfs://nn:9000/ckpt/", 1, 3), "hdfs://nn:9000/ckpt/process-1-of-3");
/// ```
pub(crate) fn process_dir(base: &str, process: usize, processes: usize) -> String {
    format!("{}/process-{process}-of-{processes}", base.trim_end_matches('/'))
}

/// The cluster's directory, process and process count of a directory made by
/// [`process_dir`]; `None` for any other directory.
pub(crate) fn split_process_dir(dir: &str) -> Option<(&str, usize, usize)> {
    let dir = dir.trim_end_matches('/');
    let (base, name) = dir.rsplit_once('/')?;
    let (i, n) = name.strip_prefix("process-")?.split_once("-of-")?;
    let (i, n) = (i.parse().ok()?, n.parse().ok()?);
    (i < n).then_some((base, i, n))
}

/// What a manifest records: a checkpoint that every process of a run wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The batch the checkpoints follow.
    pub(crate) time: Time,
    /// How many processes wrote them (`process-I-of-<processes>`).
    pub(crate) processes: usize,
    /// The job's plan.
    pub(crate) plan: Fingerprint,
    /// The checkpoint files, one per process, relative to the cluster's directory.
    pub(crate) files: Vec<String>,
    /// The key groups each file holds, `[first, end)` (`shuffle::groups_of`): within a file,
    /// each keyed operation's state is one frame per local partition, and each partition holds
    /// a contiguous range of whole groups. Absent in manifests written before key groups.
    #[serde(default)]
    pub(crate) key_groups: Vec<[usize; 2]>,
}

/// The cluster's checkpoint directory.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    fs: Arc<dyn FileSystem>,
    /// The directory, as the filesystem names it.
    dir: String,
    /// The directory's URL, for messages.
    url: String,
}

impl Layout {
    /// The cluster's checkpoint directory at `url` (read only: nothing is created).
    pub(crate) fn open(url: &str) -> Result<Layout, CheckpointError> {
        let (fs, dir) = fs::resolve(url).map_err(|source| CheckpointError::Io { dir: url.to_string(), source })?;
        Ok(Layout { fs, dir, url: url.to_string() })
    }

    fn io(&self) -> impl Fn(FsError) -> CheckpointError + '_ {
        move |source| CheckpointError::Io { dir: self.url.clone(), source }
    }

    /// The URL of process `process`'s directory in a run of `processes`.
    pub(crate) fn process_url(&self, process: usize, processes: usize) -> String {
        process_dir(&self.url, process, processes)
    }

    /// The checkpoint file of process `process` of `processes` after batch `t`, relative to
    /// the cluster's directory.
    fn file_of(process: usize, processes: usize, t: Time) -> String {
        format!("process-{process}-of-{processes}/checkpoint-{}", t.as_millis())
    }

    /// Whether every process of a run of `processes` has its checkpoint of batch `t`.
    fn complete(&self, processes: usize, t: Time) -> Result<bool, CheckpointError> {
        for p in 0..processes {
            if self.fs.status(&fs::join(&self.dir, &Self::file_of(p, processes, t))).map_err(self.io())?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The times of the checkpoints of process `process` of a run of `processes`, newest
    /// first.
    fn times(&self, process: usize, processes: usize) -> Result<Vec<Time>, CheckpointError> {
        let dir = fs::join(&self.dir, &format!("process-{process}-of-{processes}"));
        let listing = match self.fs.list(&dir) {
            Ok(l) => l,
            Err(FsError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.io()(e)),
        };
        let mut times: Vec<Time> = listing
            .into_iter()
            .filter(|f| !f.is_dir)
            .filter_map(|f| f.name.strip_prefix("checkpoint-")?.parse().ok().map(Time::from_millis))
            .collect();
        times.sort_by_key(|t| std::cmp::Reverse(*t));
        Ok(times)
    }

    /// Which checkpoint a cluster of `processes` recovers from: the newest manifest whose files
    /// are all there, or the newest checkpoint every process of a run of `processes` has
    /// written (a run stopped before process 0 wrote the manifest), whichever is newer (this
    /// run's process count at the same time); `None` when the directory holds no checkpoint, or
    /// when a process of this count has none (it stopped before its first, which it takes
    /// before any batch runs). Refused when every process of this count has checkpoints but
    /// none in common.
    pub(crate) fn recovery_point(&self, processes: usize) -> Result<Option<(Time, usize)>, CheckpointError> {
        let manifest = self.newest_complete(processes)?.map(|m| (m.time, m.processes));
        let times: Vec<Vec<Time>> = (0..processes).map(|p| self.times(p, processes)).collect::<Result<_, _>>()?;
        let common = times[0].iter().copied().find(|t| times.iter().all(|ts| ts.contains(t)));
        let point = match (manifest, common) {
            (Some((m, n)), Some(c)) if m > c => Some((m, n)),
            (_, Some(c)) => Some((c, processes)),
            (m, None) => m,
        };
        if point.is_none() && times.iter().any(|ts| !ts.is_empty()) {
            // A process killed before its first checkpoint (taken at start, before any batch
            // runs): no batch can have finished without it.
            if let Some(q) = times.iter().position(Vec::is_empty) {
                tracing::warn!(
                    dir = %self.url,
                    "process {q} of {processes} has no checkpoint (it stopped before its first); the cluster starts afresh"
                );
                return Ok(None);
            }
            let list: Vec<String> = times
                .iter()
                .enumerate()
                .map(|(q, ts)| {
                    format!("process {q}: {}", ts.first().map_or("none".to_string(), |t| format!("newest {t}")))
                })
                .collect();
            return Err(CheckpointError::Inconsistent {
                dir: self.url.clone(),
                why: format!(
                    "no checkpoint is common to all {processes} processes ({}); restart all of them with the checkpoint directory they ran with",
                    list.join(", ")
                ),
            });
        }
        Ok(point)
    }

    /// The manifests, newest first (torn ones skipped with a warning).
    pub(crate) fn manifests(&self) -> Result<Vec<Manifest>, CheckpointError> {
        let listing = match self.fs.list(&fs::join(&self.dir, MANIFESTS)) {
            Ok(l) => l,
            Err(FsError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.io()(e)),
        };
        let mut found = Vec::new();
        for f in listing.into_iter().filter(|f| !f.is_dir && f.name.starts_with(MANIFEST)) {
            let bytes = self.fs.read(&f.path).map_err(self.io())?;
            match serde_json::from_slice::<Manifest>(&bytes) {
                Ok(m) => found.push(m),
                Err(e) => tracing::warn!(dir = %self.url, "skipping torn manifest {}: {e}", f.path),
            }
        }
        found.sort_by_key(|m| (std::cmp::Reverse(m.time), m.processes));
        Ok(found)
    }

    /// The newest manifest whose checkpoint files are all there (one missing any process's is
    /// skipped with a warning), preferring a manifest of `processes` processes at the same
    /// time.
    pub(crate) fn newest_complete(&self, processes: usize) -> Result<Option<Manifest>, CheckpointError> {
        let mut all = self.manifests()?;
        all.sort_by_key(|m| (std::cmp::Reverse(m.time), m.processes != processes));
        for m in all {
            if self.complete(m.processes, m.time)? {
                return Ok(Some(m));
            }
            tracing::warn!(
                dir = %self.url,
                checkpoint = %m.time,
                processes = m.processes,
                "skipping the checkpoint of batch {}: some process's file is missing",
                m.time
            );
        }
        Ok(None)
    }

    /// Writes the manifest of the checkpoints after batch `t` of a run of `processes`
    /// (temporary name, then renamed into place), then deletes all but the newest [`KEEP`].
    pub(crate) fn write_manifest(&self, t: Time, processes: usize, plan: &Fingerprint) -> Result<(), CheckpointError> {
        let m = Manifest {
            time: t,
            processes,
            plan: plan.clone(),
            files: (0..processes).map(|p| Self::file_of(p, processes, t)).collect(),
            key_groups: (0..processes)
                .map(|p| {
                    let g = crate::shuffle::groups_of(p, processes);
                    [g.start, g.end]
                })
                .collect(),
        };
        let dir = fs::join(&self.dir, MANIFESTS);
        self.fs.mkdirs(&dir).map_err(self.io())?;
        let name = format!("{MANIFEST}{}-of-{processes}", t.as_millis());
        let (path, tmp) = (fs::join(&dir, &name), fs::join(&dir, &format!(".{name}.tmp")));
        let text = serde_json::to_vec_pretty(&m)
            .map_err(|source| CheckpointError::LogEntry { dir: self.url.clone(), source })?;
        self.fs.write(&tmp, &text).map_err(self.io())?;
        if self.fs.status(&path).map_err(self.io())?.is_some() {
            self.fs.delete(&path, false).map_err(self.io())?;
        }
        self.fs.rename(&tmp, &path).map_err(self.io())?;
        let mut names: Vec<(Time, String)> = self
            .fs
            .list(&dir)
            .map_err(self.io())?
            .into_iter()
            .filter_map(|f| {
                let ms = f.name.strip_prefix(MANIFEST)?.split('-').next()?.parse().ok()?;
                Some((Time::from_millis(ms), f.path))
            })
            .collect();
        names.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        for (_, old) in names.iter().skip(KEEP) {
            self.fs.delete(old, false).map_err(self.io())?;
        }
        Ok(())
    }
}

/// Process 0's manifest writer: told of each checkpoint the cluster takes, it waits until
/// every process's file of it is there (each process renames its file into place once it is
/// whole: that is its acknowledgement), then writes the manifest.
#[derive(Debug)]
pub(crate) struct ManifestWriter {
    shared: Arc<(Mutex<Pending>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Pending {
    times: BTreeSet<Time>,
    stop: bool,
}

/// How often the writer looks for the processes' files while a checkpoint is pending.
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

impl ManifestWriter {
    /// Starts the writer for a run of `processes` of the job `plan` on `layout`.
    pub(crate) fn start(layout: Layout, processes: usize, plan: Fingerprint) -> std::io::Result<ManifestWriter> {
        let shared: Arc<(Mutex<Pending>, Condvar)> = Arc::default();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("sluice-manifests".into()).spawn(move || {
            let (pending, changed) = &*theirs;
            let mut failures = 0u32;
            loop {
                let newest = {
                    let mut p = pending.lock();
                    while p.times.is_empty() && !p.stop {
                        changed.wait(&mut p);
                    }
                    match (p.stop, p.times.last()) {
                        (false, Some(t)) => *t,
                        _ => return,
                    }
                };
                let done = layout.complete(processes, newest).and_then(|complete| {
                    if complete {
                        layout.write_manifest(newest, processes, &plan)?;
                    }
                    Ok(complete)
                });
                let mut p = pending.lock();
                match done {
                    // A newer checkpoint replaces the older ones still pending.
                    Ok(true) => {
                        p.times.retain(|t| *t > newest);
                        changed.notify_all();
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        failures += 1;
                        if failures.is_power_of_two() {
                            tracing::warn!(checkpoint = %newest, failures, "cannot write the cluster's manifest: {e}");
                        }
                    }
                }
                if !p.stop {
                    changed.wait_for(&mut p, POLL);
                }
            }
        })?;
        Ok(ManifestWriter { shared, thread: Some(thread) })
    }

    /// The cluster checkpoints after batch `t`: a manifest follows once every process's file
    /// is there.
    pub(crate) fn expect(&self, t: Time) {
        let (pending, changed) = &*self.shared;
        let mut p = pending.lock();
        p.times.insert(t);
        // Checkpoints that never complete (a process skipped one) do not pile up.
        while p.times.len() > KEEP {
            p.times.pop_first();
        }
        changed.notify_all();
    }

    /// Waits at most `wait` for the pending manifests (the last checkpoint of a graceful
    /// stop), then stops the writer.
    pub(crate) fn finish(&mut self, wait: std::time::Duration) {
        let (pending, changed) = &*self.shared;
        {
            let deadline = std::time::Instant::now() + wait;
            let mut p = pending.lock();
            while !p.times.is_empty() && std::time::Instant::now() < deadline {
                changed.wait_until(&mut p, deadline);
            }
            p.stop = true;
            p.times.clear();
            changed.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ManifestWriter {
    fn drop(&mut self) {
        self.finish(std::time::Duration::ZERO);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_directories_split_back() {
        let dir = process_dir("hdfs://nn:9000/ckpt/", 1, 3);
        assert_eq!(dir, "hdfs://nn:9000/ckpt/process-1-of-3");
        assert_eq!(split_process_dir(&dir), Some(("hdfs://nn:9000/ckpt", 1, 3)));
        assert_eq!(split_process_dir("/tmp/ckpt"), None);
        assert_eq!(split_process_dir("/tmp/process-3-of-3"), None);
    }

    fn write_checkpoint(base: &std::path::Path, p: usize, n: usize, t: i64) {
        let dir = base.join(format!("process-{p}-of-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("checkpoint-{t}")), b"x").unwrap();
    }

    #[test]
    fn the_writer_waits_for_every_process_and_recovery_takes_the_newest_complete_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::open(dir.path().to_str().unwrap()).unwrap();
        let plan =
            Fingerprint { batch: crate::Duration::seconds(1), inputs: vec![], stateful: vec![], outputs: vec![] };
        let mut writer = ManifestWriter::start(layout.clone(), 2, plan.clone()).unwrap();
        write_checkpoint(dir.path(), 0, 2, 1000);
        writer.expect(Time::from_millis(1000));
        // Process 1's file is not there yet: no manifest.
        assert!(layout.manifests().unwrap().is_empty());
        write_checkpoint(dir.path(), 1, 2, 1000);
        writer.finish(std::time::Duration::from_secs(20));
        let m = layout.newest_complete(2).unwrap().unwrap();
        assert_eq!((m.time, m.processes), (Time::from_millis(1000), 2));
        assert_eq!(m.files, ["process-0-of-2/checkpoint-1000", "process-1-of-2/checkpoint-1000"]);
        assert_eq!(m.key_groups, [[0, 128], [128, 256]]);
        // A newer manifest missing a process's file is skipped.
        layout.write_manifest(Time::from_millis(2000), 2, &plan).unwrap();
        assert_eq!(layout.newest_complete(2).unwrap().unwrap().time, Time::from_millis(1000));
        // At the same time, the manifest of this run's process count wins.
        write_checkpoint(dir.path(), 0, 1, 1000);
        layout.write_manifest(Time::from_millis(1000), 1, &plan).unwrap();
        assert_eq!(layout.newest_complete(1).unwrap().unwrap().processes, 1);
        assert_eq!(layout.newest_complete(2).unwrap().unwrap().processes, 2);
    }
}
