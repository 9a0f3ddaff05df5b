//! Where checkpoints live: `checkpoint-<ms>` files (written to a temporary name, then
//! renamed; the newest few kept), the batch log `batches/batch-<ms>` (what each batch holds,
//! written before the batch runs) and receivers' write-ahead logs `received/<stream>/log-<ms>`.

use std::sync::Arc;

use super::frames;
use super::CheckpointError;
use crate::fs::{self, FileSystem, FsError};
use crate::time::Time;

/// How many checkpoint files are kept (as Spark).
pub(crate) const KEEP: usize = 10;

const PREFIX: &str = "checkpoint-";
const BATCHES: &str = "batches";
const RECEIVED: &str = "received";

/// A checkpoint directory on a local or HDFS filesystem.
#[derive(Debug)]
pub(crate) struct CheckpointStore {
    fs: Arc<dyn FileSystem>,
    dir: String,
    url: String,
}

fn err(url: &str) -> impl Fn(FsError) -> CheckpointError + '_ {
    move |source| CheckpointError::Io { dir: url.to_string(), source }
}

/// The time in a name `<prefix><ms>`.
fn time_of(name: &str, prefix: &str) -> Option<Time> {
    name.strip_prefix(prefix)?.parse().ok().map(Time::from_millis)
}

impl CheckpointStore {
    /// The directory at `url`, created if missing.
    pub(crate) fn open(url: &str) -> Result<CheckpointStore, CheckpointError> {
        let (fs, dir) = fs::resolve(url).map_err(err(url))?;
        fs.mkdirs(&dir).map_err(err(url))?;
        Ok(CheckpointStore { fs, dir, url: url.to_string() })
    }

    /// The directory's URL, as the job was given it.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The filesystem the directory is on.
    pub(crate) fn fs(&self) -> &dyn FileSystem {
        self.fs.as_ref()
    }

    /// The path of `name` in the directory.
    pub(crate) fn path_of(&self, name: &str) -> String {
        fs::join(&self.dir, name)
    }

    /// Writes the checkpoint of time `t` (`file` as made by [`frames::seal_frames`], written
    /// piece by piece) under a temporary name, renames it into place (replacing one of the same time), then deletes
    /// all but the newest [`KEEP`] checkpoints and the batch logs and write-ahead logs no
    /// kept checkpoint needs.
    pub(crate) fn write_checkpoint(&self, t: Time, file: &frames::SealedFile) -> Result<(), CheckpointError> {
        let name = format!("{PREFIX}{}", t.as_millis());
        let path = fs::join(&self.dir, &name);
        let tmp = fs::join(&self.dir, &format!(".{name}.tmp"));
        let e = err(&self.url);
        self.fs.write_pieces(&tmp, &file.pieces()).map_err(&e)?;
        if self.fs.status(&path).map_err(&e)?.is_some() {
            self.fs.delete(&path, false).map_err(&e)?;
        }
        self.fs.rename(&tmp, &path).map_err(&e)?;
        let all = self.checkpoints()?;
        for (_, old) in all.iter().skip(KEEP) {
            self.fs.delete(old, false).map_err(&e)?;
        }
        if let Some((oldest, _)) = all.get(all.len().min(KEEP).saturating_sub(1)) {
            self.clean_logs(*oldest)?;
        }
        Ok(())
    }

    /// The checkpoint files, newest first.
    pub(crate) fn checkpoints(&self) -> Result<Vec<(Time, String)>, CheckpointError> {
        let mut found: Vec<(Time, String)> = self
            .fs
            .list(&self.dir)
            .map_err(err(&self.url))?
            .into_iter()
            .filter(|f| !f.is_dir)
            .filter_map(|f| Some((time_of(&f.name, PREFIX)?, f.path)))
            .collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.0));
        Ok(found)
    }

    /// The payload of the newest checkpoint that is whole, or `None` when there is none.
    /// Damaged ones are skipped with a warning; if every one is damaged, that is an error.
    pub(crate) fn read_newest(&self) -> Result<Option<(Time, Vec<u8>)>, CheckpointError> {
        let all = self.checkpoints()?;
        let mut last_problem = None;
        for (t, path) in &all {
            let problem = match self.fs.read(path) {
                Ok(bytes) => match frames::open(path, &bytes) {
                    Ok(payload) => return Ok(Some((*t, payload.to_vec()))),
                    Err(e) => e,
                },
                Err(source) => CheckpointError::Io { dir: self.url.clone(), source },
            };
            tracing::warn!(dir = %self.url, "skipping checkpoint {path}: {problem}; trying an older one");
            last_problem = Some(problem);
        }
        match last_problem {
            None => Ok(None),
            Some(e) => Err(CheckpointError::NoValidCheckpoint { dir: self.url.clone(), cause: Box::new(e) }),
        }
    }

    /// The payload of the checkpoint after batch `t`, if there is one and it is whole.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn read_at(&self, t: Time) -> Result<Option<Vec<u8>>, CheckpointError> {
        let Some((_, path)) = self.checkpoints()?.into_iter().find(|(time, _)| *time == t) else {
            return Ok(None);
        };
        let bytes = self.fs.read(&path).map_err(err(&self.url))?;
        Ok(Some(frames::open(&path, &bytes)?.to_vec()))
    }

    /// Records what batch `t` holds, before it runs.
    pub(crate) fn log_batch(&self, t: Time, entry: &serde_json::Value) -> Result<(), CheckpointError> {
        let path = fs::join(&fs::join(&self.dir, BATCHES), &format!("batch-{}", t.as_millis()));
        let text =
            serde_json::to_vec(entry).map_err(|source| CheckpointError::LogEntry { dir: self.url.clone(), source })?;
        self.write_creating(&path, &text)
    }

    /// Writes file `path`, creating its directory when missing.
    fn write_creating(&self, path: &str, data: &[u8]) -> Result<(), CheckpointError> {
        let e = err(&self.url);
        match self.fs.write(path, data) {
            Err(FsError::NotFound { .. }) => {
                self.fs.mkdirs(fs::split_parent(path).0).map_err(&e)?;
                self.fs.write(path, data).map_err(&e)
            }
            r => r.map_err(&e),
        }
    }

    /// Every logged batch after `after`, in time order. An entry that cannot be parsed (torn
    /// by a crash while it was written, so its batch never ran) is skipped.
    pub(crate) fn logged_batches(&self, after: Time) -> Result<Vec<(Time, serde_json::Value)>, CheckpointError> {
        let dir = fs::join(&self.dir, BATCHES);
        let listing = match self.fs.list(&dir) {
            Ok(l) => l,
            Err(FsError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(err(&self.url)(e)),
        };
        let mut out = Vec::new();
        for f in listing {
            let Some(t) = time_of(&f.name, "batch-").filter(|t| *t > after) else { continue };
            let bytes = self.fs.read(&f.path).map_err(err(&self.url))?;
            match serde_json::from_slice(&bytes) {
                Ok(v) => out.push((t, v)),
                Err(e) => tracing::warn!(dir = %self.url, "skipping torn batch log {}: {e}", f.path),
            }
        }
        out.sort_by_key(|(t, _)| *t);
        Ok(out)
    }

    /// Checks that no batch log next to the checkpoint `meta` is missing, given the batches
    /// logged after it: the log of every batch after the oldest checkpoint is kept, and each
    /// log names the batch logged before it in the same run. Returns what is missing.
    pub(crate) fn check_batch_log(
        &self,
        meta: &super::Meta,
        logged: &[(Time, serde_json::Value)],
    ) -> Result<(), String> {
        let c = meta.time;
        if c == meta.zero || !meta.logs_batches {
            return Ok(());
        }
        let batches = fs::join(&self.dir, BATCHES);
        let log_of = |t: Time| fs::join(&batches, &format!("batch-{}", t.as_millis()));
        let oldest = self.checkpoints().map_err(|e| e.to_string())?.last().map(|(t, _)| *t);
        let exists = |t: Time| self.fs.status(&log_of(t)).map(|s| s.is_some()).map_err(|e| e.to_string());
        if oldest.is_some_and(|o| o < c) && !exists(c)? {
            return Err(format!("the batch log of batch {c}, which the checkpoint covers, is missing ({})", log_of(c)));
        }
        for (t, entry) in logged {
            let Some(prev) = entry.get("prev").and_then(|p| serde_json::from_value::<Time>(p.clone()).ok()) else {
                continue;
            };
            if prev > c && !logged.iter().any(|(l, _)| *l == prev) {
                return Err(format!(
                    "the batch log of batch {prev}, which ran before batch {t}, is missing ({})",
                    log_of(prev)
                ));
            }
        }
        Ok(())
    }

    /// The write-ahead log file of receiver `stream` for batch `t`.
    pub(crate) fn wal_path(&self, stream: &str, t: Time) -> String {
        fs::join(&fs::join(&fs::join(&self.dir, RECEIVED), stream), &format!("log-{}", t.as_millis()))
    }

    /// Writes a write-ahead log file.
    pub(crate) fn write_wal(&self, path: &str, data: &[u8]) -> Result<(), CheckpointError> {
        self.write_creating(path, data)
    }

    /// Reads a write-ahead log file.
    pub(crate) fn read_wal(&self, path: &str) -> Result<Vec<u8>, CheckpointError> {
        self.fs.read(path).map_err(err(&self.url))
    }

    /// Deletes batch logs and write-ahead logs of batches at or before `upto`.
    fn clean_logs(&self, upto: Time) -> Result<(), CheckpointError> {
        let mut dirs = vec![fs::join(&self.dir, BATCHES)];
        if let Ok(streams) = self.fs.list(&fs::join(&self.dir, RECEIVED)) {
            dirs.extend(streams.into_iter().filter(|s| s.is_dir).map(|s| s.path));
        }
        for dir in dirs {
            let Ok(listing) = self.fs.list(&dir) else { continue };
            for f in listing {
                let t = time_of(&f.name, "batch-").or_else(|| time_of(&f.name, "log-"));
                if t.is_some_and(|t| t <= upto) {
                    self.fs.delete(&f.path, false).map_err(err(&self.url))?;
                }
            }
        }
        Ok(())
    }
}

/// The number of processes whose checkpoint directories (`process-I-of-N`) are in the
/// checkpoint directory at `url`, if any (a cluster's checkpoints); reads only, so a missing
/// directory is `None` and stays missing.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn cluster_size(url: &str) -> Result<Option<usize>, CheckpointError> {
    let (fs, dir) = fs::resolve(url).map_err(err(url))?;
    let entries = match fs.list(&dir) {
        Ok(entries) => entries,
        Err(FsError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(err(url)(e)),
    };
    Ok(entries
        .into_iter()
        .filter(|f| f.is_dir)
        .find_map(|f| f.name.strip_prefix("process-")?.split_once("-of-")?.1.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_the_logs_they_need() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(&dir.path().to_string_lossy()).unwrap();
        for ms in 1..=12 {
            store.log_batch(Time::from_millis(ms * 1000), &serde_json::json!({ "n": ms })).unwrap();
            store
                .write_checkpoint(Time::from_millis(ms * 1000), &frames::SealedFile::whole(frames::seal(&[ms as u8])))
                .unwrap();
        }
        let kept: Vec<i64> = store.checkpoints().unwrap().iter().map(|(t, _)| t.as_millis()).collect();
        assert_eq!(kept, (3..=12).rev().map(|s| s * 1000).collect::<Vec<_>>());
        let logs: Vec<i64> =
            store.logged_batches(Time::from_millis(0)).unwrap().iter().map(|(t, _)| t.as_millis()).collect();
        assert_eq!(logs, (4..=12).map(|s| s * 1000).collect::<Vec<_>>());
        assert_eq!(store.read_newest().unwrap().unwrap(), (Time::from_millis(12000), vec![12]));
    }
}
