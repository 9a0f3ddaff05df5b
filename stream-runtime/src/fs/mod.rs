//! One filesystem layer for everything that touches files: file streams, text outputs and
//! (later) checkpoints. Local paths and `file://` URLs are served by [`LocalFs`], `hdfs://`
//! URLs by `hdfs::HdfsFs` (cargo feature `hdfs`).

mod buf;
#[cfg(feature = "hdfs")]
pub mod hdfs;
mod local;

use std::sync::Arc;

pub use buf::ReadBuf;
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
    /// As [`read_range`](FileSystem::read_range), appending the bytes to `into`: the file
    /// sources read this way, into the buffer their lines then share. Sluice's filesystems
    /// override this default (which reads, then copies) to read in place.
    ///
    /// ```
    /// use stream_runtime::fs::{FileSystem, LocalFs, ReadBuf};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("f").to_string_lossy().into_owned();
    /// std::fs::write(&path, "one\ntwo\n").unwrap();
    /// let mut buf = ReadBuf::with_capacity(8);
    /// LocalFs.read_range_into(&path, 4, 100, &mut buf).unwrap();
    /// assert_eq!(buf.filled(), b"two\n");
    /// ```
    fn read_range_into(&self, path: &str, offset: u64, len: u64, into: &mut ReadBuf) -> Result<(), FsError> {
        into.extend_from_slice(&self.read_range(path, offset, len)?);
        Ok(())
    }
    /// Creates or replaces file `path` with `data`.
    fn write(&self, path: &str, data: &[u8]) -> Result<(), FsError>;
    /// Creates or replaces file `path` with `pieces` one after another, as [`write`] of
    /// their concatenation would. Filesystems that can take the pieces as they are (both of
    /// Sluice's do) override this default, which concatenates them first.
    ///
    /// [`write`]: FileSystem::write
    fn write_pieces(&self, path: &str, pieces: &[&[u8]]) -> Result<(), FsError> {
        self.write(path, &pieces.concat())
    }
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

/// How far past its end a split's first read looks for the end of its last line (lines
/// are usually much shorter; a longer one is read in further reads of doubling size).
const LOOKAHEAD: u64 = 16 * 1024;

/// The whole lines starting in bytes `start..end` of a file of `len` bytes, read with
/// `read_into(offset, len, buf)`, which appends up to `len` bytes from `offset` to `buf`
/// (Hadoop's line splits: a line belongs to the split holding its first byte, so splits that
/// tile the file read every line exactly once, including lines crossing a split boundary).
/// Reads one byte before `start`, and past `end` as far as the last line goes but at most
/// `max_tail` bytes: a last line going further is cut there. A read appending fewer bytes than
/// asked is the end of the file.
pub(crate) fn read_split(
    len: u64,
    start: u64,
    end: u64,
    max_tail: u64,
    read_into: impl Fn(u64, u64, &mut ReadBuf) -> Result<(), FsError>,
) -> Result<Split, FsError> {
    let Some((from, n)) = split_first_read(len, start, end, max_tail) else {
        return Ok(Split { offset: start, ..Split::default() });
    };
    // Sized for the first read: the buffer grows only for a last line past the look-ahead.
    let mut buf = ReadBuf::with_capacity(usize::try_from(n).unwrap_or(usize::MAX));
    read_into(from, n, &mut buf)?;
    finish_split(len, start, end, max_tail, buf, read_into)
}

/// The first read of split `start..end` (see [`read_split`]): its offset and length, `None`
/// for an empty split. A caller may make this read ahead of time and hand its bytes to
/// [`finish_split`].
pub(crate) fn split_first_read(len: u64, start: u64, end: u64, max_tail: u64) -> Option<(u64, u64)> {
    let end = end.min(len);
    if start >= end {
        return None;
    }
    let from = start.saturating_sub(1);
    let limit = end.saturating_add(max_tail).min(len);
    Some((from, end.saturating_add(LOOKAHEAD).min(limit) - from))
}

/// [`read_split`] after its first read: `buf` holds the bytes of the read
/// [`split_first_read`] gives for the same split (fewer at the end of the file); further reads,
/// when the last line runs past them, are made with `read_into`.
pub(crate) fn finish_split(
    len: u64,
    start: u64,
    end: u64,
    max_tail: u64,
    mut buf: ReadBuf,
    read_into: impl Fn(u64, u64, &mut ReadBuf) -> Result<(), FsError>,
) -> Result<Split, FsError> {
    let Some((from, n)) = split_first_read(len, start, end, max_tail) else {
        return Ok(Split { offset: start, ..Split::default() });
    };
    let end = end.min(len);
    let limit = end.saturating_add(max_tail).min(len);
    let mut fetched = from + n;
    let first = if start == 0 {
        0
    } else {
        // A line starts at p in start..end when byte p - 1 is '\n'.
        let head = &buf.filled()[..((end - start) as usize).min(buf.filled().len())];
        match memchr::memchr(b'\n', head) {
            Some(i) => i + 1,
            None => return Ok(Split { offset: end, ..Split::default() }),
        }
    };
    // The last line ends at the first '\n' at or after byte end - 1.
    let mut search = ((end - 1 - from) as usize).max(first);
    let mut grow = LOOKAHEAD;
    let stop = loop {
        let have = buf.filled();
        if let Some(i) = memchr::memchr(b'\n', &have[search.min(have.len())..]) {
            break search + i + 1;
        }
        if fetched >= limit || (have.len() as u64) < fetched - from {
            break have.len();
        }
        grow = grow.saturating_mul(2);
        let more = fetched.saturating_add(grow).min(limit);
        search = have.len();
        read_into(fetched, more - fetched, &mut buf)?;
        fetched = more;
    };
    Ok(Split { offset: from + first as u64, buf, range: first..stop })
}

/// The whole lines of one split of a file: those whose first byte lies in the split.
#[derive(Debug, Default)]
pub struct Split {
    /// Position in the file of the first byte of [`bytes`](Split::bytes).
    pub offset: u64,
    buf: ReadBuf,
    range: std::ops::Range<usize>,
}

impl Split {
    /// The lines, with their endings (the file's last line may have none).
    pub fn bytes(&self) -> &[u8] {
        &self.buf.filled()[self.range.clone()]
    }

    /// The lines as text sharing the read's own buffer (no copy), with the range of that text
    /// they fill; the split back when they are not valid UTF-8.
    pub(crate) fn into_text(self) -> Result<(Arc<str>, std::ops::Range<usize>), Split> {
        let Split { offset, buf, range } = self;
        buf.into_text(range.clone()).map_err(|buf| Split { offset, buf, range })
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

        /// The splits of a file read it all, once: each hands on whole lines starting in it.
        #[test]
        fn splits_read_every_line_once(file in file_bytes(), splits in 1usize..6) {
            let len = file.len() as u64;
            let read = |offset: u64, n: u64, into: &mut ReadBuf| -> Result<(), FsError> {
                let from = (offset as usize).min(file.len());
                into.extend_from_slice(&file[from..(from + n as usize).min(file.len())]);
                Ok(())
            };
            let mut all = Vec::new();
            for (start, end) in split_bounds(len, splits) {
                let split = read_split(len, start, end, u64::MAX, read).unwrap();
                if !split.bytes().is_empty() {
                    let at = split.offset;
                    prop_assert!(start <= at && at < end, "the first line starts in the split");
                    prop_assert!(at == 0 || file[at as usize - 1] == b'\n', "at a line start");
                }
                all.extend_from_slice(split.bytes());
                let bytes = split.bytes().to_vec();
                match (split.into_text(), std::str::from_utf8(&bytes)) {
                    (Ok((text, range)), Ok(want)) => prop_assert_eq!(&text[range], want),
                    (Err(back), Err(_)) => prop_assert_eq!(back.bytes(), &bytes[..]),
                    (got, want) => prop_assert!(false, "text {:?} of bytes valid as UTF-8: {}", got.map(|(t, r)| t[r].to_string()), want.is_ok()),
                }
            }
            prop_assert_eq!(all, file);
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
