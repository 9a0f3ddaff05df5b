//! Error types.

use std::io;

/// Errors returned by the public [`crate::MiniHdfs`] API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding a port, spawning threads or touching the data directory failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The persisted namespace in the data directory could not be read.
    #[error("corrupt namespace metadata at {path}: {source}")]
    Metadata {
        /// The metadata file.
        path: std::path::PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// A namespace operation failed; each variant maps to the Java exception class HDFS clients expect.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NsError {
    #[error("File does not exist: {0}")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("Parent path is not a directory: {0}")]
    ParentNotDirectory(String),
    #[error("`{0}` is non empty")]
    NotEmpty(String),
    #[error("Invalid path name {0}")]
    InvalidPath(String),
    #[error("No lease on {0}")]
    Lease(String),
    #[error("{0}")]
    Io(String),
    #[error("failed to persist namespace: {0}")]
    Persist(#[from] io::Error),
}

impl NsError {
    /// The fully qualified Java exception class name sent in the RPC error header.
    pub(crate) fn java_class(&self) -> &'static str {
        match self {
            NsError::NotFound(_) => "java.io.FileNotFoundException",
            NsError::AlreadyExists(_) => "org.apache.hadoop.fs.FileAlreadyExistsException",
            NsError::ParentNotDirectory(_) => "org.apache.hadoop.fs.ParentNotDirectoryException",
            NsError::NotEmpty(_) => "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
            NsError::InvalidPath(_) => "org.apache.hadoop.fs.InvalidPathException",
            NsError::Lease(_) => "org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException",
            NsError::Io(_) | NsError::Persist(_) => "java.io.IOException",
        }
    }
}
