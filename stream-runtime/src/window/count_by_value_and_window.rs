use crate::chain::Chain;
use crate::data::{Key, Persist};
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
        self.map(|x| (x, 1u64)).reduce_by_key_and_window_inv_with(
            |a, b| a + b,
            |a, b| a - b,
            window,
            slide,
            |_, n| *n != 0,
            None,
        )
    }
}
