//! [`StateStream`]: a keyed state advanced every batch by a tick, with its per-batch output
//! and its views of the state.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use rayon::prelude::*;

use super::store::{parts, Part, Snapshot};
use crate::batch::Batch;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::checkpoint::frames::Framed;
use crate::checkpoint::Saved;
use crate::context::{Output, StreamingContext, Tick};
use crate::data::{Data, Key, Persist};
use crate::error::BatchError;
use crate::node::{Env, Node, NodeRef};
use crate::outputs::{assemble, format_batch, format_records, to_stdout};
use crate::show::Show;
use crate::shuffle::{gather, Exchanges, Placement, Route};
use crate::time::{Duration, Time};
use crate::DStream;

/// The operator-specific part of a stateful stream: how one batch changes the state.
pub(crate) trait Step<K, S, M>: Send + Sync + 'static {
    /// Processes batch `t` (a valid time of the stream), updating `parts`. Returns the output
    /// records per partition (only needed when `want_mapped`), or `None` when the stream has
    /// no batch at `t` (Spark's `None` RDD).
    fn step(
        &self,
        t: Time,
        env: &Env,
        parts: &mut [Part<K, S>],
        want_mapped: bool,
    ) -> Result<Option<Vec<Vec<M>>>, BatchError>;
    /// The state was just restored from a checkpoint: whatever the step does once, at the
    /// first batch (taking the initial state), is done.
    fn restored(&self) {}
    /// The output of a batch the step did not run here, when the output is made from the
    /// state alone (`update_state_by_key`'s: the whole state): the batch the restored state
    /// is the state after. `None` (the default): an empty output.
    fn output_of(&self, _parts: &[Part<K, S>]) -> Option<Vec<Vec<M>>> {
        None
    }
}

struct Inner<K, S, M> {
    parts: Vec<Part<K, S>>,
    /// The last time advanced to.
    last: Option<Time>,
    /// The last time a state batch was generated.
    generated: Option<Time>,
    mapped: Option<Batch<M>>,
}

pub(crate) struct StateCell<K, S, M> {
    name: &'static str,
    step: Box<dyn Step<K, S, M>>,
    slide: Duration,
    wants_mapped: AtomicBool,
    inner: Mutex<Inner<K, S, M>>,
    /// Where keys go: restored state is re-split with it.
    route: Route<K>,
}

impl<K: 'static, S: 'static, M: 'static> StateCell<K, S, M> {
    /// Brings the state up to `t`, running the step once per time.
    fn advance(&self, t: Time, env: &Env) -> Result<MutexGuard<'_, Inner<K, S, M>>, BatchError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        if inner.last.is_none_or(|last| last < t) {
            inner.last = Some(t);
            if env.is_valid(t, self.slide) {
                let want = self.wants_mapped.load(Ordering::Relaxed);
                if let Some(mapped) = self.step.step(t, env, &mut inner.parts, want)? {
                    inner.generated = Some(t);
                    inner.mapped = want.then(|| Batch::from_partitions(mapped));
                }
            }
        }
        Ok(guard)
    }
}

struct Advance<K, S, M>(Arc<StateCell<K, S, M>>);

impl<K: Key + Persist, S: Data + Persist, M: Send + 'static> Tick for Advance<K, S, M> {
    fn name(&self) -> String {
        self.0.name.to_string()
    }

    fn tick(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        self.0.advance(t, env).map(drop)
    }

    /// Keys, and bytes estimated as the tables' index slots and entries, the timer's
    /// entries, and the payload keys and states own (strings, vectors), sampled from the
    /// first entries of each partition: O(partitions + timer deadlines + sample), not a walk
    /// of the state.
    fn view(&self) -> Option<crate::metrics::StateView> {
        let inner = self.0.inner.lock();
        Some(state_view(&inner.parts))
    }

    /// Frames: the last and generated times, then each partition, serialized in parallel.
    fn save(&self) -> Result<Option<Framed>, CodecError> {
        let inner = self.0.inner.lock();
        let mut frames = vec![Framed::Bytes(to_bytes(&(inner.last, inner.generated))?)];
        let parts: Result<Vec<Framed>, _> = inner.parts.par_iter().map(|p| p.encode().map(Framed::Bytes)).collect();
        frames.extend(parts?);
        Ok(Some(Framed::Nested(frames)))
    }

    /// Takes back a saved state; partitions are re-hashed when the partition count changed
    /// (a job restarted with another thread count), and after a restart with another number
    /// of processes this process keeps the keys it owns now of every old process's state.
    fn restore(&self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError> {
        let mut inner = self.0.inner.lock();
        let place = Placement::of(env, inner.parts.len());
        let saved = saved.frames(place, !self.0.route.is_custom(), 1)?;
        // The last and generated times are the same in every process.
        let (mut last, mut generated) = (None, None);
        for head in &saved.heads {
            (last, generated) = from_bytes::<(Option<Time>, Option<Time>)>(head[0])?;
        }
        let decoded: Vec<Part<K, S>> = saved.parts.par_iter().map(|b| Part::decode(b)).collect::<Result<_, _>>()?;
        inner.parts = if saved.own && decoded.len() == place.local {
            decoded
        } else {
            repartition(decoded, place, &self.0.route)
        };
        inner.last = last;
        inner.generated = generated;
        drop(inner);
        if generated.is_some() {
            self.0.step.restored();
        }
        Ok(())
    }
}

/// Entries sampled per partition for the bytes estimate, and at most in all.
const SAMPLE_PER_PART: usize = 4;
const SAMPLE: usize = 32;

/// The keys and estimated bytes of a keyed state (see [`Advance::view`]).
pub(crate) fn state_view<K: Persist, S: Persist>(parts: &[Part<K, S>]) -> crate::metrics::StateView {
    let (mut keys, mut table, mut timer) = (0usize, 0u64, 0u64);
    let (mut sampled, mut sample) = (0u64, 0usize);
    for p in parts {
        keys += p.map.len();
        table += p.map.table_bytes();
        for due in p.timer.values() {
            timer += (std::mem::size_of::<(Time, Vec<K>)>() + due.len() * std::mem::size_of::<K>()) as u64;
        }
        for (k, slot) in p.map.iter().take(SAMPLE_PER_PART.min(SAMPLE - sample)) {
            sampled += crate::heap::owned_bytes(&(k, &slot.state));
            sample += 1;
        }
    }
    // The tables' own bytes, plus what the entries own (no slots counted: `table`).
    let bytes = table + crate::heap::table_bytes(0, 0, keys, sampled, sample) + timer;
    crate::metrics::StateView { keys: Some(keys as u64), bytes: Some(bytes), ..Default::default() }
}

/// The entries of `parts` that `place` owns, in its local partitions by `route`.
fn repartition<K: Key, S>(parts: Vec<Part<K, S>>, place: Placement, route: &Route<K>) -> Vec<Part<K, S>> {
    let mut out = super::store::parts(place.local);
    for p in parts {
        for (k, slot) in p.map {
            if let Some(i) = route.local_of(&place, &k) {
                out[i].map.insert(k, slot);
            }
        }
        for (t, keys) in p.timer {
            for k in keys {
                if let Some(i) = route.local_of(&place, &k) {
                    out[i].timer.entry(t).or_default().push(k);
                }
            }
        }
    }
    out
}

struct Mapped<K, S, M>(Arc<StateCell<K, S, M>>);

impl<K: Send + 'static, S: Send + 'static, M: Send + 'static> Node<M> for Mapped<K, S, M> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<M>>, BatchError> {
        let mut inner = self.0.advance(t, env)?;
        if inner.generated != Some(t) {
            return Ok(None);
        }
        Ok(Some(match inner.mapped.take() {
            Some(mapped) => mapped,
            None => self.0.step.output_of(&inner.parts).map(Batch::from_partitions).unwrap_or_default(),
        }))
    }
}

struct Snapshots<K, S, M>(Arc<StateCell<K, S, M>>);

impl<K: Key, S: Data, M: Send + 'static> Node<(K, S)> for Snapshots<K, S, M> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<(K, S)>>, BatchError> {
        let inner = self.0.advance(t, env)?;
        if inner.generated != Some(t) {
            return Ok(None);
        }
        Ok(Some(Batch::from_partitions(super::store::copy_out(&inner.parts))))
    }
}

struct ForEachSnapshot<K, S, M, F> {
    cell: Arc<StateCell<K, S, M>>,
    f: F,
    name: String,
}

impl<K, S, M, F> Output for ForEachSnapshot<K, S, M, F>
where
    K: Key,
    S: Send + Sync + 'static,
    M: Send + 'static,
    F: Fn(Snapshot<'_, K, S>, Time, &Env) -> Result<(), BatchError> + Send + Sync,
{
    fn name(&self) -> String {
        self.name.clone()
    }
    fn run(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        if !env.is_valid(t, self.cell.slide) {
            return Ok(());
        }
        let inner = self.cell.advance(t, env)?;
        if inner.generated != Some(t) {
            return Ok(());
        }
        let place = Placement::of(env, inner.parts.len());
        (self.f)(Snapshot { parts: &inner.parts, place }, t, env)
    }
}

/// A keyed state maintained batch by batch, returned by
/// [`running_reduce_by_key`](crate::DStream::running_reduce_by_key) and
/// [`map_with_state`](crate::DStream::map_with_state). It is not a stream itself: pick the
/// views you need; [`mapped`](Self::mapped) and [`state_snapshots`](Self::state_snapshots)
/// borrow the handle, so one handle gives both (the outputs consume it).
///
/// * [`mapped`](Self::mapped): the per-batch output (the records `map_with_state`'s function
///   returned; the keys `running_reduce_by_key` updated, with their new values). Costs
///   O(records of the batch).
/// * [`state_snapshots`](Self::state_snapshots): every key and its state after each batch
///   (Spark's `stateSnapshots`), as a stream. This copies the whole state every batch.
/// * [`foreach_snapshot`](Self::foreach_snapshot): an output that borrows the state after
///   each batch, without copying it.
/// * [`print_state`](Self::print_state): prints the first records of the state in Spark's
///   `print` format, copying nothing.
///
/// Only the views asked for cost anything: a state whose `mapped` stream is not used does
/// not build it.
///
/// ```
/// use stream_runtime::{testing, Duration};
/// let input = vec![vec![("a", 1), ("b", 1)], vec![("a", 2)], vec![]];
/// let mut out = testing::run(input, 2, |s| s.running_reduce_by_key(|x, y| x + y).state_snapshots());
/// out.iter_mut().for_each(|b| b.sort());
/// assert_eq!(out, vec![vec![("a", 1), ("b", 1)], vec![("a", 3), ("b", 1)], vec![("a", 3), ("b", 1)]]);
/// ```
///
/// Both views of one state, without a clone (Spark's `val st = s.mapWithState(spec);
/// st.print(); st.stateSnapshots().print()`), and a mapping function whose types come from
/// the stream:
///
/// ```
/// use stream_runtime::prelude::*;
/// let ssc = StreamingContext::new(Duration::seconds(1));
/// let pairs = ssc.queue_stream(BatchQueue::<(String, i32)>::new(), true, None);
/// let spec = pairs.state_spec().function(|word, one, state| {
///     let sum = one.unwrap_or(0) + state.get_option().copied().unwrap_or(0);
///     state.update(sum);
///     (word.len(), sum)
/// });
/// let st = pairs.map_with_state(spec);
/// st.mapped().print();
/// st.state_snapshots().print();
/// ```
#[must_use = "a state does nothing until one of its views is used by an output operation"]
pub struct StateStream<'a, K, S, M> {
    ctx: &'a StreamingContext,
    cell: Arc<StateCell<K, S, M>>,
    mapped: NodeRef<M>,
}

impl<K, S, M> Clone for StateStream<'_, K, S, M> {
    fn clone(&self) -> Self {
        StateStream { ctx: self.ctx, cell: Arc::clone(&self.cell), mapped: self.mapped.clone() }
    }
}

impl<K, S, M> std::fmt::Debug for StateStream<'_, K, S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStream").field("slide", &self.cell.slide).finish_non_exhaustive()
    }
}

/// Registers a stateful stream driven by `step` over a parent with slide `slide`, with `n`
/// state partitions whose keys `route` places. Stateful streams need a checkpoint directory.
/// The plan (`--explain`, the Streaming page) calls the per-batch output `"{name} ({output})"`.
pub(crate) fn state_stream<'a, K: Key + Persist, S: Data + Persist, M: Data>(
    ctx: &'a StreamingContext,
    (name, output): (&'static str, &'static str),
    from: String,
    step: impl Step<K, S, M>,
    slide: Duration,
    (n, route): (usize, Route<K>),
) -> StateStream<'a, K, S, M> {
    ctx.require_checkpoint(name);
    let inner = Inner { parts: parts(n), last: None, generated: None, mapped: None };
    let cell = Arc::new(StateCell {
        name,
        step: Box::new(step),
        slide,
        wants_mapped: AtomicBool::new(false),
        inner: Mutex::new(inner),
        route,
    });
    ctx.add_tick(Box::new(Advance(Arc::clone(&cell))), from);
    let mapped = NodeRef::new(Mapped(Arc::clone(&cell)), slide).labelled(format!("{name} ({output})"));
    StateStream { ctx, cell, mapped }
}

impl<'a, K: Key, S: Data, M: Data> StateStream<'a, K, S, M> {
    /// The interval at which the state advances: the parent's slide.
    pub fn slide_duration(&self) -> Duration {
        self.cell.slide
    }

    /// The per-batch output: what `map_with_state`'s function returned, or the keys
    /// `running_reduce_by_key` updated with their new values.
    ///
    /// ```
    /// let input = vec![vec![("a", 1), ("a", 1)], vec![("b", 5)], vec![]];
    /// let out = stream_runtime::testing::run(input, 2, |s| s.running_reduce_by_key(|x, y| x + y).mapped());
    /// assert_eq!(out, vec![vec![("a", 2)], vec![("b", 5)], vec![]]);
    /// ```
    pub fn mapped(&self) -> DStream<'a, M> {
        self.cell.wants_mapped.store(true, Ordering::Relaxed);
        DStream::from_node(self.ctx, self.mapped.clone())
    }

    /// Every key and its state after each batch, including keys the batch did not touch
    /// (Spark's `stateSnapshots`). Copies the whole state every batch; prefer
    /// [`foreach_snapshot`](Self::foreach_snapshot) or [`print_state`](Self::print_state)
    /// when a borrowed view is enough.
    ///
    /// ```
    /// use stream_runtime::{testing, State, StateSpec};
    /// let spec = StateSpec::function(|_k: &&str, v: Option<i32>, s: &mut State<i32>| {
    ///     s.update(s.get_option().copied().unwrap_or(0) + v.unwrap_or(0));
    /// });
    /// let mut out = testing::run(vec![vec![("a", 1), ("b", 2)], vec![("a", 5)]], 2, |s| s.map_with_state(spec).state_snapshots());
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![vec![("a", 1), ("b", 2)], vec![("a", 6), ("b", 2)]]);
    /// ```
    pub fn state_snapshots(&self) -> DStream<'a, (K, S)> {
        let slide = self.cell.slide;
        let label = format!("{} (snapshots)", self.cell.name);
        DStream::from_node(self.ctx, NodeRef::new(Snapshots(Arc::clone(&self.cell)), slide).labelled(label))
    }

    /// Registers an output that hands `f` a borrowed [`Snapshot`] of the state after each
    /// batch, and the batch time; nothing is copied. The state is locked while `f` runs. In a
    /// cluster, `f` runs on every process with the keys that process holds.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let sizes = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&sizes);
    /// stream_runtime::testing::Harness::new(2).run(vec![vec![(1, 1), (2, 1)], vec![(3, 1)]], move |s| {
    ///     s.running_reduce_by_key(|a, b| a + b).foreach_snapshot(move |snap, t| sink.lock().unwrap().push((t.as_millis(), snap.len())));
    /// });
    /// assert_eq!(*sizes.lock().unwrap(), vec![(1000, 2), (2000, 3)]);
    /// ```
    pub fn foreach_snapshot<F>(self, f: F)
    where
        F: Fn(Snapshot<'_, K, S>, Time) + Send + Sync + 'static,
    {
        let f = move |snap: Snapshot<'_, K, S>, t: Time, _: &Env| {
            f(snap, t);
            Ok(())
        };
        let from = format!("{} (state)", self.cell.name);
        self.ctx.add_output(Box::new(ForEachSnapshot { cell: self.cell, f, name: "foreach_snapshot".into() }), from);
    }

    /// Prints the first `num` `(key, state)` pairs of the state after each batch in Spark's
    /// `print` format (see [`format_batch`](crate::format_batch)), without copying the state.
    /// In a cluster, each process sends the first records of the keys it holds to process 0,
    /// which prints them as `print` does; the others print nothing.
    ///
    /// ```
    /// let input = vec![vec![("a", 1)]];
    /// stream_runtime::testing::Harness::new(1).run(input, |s| s.running_reduce_by_key(|x, y| x + y).print_state(10));
    /// ```
    pub fn print_state(self, num: usize)
    where
        K: Show,
        S: Show,
    {
        let ex = Exchanges::new(self.ctx);
        let f = move |snap: Snapshot<'_, K, S>, t: Time, env: &Env| {
            let first: Vec<(&K, &S)> = snap.iter().take(num + 1).collect();
            if env.peers.is_none() {
                return to_stdout(&format_batch(t, first.iter(), num));
            }
            if let Some(all) = gather(format_records(first.iter(), num + 1), &ex, t, env)? {
                to_stdout(&assemble(t, all.into_iter().flatten(), num))?;
            }
            Ok(())
        };
        let from = format!("{} (state)", self.cell.name);
        self.ctx
            .add_output(Box::new(ForEachSnapshot { cell: self.cell, f, name: format!("print_state({num})") }), from);
    }
}
