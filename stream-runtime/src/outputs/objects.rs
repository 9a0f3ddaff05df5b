//! `save_as_object_files` (records in a documented binary format, and
//! [`read_object_files`] to read a saved batch back) and `save_as_text_files_with` (text
//! with a user-given formatter).
//!
//! The format is documented at [`OBJECT_FILE_MAGIC`].

use std::sync::Arc;

use crate::chain::Chain;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::data::{Data, Persist};
use crate::error::BatchError;
use crate::fs::{self, FileSystem, FsError};
use crate::time::Time;
use crate::DStream;

use super::save::{batch_dir_name, commit_batch_dir, commit_cluster};
use crate::shuffle::Exchanges;

/// The first bytes of every object part file: the format's name, a zero byte, its version.
///
/// # The object file format
///
/// A batch is a directory `prefix-<ms>[.suffix]` holding one file `part-NNNNN` per partition
/// and an empty `_SUCCESS`, committed as `save_as_text_files` commits its directories (written
/// under a temporary name, then renamed; a batch already committed is not written again).
/// Each part file is:
///
/// - the 16 bytes of [`OBJECT_FILE_MAGIC`] (`SLUICE-OBJECTS\x001`: the format's name, a zero
///   byte, its version `1`);
/// - then every record of the partition, in order, each as its length in bytes (an unsigned
///   32-bit little-endian integer) followed by the record encoded with `serde` in bincode 1's
///   `DefaultOptions`: integers as variable-length little-endian (`varint`), strings and
///   sequences prefixed by their varint length, enums by their varint variant index, no
///   size limit (the same encoding as the checkpoints' states).
///
/// ```
/// assert_eq!(&stream_runtime::OBJECT_FILE_MAGIC[..14], b"SLUICE-OBJECTS");
/// ```
pub const OBJECT_FILE_MAGIC: &[u8; 16] = b"SLUICE-OBJECTS\x001";

/// Why a saved batch directory could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectFileError {
    /// The directory or a part file could not be read.
    #[error("cannot read the saved batch: {0}")]
    Read(#[from] FsError),
    /// The directory has no `_SUCCESS`: the batch was never committed.
    #[error("{dir} is not a committed batch (no _SUCCESS)")]
    NotCommitted {
        /// The directory.
        dir: String,
    },
    /// A part file does not start with [`OBJECT_FILE_MAGIC`].
    #[error("{path} is not an object file of this version")]
    BadMagic {
        /// The part file.
        path: String,
    },
    /// A part file ends inside a record.
    #[error("{path} is truncated at byte {offset}")]
    Truncated {
        /// The part file.
        path: String,
        /// Where its last record starts.
        offset: usize,
    },
    /// A record could not be decoded into the type asked for.
    #[error("{path}: cannot decode the record at byte {offset}")]
    Decode {
        /// The part file.
        path: String,
        /// Where the record starts.
        offset: usize,
        /// The cause.
        #[source]
        source: CodecError,
    },
}

/// Every record of the batch directory `dir` (a local path, `file://` or `hdfs://` URL) that
/// [`DStream::save_as_object_files`] wrote, part files in order.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let prefix = dir.path().join("objects").to_string_lossy().into_owned();
/// let p = prefix.clone();
/// stream_runtime::testing::Harness::new(2).run(vec![vec![("a".to_string(), 1u64), ("b".to_string(), 2)]], move |s| {
///     s.save_as_object_files(&p, "bin")
/// });
/// let back: Vec<(String, u64)> = stream_runtime::read_object_files(&format!("{prefix}-1000.bin")).unwrap();
/// assert_eq!(back, vec![("a".to_string(), 1), ("b".to_string(), 2)]);
/// ```
pub fn read_object_files<T: Persist>(dir: &str) -> Result<Vec<T>, ObjectFileError> {
    let (fs, path) = fs::resolve(dir)?;
    if fs.status(&fs::join(&path, "_SUCCESS"))?.is_none() {
        return Err(ObjectFileError::NotCommitted { dir: dir.to_string() });
    }
    let mut parts: Vec<String> =
        fs.list(&path)?.into_iter().filter(|f| !f.is_dir && f.name.starts_with("part-")).map(|f| f.path).collect();
    parts.sort();
    let mut out = Vec::new();
    for part in parts {
        decode_part(&fs.read(&part)?, &part, &mut out)?;
    }
    Ok(out)
}

/// The records of one part file, appended to `out`.
fn decode_part<T: Persist>(bytes: &[u8], path: &str, out: &mut Vec<T>) -> Result<(), ObjectFileError> {
    let Some(mut rest) = bytes.strip_prefix(&OBJECT_FILE_MAGIC[..]) else {
        return Err(ObjectFileError::BadMagic { path: path.to_string() });
    };
    let mut offset = OBJECT_FILE_MAGIC.len();
    while !rest.is_empty() {
        let truncated = || ObjectFileError::Truncated { path: path.to_string(), offset };
        let (len, body) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        let len = u32::from_le_bytes(*len) as usize;
        let record = body.get(..len).ok_or_else(truncated)?;
        out.push(from_bytes(record).map_err(|source| ObjectFileError::Decode {
            path: path.to_string(),
            offset,
            source,
        })?);
        rest = &body[len..];
        offset += 4 + len;
    }
    Ok(())
}

/// One part file of `records`.
fn encode_part<T: serde::Serialize>(records: &[T]) -> Result<Vec<u8>, CodecError> {
    let mut out = OBJECT_FILE_MAGIC.to_vec();
    for r in records {
        let bytes = to_bytes(r)?;
        let len = u32::try_from(bytes.len()).map_err(|_| {
            CodecError::Encode(Box::new(bincode::ErrorKind::Custom("a record larger than 4 GiB".into())))
        })?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Registers an output writing every batch as a directory of part files made by `encode`
    /// from each partition (`name` for the plan).
    fn save_batches<P, E>(self, what: &'static str, prefix: &str, suffix: &str, encode: E)
    where
        P: AsRef<[u8]>,
        E: Fn(Vec<T>) -> Result<P, BatchError> + Send + Sync + 'static,
    {
        let name = format!("{what}({prefix})");
        let target = fs::resolve(prefix).map_err(Arc::new);
        if let Err(e) = &target {
            self.context().record_error(crate::StreamingError::refused(what, Arc::clone(e)));
        }
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        let ex = Exchanges::new(self.context());
        self.output_env(name, move |batch, t: Time, env| {
            let (fs, path): &(Arc<dyn FileSystem>, String) = target
                .as_ref()
                .map_err(|e| BatchError::Location { location: prefix.clone(), source: Arc::clone(e) })?;
            let dir = batch_dir_name(path, &suffix, t);
            let parts = batch.into_partitions().into_iter().map(&encode).collect::<Result<Vec<P>, BatchError>>()?;
            if env.peers.is_some() {
                return commit_cluster(fs.as_ref(), &dir, parts, &ex, t, env);
            }
            Ok(commit_batch_dir(fs.as_ref(), &dir, parts)?)
        })
    }

    /// Saves every batch as a directory `prefix-<ms>[.suffix]` of text part files, one line
    /// per record made by `format` (Spark's `saveAsTextFiles` over a `map` to strings), plus
    /// `_SUCCESS`. Committed as [`save_as_text_files`](Self::save_as_text_files) commits.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let prefix = dir.path().join("csv").to_string_lossy().into_owned();
    /// let p = prefix.clone();
    /// stream_runtime::testing::Harness::new(1).run(vec![vec![("a", 1), ("b", 2)]], move |s| {
    ///     s.save_as_text_files_with(&p, "", |(k, v)| format!("{k};{v}"))
    /// });
    /// let parts = (0..2).map(|i| std::fs::read_to_string(format!("{prefix}-1000/part-{i:05}")).unwrap());
    /// assert_eq!(parts.collect::<String>(), "a;1\nb;2\n");
    /// ```
    pub fn save_as_text_files_with<F>(self, prefix: &str, suffix: &str, format: F)
    where
        F: Fn(&T) -> String + Send + Sync + 'static,
    {
        self.save_batches("save_as_text_files_with", prefix, suffix, move |records| {
            let mut s = String::new();
            for r in &records {
                s.push_str(&format(r));
                s.push('\n');
            }
            Ok(s)
        })
    }

    /// Saves every batch as a directory `prefix-<ms>[.suffix]` of object part files (Spark's
    /// `saveAsObjectFiles`), in the binary format documented at [`OBJECT_FILE_MAGIC`]; read a batch
    /// back with [`read_object_files`]. Spark writes Java-serialized Hadoop sequence files;
    /// Sluice writes `serde` records, readable by any program that knows the record type.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let prefix = dir.path().join("obj").to_string_lossy().into_owned();
    /// let p = prefix.clone();
    /// stream_runtime::testing::Harness::new(2).run(vec![vec![1i64, -2], vec![]], move |s| s.save_as_object_files(&p, ""));
    /// assert_eq!(stream_runtime::read_object_files::<i64>(&format!("{prefix}-1000")).unwrap(), vec![1, -2]);
    /// assert!(stream_runtime::read_object_files::<i64>(&format!("{prefix}-2000")).unwrap().is_empty());
    /// ```
    pub fn save_as_object_files(self, prefix: &str, suffix: &str)
    where
        T: Persist,
    {
        self.save_batches("save_as_object_files", prefix, suffix, |records| {
            encode_part(&records).map_err(BatchError::ObjectEncode)
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any records, in any partitions, come back as they were written.
        #[test]
        fn parts_round_trip(parts in prop::collection::vec(prop::collection::vec((any::<String>(), any::<i64>(), any::<Option<u8>>()), 0..8), 0..4)) {
            let mut back: Vec<(String, i64, Option<u8>)> = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                decode_part(&encode_part(p).unwrap(), &format!("part-{i}"), &mut back).unwrap();
            }
            prop_assert_eq!(back, parts.concat());
        }
    }

    #[test]
    fn damaged_parts_are_refused() {
        let good = encode_part(&[1u32, 2]).unwrap();
        let mut out: Vec<u32> = Vec::new();
        assert!(matches!(decode_part(&good[1..], "p", &mut out), Err(ObjectFileError::BadMagic { .. })));
        assert!(matches!(decode_part(&good[..good.len() - 1], "p", &mut out), Err(ObjectFileError::Truncated { .. })));
        let mut wrong_type: Vec<String> = Vec::new();
        let strings = encode_part(&[u64::MAX]).unwrap();
        assert!(decode_part(&strings, "p", &mut wrong_type).is_err());
    }

    #[test]
    fn a_directory_without_success_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        let err = read_object_files::<u8>(&path).unwrap_err();
        assert!(matches!(err, ObjectFileError::NotCommitted { .. }), "{err}");
    }
}
