use crate::chain::Chain;
use crate::data::{Key, Persist};
use crate::shuffle::Partitioner;
use crate::time::Duration;
use crate::DStream;

impl<'a, T: Key + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Every `slide`, the number of occurrences of each distinct record in the last `window`
    /// (Spark's `countByValueAndWindow`): maintained incrementally, and values whose count
    /// fell to zero are dropped. Needs a checkpoint directory, as in Spark.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec!["a"], vec!["b", "b"], vec!["a", "b"], vec![], vec![]];
    /// let mut out = testing::run(input, 2, |s| s.count_by_value_and_window(Duration::seconds(2), Duration::seconds(1)));
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![
    ///     vec![("a", 1)], vec![("a", 1), ("b", 2)], vec![("a", 1), ("b", 3)], vec![("a", 1), ("b", 1)], vec![],
    /// ]);
    /// ```
    pub fn count_by_value_and_window(self, window: Duration, slide: Duration) -> DStream<'a, (T, u64)> {
        self.count_by_value_and_window_with_partitions(window, slide, 0)
    }

    /// As [`count_by_value_and_window`](Self::count_by_value_and_window), into `partitions`
    /// (Spark's `countByValueAndWindow(w, s, numPartitions)`): a count (0: the thread count)
    /// or a [`Partitioner`] of the records.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec!["a"], vec!["b", "b"]];
    /// let out = testing::run(input, 2, |s| {
    ///     s.count_by_value_and_window_with_partitions(Duration::seconds(2), Duration::seconds(1), 3).glom()
    /// });
    /// assert_eq!(out[1].len(), 3);
    /// let mut last = out[1].concat();
    /// last.sort();
    /// assert_eq!(last, vec![("a", 1), ("b", 2)]);
    /// ```
    pub fn count_by_value_and_window_with_partitions(
        self,
        window: Duration,
        slide: Duration,
        partitions: impl Partitioner<T>,
    ) -> DStream<'a, (T, u64)> {
        self.map(|x| (x, 1u64)).reduce_by_key_and_window_inv_with(
            |a, b| a + b,
            |a, b| a - b,
            window,
            slide,
            partitions,
            |(_, n)| *n != 0,
        )
    }
}
