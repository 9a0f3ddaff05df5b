use std::sync::Arc;

use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::fs::{self, FileSystem, FsError};
use crate::node::Env;
use crate::show::Show;
use crate::shuffle::{all_gather, gather, Exchanges};
use crate::time::Time;
use crate::DStream;

/// The directory name of batch `t` (Spark's `rddToFileName`): `prefix-<ms>[.suffix]`.
pub(crate) fn batch_dir_name(prefix: &str, suffix: &str, t: Time) -> String {
    let mut name = if prefix.is_empty() { t.as_millis().to_string() } else { format!("{prefix}-{}", t.as_millis()) };
    if !suffix.is_empty() {
        name.push('.');
        name.push_str(suffix);
    }
    name
}

/// Writes one batch directory: part files and `_SUCCESS` under a temporary name, then one
/// rename, so a reader sees the whole batch or nothing. A directory already committed for the
/// same batch (a batch run again after recovery) is left as it is. When a write fails (disk
/// full, permission), the temporary directory is removed and the error returned.
pub(crate) fn commit_batch_dir<P: AsRef<[u8]>>(fs: &dyn FileSystem, dir: &str, parts: Vec<P>) -> Result<(), FsError> {
    if fs.status(dir)?.is_some() {
        tracing::debug!(dir, "batch output already committed");
        return Ok(());
    }
    let tmp = temporary(dir);
    let _ = fs.delete(&tmp, true);
    let written = write_parts(fs, &tmp, parts).and_then(|()| fs.rename(&tmp, dir));
    if written.is_err() {
        let _ = fs.delete(&tmp, true);
    }
    written
}

/// The part files and `_SUCCESS` of a batch in directory `tmp`.
fn write_parts<P: AsRef<[u8]>>(fs: &dyn FileSystem, tmp: &str, parts: Vec<P>) -> Result<(), FsError> {
    write_part_files(fs, tmp, 0, parts)?;
    fs.write(&fs::join(tmp, "_SUCCESS"), b"")
}

/// The part files of `parts` in directory `tmp`, numbered from `first`.
fn write_part_files<P: AsRef<[u8]>>(
    fs: &dyn FileSystem,
    tmp: &str,
    first: usize,
    parts: Vec<P>,
) -> Result<(), FsError> {
    fs.mkdirs(tmp)?;
    for (i, text) in parts.into_iter().enumerate() {
        fs.write(&fs::join(tmp, &format!("part-{:05}", first + i)), text.as_ref())?;
    }
    Ok(())
}

/// The temporary directory of batch directory `dir`.
fn temporary(dir: &str) -> String {
    let (parent, name) = fs::split_parent(dir);
    fs::join(parent, &format!("_temporary-{name}"))
}

/// Process 0's part of starting a batch directory in a cluster: `Ok(true)` when the batch is
/// committed already, else a fresh, empty temporary directory.
fn prepare(fs: &dyn FileSystem, dir: &str) -> Result<bool, FsError> {
    if fs.status(dir)?.is_some() {
        tracing::debug!(dir, "batch output already committed");
        return Ok(true);
    }
    let tmp = temporary(dir);
    let _ = fs.delete(&tmp, true);
    fs.mkdirs(&tmp)?;
    Ok(false)
}

/// [`commit_batch_dir`] for one process of a cluster: process 0 prepares the temporary
/// directory; every process writes its part files, numbered by global partition (the
/// partitions of the processes before it come first); once all have written, process 0
/// writes `_SUCCESS` and renames the directory in place. A failure anywhere leaves no
/// committed directory.
pub(crate) fn commit_cluster<P: AsRef<[u8]>>(
    fs: &dyn FileSystem,
    dir: &str,
    parts: Vec<P>,
    ex: &Exchanges,
    t: Time,
    env: &Env,
) -> Result<(), BatchError> {
    let me = env.peers.as_ref().map_or(0, |p| p.process());
    let prepared = if me == 0 { prepare(fs, dir) } else { Ok(false) };
    let status: Result<bool, String> = prepared.as_ref().map(|c| *c).map_err(ToString::to_string);
    let shared = all_gather((parts.len() as u64, status), ex, t, env)?;
    let first: u64 = shared.iter().take(me).map(|(n, _)| n).sum();
    let started = match &shared[0].1 {
        Ok(true) => Ok(false),
        Ok(false) => Ok(true),
        Err(message) => Err(message.clone()),
    };
    let tmp = temporary(dir);
    let go = matches!(started, Ok(true));
    let written = match started {
        Ok(true) => write_part_files(fs, &tmp, first as usize, parts).map_err(BatchError::from),
        Ok(false) => Ok(()),
        Err(message) => match prepared {
            Err(e) => Err(BatchError::from(e)),
            Ok(_) => Err(BatchError::OtherProcess { process: 0, message }),
        },
    };
    let report: Result<(), String> = written.as_ref().map(|_| ()).map_err(ToString::to_string);
    let Some(reports) = gather(report, ex, t, env)? else {
        return written;
    };
    if !go {
        return written;
    }
    if let Some((process, Err(message))) = reports.into_iter().enumerate().find(|(_, r)| r.is_err()) {
        let _ = fs.delete(&tmp, true);
        return written.and(Err(BatchError::OtherProcess { process, message }));
    }
    let committed = fs.write(&fs::join(&tmp, "_SUCCESS"), b"").and_then(|()| fs.rename(&tmp, dir));
    if committed.is_err() {
        let _ = fs.delete(&tmp, true);
    }
    Ok(committed?)
}

impl<'a, T: Data + Show, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Saves every batch as a directory `prefix-<ms>[.suffix]` of text part files (one record
    /// per line, in [`Show`] format) plus `_SUCCESS`, even for an empty batch. `prefix` may be
    /// a local path or an `hdfs://` URL.
    ///
    /// In a cluster, every process writes the part files of its partitions, numbered by global
    /// partition (process 0's first), and process 0 commits the batch directory once every
    /// process has written its parts; the prefix must then be on storage every process
    /// reaches (HDFS, or a local path when all processes run on one machine).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let prefix = dir.path().join("pre").to_string_lossy().into_owned();
    /// let p = prefix.clone();
    /// stream_runtime::testing::Harness::new(2).run(vec![vec![("a", 1)], vec![]], move |s| s.save_as_text_files(&p, "txt"));
    /// // Test input comes in two partitions; the record is in the second.
    /// let first = std::fs::read_to_string(format!("{prefix}-1000.txt/part-00001")).unwrap();
    /// assert_eq!(first, "(a,1)\n");
    /// assert!(std::path::Path::new(&format!("{prefix}-2000.txt/_SUCCESS")).exists());
    /// ```
    pub fn save_as_text_files(self, prefix: &str, suffix: &str) {
        let name = format!("save_as_text_files({prefix})");
        let target = fs::resolve(prefix).map_err(Arc::new);
        if let Err(e) = &target {
            self.context().record_error(crate::StreamingError::refused("save_as_text_files", Arc::clone(e)));
        }
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        let ex = Exchanges::new(self.context());
        self.output_env(name, move |batch, t, env| {
            let (fs, path): &(Arc<dyn FileSystem>, String) = target
                .as_ref()
                .map_err(|e| BatchError::Location { location: prefix.clone(), source: Arc::clone(e) })?;
            let dir = batch_dir_name(path, &suffix, t);
            let parts = batch
                .into_partitions()
                .into_iter()
                .map(|p| {
                    let mut s = String::new();
                    for r in &p {
                        let _ = r.fmt_show(&mut s);
                        s.push('\n');
                    }
                    s
                })
                .collect();
            if env.peers.is_some() {
                return commit_cluster(fs.as_ref(), &dir, parts, &ex, t, env);
            }
            Ok(commit_batch_dir(fs.as_ref(), &dir, parts)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_spark() {
        assert_eq!(batch_dir_name("pre", "txt", Time::from_millis(1000)), "pre-1000.txt");
        assert_eq!(batch_dir_name("nosuffix", "", Time::from_millis(1000)), "nosuffix-1000");
        assert_eq!(batch_dir_name("", "", Time::from_millis(5)), "5");
    }
}
