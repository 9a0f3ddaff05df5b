use crate::chain::Chain;
use crate::data::{Data, Persist};
use crate::time::Duration;
use crate::DStream;

impl<'a, T: Data + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Every `slide`, the records of the last `window` reduced with the associative function
    /// `f` (Spark's `reduceByWindow(f, w, s)`). An empty window gives no element. In a
    /// cluster the element is at process 0 (the other processes' batches are empty).
    ///
    /// Cost: one partial per batch, in the keyed window's layout with a single key (chunks of
    /// 8 batches under a DABA Lite queue); a slide calls `f` at most a constant number of
    /// times, bounded by the chunk (worst case, not amortized).
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![1], vec![2], vec![3], vec![], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| s.reduce_by_window(|a, b| a + b, Duration::seconds(2), Duration::seconds(1)));
    /// assert_eq!(out, vec![vec![1], vec![3], vec![5], vec![3], vec![], vec![]]);
    /// ```
    pub fn reduce_by_window<F>(self, f: F, window: Duration, slide: Duration) -> DStream<'a, T>
    where
        F: Fn(T, T) -> T + Send + Sync + Clone + 'static,
    {
        self.map(|x| ((), x)).reduce_by_key_and_window(f, window, slide).map(|((), x)| x).gathered()
    }

    /// As [`reduce_by_window`](Self::reduce_by_window), maintained incrementally with the
    /// inverse `inv` (`inv(f(a, b), b) == a`): a slide adds the batches that entered and
    /// removes those that left (Spark's `reduceByWindow(f, invF, w, s)`). As in Spark, once
    /// data has passed through, an empty window gives the "zero" left by `inv` (e.g. `0`),
    /// while before any data it gives no element. Needs a checkpoint directory, as in Spark.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![1], vec![2], vec![3], vec![], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| {
    ///     s.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, Duration::seconds(2), Duration::seconds(1))
    /// });
    /// assert_eq!(out, vec![vec![1], vec![3], vec![5], vec![3], vec![0], vec![0]]);
    /// ```
    pub fn reduce_by_window_inv<F, G>(self, f: F, inv: G, window: Duration, slide: Duration) -> DStream<'a, T>
    where
        F: Fn(T, T) -> T + Send + Sync + Clone + 'static,
        G: Fn(T, T) -> T + Send + Sync + 'static,
    {
        self.map(|x| ((), x))
            .reduce_by_key_and_window_inv_with(f, inv, window, slide, 1, |_| true)
            .map(|((), x)| x)
            .gathered()
    }
}
