use std::collections::VecDeque;

use rayon::prelude::*;

use super::dense::{Dense, AHEAD};
use super::ring::Ring;
use super::sliding::{check, records_bytes, windowed, Kind, Sliding, SAMPLE};
use crate::batch::Batch;
use crate::chain::Chain;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::checkpoint::Saved;
use crate::data::{Data, FastMap, Key, Persist};
use crate::metrics::StateView;
use crate::node::Env;
use crate::shuffle::{
    reroute_maps, reroute_rings, restore_parts, route_partitions, save_parts, Partitioner, Placement, Route,
};
use crate::time::{Duration, Time};
use crate::DStream;

/// The window value of one key and the number of batches in the window that hold the key, as
/// a checkpoint holds it. `value` is `None` only after `f` or `inv` panicked.
#[derive(serde::Serialize, serde::Deserialize)]
struct Slot<V> {
    value: Option<V>,
    batches: u32,
}

/// A [`Slot`] as a checkpoint writes it, borrowed.
#[derive(serde::Serialize)]
struct SlotRef<'a, V> {
    value: &'a Option<V>,
    batches: u32,
}

/// One hash partition: the window value per key, and per batch in the window its partials,
/// each naming its key by the key's position in `values`.
struct Part<K, V> {
    values: Dense<K, V>,
    ring: Ring<(u32, V)>,
    /// The partials leaving the window, kept to reuse the allocation.
    scratch: Vec<(u32, V)>,
}

/// A partition as a checkpoint holds it: the window values, then the partials per batch.
type SavedPart<K, V> = (Vec<(K, Slot<V>)>, Partials<K, V>);

/// The partials of each batch in a window, oldest first, with their keys.
type Partials<K, V> = VecDeque<(Time, Vec<(K, V)>)>;

impl<K: Key, V: Clone> Part<K, V> {
    fn new() -> Self {
        Part { values: Dense::new(), ring: Ring::default(), scratch: Vec::new() }
    }

    /// A partition of `values`, and `batches` of partials naming keys of `values`. Fails when
    /// a partial names a key with no window value (damaged state).
    fn from_keyed(values: impl IntoIterator<Item = (K, Slot<V>)>, batches: Partials<K, V>) -> Result<Self, CodecError> {
        let mut part = Part::new();
        for (k, slot) in values {
            part.values.insert(k, slot.value, slot.batches);
        }
        for (t, partials) in batches {
            let mut items = Vec::with_capacity(partials.len());
            for (k, v) in partials {
                let p = part
                    .values
                    .position(&k)
                    .ok_or(CodecError::Inconsistent("a window batch names a key with no window value"))?;
                items.push((p, v));
            }
            part.ring.push(t, items);
        }
        Ok(part)
    }

    /// The window values by key, and the partials per batch with their keys.
    fn into_keyed(self) -> (FastMap<K, Slot<V>>, Partials<K, V>) {
        let values = &self.values;
        let ring = self
            .ring
            .into_batches()
            .into_iter()
            .map(|(t, items)| {
                (t, items.into_iter().filter_map(|(p, v)| values.key(p).map(|k| (k.clone(), v))).collect())
            })
            .collect();
        let map = self.values.into_iter().map(|(k, value, batches)| (k, Slot { value, batches })).collect();
        (map, ring)
    }
}

struct Inverse<K, V, F, G, P> {
    f: F,
    inv: G,
    keep: P,
    parts: Vec<Part<K, V>>,
    route: Route<K>,
}

impl<K, V, F, G, P> Sliding for Inverse<K, V, F, G, P>
where
    K: Key + Persist,
    V: Data + Persist,
    F: Fn(V, V) -> V + Send + Sync + 'static,
    G: Fn(V, V) -> V + Send + Sync + 'static,
    P: Fn((&K, &V)) -> bool + Send + Sync + 'static,
{
    type In = (K, V);
    type Out = (K, V);

    fn ingest(&mut self, t: Time, batch: Batch<(K, V)>) {
        let f = &self.f;
        let input = route_partitions(batch, self.parts.len(), &self.route);
        self.parts.par_iter_mut().zip(input).for_each(|(p, partials)| {
            let Part { values, ring, .. } = p;
            let mut items = Vec::with_capacity(partials.len());
            values.add_all(partials, f, |at, v| items.push((at, v)));
            ring.push(t, items);
        });
    }

    fn evict(&mut self, cutoff: Time) {
        let (inv, keep) = (&self.inv, &self.keep);
        self.parts.par_iter_mut().for_each(|p| {
            let Part { values, ring, scratch } = p;
            scratch.clear();
            ring.evict(cutoff, |item| scratch.push(item));
            values.take_out_all(scratch, inv, keep);
            scratch.clear();
        });
    }

    fn emit(&mut self) -> Batch<(K, V)> {
        let keep = &self.keep;
        Batch::from_partitions(self.parts.par_iter().map(|p| p.values.emit(keep)).collect())
    }

    fn save(&self) -> Result<Vec<u8>, CodecError> {
        save_parts(&self.parts, |p| {
            let values: Vec<_> = p.values.iter().map(|(k, value, batches)| (k, SlotRef { value, batches })).collect();
            // The partials with their keys, copied in one pass that prefetches the entries they
            // name (spread over the whole table): the encoder reads the ring twice (its size,
            // then its bytes), in order.
            let keyed = p.ring.map_ahead(
                AHEAD / 2,
                |(at, _)| p.values.prefetch(*at),
                |(at, v)| (p.values.key(*at).expect("the ring names only held keys").clone(), v),
            );
            to_bytes(&(values, keyed))
        })
    }

    fn restore(&mut self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError> {
        let route = &self.route;
        let regroup = |parts: Vec<Part<K, V>>, place| {
            let (maps, rings): (Vec<_>, Vec<_>) = parts.into_iter().map(Part::into_keyed).unzip();
            let rings = reroute_rings(rings, place, |(k, _)| k, route);
            let parts = reroute_maps(maps, place, route).into_iter().zip(rings);
            parts.map(|(values, ring)| Part::from_keyed(values, ring)).collect()
        };
        let decode = |b: &[u8]| {
            let (values, ring): SavedPart<K, V> = from_bytes(b)?;
            Part::from_keyed(values, ring)
        };
        self.parts = restore_parts(saved, Placement::of(env, self.parts.len()), route, decode, regroup)?;
        Ok(())
    }

    /// Per batch, the keys of its partials; keys: the window's values; bytes: the values'
    /// tables and the partials in line, and what they own, sampled.
    fn view(&self) -> StateView {
        let rings: Vec<_> = self.parts.iter().map(|p| &p.ring).collect();
        let window = Ring::window(&rings);
        let partials: u64 = window.iter().filter_map(|b| b.keys).sum();
        let keys: usize = self.parts.iter().map(|p| p.values.len()).sum();
        let table: u64 = self.parts.iter().map(|p| p.values.table_bytes()).sum();
        let (mut sampled, mut n) = (0u64, 0usize);
        for (k, value, _) in self.parts.iter().flat_map(|p| p.values.iter()).take(SAMPLE) {
            sampled += crate::heap::owned_bytes(&(k, value));
            n += 1;
        }
        let owned = crate::heap::table_bytes(0, 0, keys, sampled, n);
        let sample = self.parts.iter().flat_map(|p| p.ring.newest());
        StateView {
            keys: Some(keys as u64),
            bytes: Some(table + owned + records_bytes(partials, sample)),
            window: Some(window),
            ..StateView::default()
        }
    }
}

impl<'a, K: Key + Persist, V: Data + Persist, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// As [`reduce_by_key_and_window`](Self::reduce_by_key_and_window), maintained
    /// incrementally with the inverse `inv` (`inv(f(a, b), b) == a`): a slide folds in the
    /// per-batch partials of the batches that entered and takes out, with `inv`, those of the
    /// batches that left, touching only their keys (Spark's `reduceByKeyAndWindow(f, invF, w,
    /// s)`).
    ///
    /// **Zero-valued keys are kept**, as in Spark: a key whose data all left the window stays
    /// with the value `inv` left (e.g. `("a", 0)`), forever. Use
    /// [`reduce_by_key_and_window_inv_with`](Self::reduce_by_key_and_window_inv_with) and a
    /// filter to drop them. Needs a checkpoint directory, as in Spark.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 1)], vec![("a", 1)], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| {
    ///     s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, Duration::seconds(2), Duration::seconds(1))
    /// });
    /// assert_eq!(out, vec![vec![("a", 1)], vec![("a", 2)], vec![("a", 1)], vec![("a", 0)]]);
    /// ```
    pub fn reduce_by_key_and_window_inv<F, G>(
        self,
        f: F,
        inv: G,
        window: Duration,
        slide: Duration,
    ) -> DStream<'a, (K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
        G: Fn(V, V) -> V + Send + Sync + 'static,
    {
        self.reduce_by_key_and_window_inv_with(f, inv, window, slide, 0, |_| true)
    }

    /// [`reduce_by_key_and_window_inv`](Self::reduce_by_key_and_window_inv) with Spark's
    /// `numPartitions` (or `partitioner`) and `filterFunc`, in Spark's order: `partitions` (a
    /// count, 0 for the thread count, or a [`Partitioner`]) sets the partitions of the
    /// per-batch reduction and of the window state, and only the pairs `(key, value)` for
    /// which `keep` holds are emitted.
    ///
    /// Divergence from Spark, deliberately: a key the filter rejects while it still has data
    /// in the window stays in the window state (just not emitted), so later windows stay
    /// exact; Spark drops it and later windows may be wrong. A rejected key with no data left
    /// is forgotten, as in Spark.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 1)], vec![("a", 1)], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| {
    ///     let (w, sl) = (Duration::seconds(2), Duration::seconds(1));
    ///     s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, w, sl, 1, |(_, n)| *n != 0)
    /// });
    /// assert_eq!(out, vec![vec![("a", 1)], vec![("a", 2)], vec![("a", 1)], vec![]]);
    /// ```
    pub fn reduce_by_key_and_window_inv_with<F, G, P>(
        self,
        f: F,
        inv: G,
        window: Duration,
        slide: Duration,
        partitions: impl Partitioner<K>,
        keep: P,
    ) -> DStream<'a, (K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
        G: Fn(V, V) -> V + Send + Sync + 'static,
        P: Fn((&K, &V)) -> bool + Send + Sync + 'static,
    {
        let ctx = self.ctx;
        check(ctx, Kind::Reduced, window, slide, self.slide_duration());
        ctx.require_checkpoint("reduce_by_key_and_window_inv");
        let route = Route::of(partitions);
        let n = route.count(ctx.default_parallelism());
        let partials = self.reduce_by_key_into(f.clone(), route.fixed(n)).into_node("reduce_by_key_and_window");
        let parts = (0..n).map(|_| Part::new()).collect();
        windowed(ctx, "reduce_by_key_and_window_inv", partials, window, slide, Inverse { f, inv, keep, parts, route })
    }
}
