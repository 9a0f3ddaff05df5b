use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use rayon::prelude::*;

use super::lines::Decoder;
use super::{register, Allocated, Source};
use crate::batch::Batch;
use crate::checkpoint::RestoreError;
use crate::context::{Input, StreamingContext};
use crate::error::{BatchError, StreamingError};
#[cfg(feature = "hdfs")]
use crate::fs::hdfs::HdfsFs;
use crate::fs::{self, FileStatus, FileSystem, FsError};
use crate::metrics::{InputDetail, InputStatus, SourceCounters, SourceStats};
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
const HDFS_MAX_SPLIT: u64 = 128 << 20;

/// An HDFS split is read in chunks of about this many bytes, the next chunks' reads running on
/// the I/O threads while the worker decodes the current one (see [`read_ahead`]).
const READ_AHEAD_CHUNK: u64 = 4 << 20;

/// How many chunks' reads run ahead of the one a worker decodes (see [`read_ahead`]): with
/// one, the I/O threads idle whenever both workers of a 2-core machine wait for their next
/// chunk at once; two keep them busy.
const READ_AHEAD_DEPTH: usize = 2;

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
    /// At most this many bytes of files are read into one batch (default 64 MiB, at least
    /// 1): a larger file, or more new files, are read over several batches, in pieces of whole
    /// lines, so a batch's memory is bounded by this setting and not by the largest file.
    pub max_bytes_per_batch: u64,
}

impl Default for FileStreamOptions {
    fn default() -> Self {
        FileStreamOptions {
            new_files_only: true,
            min_remember: Duration::seconds(60),
            filter: None,
            max_bytes_per_batch: 64 << 20,
        }
    }
}

impl std::fmt::Debug for FileStreamOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStreamOptions")
            .field("new_files_only", &self.new_files_only)
            .field("min_remember", &self.min_remember)
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .field("max_bytes_per_batch", &self.max_bytes_per_batch)
            .finish()
    }
}

pub(crate) struct FileSource {
    /// The method that made the stream, as the plan names its input.
    kind: &'static str,
    url: String,
    target: Result<(Arc<dyn FileSystem>, String), Arc<FsError>>,
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
    /// What is selected and not yet allocated to a batch: new files, the rest of files
    /// larger than a batch takes, and pieces whose read failed (retried first).
    queued: Mutex<VecDeque<Piece>>,
    /// Pieces read, by the batch that read them: a piece retried after a failure is in
    /// several logged batches, and a recovery re-running them reads it once.
    done: Mutex<HashMap<(String, u64), Time>>,
    /// Failed reads so far, by file, for reports at a slowing rate.
    failing: Mutex<HashMap<String, u32>>,
    /// Length and modification time of the recent files when they were selected (or last
    /// reported changed): a file that changes after it was selected is reported.
    seen: Mutex<HashMap<String, (u64, Time)>>,
    allocated: Allocated<Vec<Piece>>,
    limit: usize,
    counters: SourceCounters,
}

/// A piece of a selected file that one batch reads: the lines whose first byte lies in
/// `start..end`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Piece {
    pub(super) file: FileStatus,
    pub(super) start: u64,
    pub(super) end: u64,
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
        self.seen.lock().retain(|path, _| recent.contains_key(path));
        let mut chosen = Vec::new();
        for d in expand_dirs(fs, dir)? {
            for f in fs.list(&d)? {
                let fresh = f.modified > threshold && f.modified <= t;
                if recent.contains_key(&f.path) {
                    self.note_status(&f);
                } else if !f.is_dir && fresh && self.accepts(&f.name) {
                    recent.insert(f.path.clone(), t);
                    self.seen.lock().insert(f.path.clone(), (f.len, f.modified));
                    chosen.push(f);
                }
            }
        }
        Ok(chosen)
    }

    /// Queues the new files, then cuts batch `t`'s pieces from the front of the queue: at
    /// most `max_bytes_per_batch` bytes (at least one byte).
    fn cut(&self, new: Vec<FileStatus>) -> Vec<Piece> {
        let mut queued = self.queued.lock();
        queued.extend(new.into_iter().map(|file| Piece { start: 0, end: file.len, file }));
        let mut budget = self.options.max_bytes_per_batch.max(1);
        let mut out = Vec::new();
        while let Some(front) = queued.front_mut() {
            let size = front.end - front.start;
            if size > budget {
                if budget > 0 {
                    out.push(Piece { file: front.file.clone(), start: front.start, end: front.start + budget });
                    front.start += budget;
                }
                break;
            }
            budget -= size;
            out.extend(queued.pop_front());
        }
        out
    }

    /// Reads the lines of a piece of batch `t` in `splits` parallel splits (see
    /// [`read_with`](Self::read_with)).
    fn read(&self, fs: &dyn FileSystem, piece: &Piece, t: Time, splits: usize) -> Vec<Vec<Str>> {
        self.read_with(fs, piece, t, |fs, piece| {
            // Counted here and added once the whole piece was read, so a failed read counts nothing.
            let counters = SourceCounters::default();
            let decoder = Decoder { source: &piece.file.path, limit: self.limit, counters: &counters };
            let parts = self.read_piece(fs, piece, splits, &decoder)?;
            let c = counters.snapshot();
            self.counters.lines.add(c.lines);
            self.counters.invalid_utf8_lines.add(c.invalid_utf8_lines);
            self.counters.oversized_lines.add(c.oversized_lines);
            Ok(parts)
        })
        .unwrap_or_default()
    }

    /// Reads a piece of batch `t` with `read`, once: `None` when it was read by an earlier
    /// batch or could not be read. A file removed or not a regular file is skipped with a
    /// warning; any other failure puts the piece back in front of the queue, so later batches
    /// retry it until it is read or removed (reported at the 1st, 2nd, 4th, 8th... failure).
    pub(super) fn read_with<R>(
        &self,
        fs: &dyn FileSystem,
        piece: &Piece,
        t: Time,
        read: impl FnOnce(&dyn FileSystem, &Piece) -> Result<R, FsError>,
    ) -> Option<R> {
        let path = &piece.file.path;
        {
            let mut done = self.done.lock();
            done.retain(|_, read_at| *read_at > t - self.remember);
            if done.contains_key(&(path.clone(), piece.start)) {
                return None;
            }
        }
        let failures = || self.failing.lock().remove(path).unwrap_or(0);
        match read(fs, piece) {
            Ok(parts) => {
                self.done.lock().insert((path.clone(), piece.start), t);
                let failed = failures();
                if failed > 0 {
                    tracing::warn!(source = %self.url, "read {path} after {failed} failed attempts");
                }
                if piece.end == piece.file.len {
                    if let Ok(Some(now)) = fs.status(path) {
                        self.note_status(&now);
                    }
                }
                Some(parts)
            }
            Err(e @ (FsError::NotFound { .. } | FsError::NotAFile { .. })) => {
                failures();
                tracing::warn!(source = %self.url, "{e}; skipped");
                self.counters.error(&e);
                None
            }
            Err(e) => {
                let attempts = {
                    let mut failing = self.failing.lock();
                    let n = failing.entry(path.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                if attempts.is_power_of_two() {
                    tracing::warn!(
                        source = %self.url,
                        attempts,
                        "cannot read {path}: {e}; retried with later batches until it is read or removed"
                    );
                }
                self.counters.error(&format_args!("cannot read {path}: {e}"));
                self.queued.lock().push_front(piece.clone());
                None
            }
        }
    }

    /// The lines of a piece, in parallel splits: `splits` of them for pieces of
    /// [`SPLIT_BYTES`] or more (see [`splits_of`]), HDFS splits of at most [`HDFS_MAX_SPLIT`];
    /// each line read by the split holding its first byte, and no line read further than the
    /// line limit.
    fn read_piece(
        &self,
        fs: &dyn FileSystem,
        piece: &Piece,
        splits: usize,
        decoder: &Decoder<'_>,
    ) -> Result<Vec<Vec<Str>>, FsError> {
        let size = piece.end - piece.start;
        let mut splits = if size >= SPLIT_BYTES as u64 { splits.max(1) } else { 1 };
        let path = &piece.file.path;
        let hdfs_file = match &self.hdfs {
            Some(hdfs) => {
                splits = splits.max(size.div_ceil(HDFS_MAX_SPLIT) as usize);
                Some(hdfs_reader(hdfs, path)?)
            }
            None => None,
        };
        let read_into = |offset: u64, len: u64, into: &mut fs::ReadBuf| match &hdfs_file {
            Some(file) => (file.read_into)(offset, len, into),
            None => fs.read_range_into(path, offset, len, into),
        };
        if size == 0 {
            // Nothing to read, but a file that cannot be (a FIFO...) is still reported.
            return read_into(0, 0, &mut fs::ReadBuf::default()).map(|()| Vec::new());
        }
        // A line cut this far past its split is longer than the limit, and dropped.
        let max_tail = self.limit as u64 + 2;
        fs::split_bounds(size, splits)
            .into_par_iter()
            .map(|(s, e)| {
                let (start, end, len) = (piece.start + s, piece.start + e, piece.file.len);
                match &hdfs_file {
                    Some(file) => {
                        read_ahead(file, len, start..end, max_tail, (READ_AHEAD_CHUNK, READ_AHEAD_DEPTH), decoder)
                    }
                    None => Ok(decoder.lines_of_split(fs::read_split(len, start, end, max_tail, read_into)?)),
                }
            })
            .collect()
    }

    /// Warns (once per change) when selected file `now` changed since it was selected: what
    /// was added is never read. Files must be moved or renamed into the directory whole, as
    /// in Spark.
    fn note_status(&self, now: &FileStatus) {
        let mut seen = self.seen.lock();
        let Some(was) = seen.get_mut(&now.path) else { return };
        if *was != (now.len, now.modified) {
            self.counters.changed_files.add(1);
            tracing::warn!(
                source = %self.url,
                "{} changed after it was selected ({} bytes then, {} now): what changed is not read; move or rename files into the directory whole",
                now.path,
                was.0,
                now.len
            );
            *was = (now.len, now.modified);
        }
    }
}

/// Ranged reads of HDFS file `path`, through one open file (one namenode call for its block
/// locations).
#[cfg(feature = "hdfs")]
fn hdfs_reader(hdfs: &HdfsFs, path: &str) -> Result<RangeReader, FsError> {
    let file = Arc::new(hdfs.open(path)?);
    let ahead = Arc::clone(&file);
    Ok(RangeReader {
        read_into: Box::new(move |offset, len, into| file.read_range_into(offset, len, into)),
        start: Box::new(move |offset, len| {
            let read = ahead.start_read(offset, len);
            Box::new(move || read.wait())
        }),
    })
}

#[cfg(not(feature = "hdfs"))]
fn hdfs_reader(hdfs: &HdfsFs, _: &str) -> Result<RangeReader, FsError> {
    match *hdfs {}
}

/// Ranged reads of one file.
struct RangeReader {
    /// Appends `len` bytes from an offset to a buffer.
    read_into: Box<dyn Fn(u64, u64, &mut fs::ReadBuf) -> Result<(), FsError> + Send + Sync>,
    /// Starts reading `len` bytes from an offset into a new buffer; the read runs while the
    /// caller works, and the function returned waits for its bytes.
    start: Box<dyn Fn(u64, u64) -> Started + Send + Sync>,
}

/// A read started by [`RangeReader::start`]: called, it waits for the read's bytes.
type Started = Box<dyn FnOnce() -> Result<fs::ReadBuf, FsError> + Send>;

/// The lines of split `split` of a file of `len` bytes (those whose first byte lies in it),
/// read through `file` in line splits of about `chunk` bytes tiling it, the first reads of the
/// `depth` chunks after the current one started before the current one is decoded: the worker
/// decodes while the next bytes arrive. Line splits that tile a range read each of its lines
/// once, in order, so the lines are those [`fs::read_split`] of the whole split gives.
fn read_ahead(
    file: &RangeReader,
    len: u64,
    split: std::ops::Range<u64>,
    max_tail: u64,
    (chunk, depth): (u64, usize),
    decoder: &Decoder<'_>,
) -> Result<Vec<Str>, FsError> {
    let size = split.end.saturating_sub(split.start);
    let chunks: Vec<(u64, u64)> = fs::split_bounds(size, size.div_ceil(chunk.max(1)) as usize)
        .into_iter()
        .map(|(s, e)| (split.start + s, split.start + e))
        .collect();
    let begin = |&(s, e): &(u64, u64)| fs::split_first_read(len, s, e, max_tail).map(|(from, n)| (file.start)(from, n));
    // The decoder reserves room for a line per 48 bytes of each chunk as it comes (see
    // `Decoder::cut`); all of it at once here, so the vector is not grown, copied and faulted
    // in again chunk after chunk (the chunks' first reads look a little past their ends).
    let mut lines = Vec::with_capacity(usize::try_from(size / 48).unwrap_or(0) + 2 * chunks.len());
    let mut started: VecDeque<Option<Started>> = VecDeque::new();
    let mut next = 0;
    for &(s, e) in &chunks {
        while next < chunks.len() && started.len() <= depth {
            started.push_back(begin(&chunks[next]));
            next += 1;
        }
        if let Some(read) = started.pop_front().flatten() {
            let split = fs::finish_split(len, s, e, max_tail, read()?, &file.read_into)?;
            decoder.lines_of_split_into(split, &mut lines);
        }
    }
    Ok(lines)
}

/// How many splits each piece of a batch of pieces of `sizes` bytes is read in: about
/// `parallelism` splits in all, each piece its share by size (at least one). Each split is a
/// map partition, and each map partition builds its own combiner tables (a word count's
/// largest cost), which the reduce side then merges: more splits than worker threads would
/// only build and merge more of them. A worker reads its split's chunks one after another with
/// reads running ahead ([`read_ahead`]), so larger splits also keep the I/O threads busier.
fn splits_of(sizes: &[u64], parallelism: usize) -> Vec<usize> {
    let total: u128 = sizes.iter().map(|&s| u128::from(s)).sum::<u128>().max(1);
    let parallelism = parallelism.max(1) as u128;
    sizes.iter().map(|&s| (u128::from(s) * parallelism).div_ceil(total).max(1) as usize).collect()
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
        format!("{}({})", self.kind, self.url)
    }

    fn allocate(&self, t: Time) -> u64 {
        let (fs, dir) = match &self.target {
            Ok(target) => target,
            Err(e) => {
                self.counters.error(e);
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
                self.counters.error(&format_args!("cannot list the directory: {e}"));
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
        let pieces = self.cut(files);
        self.allocated.put(t, pieces);
        0
    }

    fn stats(&self) -> SourceStats {
        self.counters.snapshot()
    }

    /// The files of batch `t` and the bytes it reads of each.
    fn detail(&self, t: Time) -> InputDetail {
        self.allocated
            .with(t, |pieces| {
                InputDetail::Files(pieces.iter().map(|p| (p.file.path.clone(), p.end - p.start)).collect())
            })
            .unwrap_or_default()
    }

    fn status(&self) -> InputStatus {
        InputStatus { last_error: self.counters.last_error.get(), ..InputStatus::default() }
    }

    fn allocation(&self, t: Time) -> Option<serde_json::Value> {
        serde_json::to_value(self.allocated.get(t).unwrap_or_default()).ok()
    }

    fn read_by_every_process(&self) -> bool {
        true
    }

    fn reallocate(&self, t: Time, logged: &serde_json::Value) -> Result<(), RestoreError> {
        let pieces: Vec<Piece> = RestoreError::json("the batch log's file pieces", logged)?;
        self.recent.lock().extend(pieces.iter().map(|p| (p.file.path.clone(), t)));
        *self.last.lock() = Some(t);
        let mut resume = self.resume.lock();
        *resume = Some(resume.map_or(t, |r| r.max(t)));
        self.allocated.put(t, pieces);
        Ok(())
    }

    /// The files selected within the remember window (never selected again), the stream's
    /// creation time (files older than it are not new), the last batch time, and what is
    /// selected but not yet in a batch.
    fn position(&self) -> Option<serde_json::Value> {
        let recent = self.recent.lock();
        Some(serde_json::json!({
            "threshold": *self.initial_threshold.lock(),
            "recent": *recent,
            "last": *self.last.lock(),
            "queued": *self.queued.lock(),
        }))
    }

    fn restore_position(&self, position: &serde_json::Value) -> Result<(), RestoreError> {
        #[derive(serde::Deserialize)]
        struct Position {
            threshold: Time,
            recent: BTreeMap<String, Time>,
            last: Option<Time>,
            #[serde(default)]
            queued: VecDeque<Piece>,
        }
        let p: Position = RestoreError::json("the checkpointed file position", position)?;
        *self.initial_threshold.lock() = p.threshold;
        *self.recent.lock() = p.recent;
        *self.last.lock() = p.last;
        *self.resume.lock() = p.last;
        *self.queued.lock() = p.queued;
        Ok(())
    }
}

impl Source<Str> for FileSource {
    fn take(&self, t: Time, env: &Env) -> Result<Option<Batch<Str>>, BatchError> {
        let pieces = self.pieces_of(t, env);
        let Ok((fs, _)) = &self.target else {
            return Ok(Some(Batch::empty()));
        };
        let sizes: Vec<u64> = pieces.iter().map(|p| p.end - p.start).collect();
        let splits = splits_of(&sizes, env.parallelism);
        let parts: Vec<Vec<Str>> =
            pieces.par_iter().zip(splits).flat_map_iter(|(p, splits)| self.read(fs.as_ref(), p, t, splits)).collect();
        Ok(Some(Batch::from_partitions(parts)))
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
        register(self, self.file_source("text_file_stream", dir, options))
    }

    /// The file source of a stream made by `kind` over `dir`.
    pub(super) fn file_source(&self, kind: &'static str, dir: &str, options: FileStreamOptions) -> FileSource {
        let batch = self.batch_duration();
        let b = batch.as_millis().max(1);
        let remember_batches = (options.min_remember.as_millis().max(1) + b - 1) / b;
        let initial_threshold = if options.new_files_only { self.clock.now() } else { Time::from_millis(0) };
        let target = fs::resolve(dir).map_err(Arc::new);
        if let Err(e) = &target {
            self.record_error(StreamingError::refused(kind, Arc::clone(e)));
        }
        FileSource::new(
            kind,
            dir,
            target,
            options,
            initial_threshold,
            batch * remember_batches,
            self.conf.max_line_bytes,
        )
    }
}

impl FileSource {
    /// The pieces of batch `t` this process reads: in a cluster every process has the
    /// driver's list and reads its share, by size.
    pub(super) fn pieces_of(&self, t: Time, env: &Env) -> Vec<Piece> {
        let mut pieces = self.allocated.take(t).unwrap_or_default();
        if let Some(peers) = &env.peers {
            let sizes: Vec<u64> = pieces.iter().map(|p| p.end - p.start).collect();
            let owners = crate::cluster::share_by_size(&sizes, peers.processes());
            let mut owner = owners.into_iter();
            pieces.retain(|_| owner.next() == Some(peers.process()));
        }
        pieces
    }

    /// The filesystem and path of the directory, if it could be resolved.
    pub(super) fn target(&self) -> Option<&Arc<dyn FileSystem>> {
        self.target.as_ref().ok().map(|(fs, _)| fs)
    }

    pub(super) fn new(
        kind: &'static str,
        url: &str,
        target: Result<(Arc<dyn FileSystem>, String), Arc<FsError>>,
        options: FileStreamOptions,
        initial_threshold: Time,
        remember: Duration,
        limit: usize,
    ) -> FileSource {
        FileSource {
            kind,
            url: url.to_string(),
            target,
            hdfs: hdfs_of(url),
            options,
            initial_threshold: Mutex::new(initial_threshold),
            remember,
            recent: Mutex::new(BTreeMap::new()),
            last: Mutex::new(None),
            resume: Mutex::new(None),
            failed_listings: Mutex::new(0),
            queued: Mutex::new(VecDeque::new()),
            done: Mutex::new(HashMap::new()),
            failing: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            allocated: Allocated::default(),
            limit,
            counters: SourceCounters::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::fs::LocalFs;

    /// The local filesystem, with reads that fail while `failing` is set (an I/O error, as
    /// a bad disk gives; root reads a `chmod 000` file, so permissions cannot make one).
    #[derive(Debug, Default)]
    struct FlakyFs {
        failing: AtomicBool,
    }

    impl FileSystem for FlakyFs {
        fn list(&self, dir: &str) -> Result<Vec<FileStatus>, FsError> {
            LocalFs.list(dir)
        }
        fn status(&self, path: &str) -> Result<Option<FileStatus>, FsError> {
            LocalFs.status(path)
        }
        fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
            self.read_range(path, 0, u64::MAX)
        }
        fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, FsError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(FsError::io(path, std::io::Error::from_raw_os_error(5)));
            }
            LocalFs.read_range(path, offset, len)
        }
        fn write(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
            LocalFs.write(path, data)
        }
        fn create_new(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
            LocalFs.create_new(path, data)
        }
        fn mkdirs(&self, path: &str) -> Result<(), FsError> {
            LocalFs.mkdirs(path)
        }
        fn rename(&self, from: &str, to: &str) -> Result<(), FsError> {
            LocalFs.rename(from, to)
        }
        fn delete(&self, path: &str, recursive: bool) -> Result<(), FsError> {
            LocalFs.delete(path, recursive)
        }
    }

    #[test]
    fn an_unreadable_file_is_retried_with_later_batches_until_it_is_read_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        std::fs::write(path("a.txt"), "x\ny\n").unwrap();
        std::fs::write(path("b.txt"), "gone\n").unwrap();
        let flaky = Arc::new(FlakyFs::default());
        flaky.failing.store(true, Ordering::SeqCst);
        let target: (Arc<dyn FileSystem>, String) = (Arc::clone(&flaky) as Arc<dyn FileSystem>, path(""));
        let options = FileStreamOptions { new_files_only: false, ..FileStreamOptions::default() };
        let source = FileSource::new(
            "text_file_stream",
            "flaky",
            Ok(target),
            options,
            Time::from_millis(0),
            Duration::seconds(60),
            1 << 20,
        );
        let env = Env { zero: Time::from_millis(0), batch: Duration::seconds(1), parallelism: 2, peers: None };
        let now = LocalFs.status(&path("a.txt")).unwrap().unwrap().modified;
        let batch = |i: i64| {
            let t = now + Duration::seconds(i);
            source.allocate(t);
            let mut lines: Vec<String> =
                source.take(t, &env).unwrap().unwrap().into_vec().into_iter().map(String::from).collect();
            lines.sort();
            (lines, source.stats().errors)
        };
        // Both files fail, batch after batch: each failure is counted (and reported).
        assert_eq!(batch(1), (vec![], 2));
        assert_eq!(batch(2), (vec![], 4));
        // One is removed: it is dropped (reported once more); the other is read once readable.
        std::fs::remove_file(path("b.txt")).unwrap();
        flaky.failing.store(false, Ordering::SeqCst);
        assert_eq!(batch(3), (vec!["x".to_string(), "y".to_string()], 5));
        assert_eq!(batch(4), (vec![], 5));
        assert!(source.queued.lock().is_empty() && source.failing.lock().is_empty());
    }

    /// Reads of an in-memory file, the read-ahead ones made when their bytes are asked for.
    fn memory_reader(file: Arc<Vec<u8>>) -> RangeReader {
        let read = move |offset: u64, n: u64, into: &mut fs::ReadBuf| {
            let from = (offset as usize).min(file.len());
            into.extend_from_slice(&file[from..(from + n as usize).min(file.len())]);
            Ok(())
        };
        let read = Arc::new(read);
        let ahead = Arc::clone(&read);
        RangeReader {
            read_into: Box::new(move |offset, n, into| read(offset, n, into)),
            start: Box::new(move |offset, n| {
                let read = Arc::clone(&ahead);
                Box::new(move || {
                    let mut buf = fs::ReadBuf::with_capacity(0);
                    read(offset, n, &mut buf).map(|()| buf)
                })
            }),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Reading a split in chunks read ahead gives the lines (and counts) of reading it whole.
        #[test]
        fn read_ahead_chunks_give_the_lines_of_the_whole_split(
            bytes in super::super::lines::line_bytes(400),
            long in proptest::option::of((0usize..400, 1usize..40_000)),
            cuts in (0usize..100_000, 0usize..100_000),
            chunk in 1u64..64,
            depth in 0usize..4,
            limit in proptest::prop_oneof![proptest::prelude::Just(8usize), proptest::prelude::Just(50_000)],
        ) {
            use proptest::prelude::*;
            let mut bytes = bytes;
            if let Some((at, n)) = long {
                // A line longer than the first read's look-ahead.
                let at = at.min(bytes.len());
                bytes.splice(at..at, std::iter::repeat_n(b'x', n));
            }
            let len = bytes.len() as u64;
            let (a, b) = ((cuts.0 as u64).min(len), (cuts.1 as u64).min(len));
            let split = a.min(b)..a.max(b);
            let max_tail = limit as u64 + 2;
            let file = memory_reader(Arc::new(bytes));
            let decode = |read: &dyn Fn(&Decoder<'_>) -> Result<Vec<Str>, FsError>| {
                let counters = SourceCounters::default();
                let decoder = Decoder { source: "test", limit, counters: &counters };
                let lines: Vec<String> = read(&decoder).unwrap().into_iter().map(String::from).collect();
                let c = counters.snapshot();
                (lines, (c.lines, c.invalid_utf8_lines, c.oversized_lines))
            };
            let whole = decode(&|d| {
                let split = fs::read_split(len, split.start, split.end, max_tail, &file.read_into)?;
                Ok(d.lines_of_split(split))
            });
            let ahead = decode(&|d| read_ahead(&file, len, split.clone(), max_tail, (chunk, depth), d));
            prop_assert_eq!(&ahead.0, &whole.0);
            prop_assert_eq!((ahead.1 .0, ahead.1 .2), (whole.1 .0, whole.1 .2));
            // A line longer than the limit is read only up to `max_tail` past the end of the
            // split holding it, so whether its bytes further on were valid UTF-8 is not known
            // (with any split layout); the other lines count the same.
            if whole.1 .2 == 0 {
                prop_assert_eq!(ahead.1 .1, whole.1 .1);
            }
        }
    }

    #[test]
    fn a_batch_is_read_in_about_one_split_per_worker() {
        assert_eq!(splits_of(&[16, 16, 16, 16], 2), [1, 1, 1, 1]);
        assert_eq!(splits_of(&[16, 16, 16, 16], 8), [2, 2, 2, 2]);
        assert_eq!(splits_of(&[64], 2), [2]);
        assert_eq!(splits_of(&[60, 4], 4), [4, 1]);
        assert_eq!(splits_of(&[0, 0], 2), [1, 1]);
        assert_eq!(splits_of(&[u64::MAX, u64::MAX], usize::MAX), [usize::MAX / 2 + 1; 2]);
        assert!(splits_of(&[], 2).is_empty());
    }

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
