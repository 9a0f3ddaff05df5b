use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, Node, NodeRef};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

struct Count<C: Chain>(Upstream<C>);

impl<C: Chain> Node<u64> for Count<C> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<u64>>, BatchError> {
        let Some(counts) = self.0.pass(t, env, |c, p| {
            let mut n = 0u64;
            c.push_all(p, &mut |_| n += 1);
            n
        })?
        else {
            return Ok(None);
        };
        Ok(Some(Batch::from(vec![counts.into_iter().sum::<u64>()])))
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Emits the number of records of each batch: exactly one element, `0` for an empty batch.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![], vec![7], vec![7, 8]], 2, |s| s.count());
    /// assert_eq!(out, vec![vec![0], vec![1], vec![2]]);
    /// ```
    pub fn count(self) -> DStream<'a, u64> {
        let (ctx, up) = self.upstream();
        let slide = up.slide();
        DStream::from_node(ctx, NodeRef::new(Count(up), slide))
    }
}
