use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::shuffle::{gather, Exchanges};
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Emits the number of records of each batch: exactly one element, `0` for an empty batch.
    /// In a cluster the counts of every process are summed at process 0, whose batch holds the
    /// element; the other processes' batches are empty.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![], vec![7], vec![7, 8]], 2, |s| s.count());
    /// assert_eq!(out, vec![vec![0], vec![1], vec![2]]);
    /// ```
    pub fn count(self) -> DStream<'a, u64> {
        let ex = Exchanges::new(self.ctx);
        self.unary("count", move |up, t, env| {
            let Some(counts) = up.pass(t, env, |c, p| {
                let mut n = 0u64;
                c.push_all(p, &mut |_| n += 1);
                n
            })?
            else {
                return Ok(None);
            };
            let mine = counts.into_iter().sum::<u64>();
            if env.peers.is_none() {
                return Ok(Some(Batch::from(vec![mine])));
            }
            let total = gather(mine, &ex, t, env)?;
            Ok(Some(total.map_or_else(Batch::empty, |all| Batch::from(vec![all.into_iter().sum::<u64>()]))))
        })
    }
}
