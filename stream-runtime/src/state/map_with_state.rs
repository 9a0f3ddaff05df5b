use std::collections::BTreeMap;

use hashbrown::hash_map::Entry;
use parking_lot::Mutex;
use rayon::prelude::*;

use super::cell::{state_stream, StateStream, Step};
use super::spec::StateSpec;
use super::store::{part_of, Part, Slot};
use super::value::State;
use crate::chain::Chain;
use crate::data::{Data, FastMap, Key, Persist};
use crate::error::BatchError;
use crate::node::Env;
use crate::shuffle::{columns, Exchanges, Placement, Route};
use crate::stream::Upstream;
use crate::time::{Duration, Time};
use crate::DStream;

struct MapWithState<C: Chain, K, S, F> {
    up: Upstream<C>,
    f: F,
    timeout: Option<Duration>,
    initial: Mutex<Option<Vec<(K, S)>>>,
    ex: Exchanges,
}

/// Stores the state of `k` after a call, arming its timer when it was refreshed.
fn store<K: Key, S>(
    timer: &mut BTreeMap<Time, Vec<K>>,
    timeout: Option<Duration>,
    k: &K,
    t: Time,
    old: Option<Time>,
    outcome: Option<(S, bool)>,
) -> Option<Slot<S>> {
    let (state, updated) = outcome?;
    // A key with a timeout is refreshed by any record (Spark); otherwise only by `update`.
    match (timeout, old) {
        (Some(d), old) if old != Some(t) => {
            timer.entry(t + d).or_default().push(k.clone());
            Some(Slot { state, updated: t })
        }
        (Some(_), _) => Some(Slot { state, updated: t }),
        (None, Some(old)) if !updated => Some(Slot { state, updated: old }),
        (None, _) => Some(Slot { state, updated: t }),
    }
}

impl<C, K, V, S, M, F> Step<K, S, M> for MapWithState<C, K, S, F>
where
    C: Chain<Out = (K, V)>,
    K: Key + Persist,
    V: Data + Persist,
    S: Data,
    M: Data,
    F: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
{
    fn restored(&self) {
        self.initial.lock().take();
    }

    fn step(&self, t: Time, env: &Env, parts: &mut [Part<K, S>], _: bool) -> Result<Option<Vec<Vec<M>>>, BatchError> {
        let place = Placement::of(env, parts.len());
        let g = place.global();
        // Route the records (no combining: one call per record, in batch order); in a
        // cluster, the records of keys other processes own cross to them.
        let routed = self.up.pass(t, env, |chain, records| {
            let mut buckets: Vec<Vec<(K, V)>> = (0..g).map(|_| Vec::new()).collect();
            chain.push_all(records, &mut |(k, v)| buckets[part_of(&k, g)].push((k, v)));
            buckets
        })?;
        if let Some(initial) = self.initial.lock().take() {
            // Every process has the whole initial state: each keeps the keys it owns.
            for (k, state) in initial {
                let Some(local) = place.local_of_key(&k) else { continue };
                let p = &mut parts[local];
                if let Some(d) = self.timeout {
                    p.timer.entry(t + d).or_default().push(k.clone());
                }
                p.map.insert(k, Slot { state, updated: t });
            }
        }
        let columns = match routed {
            Some(maps) => columns(maps, place.local, &self.ex, t, env)?,
            None => (0..place.local).map(|_| Vec::new()).collect(),
        };
        let (f, timeout) = (&self.f, self.timeout);
        let mapped = parts
            .par_iter_mut()
            .zip(columns)
            .map(|(p, column)| {
                let Part { map, timer } = p;
                let mut out = Vec::new();
                for (k, v) in column.into_iter().flatten() {
                    match map.entry(k) {
                        Entry::Occupied(e) => {
                            e.replace_entry_with(|k, slot| {
                                let mut state = State::new(Some(slot.state));
                                out.extend(f(t, k, Some(v), &mut state));
                                store(timer, timeout, k, t, Some(slot.updated), state.outcome())
                            });
                        }
                        Entry::Vacant(e) => {
                            let mut state = State::new(None);
                            out.extend(f(t, e.key(), Some(v), &mut state));
                            let k = e.key().clone();
                            if let Some(slot) = store(timer, timeout, &k, t, None, state.outcome()) {
                                e.insert(slot);
                            }
                        }
                    }
                }
                if let Some(d) = timeout {
                    fire_timeouts(map, timer, d, t, f, &mut out);
                }
                out
            })
            .collect();
        Ok(Some(mapped))
    }
}

/// Calls `f` for every key idle for longer than `d` at `t` (last update `< t - d`), emits what
/// it returns and removes the key. Only due timer entries are visited; stale ones (the key was
/// refreshed or removed since) are dropped.
fn fire_timeouts<K: Key, V, S, M>(
    map: &mut FastMap<K, Slot<S>>,
    timer: &mut BTreeMap<Time, Vec<K>>,
    d: Duration,
    t: Time,
    f: &impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M>,
    out: &mut Vec<M>,
) {
    let later = timer.split_off(&t);
    let due = std::mem::replace(timer, later);
    for k in due.into_values().flatten() {
        if let Entry::Occupied(e) = map.entry(k) {
            if e.get().updated + d < t {
                e.replace_entry_with(|k, slot| {
                    let mut state = State::timing_out(slot.state);
                    out.extend(f(t, k, None, &mut state));
                    None
                });
            }
        }
    }
}

impl<'a, K: Key + Persist, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Spark's `mapWithState`: calls the spec's function once per record, in batch order, with
    /// the key's [`State`], which it may read, update or remove; the returned values form the
    /// [`mapped`](StateStream::mapped) stream. Only keys with records are touched, plus keys
    /// whose [timeout](StateSpec::timeout) is due, found in a timer (a key idle for longer
    /// than the timeout is reported at the first batch after, not at Spark's next checkpoint
    /// batch). Needs a checkpoint directory.
    ///
    /// Keys and values are [`Persist`]: in a cluster, the records of the keys other processes
    /// own cross to them, and each process keeps the state of its keys.
    ///
    /// ```
    /// use stream_runtime::{testing, State, StateSpec};
    /// let input = vec![vec![("a", 1), ("a", 1), ("a", 1)], vec![("b", 1)]];
    /// let spec = StateSpec::function(|_k: &&str, v: Option<i32>, state: &mut State<i32>| {
    ///     let n = state.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
    ///     let _ = state.update(n);
    ///     n
    /// });
    /// let out = testing::run(input, 2, |s| s.map_with_state(spec).mapped());
    /// assert_eq!(out, vec![vec![1, 2, 3], vec![1]]);
    /// ```
    pub fn map_with_state<S: Data + Persist, M: Data, F>(
        self,
        spec: StateSpec<K, V, S, M, F>,
    ) -> StateStream<'a, K, S, M>
    where
        V: Persist,
        F: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
    {
        let ctx = self.ctx;
        let slide = self.slide_duration();
        let n = spec.partitions.unwrap_or(ctx.default_parallelism());
        let (_, up, stage) = self.upstream("map_with_state");
        let ex = Exchanges::new(ctx);
        let step = MapWithState { up, f: spec.f, timeout: spec.timeout, initial: Mutex::new(Some(spec.initial)), ex };
        state_stream(ctx, "map_with_state", format!("stage {stage}"), step, slide, (n, Route::default()))
    }
}
