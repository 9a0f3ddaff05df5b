use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use rayon::prelude::*;

use super::cell::{state_stream, Step};
use super::store::{copy_out, Part, Slot};
use super::table::AHEAD;
use super::values::Values;
use crate::chain::Chain;
use crate::data::{detach, hash_of, Data, FastMap, Key, Persist};
use crate::error::BatchError;
use crate::node::{Env, NodeRef};
use crate::ops::Aggregator;
use crate::shuffle::{route_partitions, Partitioner, Placement, Route};
use crate::time::Time;
use crate::DStream;

/// The update time of an initial state's keys before their first batch: earlier than any
/// batch's.
const NOT_YET: Time = Time::from_millis(i64::MIN);

/// Spark's `StateDStream`: every key in the state or in the batch goes through `f`, one key
/// at a time ([`PerKey`]) or one partition at a time ([`PerPartition`]).
struct UpdateState<K, V, S, F> {
    parent: NodeRef<(K, Values<V>)>,
    f: F,
    initial: Mutex<Vec<(K, S)>>,
    started: AtomicBool,
    route: Route<K>,
}

/// `f(time, key, new_values, old_state)`.
struct PerKey<F>(F);
/// `f(all keys of a partition as (key, new_values, old_state))`.
struct PerPartition<F>(F);

/// Pairs partition by partition: the batch's values of each key, or the whole state (the
/// output of `update_state_by_key` at a batch).
type Whole<K, S> = Vec<Vec<(K, S)>>;
/// What a step returns: the batch's output, `None` when the stream has no batch.
type Stepped<K, S> = Result<Option<Whole<K, S>>, BatchError>;

impl<K: Key, V: Data, S: Data, F> UpdateState<K, V, S, F> {
    /// The batch at `t` in the state's partitions, after taking in the initial state at the
    /// first batch; `None` when there is no state batch at `t`.
    fn input(&self, t: Time, env: &Env, parts: &mut [Part<K, S>]) -> Result<Option<Whole<K, Values<V>>>, BatchError> {
        let n = parts.len();
        let batch = self.parent.get(t, env)?;
        if !self.started.load(Ordering::Relaxed) {
            // No previous state: no batch unless the parent has one (then the initial state
            // counts as the previous state).
            if batch.is_none() {
                return Ok(None);
            }
            self.started.store(true, Ordering::Relaxed);
            // Every process has the whole initial state: each keeps the keys it owns. Their
            // update time is before any batch's: they have not been through `f` yet (the
            // per-key step's sweep goes by it).
            let place = Placement::of(env, n);
            for (mut k, mut s) in std::mem::take(&mut *self.initial.lock()) {
                detach(&mut k);
                detach(&mut s);
                if let Some(local) = self.route.local_of(&place, &k) {
                    parts[local].map.insert(k, Slot { state: s, updated: NOT_YET });
                }
            }
        }
        Ok(Some(match batch {
            Some(b) => route_partitions(b, n, &self.route),
            None => (0..n).map(|_| Vec::new()).collect(),
        }))
    }

    fn restored(&self) {
        self.started.store(true, Ordering::Relaxed);
        self.initial.lock().clear();
    }
}

impl<K, V, S, F> Step<K, S, (K, S)> for UpdateState<K, V, S, PerPartition<F>>
where
    K: Key,
    V: Data,
    S: Data,
    F: Fn(&mut dyn Iterator<Item = (K, Vec<V>, Option<S>)>) -> Vec<(K, S)> + Send + Sync + 'static,
{
    fn restored(&self) {
        UpdateState::restored(self)
    }

    fn output_of(&self, parts: &[Part<K, S>]) -> Option<Whole<K, S>> {
        Some(copy_out(parts))
    }

    fn step(&self, t: Time, env: &Env, parts: &mut [Part<K, S>], want: bool) -> Stepped<K, S> {
        let Some(input) = self.input(t, env, parts)? else { return Ok(None) };
        let f = &self.f.0;
        let place = Placement::of(env, parts.len());
        let route = &self.route;
        // Each partition's keys go through `f` at once; what it returns is the partition's
        // new state. Keys it returns that belong elsewhere are moved there.
        let strays: Vec<Vec<(K, S)>> = parts
            .par_iter_mut()
            .zip(input)
            .enumerate()
            .map(|(i, (p, groups))| {
                let mut new: FastMap<K, Vec<V>> = groups.into_iter().map(|(k, vs)| (k, vs.into_vec())).collect();
                let old = std::mem::take(&mut p.map);
                let mut keys = old
                    .into_iter()
                    .map(|(k, slot)| {
                        let values = new.remove(&k).unwrap_or_default();
                        (k, values, Some(slot.state))
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .chain(new.into_iter().map(|(k, values)| (k, values, None)));
                let mut strays = Vec::new();
                for (mut k, mut state) in f(&mut keys) {
                    detach(&mut k);
                    detach(&mut state);
                    if route.local_of(&place, &k) == Some(i) {
                        p.map.insert(k, Slot { state, updated: t });
                    } else {
                        strays.push((k, state));
                    }
                }
                strays
            })
            .collect();
        for (k, state) in strays.into_iter().flatten() {
            match route.local_of(&place, &k) {
                Some(local) => {
                    parts[local].map.insert(k, Slot { state, updated: t });
                }
                None => tracing::warn!("update_state_by_key_iter returned a key another process owns: dropped"),
            }
        }
        Ok(Some(if want { copy_out(parts) } else { Vec::new() }))
    }
}

impl<K, V, S, F> Step<K, S, (K, S)> for UpdateState<K, V, S, PerKey<F>>
where
    K: Key,
    V: Data,
    S: Data,
    F: Fn(Time, &K, Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
{
    fn restored(&self) {
        UpdateState::restored(self)
    }

    fn output_of(&self, parts: &[Part<K, S>]) -> Option<Whole<K, S>> {
        Some(copy_out(parts))
    }

    fn step(&self, t: Time, env: &Env, parts: &mut [Part<K, S>], want: bool) -> Stepped<K, S> {
        let Some(input) = self.input(t, env, parts)? else { return Ok(None) };
        let f = &self.f.0;
        let out = parts.par_iter_mut().zip(input).map(|(p, groups)| {
            // The batch's keys first, each looked up once in the state (not every key of the
            // state looked up in the batch); then one sweep for the keys of the state the
            // batch did not bring, told apart by their update time. Every key still goes
            // through `f`, as in Spark, and in place: no table is rebuilt. `f` gets a copy of
            // the old state (Spark's states are immutable too).
            // The batch's keys are hashed first; each key's home slot is prefetched
            // `AHEAD` keys before its lookup, and the entry that slot names half as far, so
            // the lookups' cache misses overlap.
            let map = &mut p.map;
            map.reserve(groups.len());
            let hashes: Vec<u64> = groups.iter().map(|(k, _)| hash_of(k)).collect();
            for (i, (k, values)) in groups.into_iter().enumerate() {
                if let Some(&h) = hashes.get(i + AHEAD) {
                    map.prefetch_slot(h);
                }
                if let Some(&h) = hashes.get(i + AHEAD / 2) {
                    map.prefetch_entry(h);
                }
                let h = hashes[i];
                // The values' `Vec` is made here, at its size, and `f` drops it: on this
                // thread, the allocator hands the same block to the next key.
                let values = values.into_vec();
                match map.find(h, &k) {
                    Ok((at, pos)) => {
                        let (key, slot) = map.at(pos);
                        match f(t, key, values, Some(slot.state.clone())) {
                            Some(mut state) => {
                                detach(&mut state);
                                *map.slot_mut(pos) = Slot { state, updated: t };
                            }
                            None => drop(map.remove_at(at, pos)),
                        }
                    }
                    Err(at) => {
                        if let Some(mut state) = f(t, &k, values, None) {
                            // The state keeps its keys across batches: not the input
                            // buffers that brought them (the hash does not change).
                            let mut k = k;
                            detach(&mut k);
                            detach(&mut state);
                            map.insert_at(at, h, k, Slot { state, updated: t });
                        }
                    }
                }
            }
            // The same sweep copies the state out (the stream's batch is the whole state),
            // while each entry is in the cache.
            let mut whole = Vec::with_capacity(if want { output_capacity(p.map.len()) } else { 0 });
            crate::huge::advise(&mut whole);
            p.map.retain(|k, slot| {
                if slot.updated != t {
                    match f(t, k, Vec::new(), Some(slot.state.clone())) {
                        Some(mut state) => {
                            detach(&mut state);
                            *slot = Slot { state, updated: t };
                        }
                        None => return false,
                    }
                }
                if want {
                    whole.push((k.clone(), slot.state.clone()));
                }
                true
            });
            whole
        });
        Ok(Some(out.collect()))
    }
}

/// The capacity of a partition's copy of a state of `n` keys: `n` rounded up to an eighth of
/// the power of two at or above it (less than a quarter more). A state grows a little every
/// batch: rounded, most batches ask the allocator for the size the batch before asked for.
/// glibc maps a block that large afresh, its pages faulting in one by one as the copy first
/// writes them, until it has freed a mapped block of that size: from then on (its threshold
/// for mapping rises to the size freed) it serves the size from its heap, where the block the
/// batch before freed is, already faulted in.
fn output_capacity(n: usize) -> usize {
    let step = (n.next_power_of_two() / 8).max(1);
    n.div_ceil(step) * step
}

impl<'a, K: Key + Persist, V: Data + Persist, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// The state of every key, updated each batch by `f(new_values, old_state)` (Spark's
    /// `updateStateByKey`): `f` is called for **every** key in the state or the batch, with an
    /// empty `new_values` for keys without data; `None` removes the key. The stream is the
    /// full state, every batch. Needs a checkpoint directory. Keys, values and states are
    /// [`Persist`]: in a cluster, the values of the keys other processes own cross to them,
    /// and each process keeps the state of its keys.
    ///
    /// Cost: O(keys in the state) calls of `f` (each given a clone of the key's old state)
    /// and a copy of the state per batch, as in Spark; the batch's keys are looked up in the
    /// state, then one sweep of the state takes the keys without new values and copies the
    /// state out. When only keys with new data change, use the incremental
    /// [`running_reduce_by_key`](Self::running_reduce_by_key) or
    /// [`map_with_state`](Self::map_with_state).
    ///
    /// ```
    /// let input = vec![vec!["a"], vec!["a", "b"], vec![]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| {
    ///     s.map(|w| (w, 1)).update_state_by_key(|vs: Vec<i32>, s: Option<i32>| Some(vs.iter().sum::<i32>() + s.unwrap_or(0)))
    /// });
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![vec![("a", 1)], vec![("a", 2), ("b", 1)], vec![("a", 2), ("b", 1)]]);
    /// ```
    pub fn update_state_by_key<S: Data + Persist, F>(self, f: F) -> DStream<'a, (K, S)>
    where
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state_by_key_with_time(move |_, _, vs, s| f(vs, s), Vec::new())
    }

    /// As [`update_state_by_key`](Self::update_state_by_key), starting from `initial` (Spark's
    /// `initialRDD`): initial keys go through `f` in the first batch like any other key.
    ///
    /// ```
    /// let input = vec![vec!["a"], vec![]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| {
    ///     s.map(|w| (w, 1)).update_state_by_key_with_initial(
    ///         |vs: Vec<i32>, s: Option<i32>| Some(vs.iter().sum::<i32>() + s.unwrap_or(0)),
    ///         vec![("a", 1), ("c", 2)],
    ///     )
    /// });
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![vec![("a", 2), ("c", 2)], vec![("a", 2), ("c", 2)]]);
    /// ```
    pub fn update_state_by_key_with_initial<S: Data + Persist, F>(
        self,
        f: F,
        initial: Vec<(K, S)>,
    ) -> DStream<'a, (K, S)>
    where
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state_by_key_with_time(move |_, _, vs, s| f(vs, s), initial)
    }

    /// As [`update_state_by_key`](Self::update_state_by_key) with `f(time, key, new_values,
    /// old_state)` (Spark's form taking the batch time and key), starting from `initial`
    /// (pass `Vec::new()` for none).
    ///
    /// ```
    /// use stream_runtime::Time;
    /// let input = vec![vec!["a"], vec!["a"]];
    /// let out = stream_runtime::testing::run(input, 1, |s| {
    ///     s.map(|w| (w, 1)).update_state_by_key_with_time(
    ///         |t: Time, _k: &&str, vs: Vec<i32>, s: Option<i64>| Some(s.unwrap_or(0) + if vs.is_empty() { 0 } else { t.as_millis() }),
    ///         Vec::new(),
    ///     )
    /// });
    /// assert_eq!(out, vec![vec![("a", 1000)], vec![("a", 3000)]]);
    /// ```
    pub fn update_state_by_key_with_time<S: Data + Persist, F>(self, f: F, initial: Vec<(K, S)>) -> DStream<'a, (K, S)>
    where
        F: Fn(Time, &K, Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state(PerKey(f), initial, Route::default())
    }

    /// As [`update_state_by_key`](Self::update_state_by_key), into `partitions` (Spark's
    /// `updateStateByKey(f, numPartitions)` and `(f, partitioner)`): a count (0: the thread
    /// count) or a [`Partitioner`], for the grouping of each batch and the state.
    ///
    /// ```
    /// let input = vec![vec!["a", "b"], vec!["a"]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| {
    ///     s.map(|w| (w, 1)).update_state_by_key_with_partitions(|vs: Vec<i32>, s: Option<i32>| Some(vs.len() as i32 + s.unwrap_or(0)), 3)
    /// });
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![vec![("a", 1), ("b", 1)], vec![("a", 2), ("b", 1)]]);
    /// ```
    pub fn update_state_by_key_with_partitions<S: Data + Persist, F>(
        self,
        f: F,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, S)>
    where
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        self.update_state(PerKey(move |_, _: &K, vs, s| f(vs, s)), Vec::new(), Route::of(partitions))
    }

    /// The iterator form of [`update_state_by_key`](Self::update_state_by_key) (Spark's
    /// `updateStateByKey(f: Iterator[(K, Seq[V], Option[S])] => Iterator[(K, S)],
    /// partitioner, rememberPartitioner, initialRDD)`): once per partition and batch, `f` gets
    /// every key of the partition, in the state or in the batch, as `(key, new_values,
    /// old_state)`, and returns the partition's new state: keys it leaves out are removed.
    /// `partitions` is a count (0: the thread count) or a [`Partitioner`]; `initial` the
    /// initial state (`Vec::new()` for none). Use it to set up something once per partition
    /// (a connection, a model) rather than once per key.
    ///
    /// ```
    /// let input = vec![vec!["a", "b"], vec!["a"], vec![]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| {
    ///     s.map(|w| (w, 1)).update_state_by_key_iter(
    ///         |keys| keys.map(|(k, vs, s)| (k, vs.len() as i32 + s.unwrap_or(0))).filter(|(_, n)| *n < 3).collect(),
    ///         0,
    ///         vec![("a", 1)],
    ///     )
    /// });
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![vec![("a", 2), ("b", 1)], vec![("b", 1)], vec![("b", 1)]]);
    /// ```
    pub fn update_state_by_key_iter<S: Data + Persist, F>(
        self,
        f: F,
        partitions: impl Partitioner<K>,
        initial: Vec<(K, S)>,
    ) -> DStream<'a, (K, S)>
    where
        F: Fn(&mut dyn Iterator<Item = (K, Vec<V>, Option<S>)>) -> Vec<(K, S)> + Send + Sync + 'static,
    {
        self.update_state(PerPartition(f), initial, Route::of(partitions))
    }

    fn update_state<S: Data + Persist, F>(self, f: F, initial: Vec<(K, S)>, route: Route<K>) -> DStream<'a, (K, S)>
    where
        UpdateState<K, V, S, F>: Step<K, S, (K, S)>,
    {
        let ctx = self.ctx;
        let slide = self.slide_duration();
        let n = route.count(ctx.default_parallelism());
        // The values of each key gathered as `group_by_key` would, inline while they are few
        // (see `Values`).
        let agg = Aggregator {
            create: Values::One,
            merge_value: |c: &mut Values<V>, v| c.push(v),
            merge_combiners: |c: &mut Values<V>, o| c.append(o),
            finish: Some,
        };
        let parent = self.combine_into("group_by_key", agg, route.fixed(n)).into_node("update_state_by_key");
        let step_route = route.clone();
        let from = parent.label();
        let step = UpdateState { parent, f, initial: Mutex::new(initial), started: AtomicBool::new(false), route };
        // The step's output is the whole state, copied in its sweep of the state.
        state_stream(ctx, ("update_state_by_key", "state"), from, step, slide, (n, step_route)).mapped()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::output_capacity;

    proptest! {
        #[test]
        fn the_copy_has_room_for_the_state_and_less_than_a_quarter_more(n in 0usize..1 << 40, m in 0usize..1 << 40) {
            let c = output_capacity(n);
            prop_assert!(c >= n);
            prop_assert!(c - n <= n / 4);
            // A larger state never gets a smaller copy: the sizes step up as the state grows.
            if n <= m {
                prop_assert!(c <= output_capacity(m));
            }
        }
    }

    #[test]
    fn most_batches_of_a_growing_state_ask_for_the_size_before() {
        // The running count of `compare.sh`: a partition grows by about 12,000 keys a batch.
        let sizes: Vec<usize> = (1..=40).map(|b| output_capacity(24_000 + b * 12_000)).collect();
        let same = sizes.windows(2).filter(|w| w[0] == w[1]).count();
        assert!(same >= 24, "{same} of 39 batches ask for the size before");
    }
}
