//! The batch API inside `transform` and `foreach_batch`: Spark's RDD operations on a
//! [`Batch`], in parallel over its partitions (on the job's worker threads when called inside
//! a job).
//!
//! Keyed operations shuffle with the engine's own hash partitioning (`shuffle.rs`: the
//! map-side combiner for `reduce_by_key`, `group_by_key` and `distinct`, `route` for joins),
//! into as many partitions as the larger input has. A join whose other side is small (at most
//! [`BROADCAST_BELOW`] records), or a static [`Dataset`], is broadcast instead: each partition
//! of the large side probes one hash index of the small side and keeps its partitioning.
//!
//! In a cluster, the batch a `transform` or `foreach_batch` closure gets holds this process's
//! partitions only, and these operations run within the process: a `reduce_by_key` here
//! combines the keys of this process's records. Shuffle across processes with the stream's
//! keyed operations (`reduce_by_key`, `join`, ... on the `DStream`) before the `transform`.

use std::cmp::{Ordering, Reverse};

use rayon::prelude::*;

use crate::batch::Batch;
use crate::data::{fast_map, Data, FastMap, Key};
use crate::dataset::Dataset;
use crate::shuffle::{reduce_side, route, transpose, Combiner};

/// A join side with at most this many records is broadcast (indexed once, probed by every
/// partition of the other side) instead of shuffled.
pub const BROADCAST_BELOW: usize = 100_000;

#[cfg(not(test))]
fn broadcast_below() -> usize {
    BROADCAST_BELOW
}

#[cfg(test)]
thread_local! {
    /// The tests run every join both broadcast and shuffled.
    static LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(BROADCAST_BELOW) };
}

#[cfg(test)]
fn broadcast_below() -> usize {
    LIMIT.with(std::cell::Cell::get)
}

/// The other side of a keyed operation on a [`Batch`]: another batch (`b.join(other)`) or a
/// static keyed [`Dataset`] (`b.join(&lookup)`).
///
/// ```
/// use stream_runtime::{Batch, Dataset, JoinSide};
/// let side: JoinSide<'_, &str, i32> = Batch::from(vec![("a", 1)]).into();
/// assert!(matches!(side, JoinSide::Batch(_)));
/// let lookup = Dataset::from_vec(vec![("a", 1)]);
/// assert!(matches!(JoinSide::from(&lookup), JoinSide::Dataset(_)));
/// ```
#[derive(Debug)]
pub enum JoinSide<'d, K, W> {
    /// Another batch, shuffled or broadcast by its size.
    Batch(Batch<(K, W)>),
    /// A static dataset, probed through its index (broadcast).
    Dataset(&'d Dataset<(K, W)>),
}

impl<K, W> From<Batch<(K, W)>> for JoinSide<'_, K, W> {
    fn from(b: Batch<(K, W)>) -> Self {
        JoinSide::Batch(b)
    }
}

impl<'d, K, W> From<&'d Dataset<(K, W)>> for JoinSide<'d, K, W> {
    fn from(d: &'d Dataset<(K, W)>) -> Self {
        JoinSide::Dataset(d)
    }
}

impl<K: Key, W: Data> JoinSide<'_, K, W> {
    /// The side as a batch of at least `partitions` partitions (a dataset is copied).
    fn into_batch(self, partitions: usize) -> Batch<(K, W)> {
        match self {
            JoinSide::Batch(b) => b,
            JoinSide::Dataset(d) => d.to_batch(partitions),
        }
    }
}

/// Routes every partition of `b` by the hash of its records' keys into `n` buckets and gathers
/// bucket `r` of every partition, in partition order, into partition `r`.
fn shuffle<K: Key, V: Data>(b: Batch<(K, V)>, n: usize) -> Vec<Vec<(K, V)>> {
    let maps: Vec<Vec<Vec<(K, V)>>> = b.into_partitions().into_par_iter().map(|p| route(p, n)).collect();
    if maps.is_empty() {
        return (0..n).map(|_| Vec::new()).collect();
    }
    transpose(maps, n).into_par_iter().map(|col| col.into_iter().flatten().collect()).collect()
}

/// Combines the values of each key on the map side (`split` makes a record a key and a
/// value), then merges per reduce partition: the engine's combine-by-key, over a batch.
fn combine<T, K, V, C, R>(
    b: Batch<T>,
    n: usize,
    split: impl Fn(T) -> (K, V) + Sync,
    create: impl Fn(V) -> C + Sync,
    merge_value: impl Fn(&mut C, V) + Sync,
    merge: impl Fn(&mut C, C) + Sync,
    finish: impl Fn(K, C) -> Option<R> + Sync,
) -> Batch<R>
where
    T: Data,
    K: Key,
    V: Send,
    C: Send,
    R: Send,
{
    let maps: Vec<_> = b
        .into_partitions()
        .into_par_iter()
        .map(|p| {
            let mut c = Combiner::new(n);
            for (k, v) in p.into_iter().map(&split) {
                c.add(k, v, &create, &merge_value);
            }
            c.finish(&create, &merge_value)
        })
        .collect();
    if maps.is_empty() {
        return Batch::from_partitions((0..n).map(|_| Vec::new()).collect());
    }
    // Within this process: the columns of the reduce side are the map side transposed.
    Batch::from_partitions(reduce_side(transpose(maps, n), merge, finish))
}

/// The values of each key of `records`, in order.
fn index<K: Key, W>(records: impl IntoIterator<Item = (K, W)>) -> FastMap<K, Vec<W>> {
    let mut m: FastMap<K, Vec<W>> = fast_map();
    for (k, w) in records {
        m.entry(k).or_default().push(w);
    }
    m
}

/// Every record of `b` probes `index` within its own partition; `emit` writes its output
/// (`None`: its key is not in the index).
fn probe<K: Key, V: Data, W: Sync, R: Data>(
    b: Batch<(K, V)>,
    index: &FastMap<K, Vec<W>>,
    emit: impl Fn(K, V, Option<&Vec<W>>, &mut Vec<R>) + Sync + Send,
) -> Batch<R> {
    b.map_partitions(|p| {
        let mut out = Vec::with_capacity(p.len());
        for (k, v) in p {
            let ws = index.get(&k);
            emit(k, v, ws, &mut out);
        }
        out
    })
}

/// The values of each key on both sides, in one partition.
fn cogroup_part<K: Key, V, W>(left: Vec<(K, V)>, right: Vec<(K, W)>) -> Vec<(K, (Vec<V>, Vec<W>))> {
    let mut groups: FastMap<K, (Vec<V>, Vec<W>)> = fast_map();
    for (k, v) in left {
        groups.entry(k).or_default().0.push(v);
    }
    for (k, w) in right {
        groups.entry(k).or_default().1.push(w);
    }
    groups.into_iter().collect()
}

/// Shuffles both sides by key into as many partitions as the larger has and runs `f` on each
/// pair of partitions.
fn shuffled<K: Key, V: Data, W: Data, R: Data>(
    left: Batch<(K, V)>,
    right: Batch<(K, W)>,
    f: impl Fn(Vec<(K, V)>, Vec<(K, W)>) -> Vec<R> + Sync + Send,
) -> Batch<R> {
    let n = left.num_partitions().max(right.num_partitions()).max(1);
    let (l, r) = rayon::join(|| shuffle(left, n), || shuffle(right, n));
    Batch::from_partitions(l.into_par_iter().zip(r).map(|(a, b)| f(a, b)).collect())
}

/// Every pair of `vs` and `ws`, under key `k`.
fn cross<K: Clone, A: Clone, B: Clone>(k: &K, vs: &[A], ws: &[B], out: &mut Vec<(K, (A, B))>) {
    for v in vs {
        for w in ws {
            out.push((k.clone(), (v.clone(), w.clone())));
        }
    }
}

/// The values as `Some`, or a single `None` when there are none (the outer side of a join).
fn or_none<A>(values: Vec<A>) -> Vec<Option<A>> {
    if values.is_empty() {
        vec![None]
    } else {
        values.into_iter().map(Some).collect()
    }
}

/// The first `n` records of the partitions by `cmp`, in that order.
fn first_n<T: Data>(parts: &[Vec<T>], n: usize, cmp: impl Fn(&T, &T) -> Ordering + Sync) -> Vec<T> {
    if n == 0 {
        return Vec::new();
    }
    fn smallest<'t, T>(mut v: Vec<&'t T>, n: usize, cmp: &(impl Fn(&T, &T) -> Ordering + Sync)) -> Vec<&'t T> {
        if v.len() > n {
            v.select_nth_unstable_by(n, |a, b| cmp(a, b));
            v.truncate(n);
        }
        v
    }
    let candidates: Vec<&T> = parts
        .par_iter()
        .map(|p| smallest(p.iter().collect(), n, &cmp))
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    let mut best = smallest(candidates, n, &cmp);
    best.sort_by(|a, b| cmp(a, b));
    best.into_iter().cloned().collect()
}

impl<T: Data> Batch<T> {
    /// Applies `f` to every record and flattens what it returns (Spark's `flatMap`).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let b = Batch::from_vec(vec!["a b", "c"], 2).flat_map(|l| l.split(' ').collect::<Vec<_>>());
    /// assert_eq!(b.collect(), vec!["a", "b", "c"]);
    /// ```
    pub fn flat_map<U: Data, I, F>(self, f: F) -> Batch<U>
    where
        I: IntoIterator<Item = U>,
        F: Fn(T) -> I + Send + Sync,
    {
        self.map_partitions(|p| p.into_iter().flat_map(&f).collect())
    }

    /// Number of records (Spark's `count`).
    ///
    /// ```
    /// assert_eq!(stream_runtime::Batch::from_vec(vec![1, 2, 3], 2).count(), 3);
    /// ```
    pub fn count(&self) -> u64 {
        self.len() as u64
    }

    /// All records, in order (Spark's `collect`).
    ///
    /// ```
    /// assert_eq!(stream_runtime::Batch::from_vec(vec![1, 2, 3], 2).collect(), vec![1, 2, 3]);
    /// ```
    pub fn collect(self) -> Vec<T> {
        self.into_vec()
    }

    /// The first `n` records, in order (Spark's `take`).
    ///
    /// ```
    /// assert_eq!(stream_runtime::Batch::from_vec(vec![1, 2, 3], 2).take(2), vec![1, 2]);
    /// ```
    pub fn take(&self, n: usize) -> Vec<T> {
        self.iter().take(n).cloned().collect()
    }

    /// The records sorted by `key`, ascending or descending, in as many partitions as the batch
    /// has, each a contiguous range of the order (Spark's `sortBy`). The sort is stable; `key`
    /// is computed once per record.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let b = Batch::from_vec(vec![("b", 2), ("a", 3), ("c", 1)], 2);
    /// let by_count = b.sort_by(|(_, n)| *n, false);
    /// assert_eq!(by_count.num_partitions(), 2);
    /// assert_eq!(by_count.collect(), vec![("a", 3), ("b", 2), ("c", 1)]);
    /// ```
    pub fn sort_by<S, F>(self, key: F, ascending: bool) -> Batch<T>
    where
        S: Ord + Send,
        F: Fn(&T) -> S + Send + Sync,
    {
        let n = self.num_partitions().max(1);
        let mut all = self.into_vec();
        if ascending {
            all.par_sort_by_cached_key(|x| key(x));
        } else {
            all.par_sort_by_cached_key(|x| Reverse(key(x)));
        }
        Batch::from_vec(all, n)
    }

    /// The `n` largest records, largest first (Spark's `top`).
    ///
    /// ```
    /// assert_eq!(stream_runtime::Batch::from_vec(vec![5, 1, 4, 2, 3], 2).top(2), vec![5, 4]);
    /// ```
    pub fn top(&self, n: usize) -> Vec<T>
    where
        T: Ord,
    {
        first_n(self.partitions(), n, |a, b| b.cmp(a))
    }

    /// The `n` smallest records, smallest first (Spark's `takeOrdered`).
    ///
    /// ```
    /// assert_eq!(stream_runtime::Batch::from_vec(vec![5, 1, 4, 2, 3], 2).take_ordered(2), vec![1, 2]);
    /// ```
    pub fn take_ordered(&self, n: usize) -> Vec<T>
    where
        T: Ord,
    {
        first_n(self.partitions(), n, Ord::cmp)
    }
}

impl<T: Key> Batch<T> {
    /// Each distinct record once (Spark's `distinct`), hashed into as many partitions as the
    /// batch has.
    ///
    /// ```
    /// let mut d = stream_runtime::Batch::from_vec(vec![1, 2, 1, 3, 2], 2).distinct().collect();
    /// d.sort();
    /// assert_eq!(d, vec![1, 2, 3]);
    /// ```
    pub fn distinct(self) -> Batch<T> {
        let n = self.num_partitions().max(1);
        combine(self, n, |x| (x, ()), |()| (), |_, ()| (), |_, ()| (), |k, ()| Some(k))
    }

    /// The records not in `other`, duplicates kept (Spark's `subtract`).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let mut d = Batch::from_vec(vec![1, 2, 2, 3], 2).subtract(Batch::from(vec![2])).collect();
    /// d.sort();
    /// assert_eq!(d, vec![1, 3]);
    /// ```
    pub fn subtract(self, other: Batch<T>) -> Batch<T> {
        let keys = |b: Batch<T>| b.map(|x| (x, ()));
        keys(self).subtract_by_key(keys(other)).map(|(x, ())| x)
    }

    /// The distinct records in both batches (Spark's `intersection`).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let mut d = Batch::from_vec(vec![1, 2, 2, 3], 2).intersection(Batch::from(vec![2, 3, 4])).collect();
    /// d.sort();
    /// assert_eq!(d, vec![2, 3]);
    /// ```
    pub fn intersection(self, other: Batch<T>) -> Batch<T> {
        let keys = |b: Batch<T>| b.map(|x| (x, ()));
        shuffled(keys(self), keys(other), |a, b| {
            cogroup_part(a, b)
                .into_iter()
                .filter(|(_, (l, r))| !l.is_empty() && !r.is_empty())
                .map(|(k, _)| k)
                .collect()
        })
    }
}

impl<K: Key, V: Data> Batch<(K, V)> {
    /// Merges the values of each key with the associative function `f` (Spark's
    /// `reduceByKey`), combining on the map side, into as many partitions as the batch has.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let mut d = Batch::from_vec(vec![("a", 1), ("b", 1), ("a", 1)], 2).reduce_by_key(|x, y| x + y).collect();
    /// d.sort();
    /// assert_eq!(d, vec![("a", 2), ("b", 1)]);
    /// ```
    pub fn reduce_by_key<F>(self, f: F) -> Batch<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync,
    {
        let n = self.num_partitions().max(1);
        let fold = |acc: &mut Option<V>, v: V| {
            if let Some(a) = acc.take() {
                *acc = Some(f(a, v));
            }
        };
        combine(
            self,
            n,
            |kv| kv,
            Some,
            fold,
            |acc, o: Option<V>| {
                if let Some(v) = o {
                    fold(acc, v);
                }
            },
            |k, v| v.map(|v| (k, v)),
        )
    }

    /// The values of each key (Spark's `groupByKey`): in order within a partition, partitions
    /// in no particular order.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let mut d = Batch::from_vec(vec![("a", 1), ("b", 2), ("a", 3)], 1).group_by_key().collect();
    /// d.sort();
    /// assert_eq!(d, vec![("a", vec![1, 3]), ("b", vec![2])]);
    /// ```
    pub fn group_by_key(self) -> Batch<(K, Vec<V>)> {
        let n = self.num_partitions().max(1);
        combine(self, n, |kv| kv, |v| vec![v], |c, v| c.push(v), |c, o| c.extend(o), |k, c| Some((k, c)))
    }

    /// The values of each key on both sides, for every key of either (Spark's `cogroup`).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let a = Batch::from_vec(vec![("a", 1), ("b", 2)], 2);
    /// let mut d = a.cogroup(Batch::from(vec![("b", "x"), ("c", "y")])).collect();
    /// d.sort();
    /// assert_eq!(d, vec![("a", (vec![1], vec![])), ("b", (vec![2], vec!["x"])), ("c", (vec![], vec!["y"]))]);
    /// ```
    pub fn cogroup<'d, W: Data>(self, other: impl Into<JoinSide<'d, K, W>>) -> Batch<(K, (Vec<V>, Vec<W>))> {
        let n = self.num_partitions();
        shuffled(self, other.into().into_batch(n), cogroup_part)
    }

    /// One `(k, (v, w))` for every pair of values of a key on both sides (Spark's `join`).
    /// The other side is broadcast when it is a [`Dataset`] or the smaller side has at most
    /// [`BROADCAST_BELOW`] records, else both are shuffled.
    ///
    /// Spark's example of `transform`, joining each batch with a static dataset:
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let out = stream_runtime::testing::run(vec![vec![("spammer", 1), ("alice", 2)]], 2, |counts| {
    ///     let spam_info = counts.context().parallelize(vec![("spammer", true), ("alice", false)]);
    ///     counts.transform(move |rdd, _time| rdd.join(&spam_info).filter(|(_, (_, spam))| !spam))
    /// });
    /// assert_eq!(out, vec![vec![("alice", (2, false))]]);
    /// ```
    pub fn join<'d, W: Data>(self, other: impl Into<JoinSide<'d, K, W>>) -> Batch<(K, (V, W))> {
        let inner = |k: K, v: V, ws: Option<&Vec<W>>, out: &mut Vec<(K, (V, W))>| {
            cross(&k, std::slice::from_ref(&v), ws.map_or(&[][..], Vec::as_slice), out)
        };
        match other.into() {
            JoinSide::Dataset(d) => probe(self, &d.index(), inner),
            JoinSide::Batch(b) if b.len() <= broadcast_below() && b.len() <= self.len() => {
                probe(self, &index(b.into_vec()), inner)
            }
            JoinSide::Batch(b) if self.len() <= broadcast_below() => {
                let left = index(self.into_vec());
                probe(b, &left, |k, w, vs, out| {
                    for v in vs.map_or(&[][..], Vec::as_slice) {
                        out.push((k.clone(), (v.clone(), w.clone())));
                    }
                })
            }
            JoinSide::Batch(b) => shuffled(self, b, |l, r| {
                let mut out = Vec::new();
                for (k, (vs, ws)) in cogroup_part(l, r) {
                    cross(&k, &vs, &ws, &mut out);
                }
                out
            }),
        }
    }

    /// `(k, (v, Some(w)))` for every pair, or `(k, (v, None))` when the other side lacks `k`
    /// (Spark's `leftOuterJoin`). Broadcast as [`join`](Self::join) when the other side is a
    /// dataset or small.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let a = Batch::from_vec(vec![("a", 1), ("b", 2)], 2);
    /// let mut d = a.left_outer_join(Batch::from(vec![("b", 3), ("c", 4)])).collect();
    /// d.sort();
    /// assert_eq!(d, vec![("a", (1, None)), ("b", (2, Some(3)))]);
    /// ```
    pub fn left_outer_join<'d, W: Data>(self, other: impl Into<JoinSide<'d, K, W>>) -> Batch<(K, (V, Option<W>))> {
        let left = |k: K, v: V, ws: Option<&Vec<W>>, out: &mut Vec<(K, (V, Option<W>))>| match ws {
            Some(ws) => out.extend(ws.iter().map(|w| (k.clone(), (v.clone(), Some(w.clone()))))),
            None => out.push((k, (v, None))),
        };
        match other.into() {
            JoinSide::Dataset(d) => probe(self, &d.index(), left),
            JoinSide::Batch(b) if b.len() <= broadcast_below() => probe(self, &index(b.into_vec()), left),
            JoinSide::Batch(b) => shuffled(self, b, |l, r| {
                let mut out = Vec::new();
                for (k, (vs, ws)) in cogroup_part(l, r) {
                    cross(&k, &vs, &or_none(ws), &mut out);
                }
                out
            }),
        }
    }

    /// `(k, (Some(v), w))` for every pair, or `(k, (None, w))` when this side lacks `k`
    /// (Spark's `rightOuterJoin`). This side is broadcast when it has at most
    /// [`BROADCAST_BELOW`] records.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let a = Batch::from_vec(vec![("a", 1), ("b", 2)], 2);
    /// let mut d = a.right_outer_join(Batch::from(vec![("b", 3), ("c", 4)])).collect();
    /// d.sort();
    /// assert_eq!(d, vec![("b", (Some(2), 3)), ("c", (None, 4))]);
    /// ```
    pub fn right_outer_join<'d, W: Data>(self, other: impl Into<JoinSide<'d, K, W>>) -> Batch<(K, (Option<V>, W))> {
        let right = other.into().into_batch(self.num_partitions());
        if self.len() <= broadcast_below() {
            let left = index(self.into_vec());
            return probe(right, &left, |k, w, vs, out| match vs {
                Some(vs) => out.extend(vs.iter().map(|v| (k.clone(), (Some(v.clone()), w.clone())))),
                None => out.push((k, (None, w))),
            });
        }
        shuffled(self, right, |l, r| {
            let mut out = Vec::new();
            for (k, (vs, ws)) in cogroup_part(l, r) {
                cross(&k, &or_none(vs), &ws, &mut out);
            }
            out
        })
    }

    /// `(k, (Option<v>, Option<w>))` for every key of either side (Spark's
    /// `fullOuterJoin`).
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let a = Batch::from_vec(vec![("a", 1), ("b", 2)], 2);
    /// let mut d = a.full_outer_join(Batch::from(vec![("b", 3), ("c", 4)])).collect();
    /// d.sort();
    /// assert_eq!(d, vec![("a", (Some(1), None)), ("b", (Some(2), Some(3))), ("c", (None, Some(4)))]);
    /// ```
    pub fn full_outer_join<'d, W: Data>(
        self,
        other: impl Into<JoinSide<'d, K, W>>,
    ) -> Batch<(K, (Option<V>, Option<W>))> {
        let n = self.num_partitions();
        shuffled(self, other.into().into_batch(n), |l, r| {
            let mut out = Vec::new();
            for (k, (vs, ws)) in cogroup_part(l, r) {
                cross(&k, &or_none(vs), &or_none(ws), &mut out);
            }
            out
        })
    }

    /// The records whose key is not on the other side (Spark's `subtractByKey`), duplicates
    /// kept. Broadcast as [`left_outer_join`](Self::left_outer_join).
    ///
    /// ```
    /// use stream_runtime::{Batch, Dataset};
    /// let blacklist = Dataset::from_vec(vec![("spam", ())]);
    /// let words = Batch::from_vec(vec![("ham", 1), ("spam", 1), ("eggs", 1)], 2);
    /// assert_eq!(words.subtract_by_key(&blacklist).collect(), vec![("ham", 1), ("eggs", 1)]);
    /// ```
    pub fn subtract_by_key<'d, W: Data>(self, other: impl Into<JoinSide<'d, K, W>>) -> Batch<(K, V)> {
        let keep = |k: K, v: V, ws: Option<&Vec<W>>, out: &mut Vec<(K, V)>| {
            if ws.is_none() {
                out.push((k, v));
            }
        };
        match other.into() {
            JoinSide::Dataset(d) => probe(self, &d.index(), keep),
            JoinSide::Batch(b) if b.len() <= broadcast_below() => probe(self, &index(b.into_vec()), keep),
            JoinSide::Batch(b) => shuffled(self, b, |l, r| {
                let right = index(r);
                l.into_iter().filter(|(k, _)| !right.contains_key(k)).collect()
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every operation against an oracle over plain `Vec`s and `BTreeMap`s, on random batches
    //! in random partitions; every join both broadcast and shuffled.

    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    type Rows = Vec<(u8, i32)>;

    fn rows() -> impl Strategy<Value = Rows> {
        prop::collection::vec((0..10u8, -5..5i32), 0..40)
    }

    fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
        v.sort();
        v
    }

    fn groups(rows: &Rows) -> BTreeMap<u8, Vec<i32>> {
        let mut m: BTreeMap<u8, Vec<i32>> = BTreeMap::new();
        for (k, v) in rows {
            m.entry(*k).or_default().push(*v);
        }
        m
    }

    /// The full outer join by the book: every key of either side, `None` for a missing side.
    fn oracle_full(a: &Rows, b: &Rows) -> Vec<(u8, (Option<i32>, Option<i32>))> {
        let (ga, gb) = (groups(a), groups(b));
        let keys: BTreeSet<u8> = ga.keys().chain(gb.keys()).copied().collect();
        let side = |g: &BTreeMap<u8, Vec<i32>>, k| match g.get(&k) {
            Some(vs) => vs.iter().copied().map(Some).collect(),
            None => vec![None],
        };
        let mut out = Vec::new();
        for k in keys {
            for v in side(&ga, k) {
                for w in side(&gb, k) {
                    out.push((k, (v, w)));
                }
            }
        }
        sorted(out)
    }

    fn with_limit<R>(limit: usize, f: impl FnOnce() -> R) -> R {
        let old = LIMIT.with(|l| l.replace(limit));
        let r = f();
        LIMIT.with(|l| l.set(old));
        r
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn joins_match_the_oracle(a in rows(), b in rows(), pa in 1..4usize, pb in 1..4usize, limit in prop_oneof![Just(0usize), Just(8), Just(usize::MAX)]) {
            let full = oracle_full(&a, &b);
            let batch = |r: &Rows, p| Batch::from_vec(r.clone(), p);
            with_limit(limit, || {
                let inner: Vec<_> = full.iter().filter_map(|&(k, (v, w))| Some((k, (v?, w?)))).collect();
                prop_assert_eq!(sorted(batch(&a, pa).join(batch(&b, pb)).collect()), inner);
                let left: Vec<_> = full.iter().filter_map(|&(k, (v, w))| Some((k, (v?, w)))).collect();
                prop_assert_eq!(sorted(batch(&a, pa).left_outer_join(batch(&b, pb)).collect()), left);
                let right: Vec<_> = full.iter().filter_map(|&(k, (v, w))| Some((k, (v, w?)))).collect();
                prop_assert_eq!(sorted(batch(&a, pa).right_outer_join(batch(&b, pb)).collect()), right);
                prop_assert_eq!(sorted(batch(&a, pa).full_outer_join(batch(&b, pb)).collect()), full.clone());
                let d = Dataset::from_vec(b.clone());
                let dataset_inner: Vec<_> = full.iter().filter_map(|&(k, (v, w))| Some((k, (v?, w?)))).collect();
                prop_assert_eq!(sorted(batch(&a, pa).join(&d).collect()), dataset_inner);
                prop_assert_eq!(sorted(batch(&a, pa).full_outer_join(&d).collect()), full.clone());
                let gb = groups(&b);
                let kept: Vec<_> = a.iter().copied().filter(|(k, _)| !gb.contains_key(k)).collect();
                prop_assert_eq!(sorted(batch(&a, pa).subtract_by_key(batch(&b, pb)).collect()), sorted(kept.clone()));
                prop_assert_eq!(sorted(batch(&a, pa).subtract_by_key(&d).collect()), sorted(kept));
                Ok(())
            })?;
        }

        #[test]
        fn cogroup_matches_the_oracle(a in rows(), b in rows(), pa in 1..4usize, pb in 1..4usize) {
            let (ga, gb) = (groups(&a), groups(&b));
            let keys: BTreeSet<u8> = ga.keys().chain(gb.keys()).copied().collect();
            let expected: Vec<_> = keys
                .into_iter()
                .map(|k| (k, (sorted(ga.get(&k).cloned().unwrap_or_default()), sorted(gb.get(&k).cloned().unwrap_or_default()))))
                .collect();
            let got: Vec<_> = Batch::from_vec(a, pa)
                .cogroup(Batch::from_vec(b, pb))
                .collect()
                .into_iter()
                .map(|(k, (vs, ws))| (k, (sorted(vs), sorted(ws))))
                .collect();
            prop_assert_eq!(sorted(got), expected);
        }

        #[test]
        fn keyed_reductions_match_the_oracle(a in rows(), p in 1..5usize) {
            let g = groups(&a);
            let sums: Vec<_> = g.iter().map(|(k, vs)| (*k, vs.iter().sum::<i32>())).collect();
            prop_assert_eq!(sorted(Batch::from_vec(a.clone(), p).reduce_by_key(|x, y| x + y).collect()), sums);
            // Values of a key come in no particular order across partitions, as in Spark.
            let grouped: Vec<_> = g.into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
            let got: Vec<_> = Batch::from_vec(a.clone(), p).group_by_key().collect().into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
            prop_assert_eq!(sorted(got), grouped);
        }

        #[test]
        fn set_operations_match_the_oracle(a in rows(), b in rows(), pa in 1..4usize, limit in prop_oneof![Just(0usize), Just(usize::MAX)]) {
            let (sa, sb): (BTreeSet<_>, BTreeSet<_>) = (a.iter().copied().collect(), b.iter().copied().collect());
            with_limit(limit, || {
                prop_assert_eq!(sorted(Batch::from_vec(a.clone(), pa).distinct().collect()), sa.iter().copied().collect::<Vec<_>>());
                let sub: Vec<_> = a.iter().copied().filter(|x| !sb.contains(x)).collect();
                prop_assert_eq!(sorted(Batch::from_vec(a.clone(), pa).subtract(Batch::from(b.clone())).collect()), sorted(sub));
                let both: Vec<_> = sa.intersection(&sb).copied().collect();
                prop_assert_eq!(sorted(Batch::from_vec(a.clone(), pa).intersection(Batch::from(b.clone())).collect()), both);
                Ok(())
            })?;
        }

        #[test]
        fn orderings_match_the_oracle(a in rows(), p in 1..5usize, n in 0..12usize) {
            let asc = sorted(a.clone());
            let b = Batch::from_vec(a.clone(), p);
            prop_assert_eq!(b.take_ordered(n), asc.iter().copied().take(n).collect::<Vec<_>>());
            prop_assert_eq!(b.top(n), asc.iter().rev().copied().take(n).collect::<Vec<_>>());
            prop_assert_eq!(b.take(n), a.iter().copied().take(n).collect::<Vec<_>>());
            prop_assert_eq!(b.count(), a.len() as u64);
            // Stable: records of equal keys keep their order.
            let mut by_key = a.clone();
            by_key.sort_by_key(|(k, _)| *k);
            let s = b.clone().sort_by(|(k, _)| *k, true);
            prop_assert_eq!(s.num_partitions(), p);
            prop_assert_eq!(s.collect(), by_key.clone());
            let mut desc = a.clone();
            desc.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
            prop_assert_eq!(b.clone().sort_by(|(k, _)| *k, false).collect(), desc);
            let flat: Vec<i32> = a.iter().flat_map(|(k, v)| [i32::from(*k), *v]).collect();
            prop_assert_eq!(b.flat_map(|(k, v)| [i32::from(k), v]).collect(), flat);
        }
    }
}
