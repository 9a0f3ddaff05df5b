use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rayon::prelude::*;

use super::lines::{chunk_bounds, Decoder};
use super::{register, Allocated, Source};
use crate::batch::Batch;
use crate::checkpoint::RestoreError;
use crate::context::{Input, StreamingContext};
use crate::error::StreamingError;
#[cfg(feature = "hdfs")]
use crate::fs::hdfs::HdfsFs;
use crate::fs::{self, FileStatus, FileSystem, FsError};
use crate::metrics::{SourceCounters, SourceStats};
use crate::node::Env;
use crate::str::Str;
use crate::time::{Duration, Time};
use crate::DStream;

/// Files at least this large are split into several partitions.
const SPLIT_BYTES: usize = 1 << 20;

/// Without the `hdfs` feature no filesystem is HDFS.
#[cfg(not(feature = "hdfs"))]
type HdfsFs = std::convert::Infallible;

/// HDFS splits are at most this large (HDFS's default block size).
#[cfg(feature = "hdfs")]
const HDFS_MAX_SPLIT: u64 = 128 << 20;

/// Options of [`text_file_stream_with`](StreamingContext::text_file_stream_with).
#[derive(Clone)]
pub struct FileStreamOptions {
    /// Only files modified after the stream was created are read (Spark's `newFilesOnly`,
    /// default true).
    pub new_files_only: bool,
    /// How long selected files are remembered, and how old a file may be when it is first
    /// seen (Spark's `minRememberDuration`, default 60 s; rounded up to whole batches).
    pub min_remember: Duration,
    /// A filter on file names replacing the default one (which rejects names starting with
    /// `.`). Files named `*._COPYING_` (still being written by `hdfs dfs -put`) are always
    /// skipped.
    pub filter: Option<Arc<dyn Fn(&str) -> bool + Send + Sync>>,
}

impl Default for FileStreamOptions {
    fn default() -> Self {
        FileStreamOptions { new_files_only: true, min_remember: Duration::seconds(60), filter: None }
    }
}

impl std::fmt::Debug for FileStreamOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamOptions")
            .field("new_files_only", &self.new_files_only)
            .field("min_remember", &self.min_remember)
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

struct FileSource {
    url: String,
    target: Result<(Arc<dyn FileSystem>, String), FsError>,
    /// The same filesystem when it is HDFS, read in ranged splits.
    hdfs: Option<Arc<HdfsFs>>,
    options: FileStreamOptions,
    initial_threshold: Mutex<Time>,
    remember: Duration,
    recent: Mutex<BTreeMap<String, Time>>,
    /// The last batch time files were selected for.
    last: Mutex<Option<Time>>,
    /// After a recovery: the last batch the recovered job had. The first batch after it
    /// looks back from there, not from its own time, so files that arrived while the job was
    /// down for longer than the remember window are still new to it (Spark gets the same by
    /// generating a batch for every interval the job was down).
    resume: Mutex<Option<Time>>,
    /// Listings that failed since the last one that worked: the first is reported, the
    /// count when listing works again.
    failed_listings: Mutex<u64>,
    allocated: Allocated<Vec<FileStatus>>,
    limit: usize,
    counters: SourceCounters,
}

/// Whether `name` matches the glob `pattern` (`*` and `?`).
fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The directories matching `path`, whose components may hold `*` and `?` (Spark globs
/// directories, then lists each non-recursively).
fn expand_dirs(fs: &dyn FileSystem, path: &str) -> Result<Vec<String>, FsError> {
    if !path.contains(['*', '?']) {
        return Ok(vec![path.to_string()]);
    }
    let absolute = path.starts_with('/');
    let mut dirs = vec![if absolute { "/".to_string() } else { String::new() }];
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for d in &dirs {
            if comp.contains(['*', '?']) {
                let listing = fs.list(if d.is_empty() { "." } else { d })?;
                next.extend(
                    listing.into_iter().filter(|s| s.is_dir && glob_match(comp, &s.name)).map(|s| fs::join(d, &s.name)),
                );
            } else {
                next.push(fs::join(d, comp));
            }
        }
        dirs = next;
    }
    Ok(dirs)
}

impl FileSource {
    fn accepts(&self, name: &str) -> bool {
        if name.ends_with("._COPYING_") {
            return false;
        }
        match &self.options.filter {
            Some(f) => f(name),
            None => !name.starts_with('.'),
        }
    }

    /// The new files of batch `t` by Spark's rules (those of `FileInputDStream.findNewFiles`).
    fn select(&self, fs: &dyn FileSystem, dir: &str, t: Time) -> Result<Vec<FileStatus>, FsError> {
        let horizon = self.resume.lock().take().map_or(t, |r| r.min(t));
        *self.last.lock() = Some(t);
        let threshold = self.initial_threshold.lock().max(horizon - self.remember);
        let mut recent = self.recent.lock();
        recent.retain(|_, selected_at| *selected_at > horizon - self.remember);
        let mut chosen = Vec::new();
        for d in expand_dirs(fs, dir)? {
            for f in fs.list(&d)? {
                let fresh = f.modified > threshold && f.modified <= t;
                if !f.is_dir && fresh && self.accepts(&f.name) && !recent.contains_key(&f.path) {
                    recent.insert(f.path.clone(), t);
                    chosen.push(f);
                }
            }
        }
        Ok(chosen)
    }

    fn read(&self, fs: &dyn FileSystem, file: &FileStatus, parallelism: usize) -> Vec<Vec<Str>> {
        // Counted here and added once the whole file was read, so a failed read counts nothing.
        let counters = SourceCounters::default();
        let decoder = Decoder { source: &file.path, limit: self.limit, counters: &counters };
        let parts = match &self.hdfs {
            Some(hdfs) => read_splits(hdfs, &file.path, parallelism, &decoder),
            None => fs.read(&file.path).map(|bytes| {
                let pieces = if bytes.len() >= SPLIT_BYTES { 2 * parallelism } else { 1 };
                chunk_bounds(&bytes, pieces)
                    .into_par_iter()
                    .map(|(s, e)| decoder.lines(&bytes[s..e], s as u64))
                    .collect()
            }),
        };
        match parts {
            Ok(parts) => {
                let c = counters.snapshot();
                self.counters.lines.add(c.lines);
                self.counters.invalid_utf8_lines.add(c.invalid_utf8_lines);
                self.counters.oversized_lines.add(c.oversized_lines);
                parts
            }
            Err(e @ FsError::Remote { .. }) => {
                // The filesystem could not be reached (e.g. the namenode restarts): forget the
                // file so the next listing that works selects it again, while it is recent.
                tracing::warn!(source = %self.url, "cannot read {}: {e}; retried with a later batch", file.path);
                self.counters.errors.add(1);
                self.recent.lock().remove(&file.path);
                Vec::new()
            }
            Err(e) => {
                tracing::warn!(source = %self.url, "cannot read {}: {e}; skipped", file.path);
                self.counters.errors.add(1);
                Vec::new()
            }
        }
    }
}

/// Reads an HDFS file as line splits in parallel: ranged reads of about equal size (at least
/// one per block, `2 * parallelism` for files of [`SPLIT_BYTES`] or more), each line read by
/// the split holding its first byte.
#[cfg(feature = "hdfs")]
fn read_splits(hdfs: &HdfsFs, path: &str, parallelism: usize, decoder: &Decoder<'_>) -> Result<Vec<Vec<Str>>, FsError> {
    let file = hdfs.open(path)?;
    let pieces = if file.len() >= SPLIT_BYTES as u64 { 2 * parallelism } else { 1 };
    let pieces = pieces.max(file.len().div_ceil(HDFS_MAX_SPLIT) as usize);
    fs::hdfs::split_bounds(file.len(), pieces)
        .into_par_iter()
        .map(|(s, e)| file.read_split(s, e).map(|split| decoder.lines(split.bytes(), split.offset)))
        .collect()
}

#[cfg(not(feature = "hdfs"))]
fn read_splits(hdfs: &HdfsFs, _: &str, _: usize, _: &Decoder<'_>) -> Result<Vec<Vec<Str>>, FsError> {
    match *hdfs {}
}

/// The HDFS client of `dir`, when it is an `hdfs://` URL.
#[cfg(feature = "hdfs")]
fn hdfs_of(dir: &str) -> Option<Arc<HdfsFs>> {
    fs::hdfs::split_url(dir).and_then(|(authority, _)| HdfsFs::connect(authority).ok())
}

#[cfg(not(feature = "hdfs"))]
fn hdfs_of(_: &str) -> Option<Arc<HdfsFs>> {
    None
}

impl Input for FileSource {
    fn name(&self) -> String {
        format!("text_file_stream({})", self.url)
    }

    fn allocate(&self, t: Time) -> u64 {
        let (fs, dir) = match &self.target {
            Ok(target) => target,
            Err(e) => {
                self.counters.errors.add(1);
                tracing::warn!(source = %self.url, "{e}");
                return 0;
            }
        };
        let files = match self.select(fs.as_ref(), dir, t) {
            Ok(files) => {
                let mut failed = self.failed_listings.lock();
                if *failed > 0 {
                    tracing::warn!(source = %self.url, "the directory can be listed again, after {failed} failed listings");
                    *failed = 0;
                }
                files
            }
            Err(e) => {
                self.counters.errors.add(1);
                let mut failed = self.failed_listings.lock();
                if *failed == 0 {
                    self.counters.outages.add(1);
                    tracing::warn!(source = %self.url, "cannot list the directory: {e}; batches stay empty until it can be listed");
                }
                *failed += 1;
                Vec::new()
            }
        };
        if !files.is_empty() {
            tracing::debug!(source = %self.url, time = %t, files = files.len(), "new files");
        }
        self.allocated.put(t, files);
        0
    }

    fn stats(&self) -> SourceStats {
        self.counters.snapshot()
    }

    fn allocation(&self, t: Time) -> Option<serde_json::Value> {
        serde_json::to_value(self.allocated.get(t).unwrap_or_default()).ok()
    }

    fn reallocate(&self, t: Time, logged: &serde_json::Value) -> Result<(), RestoreError> {
        let files: Vec<FileStatus> = RestoreError::json("the batch log's file list", logged)?;
        self.recent.lock().extend(files.iter().map(|f| (f.path.clone(), t)));
        *self.last.lock() = Some(t);
        let mut resume = self.resume.lock();
        *resume = Some(resume.map_or(t, |r| r.max(t)));
        self.allocated.put(t, files);
        Ok(())
    }

    /// The files selected within the remember window (never selected again), the stream's
    /// creation time (files older than it are not new) and the last batch time.
    fn position(&self) -> Option<serde_json::Value> {
        let recent = self.recent.lock();
        Some(
            serde_json::json!({ "threshold": *self.initial_threshold.lock(), "recent": *recent, "last": *self.last.lock() }),
        )
    }

    fn restore_position(&self, position: &serde_json::Value) -> Result<(), RestoreError> {
        #[derive(serde::Deserialize)]
        struct Position {
            threshold: Time,
            recent: BTreeMap<String, Time>,
            last: Option<Time>,
        }
        let p: Position = RestoreError::json("the checkpointed file position", position)?;
        *self.initial_threshold.lock() = p.threshold;
        *self.recent.lock() = p.recent;
        *self.last.lock() = p.last;
        *self.resume.lock() = p.last;
        Ok(())
    }
}

impl Source<Str> for FileSource {
    fn take(&self, t: Time, env: &Env) -> Option<Batch<Str>> {
        let files = self.allocated.take(t).unwrap_or_default();
        let Ok((fs, _)) = &self.target else {
            return Some(Batch::empty());
        };
        let parts: Vec<Vec<Str>> =
            files.par_iter().flat_map_iter(|f| self.read(fs.as_ref(), f, env.parallelism)).collect();
        Some(Batch::from_partitions(parts))
    }
}

impl StreamingContext {
    /// A stream of the lines of new files in directory `dir` (a local path, `file://` or
    /// `hdfs://` URL; components may hold `*` and `?` to match several directories), as
    /// Spark's `textFileStream`: files modified after the stream was created, picked up once,
    /// names starting with `.` ignored. Move or rename files into the directory so they appear
    /// whole. A missing directory gives a warning and empty batches until it appears.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// ssc.text_file_stream(&dir.path().to_string_lossy())
    ///     .flat_map(|line| line.split(' '))
    ///     .map(|word| (word, 1))
    ///     .reduce_by_key(|a, b| a + b)
    ///     .print();
    /// ```
    pub fn text_file_stream(&self, dir: &str) -> DStream<'_, Str> {
        self.text_file_stream_with(dir, FileStreamOptions::default())
    }

    /// As [`text_file_stream`](Self::text_file_stream), with options.
    pub fn text_file_stream_with(&self, dir: &str, options: FileStreamOptions) -> DStream<'_, Str> {
        let batch = self.batch_duration();
        let b = batch.as_millis().max(1);
        let remember_batches = (options.min_remember.as_millis().max(1) + b - 1) / b;
        let initial_threshold = if options.new_files_only { self.clock.now() } else { Time::from_millis(0) };
        let target = fs::resolve(dir);
        if let Err(e) = &target {
            self.record_error(StreamingError::InvalidConfig(format!("text_file_stream: {e}")));
        }
        let source = FileSource {
            url: dir.to_string(),
            target,
            hdfs: hdfs_of(dir),
            options,
            initial_threshold: Mutex::new(initial_threshold),
            remember: batch * remember_batches,
            recent: Mutex::new(BTreeMap::new()),
            last: Mutex::new(None),
            resume: Mutex::new(None),
            failed_listings: Mutex::new(0),
            allocated: Allocated::default(),
            limit: self.conf.max_line_bytes,
            counters: SourceCounters::default(),
        };
        register(self, source)
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_like_shells() {
        assert!(glob_match("sub*", "subdir"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(!glob_match("sub*", "xsub"));
        assert!(glob_match("*x*y", "axbxy"));
    }
}
