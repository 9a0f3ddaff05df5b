use crate::chain::Chain;
use crate::data::{Key, Persist};
use crate::shuffle::Partitioner;
use crate::DStream;

impl<'a, T: Key + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Per batch, counts the occurrences of each distinct record.
    ///
    /// ```
    /// let mut out = stream_runtime::testing::run(vec![vec![1, 1, 2, 2, 2]], 2, |s| s.count_by_value());
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![(1, 2), (2, 3)]]);
    /// ```
    pub fn count_by_value(self) -> crate::DStream<'a, (T, u64)> {
        self.count_by_value_with_partitions(0)
    }

    /// As [`count_by_value`](Self::count_by_value), into `partitions` (Spark's
    /// `countByValue(numPartitions)`): a count (0: the thread count) or a [`Partitioner`] of
    /// the records.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1, 1, 2]], 2, |s| s.count_by_value_with_partitions(1).glom());
    /// let mut only = out[0].clone();
    /// only[0].sort();
    /// assert_eq!(only, vec![vec![(1, 2), (2, 1)]]);
    /// ```
    pub fn count_by_value_with_partitions(self, partitions: impl Partitioner<T>) -> crate::DStream<'a, (T, u64)> {
        self.map(|x| (x, 1u64)).reduce_by_key_with_partitions(|a, b| a + b, partitions)
    }
}
