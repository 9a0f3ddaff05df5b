use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::{Data, Persist};
use crate::error::BatchError;
use crate::node::Env;
use crate::shuffle::{columns, Exchanges, Placement};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

/// Round robin from every map partition into `n` partitions (per process: `n` times the
/// processes in a cluster), the start rotated per map partition (and process) so small
/// partitions still spread evenly.
fn repartition<C: Chain>(
    up: &Upstream<C>,
    n: usize,
    t: Time,
    env: &Env,
    ex: &Exchanges,
) -> Result<Option<Batch<C::Out>>, BatchError>
where
    C::Out: Persist,
{
    let place = Placement::of(env, n);
    let g = place.global();
    let Some(spread) = up.pass(t, env, |c, p| {
        let mut out: Vec<Vec<C::Out>> = (0..g).map(|_| Vec::new()).collect();
        let mut i = 0;
        c.push_all(p, &mut |x| {
            out[i % g].push(x);
            i += 1;
        });
        out
    })?
    else {
        return Ok(None);
    };
    // Map partition `m` starts at partition `m` (plus the process in a cluster).
    let rotated: Vec<Vec<Vec<C::Out>>> = spread
        .into_iter()
        .enumerate()
        .map(|(m, mut buckets)| {
            buckets.rotate_right((m + place.process) % g);
            buckets
        })
        .collect();
    let cols = columns(rotated, place.local, ex, t, env)?;
    let parts = cols
        .into_iter()
        .map(|col| {
            let mut part = Vec::with_capacity(col.iter().map(Vec::len).sum());
            col.into_iter().for_each(|b| part.extend(b));
            part
        })
        .collect();
    Ok(Some(Batch::from_partitions(parts)))
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Redistributes each batch over `n` partitions, round robin. In a cluster, over `n`
    /// partitions per process: records cross processes, so they are [`Persist`].
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![(0..100).collect::<Vec<_>>()], 1, |s| {
    ///     s.repartition(5).glom().map(|p| p.len())
    /// });
    /// assert_eq!(out, vec![vec![20; 5]]);
    /// ```
    pub fn repartition(self, n: usize) -> DStream<'a, T>
    where
        T: Persist,
    {
        let n = n.max(1);
        let ex = Exchanges::new(self.ctx);
        self.unary("repartition", move |up, t, env| repartition(up, n, t, env, &ex))
    }
}
