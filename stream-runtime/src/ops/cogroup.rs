use rayon::prelude::*;

use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::{fast_map, Data, Key};
use crate::error::BatchError;
use crate::node::Env;
use crate::shuffle::{route, transpose};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

/// The values of one key on each side of a [`cogroup`](DStream::cogroup).
pub type CoGrouped<V, W> = (Vec<V>, Vec<W>);

/// Both sides hash-partitioned by key, then grouped per reduce partition in parallel.
fn cogroup<K: Key, V: Data, W: Data, L: Chain<Out = (K, V)>, R: Chain<Out = (K, W)>>(
    left: &Upstream<L>,
    right: &Upstream<R>,
    t: Time,
    env: &Env,
) -> Result<Option<Batch<(K, CoGrouped<V, W>)>>, BatchError> {
    let n = env.parallelism;
    let (left, right) = rayon::join(
        || left.pass(t, env, |c, p| route(c.run_partition(p), n)),
        || right.pass(t, env, |c, p| route(c.run_partition(p), n)),
    );
    let (Some(left), Some(right)) = (left?, right?) else {
        return Ok(None);
    };
    let (left, right) = (transpose(left, n), transpose(right, n));
    let parts = left
        .into_par_iter()
        .zip(right)
        .map(|(ls, rs)| {
            let mut groups = fast_map::<K, CoGrouped<V, W>>();
            for (k, v) in ls.into_iter().flatten() {
                groups.entry(k).or_default().0.push(v);
            }
            for (k, w) in rs.into_iter().flatten() {
                groups.entry(k).or_default().1.push(w);
            }
            groups.into_iter().collect()
        })
        .collect();
    Ok(Some(Batch::from_partitions(parts)))
}

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Per batch, groups the values of each key on both streams: every key present on either
    /// side, with an empty `Vec` for a side that lacks it. Only batches of the same time meet.
    ///
    /// ```
    /// use stream_runtime::testing;
    /// let a = vec![vec![("a", 1), ("a", 1), ("b", 1)]];
    /// let b = vec![vec![("b", "x"), ("c", "x")]];
    /// let mut out = testing::run2(a, b, 2, |x, y| x.cogroup(y));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![
    ///     ("a", (vec![1, 1], vec![])),
    ///     ("b", (vec![1], vec!["x"])),
    ///     ("c", (vec![], vec!["x"])),
    /// ]]);
    /// ```
    pub fn cogroup<W: Data, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
    ) -> DStream<'a, (K, CoGrouped<V, W>)> {
        self.binary(other, cogroup)
    }
}
