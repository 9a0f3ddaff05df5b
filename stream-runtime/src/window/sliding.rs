//! The machinery every windowed operator shares: a node that ingests each parent batch at
//! every tick, evicts what left the window, and emits at its own slide.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use rayon::prelude::*;

use crate::batch::Batch;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::checkpoint::frames::{decode_frames, encode_frames};
use crate::context::{StreamingContext, Tick};
use crate::data::{hash_of, Data, FastMap, Key};

use crate::error::{BatchError, StreamingError};
use crate::node::{Env, Node, NodeRef};
use crate::shuffle::{partition_of, route};
use crate::time::{Duration, Time};
use crate::DStream;

/// The per-operator part of a window: what it keeps of each parent batch and how it emits.
pub(crate) trait Sliding: Send + 'static {
    /// Record type of the parent stream.
    type In: Data;
    /// Record type of the windowed stream.
    type Out: Data;
    /// Adds the parent's batch at `t`.
    fn ingest(&mut self, t: Time, batch: Batch<Self::In>);
    /// Drops every parent batch at a time `<= cutoff`.
    fn evict(&mut self, cutoff: Time);
    /// The window's contents.
    fn emit(&mut self) -> Batch<Self::Out>;
    /// What the window holds, for a checkpoint.
    fn save(&self) -> Result<Vec<u8>, CodecError>;
    /// Takes back what [`save`](Self::save) made.
    fn restore(&mut self, saved: &[u8]) -> Result<(), CodecError>;
}

/// Encodes one frame per partition, in parallel.
pub(crate) fn save_parts<P: Sync>(
    parts: &[P],
    f: impl Fn(&P) -> Result<Vec<u8>, CodecError> + Sync + Send,
) -> Result<Vec<u8>, CodecError> {
    let frames: Result<Vec<Vec<u8>>, CodecError> = parts.par_iter().map(f).collect();
    Ok(encode_frames(&frames?))
}

/// Decodes partitions saved by [`save_parts`]; when their count is not `n` (the job was
/// restarted with another thread count), `regroup` re-hashes them into `n`.
pub(crate) fn restore_parts<P: Send>(
    saved: &[u8],
    n: usize,
    f: impl Fn(&[u8]) -> Result<P, CodecError> + Sync + Send,
    regroup: impl FnOnce(Vec<P>, usize) -> Vec<P>,
) -> Result<Vec<P>, CodecError> {
    let frames = decode_frames(saved)?;
    let parts: Vec<P> = frames.par_iter().map(|b| f(b)).collect::<Result<_, _>>()?;
    Ok(if parts.len() == n { parts } else { regroup(parts, n) })
}

/// Re-hashes per-partition rings of keyed items into `n` partitions. Every ring holds the
/// same batch times in the same order (each batch is ingested into every partition).
pub(crate) fn reroute_rings<K: Key, X>(
    rings: Vec<VecDeque<(Time, Vec<X>)>>,
    n: usize,
    key: impl Fn(&X) -> &K,
) -> Vec<VecDeque<(Time, Vec<X>)>> {
    let mut out: Vec<VecDeque<(Time, Vec<X>)>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut rings: Vec<_> = rings.into_iter().map(VecDeque::into_iter).collect();
    loop {
        let mut time = None;
        let mut buckets: Vec<Vec<X>> = (0..n).map(|_| Vec::new()).collect();
        for ring in &mut rings {
            if let Some((t, items)) = ring.next() {
                time = Some(t);
                for x in items {
                    buckets[partition_of(hash_of(key(&x)), n)].push(x);
                }
            }
        }
        let Some(t) = time else { return out };
        for (o, b) in out.iter_mut().zip(buckets) {
            o.push_back((t, b));
        }
    }
}

/// Re-hashes the entries of per-partition maps into `n` maps.
pub(crate) fn reroute_maps<K: Key, V>(maps: Vec<FastMap<K, V>>, n: usize) -> Vec<FastMap<K, V>> {
    let mut out: Vec<FastMap<K, V>> = (0..n).map(|_| FastMap::default()).collect();
    for (k, v) in maps.into_iter().flatten() {
        out[partition_of(hash_of(&k), n)].insert(k, v);
    }
    out
}

/// Which validation message a window uses: Spark's `WindowedDStream` or
/// `ReducedWindowedDStream` (the invertible reductions).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Windowed,
    Reduced,
}

/// Checks the window and slide against the parent's slide, recording Spark's error (window
/// first, then slide) on `ctx`. Returns whether both are valid.
pub(crate) fn check(ctx: &StreamingContext, kind: Kind, window: Duration, slide: Duration, parent: Duration) -> bool {
    if window.as_millis() <= 0 || slide.as_millis() <= 0 {
        ctx.record_error(StreamingError::Invalid(format!(
            "The window duration ({window}) and slide duration ({slide}) of a windowed DStream must be positive"
        )));
        return false;
    }
    for (what, duration) in [("window", window), ("slide", slide)] {
        if !duration.is_multiple_of(parent) {
            ctx.record_error(match kind {
                Kind::Windowed => StreamingError::NotMultipleOfParentSlide { what, duration, parent },
                Kind::Reduced => StreamingError::ReducedWindowNotMultipleOfParentSlide { what, duration, parent },
            });
            return false;
        }
    }
    true
}

struct Core<A: Sliding> {
    name: String,
    parent: NodeRef<A::In>,
    window: Duration,
    /// The last time advanced to, and the operator's state.
    state: Mutex<(Option<Time>, A)>,
}

impl<A: Sliding> Core<A> {
    /// Brings the window up to `t`: ingests the parent's batch at `t` (once) and evicts what
    /// left. Idempotent per time, so a `compute(t)` after the tick at `t` does not pull the
    /// parent again.
    fn advance(&self, t: Time, env: &Env, state: &mut (Option<Time>, A)) -> Result<(), BatchError> {
        if state.0.is_some_and(|last| last >= t) {
            return Ok(());
        }
        let parent = self.parent.get(t, env)?;
        state.0 = Some(t);
        if let Some(batch) = parent {
            state.1.ingest(t, batch);
        }
        state.1.evict(t - self.window);
        Ok(())
    }
}

struct Ticker<A: Sliding>(Arc<Core<A>>);

impl<A: Sliding> Tick for Ticker<A> {
    fn name(&self) -> String {
        self.0.name.clone()
    }

    fn save(&self) -> Result<Option<Vec<u8>>, CodecError> {
        let state = self.0.state.lock();
        Ok(Some(encode_frames(&[to_bytes(&state.0)?, state.1.save()?])))
    }

    fn restore(&self, saved: &[u8]) -> Result<(), CodecError> {
        let frames = decode_frames(saved)?;
        let [last, op] = frames[..] else {
            return Err(CodecError::FrameCount { what: "a window state", found: frames.len() });
        };
        let mut state = self.0.state.lock();
        state.1.restore(op)?;
        state.0 = from_bytes(last)?;
        Ok(())
    }
    fn tick(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        let mut state = self.0.state.lock();
        self.0.advance(t, env, &mut state)
    }
}

struct Emit<A: Sliding>(Arc<Core<A>>);

impl<A: Sliding> Node<A::Out> for Emit<A> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<A::Out>>, BatchError> {
        let mut state = self.0.state.lock();
        self.0.advance(t, env, &mut state)?;
        Ok(Some(state.1.emit()))
    }
}

/// A windowed stream over `parent`: registers the tick that feeds `op` every parent batch and
/// returns the stream that emits `op`'s contents every `slide`.
pub(crate) fn windowed<'a, A: Sliding>(
    ctx: &'a StreamingContext,
    name: &'static str,
    parent: NodeRef<A::In>,
    window: Duration,
    slide: Duration,
    op: A,
) -> DStream<'a, A::Out> {
    let name = format!("{name}(window {window}, slide {slide})");
    let core = Arc::new(Core { name, parent, window, state: Mutex::new((None, op)) });
    ctx.add_tick(Box::new(Ticker(Arc::clone(&core))));
    DStream::from_node(ctx, NodeRef::new(Emit(core), slide))
}

/// The records of a keyed batch in `n` hash partitions. A batch from `reduce_by_key` or
/// `group_by_key` into `n` partitions is hash-partitioned already and passes through; any
/// other batch (an empty one without partitions) is routed.
pub(crate) fn hash_partitions<K: Key, V>(batch: Batch<(K, V)>, n: usize) -> Vec<Vec<(K, V)>> {
    if batch.num_partitions() == n {
        batch.into_partitions()
    } else {
        route(batch.into_vec(), n)
    }
}
