use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Applies `f` to each partition's records as a whole (Spark's `mapPartitions`). In a
    /// cluster, each process runs `f` on its own partitions.
    ///
    /// ```
    /// // Test input arrives in two partitions, as in Spark's test suites.
    /// let out = stream_runtime::testing::run(vec![vec![1, 2, 3, 4]], 1, |s| {
    ///     s.map_partitions(|it| std::iter::once(it.sum::<i32>()))
    /// });
    /// assert_eq!(out, vec![vec![3, 7]]);
    /// ```
    pub fn map_partitions<U: Data, I, F>(self, f: F) -> DStream<'a, U>
    where
        I: IntoIterator<Item = U>,
        F: Fn(std::vec::IntoIter<T>) -> I + Send + Sync + 'static,
    {
        self.unary("map_partitions", move |up, t, env| {
            let parts = up.pass(t, env, |c, p| f(c.run_partition(p).into_iter()).into_iter().collect())?;
            Ok(parts.map(Batch::from_partitions))
        })
    }
}
