//! File streams with a record reader of the user's choice (Spark's `fileStream` with an input
//! format, and `binaryRecordsStream`): the file source of `text_file_stream` (same selection
//! of new files, same checkpointed position, same retries), reading whole files and cutting
//! them into records with a [`RecordReader`].

use std::sync::Arc;

use rayon::prelude::*;

use super::file::FileSource;
use super::FileStreamOptions;
use crate::batch::Batch;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::{BatchError, StreamingError};
use crate::node::{Env, Node, NodeRef};
use crate::str::Str;
use crate::time::Time;
use crate::DStream;

/// How a file stream cuts a file into records: a function of the file's path and its whole
/// contents. Ready-made: [`lines`](RecordReader::lines),
/// [`whole_files`](RecordReader::whole_files), [`fixed_length`](RecordReader::fixed_length);
/// any other with [`from_fn`](RecordReader::from_fn).
///
/// ```
/// use stream_runtime::RecordReader;
/// let csv = RecordReader::from_fn(|_path, bytes| {
///     String::from_utf8_lossy(&bytes).split(',').map(|f| f.trim().to_string()).collect()
/// });
/// assert_eq!(csv.read("f", b"a, b".to_vec()), vec!["a".to_string(), "b".to_string()]);
/// ```
pub struct RecordReader<T> {
    read: Arc<dyn Fn(&str, Vec<u8>) -> Vec<T> + Send + Sync>,
}

impl<T> Clone for RecordReader<T> {
    fn clone(&self) -> Self {
        RecordReader { read: Arc::clone(&self.read) }
    }
}

impl<T> std::fmt::Debug for RecordReader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordReader(<fn>)")
    }
}

impl<T: Data> RecordReader<T> {
    /// A reader calling `f` with each new file's path and contents.
    ///
    /// ```
    /// let sizes = stream_runtime::RecordReader::from_fn(|path, bytes| vec![(path.to_string(), bytes.len())]);
    /// assert_eq!(sizes.read("/in/a", vec![0; 3]), vec![("/in/a".to_string(), 3)]);
    /// ```
    pub fn from_fn(f: impl Fn(&str, Vec<u8>) -> Vec<T> + Send + Sync + 'static) -> Self {
        RecordReader { read: Arc::new(f) }
    }

    /// The records of a file at `path` holding `bytes`.
    ///
    /// ```
    /// let r = stream_runtime::RecordReader::fixed_length(2);
    /// assert_eq!(r.read("f", vec![1, 2, 3, 4]), vec![vec![1, 2], vec![3, 4]]);
    /// ```
    pub fn read(&self, path: &str, bytes: Vec<u8>) -> Vec<T> {
        (self.read)(path, bytes)
    }
}

impl RecordReader<Str> {
    /// Lines of text: cut at `\n`, a `\r` before it dropped, invalid UTF-8 decoded lossily.
    ///
    /// ```
    /// use stream_runtime::{RecordReader, Str};
    /// assert_eq!(RecordReader::lines().read("f", b"a\r\nb".to_vec()), vec![Str::from("a"), Str::from("b")]);
    /// ```
    pub fn lines() -> Self {
        RecordReader::from_fn(|_, bytes| split_lines(&Arc::from(String::from_utf8_lossy(&bytes).as_ref())))
    }
}

impl RecordReader<(String, Vec<u8>)> {
    /// One record per file: its path and contents (Spark's `binaryFiles` / `wholeTextFiles`).
    ///
    /// ```
    /// let r = stream_runtime::RecordReader::whole_files();
    /// assert_eq!(r.read("/in/a", b"xy".to_vec()), vec![("/in/a".to_string(), b"xy".to_vec())]);
    /// ```
    pub fn whole_files() -> Self {
        RecordReader::from_fn(|path, bytes| vec![(path.to_string(), bytes)])
    }
}

impl RecordReader<Vec<u8>> {
    /// Records of `length` bytes each (Spark's `FixedLengthBinaryInputFormat`). A file whose
    /// length is not a multiple of `length` gives its whole records and a warning for the
    /// rest (Spark fails the batch). A `length` of 0 reads nothing.
    ///
    /// ```
    /// let r = stream_runtime::RecordReader::fixed_length(2);
    /// assert_eq!(r.read("f", vec![1, 2, 3]), vec![vec![1, 2]]);
    /// ```
    pub fn fixed_length(length: usize) -> Self {
        RecordReader::from_fn(move |path, bytes| {
            if length == 0 {
                return Vec::new();
            }
            let chunks = bytes.chunks_exact(length);
            if !chunks.remainder().is_empty() {
                tracing::warn!(
                    "{path}: {} bytes are not a multiple of the record length {length}; the last {} bytes are left out",
                    bytes.len(),
                    chunks.remainder().len()
                );
            }
            chunks.map(<[u8]>::to_vec).collect()
        })
    }
}

/// The lines of `text` as shared slices of it: cut at `\n`, a `\r` before it dropped.
pub(crate) fn split_lines(text: &Arc<str>) -> Vec<Str> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let cut = if text[start..end].ends_with('\r') { end - 1 } else { end };
        lines.push(Str::slice_of(text, start, cut));
        start = end + 1;
    }
    lines
}

/// Reads the files of each batch whole and cuts them into records: one partition per file.
struct Records<T> {
    files: Arc<FileSource>,
    reader: RecordReader<T>,
}

impl<T: Data> Node<T> for Records<T> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        let pieces = self.files.pieces_of(t, env);
        let Some(fs) = self.files.target() else {
            return Ok(Some(Batch::empty()));
        };
        let parts = pieces
            .par_iter()
            .filter_map(|piece| {
                self.files.read_with(fs.as_ref(), piece, t, |fs, p| {
                    let bytes = fs.read_range(&p.file.path, p.start, p.end - p.start)?;
                    Ok(self.reader.read(&p.file.path, bytes))
                })
            })
            .collect();
        Ok(Some(Batch::from_partitions(parts)))
    }
}

impl StreamingContext {
    /// A stream of the records of new files in `dir`, cut by `reader` (Spark's `fileStream`
    /// with an input format): the files `text_file_stream_with(dir, options)` would select,
    /// each read whole (`options.max_bytes_per_batch` does not apply: a file is never split)
    /// into one partition.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::{FileStreamOptions, RecordReader};
    /// let dir = tempfile::tempdir().unwrap();
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// let options = FileStreamOptions { new_files_only: false, ..FileStreamOptions::default() };
    /// ssc.file_stream(&dir.path().to_string_lossy(), RecordReader::whole_files(), options)
    ///     .map(|(path, bytes)| (path, bytes.len()))
    ///     .print();
    /// assert!(ssc.explain().contains("input 1: file_stream("));
    /// ```
    pub fn file_stream<T: Data>(
        &self,
        dir: &str,
        reader: RecordReader<T>,
        options: FileStreamOptions,
    ) -> DStream<'_, T> {
        self.record_file_stream("file_stream", dir, reader, options)
    }

    /// A stream of the fixed-length records of new files in `dir`, `record_length` bytes each
    /// (Spark's `binaryRecordsStream`), with the file selection of `text_file_stream`.
    /// A `record_length` of 0 is refused at `start`.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// ssc.binary_records_stream(&dir.path().to_string_lossy(), 4)
    ///     .map(|r| u32::from_le_bytes([r[0], r[1], r[2], r[3]]))
    ///     .print();
    /// assert!(ssc.explain().contains("input 1: binary_records_stream("));
    /// ```
    pub fn binary_records_stream(&self, dir: &str, record_length: usize) -> DStream<'_, Vec<u8>> {
        if record_length == 0 {
            self.record_error(StreamingError::Invalid(
                "The record length of binary_records_stream must be positive".into(),
            ));
        }
        let reader = RecordReader::fixed_length(record_length);
        self.record_file_stream("binary_records_stream", dir, reader, FileStreamOptions::default())
    }

    fn record_file_stream<T: Data>(
        &self,
        kind: &'static str,
        dir: &str,
        reader: RecordReader<T>,
        options: FileStreamOptions,
    ) -> DStream<'_, T> {
        let options = FileStreamOptions { max_bytes_per_batch: u64::MAX, ..options };
        let files = Arc::new(self.file_source(kind, dir, options));
        let label = self.add_input(Arc::clone(&files) as Arc<dyn crate::context::Input>);
        DStream::from_node(self, NodeRef::new(Records { files, reader }, self.batch_duration()).labelled(label))
    }
}
