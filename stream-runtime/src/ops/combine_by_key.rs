use std::sync::atomic::{AtomicUsize, Ordering};

use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::{Data, Key, Persist};
use crate::shuffle::{columns, reduce_side, Combiner, Exchanges, Partitioner, Placement, Route, Table};
use crate::DStream;

/// The most keys a map-side table is sized for per input record of its partition, when it
/// starts as large as the previous batch's (a line of text brings a dozen words or so).
const KEYS_PER_RECORD: usize = 16;

/// The functions of a keyed aggregation (Spark's `combineByKey`), plus `finish`, which turns
/// a merged combiner into the output value (or drops the key).
pub(crate) struct Aggregator<Cr, Mv, Mc, Fi> {
    pub(crate) create: Cr,
    pub(crate) merge_value: Mv,
    pub(crate) merge_combiners: Mc,
    pub(crate) finish: Fi,
}

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Per batch, combines the values of each key with `create`, `merge_value` and
    /// `merge_combiners` (Spark's `combineByKey`, with map-side combine), into the default
    /// number of partitions (the thread count).
    ///
    /// Keys and combiners are [`Persist`]: in a cluster, the combiners of the keys other
    /// processes own cross to them after the map-side combine.
    ///
    /// ```
    /// // Average per key: (sum, count) combiners.
    /// let input = vec![vec![("a", 1.0), ("a", 3.0), ("b", 2.0)]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| {
    ///     s.combine_by_key(|v| (v, 1), |c, v| { c.0 += v; c.1 += 1 }, |c, o| { c.0 += o.0; c.1 += o.1 })
    ///         .map_values(|(sum, n)| sum / n as f64)
    /// });
    /// out[0].sort_by(|a, b| a.0.cmp(b.0));
    /// assert_eq!(out, vec![vec![("a", 2.0), ("b", 2.0)]]);
    /// ```
    pub fn combine_by_key<A: Data + Persist, Cr, Mv, Mc>(
        self,
        create: Cr,
        merge_value: Mv,
        merge_combiners: Mc,
    ) -> DStream<'a, (K, A)>
    where
        K: Persist,
        Cr: Fn(V) -> A + Send + Sync + 'static,
        Mv: Fn(&mut A, V) + Send + Sync + 'static,
        Mc: Fn(&mut A, A) + Send + Sync + 'static,
    {
        self.combine_into(
            "combine_by_key",
            Aggregator { create, merge_value, merge_combiners, finish: Some },
            Route::default(),
        )
    }

    /// As [`combine_by_key`](Self::combine_by_key), into `partitions`: a count or a
    /// [`Partitioner`] (Spark's `combineByKey(..., partitioner)`).
    ///
    /// ```
    /// let input = vec![vec![("a", 1), ("a", 3), ("b", 2)]];
    /// let out = stream_runtime::testing::run(input, 2, |s| {
    ///     s.combine_by_key_with_partitions(|v| vec![v], |c, v| c.push(v), |c, o| c.extend(o), 1).glom()
    /// });
    /// let mut only = out[0][0].clone();
    /// only.iter_mut().for_each(|(_, vs)| vs.sort());
    /// only.sort();
    /// assert_eq!(out[0].len(), 1);
    /// assert_eq!(only, vec![("a", vec![1, 3]), ("b", vec![2])]);
    /// ```
    pub fn combine_by_key_with_partitions<A: Data + Persist, Cr, Mv, Mc>(
        self,
        create: Cr,
        merge_value: Mv,
        merge_combiners: Mc,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, A)>
    where
        K: Persist,
        Cr: Fn(V) -> A + Send + Sync + 'static,
        Mv: Fn(&mut A, V) + Send + Sync + 'static,
        Mc: Fn(&mut A, A) + Send + Sync + 'static,
    {
        self.combine_into(
            "combine_by_key",
            Aggregator { create, merge_value, merge_combiners, finish: Some },
            Route::of(partitions),
        )
    }

    pub(crate) fn combine_into<A: Persist + Send + 'static, B: Data, Cr, Mv, Mc, Fi>(
        self,
        what: &'static str,
        agg: Aggregator<Cr, Mv, Mc, Fi>,
        route: Route<K>,
    ) -> DStream<'a, (K, B)>
    where
        K: Persist,
        Cr: Fn(V) -> A + Send + Sync + 'static,
        Mv: Fn(&mut A, V) + Send + Sync + 'static,
        Mc: Fn(&mut A, A) + Send + Sync + 'static,
        Fi: Fn(A) -> Option<B> + Send + Sync + 'static,
    {
        // Map-side combine fused into the chain's pass, then a hash shuffle to `partitions`
        // (per process, in a cluster: the tables of the other processes' partitions cross).
        let ex = Exchanges::new(self.ctx);
        // The largest map-side table of the previous batch: each new table starts that large
        // (bounded by a few keys per input record, so that a small batch after a large one
        // does not clear a large table), and a batch like the last one grows none.
        let last_table = AtomicUsize::new(0);
        self.unary(what, move |up, t, env| {
            let place = Placement::of(env, route.count(env.parallelism));
            let Some(combiners) = up.pass(t, env, |c, p| {
                let keys = last_table.load(Ordering::Relaxed).min(p.len().saturating_mul(KEYS_PER_RECORD));
                let mut comb = Combiner::on(&route, place, keys);
                c.push_all(p, &mut |(k, v)| comb.add(k, v, &agg.create, &agg.merge_value));
                let tables = comb.finish(&agg.create, &agg.merge_value);
                last_table.store(tables.iter().map(Table::len).max().unwrap_or(0), Ordering::Relaxed);
                tables
            })?
            else {
                return Ok(None);
            };
            let cols = columns(combiners, place.local, &ex, t, env)?;
            let finish = |k, a| (agg.finish)(a).map(|b| (k, b));
            Ok(Some(Batch::from_partitions(reduce_side(cols, &agg.merge_combiners, finish))))
        })
    }
}
