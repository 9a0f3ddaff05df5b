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
    /// Creates or replaces file `path` with `data`.
    fn write(&self, path: &str, data: &[u8]) -> Result<(), FsError>;
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
    use super::*;

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
