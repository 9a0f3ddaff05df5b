//! [`Dataset`]: a static dataset loaded once, shared by every batch (Spark's RDD built from
//! the `SparkContext` outside the stream, e.g. `sc.textFile(...)` or `sc.parallelize(...)`).

use std::any::Any;
use std::sync::{Arc, OnceLock};

use crate::batch::Batch;
use crate::context::StreamingContext;
use crate::data::{fast_map, Data, FastMap, Key};
use crate::fs::{self, FsError};
use crate::str::Str;

/// A dataset that does not change while the job runs: a lookup table, a blacklist. Loaded
/// once (from a `Vec`, a local text file or an `hdfs://` file) and cheap to clone (an `Arc`),
/// so a `transform` or `foreach_batch` closure can own a handle and use it every batch.
///
/// Joins and `subtract_by_key` of a [`Batch`] with a keyed dataset probe a hash index of
/// the dataset, built the first time it is needed and kept: the dataset is broadcast, never
/// shuffled. In a cluster every process loads its own copy (each runs the same job code).
///
/// ```
/// use stream_runtime::prelude::*;
/// let ssc = StreamingContext::new(Duration::seconds(1));
/// let prices = ssc.parallelize(vec![("apple", 3), ("pear", 5)]);
/// let orders = Batch::from_vec(vec![("pear", 2), ("fig", 1), ("apple", 1)], 2);
/// let mut cost: Vec<_> = orders.join(&prices).map(|(fruit, (n, price))| (fruit, n * price)).collect();
/// cost.sort();
/// assert_eq!(cost, vec![("apple", 3), ("pear", 10)]);
/// ```
#[derive(Debug)]
pub struct Dataset<T> {
    inner: Arc<Inner<T>>,
}

#[derive(Debug)]
struct Inner<T> {
    records: Vec<T>,
    /// The index by key (`FastMap<K, Vec<V>>` of a `Dataset<(K, V)>`), built on first use.
    by_key: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl<T> Clone for Dataset<T> {
    fn clone(&self) -> Self {
        Dataset { inner: Arc::clone(&self.inner) }
    }
}

impl<T: Data> Dataset<T> {
    /// A dataset holding `records`, in order.
    ///
    /// ```
    /// let d = stream_runtime::Dataset::from_vec(vec![1, 2, 3]);
    /// assert_eq!(d.records(), &[1, 2, 3]);
    /// ```
    pub fn from_vec(records: Vec<T>) -> Self {
        Dataset { inner: Arc::new(Inner { records, by_key: OnceLock::new() }) }
    }

    /// The records, in order.
    ///
    /// ```
    /// let d = stream_runtime::Dataset::from_vec(vec!["a", "b"]);
    /// assert_eq!(d.records().len(), 2);
    /// ```
    pub fn records(&self) -> &[T] {
        &self.inner.records
    }

    /// Number of records.
    ///
    /// ```
    /// assert_eq!(stream_runtime::Dataset::from_vec(vec![1, 2]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.records.len()
    }

    /// Whether the dataset holds no record.
    ///
    /// ```
    /// assert!(stream_runtime::Dataset::<u8>::from_vec(vec![]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.records.is_empty()
    }

    /// A copy of the records as a batch of `partitions` partitions (for the operations that
    /// must see every record of the dataset: outer joins keeping its unmatched keys, cogroup).
    ///
    /// ```
    /// let b = stream_runtime::Dataset::from_vec(vec![1, 2, 3]).to_batch(2);
    /// assert_eq!(b.num_partitions(), 2);
    /// assert_eq!(b.into_vec(), vec![1, 2, 3]);
    /// ```
    pub fn to_batch(&self, partitions: usize) -> Batch<T> {
        let n = partitions.max(1);
        let len = self.len();
        let parts = (0..n).map(|i| self.inner.records[i * len / n..(i + 1) * len / n].to_vec()).collect();
        Batch::from_partitions(parts)
    }
}

impl<K: Key, V: Data> Dataset<(K, V)> {
    /// The values of each key, in the dataset's order: built on first use, then shared.
    ///
    /// ```
    /// let d = stream_runtime::Dataset::from_vec(vec![("a", 1), ("b", 2), ("a", 3)]);
    /// assert_eq!(d.index()[&"a"], vec![1, 3]);
    /// ```
    pub fn index(&self) -> Arc<FastMap<K, Vec<V>>> {
        let build = || {
            let mut m: FastMap<K, Vec<V>> = fast_map();
            for (k, v) in self.inner.records.iter().cloned() {
                m.entry(k).or_default().push(v);
            }
            Arc::new(m)
        };
        let any = Arc::clone(self.inner.by_key.get_or_init(|| build() as Arc<dyn Any + Send + Sync>));
        // The index of a `Dataset<(K, V)>` is always a `FastMap<K, Vec<V>>`; were it not, a fresh
        // one is as right.
        any.downcast::<FastMap<K, Vec<V>>>().unwrap_or_else(|_| build())
    }
}

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The file could not be resolved or read.
    #[error("cannot load the dataset {url}")]
    Read {
        /// The file's path or URL.
        url: String,
        /// The cause.
        #[source]
        source: FsError,
    },
}

impl StreamingContext {
    /// A static dataset holding `records` (Spark's `sc.parallelize`), for use inside
    /// `transform` and `foreach_batch`.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// let evens = ssc.parallelize(vec![0, 2, 4]);
    /// assert_eq!(evens.len(), 3);
    /// ```
    pub fn parallelize<T: Data>(&self, records: Vec<T>) -> Dataset<T> {
        Dataset::from_vec(records)
    }

    /// A static dataset of the lines of a text file (Spark's `sc.textFile`): a local path, a
    /// `file://` or an `hdfs://` URL, read now, once. Lines end at `\n` (a `\r` before it is
    /// dropped); invalid UTF-8 is decoded lossily.
    ///
    /// Spark's blacklist example: drop the words of a blacklist from every batch, inside
    /// `transform`.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("blacklist.txt");
    /// std::fs::write(&path, "spam\nscam\n").unwrap();
    /// let out = stream_runtime::testing::run(vec![vec![Str::from("buy spam now"), Str::from("no scam")]], 2, |lines| {
    ///     let blacklist = lines.context().text_file(&path.to_string_lossy()).unwrap().map_to_keys();
    ///     lines.flat_map(|l| l.split(' ')).map(|w| (w, 1)).transform(move |words, _time| {
    ///         words.subtract_by_key(&blacklist).reduce_by_key(|a, b| a + b)
    ///     })
    /// });
    /// let mut counts = out[0].clone();
    /// counts.sort();
    /// assert_eq!(counts, vec![(Str::from("buy"), 1), (Str::from("no"), 1), (Str::from("now"), 1)]);
    /// ```
    pub fn text_file(&self, url: &str) -> Result<Dataset<Str>, DatasetError> {
        read_lines(url).map(Dataset::from_vec)
    }
}

impl<T: Key> Dataset<T> {
    /// The dataset as keys with no value (`(record, ())`), to join or `subtract_by_key` with:
    /// a set. The result is computed once per call; keep it to reuse its index.
    ///
    /// ```
    /// let words = stream_runtime::Dataset::from_vec(vec!["a", "b"]).map_to_keys();
    /// assert!(words.index().contains_key("a"));
    /// ```
    pub fn map_to_keys(&self) -> Dataset<(T, ())> {
        Dataset::from_vec(self.records().iter().cloned().map(|k| (k, ())).collect())
    }
}

/// The lines of the file at `url`.
fn read_lines(url: &str) -> Result<Vec<Str>, DatasetError> {
    let err = |source| DatasetError::Read { url: url.to_string(), source };
    let (fs, path) = fs::resolve(url).map_err(err)?;
    let bytes = fs.read(&path).map_err(err)?;
    Ok(crate::sources::split_lines(&Arc::from(String::from_utf8_lossy(&bytes).as_ref())))
}
