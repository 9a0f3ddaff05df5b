use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::Env;
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

/// Round robin from every map partition into `n`, the start rotated per map partition so
/// small partitions still spread evenly.
fn repartition<C: Chain>(up: &Upstream<C>, n: usize, t: Time, env: &Env) -> Result<Option<Batch<C::Out>>, BatchError> {
    let Some(spread) = up.pass(t, env, |c, p| {
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
        for (r, b) in buckets.into_iter().enumerate() {
            parts[(r + m) % n].extend(b);
        }
    }
    Ok(Some(Batch::from_partitions(parts)))
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
        let n = n.max(1);
        self.unary(move |up, t, env| repartition(up, n, t, env))
    }
}
