use std::collections::BTreeMap;

use parking_lot::Mutex;
use rayon::prelude::*;

use super::cell::{state_stream, StateStream, Step};
use super::spec::StateSpec;
use super::store::{Part, Slot, StateMap};
use super::value::{State, StateError};
use crate::chain::Chain;
use crate::data::{detach, hash_of, Data, Key, Persist};
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
    route: Route<K>,
}

/// Stores the state of `k` after a call, arming its timer when it was refreshed.
fn store<K: Key, S: 'static>(
    timer: &mut BTreeMap<Time, Vec<K>>,
    timeout: Option<Duration>,
    k: &K,
    t: Time,
    old: Option<Time>,
    outcome: Option<(S, bool)>,
) -> Option<Slot<S>> {
    let (mut state, updated) = outcome?;
    detach(&mut state);
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
        let (g, route) = (place.global(), &self.route);
        // Route the records (no combining: one call per record, in batch order); in a
        // cluster, the records of keys other processes own cross to them.
        let routed = self.up.pass(t, env, |chain, records| {
            let mut buckets: Vec<Vec<(K, V)>> = (0..g).map(|_| Vec::new()).collect();
            chain.push_all(records, &mut |(k, v)| buckets[route.global_of(&place, hash_of(&k), &k)].push((k, v)));
            buckets
        })?;
        if let Some(initial) = self.initial.lock().take() {
            // Every process has the whole initial state: each keeps the keys it owns.
            for (mut k, mut state) in initial {
                detach(&mut k);
                detach(&mut state);
                let Some(local) = route.local_of(&place, &k) else { continue };
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
        let mapped: Result<Vec<Vec<M>>, StateError> = parts
            .par_iter_mut()
            .zip(columns)
            .map(|(p, column)| {
                let Part { map, timer } = p;
                let mut out = Vec::new();
                for (k, v) in column.into_iter().flatten() {
                    map.reserve(1);
                    let h = hash_of(&k);
                    match map.find(h, &k) {
                        Ok((at, pos)) => {
                            let mut misuse = None;
                            map.replace_with(at, pos, |k, slot| {
                                let mut state = State::new(Some(slot.state));
                                out.extend(f(t, k, Some(v), &mut state));
                                match state.outcome() {
                                    Ok(outcome) => store(timer, timeout, k, t, Some(slot.updated), outcome),
                                    Err(e) => {
                                        misuse = Some(e);
                                        None
                                    }
                                }
                            });
                            misuse.map_or(Ok(()), Err)?;
                        }
                        Err(at) => {
                            let mut state = State::new(None);
                            out.extend(f(t, &k, Some(v), &mut state));
                            let mut k = k;
                            detach(&mut k);
                            if let Some(slot) = store(timer, timeout, &k, t, None, state.outcome()?) {
                                // `k` is detached (and the state, by `store`); detaching does
                                // not change its hash.
                                map.insert_at(at, h, k, slot);
                            }
                        }
                    }
                }
                if let Some(d) = timeout {
                    fire_timeouts(map, timer, d, t, f, &mut out)?;
                }
                Ok(out)
            })
            .collect();
        Ok(Some(mapped?))
    }
}

/// Calls `f` for every key idle for longer than `d` at `t` (last update `< t - d`), emits what
/// it returns and removes the key. Only due timer entries are visited; stale ones (the key was
/// refreshed or removed since) are dropped. A function that updates or removes a state that is
/// timing out fails the batch.
fn fire_timeouts<K: Key, V, S, M>(
    map: &mut StateMap<K, S>,
    timer: &mut BTreeMap<Time, Vec<K>>,
    d: Duration,
    t: Time,
    f: &impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M>,
    out: &mut Vec<M>,
) -> Result<(), StateError> {
    let later = timer.split_off(&t);
    let due = std::mem::replace(timer, later);
    for k in due.into_values().flatten() {
        if let Ok((at, pos)) = map.find(hash_of(&k), &k) {
            if map.at(pos).1.updated + d < t {
                let (k, slot) = map.remove_at(at, pos);
                let mut state = State::timing_out(slot.state);
                out.extend(f(t, &k, None, &mut state));
                state.error().map_or(Ok(()), Err)?;
            }
        }
    }
    Ok(())
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
    /// use stream_runtime::testing;
    /// let input = vec![vec![("a", 1), ("a", 1), ("a", 1)], vec![("b", 1)]];
    /// let out = testing::run(input, 2, |pairs| {
    ///     let spec = pairs.state_spec().function(|_word, one, state| {
    ///         let sum = one.unwrap_or(0) + state.get_option().copied().unwrap_or(0);
    ///         state.update(sum);
    ///         sum
    ///     });
    ///     pairs.map_with_state(spec).mapped()
    /// });
    /// assert_eq!(out, vec![vec![1, 2, 3], vec![1]]);
    /// ```
    ///
    /// A function that misuses its [`State`] (here an update after a remove) fails the batch
    /// with Spark's message, as Spark's `IllegalArgumentException` does:
    ///
    /// ```
    /// use stream_runtime::testing::Harness;
    /// let outcome = Harness::new(1).collect(vec![Some(vec![("a", 1)])], |pairs| {
    ///     let spec = pairs.state_spec().function(|_word, one, state| {
    ///         state.remove();
    ///         state.update(one.unwrap_or(0));
    ///     });
    ///     pairs.map_with_state(spec).mapped()
    /// });
    /// assert!(outcome.errors[0].to_string().ends_with("requirement failed: Cannot update the state after it has been removed"));
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
        let route = spec.route.unwrap_or_default();
        let n = route.count(ctx.default_parallelism());
        let (_, up, stage) = self.upstream("map_with_state");
        let ex = Exchanges::new(ctx);
        let initial = Mutex::new(Some(spec.initial));
        let step = MapWithState { up, f: spec.f, timeout: spec.timeout, initial, ex, route: route.clone() };
        state_stream(ctx, ("map_with_state", "mapped"), format!("stage {stage}"), step, slide, (n, route))
    }
}
