use rayon::prelude::*;

use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::{fast_map, hash_of, Data, Key, Persist};
use crate::error::BatchError;
use crate::node::Env;
use crate::shuffle::{columns, Exchanges, Partitioner, Placement, Route};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

/// The values of one key on each side of a [`cogroup`](DStream::cogroup).
pub type CoGrouped<V, W> = (Vec<V>, Vec<W>);

/// The records of one map partition in a bucket per global reduce partition.
fn route<C: Chain<Out = (K, V)>, K: Key, V>(
    chain: &C,
    records: Vec<C::In>,
    place: &Placement,
    by: &Route<K>,
) -> Vec<Vec<(K, V)>> {
    let mut buckets: Vec<Vec<(K, V)>> = (0..place.global()).map(|_| Vec::new()).collect();
    chain.push_all(records, &mut |(k, v)| buckets[by.global_of(place, hash_of(&k), &k)].push((k, v)));
    buckets
}

/// Both sides hash-partitioned by key, then grouped per reduce partition in parallel, and
/// each key's values on both sides handed to `emit`, which pushes the output records (the
/// group itself for `cogroup`, the joined pairs for the joins: no intermediate batch of
/// groups). In one process the two sides are computed in parallel; in a cluster one after the
/// other, so that exchanges of the parents (and the two exchanges here) are made in the same
/// order everywhere, and never all of a process's threads wait in exchanges at once.
#[allow(clippy::too_many_arguments)]
fn cogroup<K, V, W, L, R, O, E>(
    left: &Upstream<L>,
    right: &Upstream<R>,
    t: Time,
    env: &Env,
    ex: &Exchanges,
    by: &Route<K>,
    emit: &E,
) -> Result<Option<Batch<O>>, BatchError>
where
    K: Key + Persist,
    V: Data + Persist,
    W: Data + Persist,
    L: Chain<Out = (K, V)>,
    R: Chain<Out = (K, W)>,
    O: Data,
    E: Fn(K, Vec<V>, Vec<W>, &mut Vec<O>) + Sync,
{
    let place = Placement::of(env, by.count(env.parallelism));
    let pl = &place;
    let (left, right) = if env.peers.is_none() {
        rayon::join(|| left.pass(t, env, |c, p| route(c, p, pl, by)), || right.pass(t, env, |c, p| route(c, p, pl, by)))
    } else {
        let left = left.pass(t, env, |c, p| route(c, p, pl, by));
        (left, right.pass(t, env, |c, p| route(c, p, pl, by)))
    };
    let (Some(left), Some(right)) = (left?, right?) else {
        return Ok(None);
    };
    let left = columns(left, place.local, ex, t, env)?;
    let right = columns(right, place.local, ex, t, env)?;
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
            let mut out = Vec::with_capacity(groups.len());
            for (k, (vs, ws)) in groups {
                emit(k, vs, ws, &mut out);
            }
            out
        })
        .collect();
    Ok(Some(Batch::from_partitions(parts)))
}

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Per batch, groups the values of each key on both streams: every key present on either
    /// side, with an empty `Vec` for a side that lacks it. Only batches of the same time meet.
    /// Keys and values are [`Persist`]: in a cluster, the records of the keys other processes
    /// own cross to them.
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
    pub fn cogroup<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
    ) -> DStream<'a, (K, CoGrouped<V, W>)>
    where
        K: Persist,
        V: Persist,
    {
        self.cogroup_with_partitions(other, 0)
    }

    /// As [`cogroup`](Self::cogroup), into `partitions` (Spark's `cogroup(other,
    /// numPartitions)` and `cogroup(other, partitioner)`): a count (0: the thread count) or a
    /// [`Partitioner`].
    ///
    /// ```
    /// let a = vec![vec![("a", 1)]];
    /// let b = vec![vec![("a", 2), ("b", 3)]];
    /// let out = stream_runtime::testing::run2(a, b, 2, |x, y| x.cogroup_with_partitions(y, 3).glom());
    /// assert_eq!(out[0].len(), 3);
    /// let mut all = out[0].concat();
    /// all.sort();
    /// assert_eq!(all, vec![("a", (vec![1], vec![2])), ("b", (vec![], vec![3]))]);
    /// ```
    pub fn cogroup_with_partitions<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, CoGrouped<V, W>)>
    where
        K: Persist,
        V: Persist,
    {
        self.cogroup_emit("cogroup", other, partitions, |k, vs, ws, out| out.push((k, (vs, ws))))
    }

    /// The cogroup of both streams into `partitions`, each key's values on both sides turned
    /// into output records by `emit` inside the grouping loop (the joins).
    pub(crate) fn cogroup_emit<W, C2, O, E>(
        self,
        name: &'static str,
        other: DStream<'a, (K, W), C2>,
        partitions: impl Partitioner<K>,
        emit: E,
    ) -> DStream<'a, O>
    where
        K: Persist,
        V: Persist,
        W: Data + Persist,
        C2: Chain<Out = (K, W)>,
        O: Data,
        E: Fn(K, Vec<V>, Vec<W>, &mut Vec<O>) + Send + Sync + 'static,
    {
        let ex = Exchanges::new(self.ctx);
        let by = Route::of(partitions);
        self.binary(name, other, move |l, r, t, env| cogroup(l, r, t, env, &ex, &by, &emit))
    }
}
