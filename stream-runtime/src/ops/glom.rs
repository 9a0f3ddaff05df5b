use crate::chain::Chain;
use crate::data::Data;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Turns each partition into one record holding its records (Spark's `glom`). In a
    /// cluster, each process sees its own partitions.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1, 2, 3, 4]], 1, |s| s.glom());
    /// assert_eq!(out, vec![vec![vec![1, 2], vec![3, 4]]]);
    /// ```
    pub fn glom(self) -> DStream<'a, Vec<T>> {
        self.map_partitions(|it| std::iter::once(it.collect::<Vec<T>>()))
    }
}
