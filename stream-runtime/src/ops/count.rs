use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Emits the number of records of each batch: exactly one element, `0` for an empty batch.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![], vec![7], vec![7, 8]], 2, |s| s.count());
    /// assert_eq!(out, vec![vec![0], vec![1], vec![2]]);
    /// ```
    pub fn count(self) -> DStream<'a, u64> {
        self.unary(|up, t, env| {
            let counts = up.pass(t, env, |c, p| {
                let mut n = 0u64;
                c.push_all(p, &mut |_| n += 1);
                n
            })?;
            Ok(counts.map(|counts| Batch::from(vec![counts.into_iter().sum::<u64>()])))
        })
    }
}
