use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, Node, NodeRef};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

struct MapPartitions<C: Chain, F> {
    up: Upstream<C>,
    f: F,
}

impl<C, U, I, F> Node<U> for MapPartitions<C, F>
where
    C: Chain,
    U: Data,
    I: IntoIterator<Item = U>,
    F: Fn(std::vec::IntoIter<C::Out>) -> I + Send + Sync,
{
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<U>>, BatchError> {
        let Some(parts) =
            self.up.pass(t, env, |c, p| (self.f)(c.run_partition(p).into_iter()).into_iter().collect())?
        else {
            return Ok(None);
        };
        Ok(Some(Batch::from_partitions(parts)))
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Applies `f` to each partition's records as a whole (Spark's `mapPartitions`).
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
        let (ctx, up) = self.upstream();
        let slide = up.slide();
        DStream::from_node(ctx, NodeRef::new(MapPartitions { up, f }, slide))
    }
}
