use rayon::prelude::*;

use super::keyed::KeyedColumns;
use super::ring::Ring;
use super::sliding::{check, windowed, Kind, Sliding, SAMPLE};
use crate::batch::Batch;
use crate::chain::Chain;
use crate::checkpoint::codec::CodecError;
use crate::checkpoint::Saved;
use crate::data::{Data, Key, Persist};
use crate::metrics::StateView;
use crate::node::Env;
use crate::shuffle::{reroute_rings, restore_parts, route_partitions, save_parts, Partitioner, Placement, Route};
use crate::time::{Duration, Time};
use crate::DStream;

/// Non-invertible keyed window reduction over per-batch partials: per hash partition, the
/// window laid out time-major ([`KeyedColumns`]: per-batch partials, and columns of
/// aggregates per chunk of batches under a DABA Lite queue).
pub(super) struct KeyedDaba<K, V, F> {
    f: F,
    parts: Vec<KeyedColumns<K, V>>,
    route: Route<K>,
}

impl<K: Key, V: Data, F: Fn(V, V) -> V + Send + Sync + 'static> KeyedDaba<K, V, F> {
    pub(super) fn new(f: F, partitions: usize, route: Route<K>) -> Self {
        let parts = (0..partitions.max(1)).map(|_| KeyedColumns::new()).collect();
        KeyedDaba { f, parts, route }
    }
}

impl<K: Key + Persist, V: Data + Persist, F: Fn(V, V) -> V + Send + Sync + 'static> Sliding for KeyedDaba<K, V, F> {
    type In = (K, V);
    type Out = (K, V);

    fn ingest(&mut self, t: Time, batch: Batch<(K, V)>) {
        let f = &self.f;
        let input = route_partitions(batch, self.parts.len(), &self.route);
        self.parts.par_iter_mut().zip(input).for_each(|(p, records)| p.push(t, records, f));
    }

    fn evict(&mut self, cutoff: Time) {
        let f = &self.f;
        self.parts.par_iter_mut().for_each(|p| p.evict(cutoff, f));
    }

    fn emit(&mut self) -> Batch<(K, V)> {
        let f = &self.f;
        Batch::from_partitions(self.parts.par_iter().map(|p| p.aggregates(f)).collect())
    }

    fn save(&self) -> Result<Vec<u8>, CodecError> {
        save_parts(&self.parts, KeyedColumns::to_checkpoint)
    }

    fn restore(&mut self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError> {
        let (f, route) = (&self.f, &self.route);
        let regroup = |parts: Vec<KeyedColumns<K, V>>, place| {
            let rings = parts.into_iter().map(KeyedColumns::into_batches).collect();
            let rings = reroute_rings(rings, place, |(k, _): &(K, V)| k, route);
            rings.into_iter().map(|batches| KeyedColumns::from_batches(batches, f)).collect::<Result<Vec<_>, _>>()
        };
        let decode = |bytes: &[u8]| KeyedColumns::from_checkpoint(bytes, f);
        self.parts = restore_parts(saved, Placement::of(env, self.parts.len()), route, decode, regroup)?;
        Ok(())
    }

    /// Per batch, the keys of its partials; keys: the window's keys; bytes: what the
    /// partitions hold in line (key index, slots, raw partials, columns) and what keys and
    /// values own, sampled.
    fn view(&self) -> StateView {
        let rings: Vec<_> = self.parts.iter().map(|p| p.ring()).collect();
        let window = Ring::window(&rings);
        let partials: u64 = window.iter().filter_map(|b| b.keys).sum();
        let keys: usize = self.parts.iter().map(KeyedColumns::len).sum();
        let (mut sampled, mut n) = (0u64, 0u64);
        for kv in self.parts.iter().flat_map(|p| p.sample(SAMPLE)).take(SAMPLE) {
            sampled += crate::heap::owned_bytes(&kv);
            n += 1;
        }
        let inline: u64 = self.parts.iter().map(KeyedColumns::inline_bytes).sum();
        let owned = (sampled * partials).checked_div(n).unwrap_or(0);
        StateView { keys: Some(keys as u64), bytes: Some(inline + owned), window: Some(window), ..StateView::default() }
    }
}

impl<'a, K: Key + Persist, V: Data + Persist, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Every `slide`, the values of each key over the last `window` merged with the
    /// associative function `f` (Spark's `reduceByKeyAndWindow(f, w, s)`, no inverse). Only
    /// keys with data in the window appear; an empty window gives an empty batch.
    ///
    /// Cost: each batch is reduced per key first (map-side combine); the window keeps each
    /// batch's partials and, per chunk of 8 batches, one column of aggregates (a value or none
    /// per key), the chunks' columns in a DABA Lite queue. A slide folds the entering batch's
    /// partials into a column, and makes a bounded number of passes over columns (about five
    /// on average, at most about 20 on the slide that ends a chunk), plus twice `f` per key
    /// emitted, whatever the window length.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 1)], vec![("a", 1)], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| s.reduce_by_key_and_window(|a, b| a + b, Duration::seconds(2), Duration::seconds(1)));
    /// assert_eq!(out, vec![vec![("a", 1)], vec![("a", 2)], vec![("a", 1)], vec![]]);
    /// ```
    pub fn reduce_by_key_and_window<F>(self, f: F, window: Duration, slide: Duration) -> DStream<'a, (K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        self.reduce_by_key_and_window_with_partitions(f, window, slide, 0)
    }

    /// As [`reduce_by_key_and_window`](Self::reduce_by_key_and_window), into `partitions`
    /// (Spark's `reduceByKeyAndWindow(f, w, s, numPartitions)` and `(f, w, s,
    /// partitioner)`): a count (0: the thread count) or a [`Partitioner`], for the per-batch
    /// reduction and the window's state.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 1), ("b", 1)], vec![("a", 1)]];
    /// let out = testing::run(input, 2, |s| {
    ///     s.reduce_by_key_and_window_with_partitions(|a, b| a + b, Duration::seconds(2), Duration::seconds(1), 3).glom()
    /// });
    /// assert_eq!(out[1].len(), 3);
    /// let mut last = out[1].concat();
    /// last.sort();
    /// assert_eq!(last, vec![("a", 2), ("b", 1)]);
    /// ```
    pub fn reduce_by_key_and_window_with_partitions<F>(
        self,
        f: F,
        window: Duration,
        slide: Duration,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        let ctx = self.ctx;
        check(ctx, Kind::Windowed, window, slide, self.slide_duration());
        let route = Route::of(partitions);
        let n = route.count(ctx.default_parallelism());
        let partials = self.reduce_by_key_into(f.clone(), route.fixed(n)).into_node("reduce_by_key_and_window");
        windowed(ctx, "reduce_by_key_and_window", partials, window, slide, KeyedDaba::new(f, n, route))
    }
}
