use crate::chain::Chain;
use crate::data::Data;
use crate::time::Duration;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Every `slide`, the number of records in the last `window` (Spark's `countByWindow`,
    /// which is the invertible `reduce_by_window` of ones). As in Spark it gives no element
    /// before any data arrives, and `0` for an empty window after that. Needs a checkpoint
    /// directory, as in Spark.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![1], vec![1], vec![1, 2], vec![0], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| s.count_by_window(Duration::seconds(2), Duration::seconds(1)));
    /// assert_eq!(out, vec![vec![1], vec![2], vec![3], vec![3], vec![1], vec![0]]);
    /// ```
    pub fn count_by_window(self, window: Duration, slide: Duration) -> DStream<'a, u64> {
        self.map(|_| 1u64).reduce_by_window_inv(|a, b| a + b, |a, b| a - b, window, slide)
    }
}
