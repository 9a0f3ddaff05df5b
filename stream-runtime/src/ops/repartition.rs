use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, Node, NodeRef};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

struct Repartition<C: Chain> {
    up: Upstream<C>,
    n: usize,
}

impl<C: Chain> Node<C::Out> for Repartition<C> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<C::Out>>, BatchError> {
        let n = self.n;
        let Some(spread) = self.up.pass(t, env, |c, p| {
            let mut out: Vec<Vec<C::Out>> = (0..n).map(|_| Vec::new()).collect();
            let mut i = 0;
            c.push_all(p, &mut |x| {
                out[i % n].push(x);
                i += 1;
            });
            out
        })?
        else {
            return Ok(None);
        };
        let mut parts: Vec<Vec<C::Out>> = (0..n).map(|_| Vec::new()).collect();
        for (m, buckets) in spread.into_iter().enumerate() {
            // Rotate the start per map partition so small partitions still spread evenly.
            for (r, b) in buckets.into_iter().enumerate() {
                parts[(r + m) % n].extend(b);
            }
        }
        Ok(Some(Batch::from_partitions(parts)))
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Redistributes each batch over `n` partitions, round robin.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![(0..100).collect::<Vec<_>>()], 1, |s| {
    ///     s.repartition(5).glom().map(|p| p.len())
    /// });
    /// assert_eq!(out, vec![vec![20; 5]]);
    /// ```
    pub fn repartition(self, n: usize) -> DStream<'a, T> {
        let (ctx, up) = self.upstream();
        let slide = up.slide();
        DStream::from_node(ctx, NodeRef::new(Repartition { up, n: n.max(1) }, slide))
    }
}
