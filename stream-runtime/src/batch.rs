//! [`Batch`]: the data of one stream at one batch time (Spark's RDD for that time).

use rayon::prelude::*;

use crate::data::Data;

/// The records of a stream at one batch time, split into partitions that are processed in
/// parallel.
///
/// Order is kept within a partition and partitions are in order, so a batch built from a
/// `Vec` iterates in the same order.
///
/// ```
/// use stream_runtime::Batch;
/// let b = Batch::from_vec(vec![1, 2, 3, 4, 5], 2);
/// assert_eq!(b.num_partitions(), 2);
/// assert_eq!(b.partitions()[0], vec![1, 2]);
/// assert_eq!(b.len(), 5);
/// assert_eq!(b.into_vec(), vec![1, 2, 3, 4, 5]);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Batch<T> {
    parts: Vec<Vec<T>>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch { parts: Vec::new() }
    }
}

/// The items of partition `i` when [`Batch::from_vec`] splits `len` items into `n` partitions.
pub(crate) fn part_range(len: usize, n: usize, i: usize) -> std::ops::Range<usize> {
    i * len / n..(i + 1) * len / n
}

impl<T> Batch<T> {
    /// A batch with no partitions and no records.
    pub fn empty() -> Self {
        Batch { parts: Vec::new() }
    }

    /// A batch with the given partitions.
    pub fn from_partitions(parts: Vec<Vec<T>>) -> Self {
        Batch { parts }
    }

    /// Splits `items` into `n` contiguous partitions of near-equal size (as Spark's
    /// `parallelize`).
    pub fn from_vec(items: Vec<T>, n: usize) -> Self {
        let n = n.max(1);
        let len = items.len();
        let mut parts = Vec::with_capacity(n);
        let mut it = items.into_iter();
        for i in 0..n {
            parts.push(it.by_ref().take(part_range(len, n, i).len()).collect());
        }
        Batch { parts }
    }

    /// The partitions.
    pub fn partitions(&self) -> &[Vec<T>] {
        &self.parts
    }

    /// Takes the partitions.
    pub fn into_partitions(self) -> Vec<Vec<T>> {
        self.parts
    }

    /// Number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.parts.len()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(Vec::is_empty)
    }

    /// All records, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.parts.iter().flatten()
    }

    /// All records, in order, as one `Vec`.
    pub fn into_vec(self) -> Vec<T> {
        let mut parts = self.parts.into_iter();
        let mut out = parts.next().unwrap_or_default();
        for p in parts {
            out.extend(p);
        }
        out
    }

    /// Concatenates the partitions of `other` after those of `self` (Spark's RDD `union`).
    pub fn union(mut self, other: Batch<T>) -> Self {
        self.parts.extend(other.parts);
        self
    }
}

impl<T: Data> Batch<T> {
    /// Applies `f` to every partition in parallel (on the context's worker threads when called
    /// inside a job).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let b = Batch::from_vec(vec![1, 2, 3, 4], 2).map_partitions(|p| vec![p.iter().sum::<i32>()]);
    /// assert_eq!(b.into_vec(), vec![3, 7]);
    /// ```
    pub fn map_partitions<U: Data, F>(self, f: F) -> Batch<U>
    where
        F: Fn(Vec<T>) -> Vec<U> + Send + Sync,
    {
        Batch { parts: self.parts.into_par_iter().map(f).collect() }
    }

    /// Applies `f` to every record (in parallel over partitions).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let b = Batch::from_vec(vec![1, 2, 3], 2).map(|x| x * 10);
    /// assert_eq!(b.into_vec(), vec![10, 20, 30]);
    /// ```
    pub fn map<U: Data, F>(self, f: F) -> Batch<U>
    where
        F: Fn(T) -> U + Send + Sync,
    {
        self.map_partitions(|p| p.into_iter().map(&f).collect())
    }

    /// Keeps the records for which `f` holds.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let b = Batch::from_vec(vec![1, 2, 3, 4], 2).filter(|x| x % 2 == 0);
    /// assert_eq!(b.into_vec(), vec![2, 4]);
    /// ```
    pub fn filter<F>(self, f: F) -> Batch<T>
    where
        F: Fn(&T) -> bool + Send + Sync,
    {
        self.map_partitions(|p| p.into_iter().filter(|x| f(x)).collect())
    }
}

impl<T> From<Vec<T>> for Batch<T> {
    fn from(v: Vec<T>) -> Self {
        Batch { parts: vec![v] }
    }
}

impl<T> FromIterator<T> for Batch<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        Batch { parts: vec![it.into_iter().collect()] }
    }
}
