//! One filesystem layer for everything that touches files: file streams, text outputs and
//! (later) checkpoints. Local paths and `file://` URLs are served by [`LocalFs`], `hdfs://`
//! URLs by `hdfs::HdfsFs` (cargo feature `hdfs`).

#[cfg(feature = "hdfs")]
pub mod hdfs;
mod local;

use std::sync::Arc;

pub use local::LocalFs;

use crate::time::Time;

/// What a listing says about one entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStatus {
    /// Full path, in the filesystem's own form (no scheme).
    pub path: String,
    /// Last component of the path.
    pub name: String,
    /// Length in bytes.
    pub len: u64,
    /// Modification time.
    pub modified: Time,
    /// Whether the entry is a directory.
    pub is_dir: bool,
}

/// An error of a filesystem operation, carrying the path and the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// The path does not exist.
    #[error("{path}: no such file or directory")]
    NotFound {
        /// The path.
        path: String,
    },
    /// Access was refused.
    #[error("{path}: permission denied")]
    PermissionDenied {
        /// The path.
        path: String,
    },
    /// The path is not a regular file (a FIFO, a socket, a device): it is never read, since
    /// reading it could block forever.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path.
        path: String,
    },
    /// Any other I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The filesystem could not be reached or answered with an error.
    #[error("{path}: {message}")]
    Remote {
        /// The path or URL.
        path: String,
        /// The cause, as the remote side reported it.
        message: String,
        /// The client's error, when there is one (the remote side's own errors are text).
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An `hdfs://` URL in a build without the cargo feature `hdfs`.
    #[error("{0:?}: this build of stream-runtime has no HDFS client (cargo feature `hdfs`)")]
    HdfsNotCompiled(String),
    /// The URL names no filesystem Sluice can use: an unsupported scheme, `hdfs://` without a
    /// namenode, an empty path.
    #[error(transparent)]
    Unsupported(#[from] crate::args::DirError),
}

impl FsError {
    pub(crate) fn io(path: &str, source: std::io::Error) -> FsError {
        match source.kind() {
            std::io::ErrorKind::NotFound => FsError::NotFound { path: path.to_string() },
            std::io::ErrorKind::PermissionDenied => FsError::PermissionDenied { path: path.to_string() },
            _ => FsError::Io { path: path.to_string(), source },
        }
    }
}

/// A filesystem: the operations the engine needs, each reporting the path on failure.
/// `rename` is the commit primitive: it must be atomic.
pub trait FileSystem: Send + Sync + std::fmt::Debug {
    /// The entries of directory `dir`.
    fn list(&self, dir: &str) -> Result<Vec<FileStatus>, FsError>;
    /// The status of `path`, or `None` if it does not exist.
    fn status(&self, path: &str) -> Result<Option<FileStatus>, FsError>;
    /// The whole content of file `path`.
    fn read(&self, path: &str) -> Result<Vec<u8>, FsError>;
    /// Up to `len` bytes of file `path` from byte `offset` (fewer at the end of the file).
    fn read_range(&self, path: &str, offset: u64, len: u64) -> Result<Vec<u8>, FsError>;
    /// Creates or replaces file `path` with `data`.
    fn write(&self, path: &str, data: &[u8]) -> Result<(), FsError>;
    /// Creates file `path` with `data` if it does not exist, atomically: of several callers
    /// one succeeds, the others fail with an I/O error of kind `AlreadyExists`.
    fn create_new(&self, path: &str, data: &[u8]) -> Result<(), FsError>;
    /// Creates directory `path` and its missing parents.
    fn mkdirs(&self, path: &str) -> Result<(), FsError>;
    /// Renames `from` to `to` atomically; fails if `to` exists.
    fn rename(&self, from: &str, to: &str) -> Result<(), FsError>;
    /// Deletes `path` (recursively if asked); deleting a missing path is not an error.
    fn delete(&self, path: &str, recursive: bool) -> Result<(), FsError>;
}

/// Splits an `hdfs://authority/path` URL into its authority and path (`/` when empty).
///
/// ```
/// use stream_runtime::fs::split_hdfs_url as split_url;
/// assert_eq!(split_url("hdfs://nn:8020/user/me"), Some(("nn:8020", "/user/me")));
/// assert_eq!(split_url("hdfs://nn:8020"), Some(("nn:8020", "/")));
/// assert_eq!(split_url("file:///tmp"), None);
/// ```
pub fn split_hdfs_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("hdfs://")?;
    Some(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// The filesystem serving `url` and the path within it.
///
/// ```
/// let (_fs, path) = stream_runtime::fs::resolve("file:///tmp/in").unwrap();
/// assert_eq!(path, "/tmp/in");
/// # #[cfg(feature = "hdfs")] {
/// // An HDFS client is created without contacting the namenode.
/// let (_fs, path) = stream_runtime::fs::resolve("hdfs://127.0.0.1:9000/user/me/in").unwrap();
/// assert_eq!(path, "/user/me/in");
/// # }
/// assert!(stream_runtime::fs::resolve("s3://bucket/x").is_err());
/// assert!(stream_runtime::fs::resolve("hdfs:///no/namenode").is_err());
/// ```
pub fn resolve(url: &str) -> Result<(Arc<dyn FileSystem>, String), FsError> {
    let path = crate::args::dir_path(url)?.to_string();
    match split_hdfs_url(url) {
        #[cfg(feature = "hdfs")]
        Some((authority, _)) => Ok((hdfs::HdfsFs::connect(authority)?, path)),
        #[cfg(not(feature = "hdfs"))]
        Some(_) => Err(FsError::HdfsNotCompiled(url.to_string())),
        None => Ok((Arc::new(LocalFs), path)),
    }
}

/// The whole lines starting in bytes `start..end` of a file of `len` bytes, read with
/// `read_range(offset, len)` (see [`stream_split`]), in one buffer.
pub(crate) fn read_split(
    len: u64,
    start: u64,
    end: u64,
    max_tail: u64,
    read_range: impl Fn(u64, u64) -> Result<Vec<u8>, FsError>,
) -> Result<Split, FsError> {
    let mut split = Split { offset: start.min(end), ..Split::default() };
    let open = |offset, len| read_range(offset, len).map(|bytes| std::iter::once(Ok(bytes)));
    stream_split(len, start, end, max_tail, PIECE_BYTES, open, |lines, offset| {
        if split.buf.is_empty() {
            split.offset = offset;
        }
        split.buf.extend_from_slice(lines);
    })?;
    split.range = 0..split.buf.len();
    Ok(split)
}

/// Bytes of whole lines [`stream_split`] hands on at a time, about: small enough to stay in
/// the cache while they are decoded, large enough that a piece holds thousands of lines.
pub(crate) const PIECE_BYTES: usize = 256 << 10;

/// The whole lines starting in bytes `start..end` of a file of `len` bytes (Hadoop's line
/// splits: a line belongs to the split holding its first byte, so splits that tile the file
/// read every line exactly once, including lines crossing a split boundary), handed to
/// `emit(lines, offset)` as they arrive, in pieces of whole lines (with their endings; the
/// file's last line may have none) of about `piece` bytes (see [`PIECE_BYTES`]), `offset`
/// being the position of a piece in the file.
///
/// `open(offset, len)` reads up to `len` bytes from `offset` as a sequence of chunks; fewer
/// bytes than asked is the end of the file. Reads one byte before `start`, and past `end` as
/// far as the last line goes but at most `max_tail` bytes: a last line going further is cut
/// there. The first request asks for 64 KiB past `end`; each further one twice as much as
/// the one before. Reading stops at the end of the last line, even within a request.
pub(crate) fn stream_split<C, I>(
    len: u64,
    start: u64,
    end: u64,
    max_tail: u64,
    piece: usize,
    open: impl Fn(u64, u64) -> Result<I, FsError>,
    mut emit: impl FnMut(&[u8], u64),
) -> Result<(), FsError>
where
    C: AsRef<[u8]>,
    I: IntoIterator<Item = Result<C, FsError>>,
{
    /// How far past the split a first read looks for the end of its last line.
    const LOOKAHEAD: u64 = 64 * 1024;
    let end = end.min(len);
    if start >= end {
        return Ok(());
    }
    let limit = end.saturating_add(max_tail).min(len);
    // Received bytes not handed on yet, from position `at` of the file: whole lines, then
    // the start of the next.
    let mut buf: Vec<u8> = Vec::new();
    let mut at = start;
    // Whether a line of the split started: at once for the first split, else after the first
    // '\n' at a position in start - 1..end - 1 (a line starts at p when byte p - 1 is '\n').
    let mut started = start == 0;
    let mut fetched = start.saturating_sub(1);
    let mut asked = end.saturating_add(LOOKAHEAD).min(limit);
    let mut grow = LOOKAHEAD;
    loop {
        for chunk in open(fetched, asked - fetched)? {
            let chunk = chunk?;
            let mut chunk = chunk.as_ref();
            let mut pos = fetched;
            fetched += chunk.len() as u64;
            if !started {
                let window = (end - 1).saturating_sub(pos).min(chunk.len() as u64) as usize;
                match memchr::memchr(b'\n', &chunk[..window]) {
                    Some(i) => {
                        started = true;
                        chunk = &chunk[i + 1..];
                        pos += i as u64 + 1;
                        at = pos;
                    }
                    None if fetched >= end - 1 => return Ok(()),
                    None => continue,
                }
            }
            // The last line ends at the first '\n' at or after byte end - 1.
            let search = (end - 1).saturating_sub(pos).min(chunk.len() as u64) as usize;
            if let Some(i) = memchr::memchr(b'\n', &chunk[search..]) {
                buf.extend_from_slice(&chunk[..search + i + 1]);
                emit(&buf, at);
                return Ok(());
            }
            buf.extend_from_slice(chunk);
            if buf.len() >= piece {
                // The last '\n' of the buffer, if it is in this chunk (the rest holds none).
                if let Some(i) = memchr::memrchr(b'\n', chunk) {
                    let cut = buf.len() - chunk.len() + i + 1;
                    emit(&buf[..cut], at);
                    buf.drain(..cut);
                    at += cut as u64;
                }
            }
        }
        if fetched < asked || fetched >= limit {
            // The end of the file, or as far as a line may go: the last line ends here.
            break;
        }
        grow = grow.saturating_mul(2);
        asked = fetched.saturating_add(grow).min(limit);
    }
    if started && !buf.is_empty() {
        emit(&buf, at);
    }
    Ok(())
}

/// The whole lines of one split of a file: those whose first byte lies in the split.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Position in the file of the first byte of [`bytes`](Split::bytes).
    pub offset: u64,
    buf: Vec<u8>,
    range: std::ops::Range<usize>,
}

impl Split {
    /// The lines, with their endings (the file's last line may have none).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

/// `n` contiguous byte ranges of about equal size covering `0..len` (fewer when `len` is
/// small; none when it is 0).
///
/// ```
/// use stream_runtime::fs::split_bounds;
/// assert_eq!(split_bounds(10, 3), vec![(0, 4), (4, 8), (8, 10)]);
/// assert!(split_bounds(0, 4).is_empty());
/// ```
pub fn split_bounds(len: u64, n: usize) -> Vec<(u64, u64)> {
    let size = len.div_ceil(n.max(1) as u64).max(1);
    (0..len.div_ceil(size)).map(|i| (i * size, ((i + 1) * size).min(len))).collect()
}

/// `parent/name`.
pub fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Splits `path` into its parent and last component.
pub fn split_parent(path: &str) -> (&str, &str) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => ("/", &trimmed[1..]),
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => ("", trimmed),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The split reader before streaming, kept as the oracle: one read of the split and 64 KiB
    /// past it, then reads twice as large until the last line ends, in one buffer.
    fn whole_read_split(
        len: u64,
        start: u64,
        end: u64,
        max_tail: u64,
        read_range: impl Fn(u64, u64) -> Result<Vec<u8>, FsError>,
    ) -> Result<Split, FsError> {
        /// How far past the split a first read looks for the end of its last line.
        const LOOKAHEAD: u64 = 64 * 1024;
        let end = end.min(len);
        if start >= end {
            return Ok(Split { offset: start, ..Split::default() });
        }
        let from = start.saturating_sub(1);
        let limit = end.saturating_add(max_tail).min(len);
        let mut fetched = end.saturating_add(LOOKAHEAD).min(limit);
        let mut buf = read_range(from, fetched - from)?;
        let first = if start == 0 {
            0
        } else {
            // A line starts at p in start..end when byte p - 1 is '\n'.
            match memchr::memchr(b'\n', &buf[..((end - start) as usize).min(buf.len())]) {
                Some(i) => i + 1,
                None => return Ok(Split { offset: end, ..Split::default() }),
            }
        };
        // The last line ends at the first '\n' at or after byte end - 1.
        let mut search = ((end - 1 - from) as usize).max(first);
        let mut grow = LOOKAHEAD;
        let stop = loop {
            if let Some(i) = memchr::memchr(b'\n', &buf[search.min(buf.len())..]) {
                break search + i + 1;
            }
            if fetched >= limit || (buf.len() as u64) < fetched - from {
                break buf.len();
            }
            grow = grow.saturating_mul(2);
            let more = fetched.saturating_add(grow).min(limit);
            search = buf.len();
            buf.extend_from_slice(&read_range(fetched, more - fetched)?);
            fetched = more;
        };
        Ok(Split { offset: from + first as u64, buf, range: first..stop })
    }

    /// Bytes of mostly short lines of `a`, `é`, `\r`, `\n` and invalid UTF-8, sometimes one
    /// long line.
    fn file_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![4 => Just(b'a'), 2 => Just(b'\n'), 1 => Just(b'\r'), 1 => Just(0xc3), 1 => Just(0xa9), 1 => Just(0xff)];
        (proptest::collection::vec(byte, 0..400), 0usize..3, 0usize..200_000).prop_map(|(mut bytes, long, at)| {
            if long == 0 && !bytes.is_empty() {
                // One line of 70-odd KiB: longer than the first read's look-ahead.
                let at = at % bytes.len();
                bytes.splice(at..at, std::iter::repeat_n(b'x', 70_000 + at % 1_000));
            }
            bytes
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Streamed in chunks of any size, a split hands on exactly the bytes the whole read
        /// of the split gives, in pieces of whole lines at increasing offsets.
        #[test]
        fn streamed_splits_are_whole_reads(
            file in file_bytes(),
            splits in 1usize..6,
            chunk in 1usize..5_000,
            piece in 1usize..3_000,
            max_tail in prop_oneof![Just(u64::MAX), 0u64..200],
        ) {
            let len = file.len() as u64;
            let read = |offset: u64, n: u64| -> Result<Vec<u8>, FsError> {
                let from = (offset as usize).min(file.len());
                Ok(file[from..(from + n as usize).min(file.len())].to_vec())
            };
            let chunks = |offset: u64, n: u64| read(offset, n).map(|b| b.chunks(chunk).map(|c| Ok(c.to_vec())).collect::<Vec<_>>());
            let mut all = Vec::new();
            for (start, end) in split_bounds(len, splits) {
                let whole = whole_read_split(len, start, end, max_tail, read).unwrap();
                let mut streamed = Vec::new();
                let mut next = None;
                stream_split(len, start, end, max_tail, piece, chunks, |lines, offset| {
                    assert!(!lines.is_empty());
                    if let Some(next) = next {
                        assert_eq!(offset, next, "pieces follow each other");
                    }
                    assert!(offset == 0 || file[offset as usize - 1] == b'\n', "a piece starts a line");
                    next = Some(offset + lines.len() as u64);
                    streamed.extend_from_slice(lines);
                }).unwrap();
                prop_assert_eq!(&streamed, &whole.bytes().to_vec());
                if !streamed.is_empty() {
                    prop_assert_eq!(read_split(len, start, end, max_tail, read).unwrap().offset, whole.offset);
                }
                all.extend_from_slice(&streamed);
            }
            if max_tail == u64::MAX {
                prop_assert_eq!(all, file, "the splits of a file read it all, once");
            }
        }
    }

    #[test]
    fn paths_split_and_join() {
        assert_eq!(split_parent("/a/b/c"), ("/a/b", "c"));
        assert_eq!(split_parent("/a"), ("/", "a"));
        assert_eq!(split_parent("rel"), ("", "rel"));
        assert_eq!(join("/a", "b"), "/a/b");
        assert_eq!(join("/", "b"), "/b");
        assert_eq!(join("", "b"), "b");
    }
}
