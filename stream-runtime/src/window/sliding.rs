//! The machinery every windowed operator shares: a node that ingests each parent batch at
//! every tick, evicts what left the window, and emits at its own slide.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::batch::Batch;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::checkpoint::frames::{decode_frames, Framed};
use crate::checkpoint::Saved;
use crate::context::{StreamingContext, Tick};
use crate::data::Data;

use crate::error::{BatchError, StreamingError};
use crate::node::{Env, Node, NodeRef};
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
    /// Takes back what [`save`](Self::save) made (see [`Saved`]).
    fn restore(&mut self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError>;
    /// What it holds, for the Streaming page: each parent batch in the window (oldest first),
    /// keys and estimated bytes. Cheap: per batch in the window and partition, plus a sample.
    fn view(&self) -> crate::metrics::StateView;
}

/// Records sampled for the bytes estimate of a window.
pub(crate) const SAMPLE: usize = 16;

/// `n` records of `size` bytes each in line, plus what the `sample` owns on average times `n`.
pub(crate) fn records_bytes<'a, T: serde::Serialize + 'a>(n: u64, sample: impl Iterator<Item = &'a T>) -> u64 {
    let (mut owned, mut k) = (0u64, 0u64);
    for r in sample.take(SAMPLE) {
        owned += crate::heap::owned_bytes(r);
        k += 1;
    }
    n * std::mem::size_of::<T>() as u64 + (owned * n).checked_div(k).unwrap_or(0)
}

/// The batches of per-partition rings that all hold the same times (every ingest pushes one
/// entry to each partition's ring): per time, `count` summed over the partitions.
pub(crate) fn ring_batches<E>(
    rings: &[&std::collections::VecDeque<(Time, E)>],
    count: impl Fn(&E) -> (Option<u64>, Option<u64>),
) -> Vec<crate::metrics::WindowBatch> {
    let Some(first) = rings.first() else { return Vec::new() };
    (0..first.len())
        .map(|i| {
            let (mut records, mut keys) = (None, None);
            for ring in rings {
                if let Some((_, e)) = ring.get(i) {
                    let (r, k) = count(e);
                    records = r.map(|r| records.unwrap_or(0) + r);
                    keys = k.map(|k| keys.unwrap_or(0) + k);
                }
            }
            crate::metrics::WindowBatch { time: first[i].0, records, keys }
        })
        .collect()
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

    fn save(&self) -> Result<Option<Framed>, CodecError> {
        let state = self.0.state.lock();
        Ok(Some(Framed::Nested(vec![Framed::Bytes(to_bytes(&state.0)?), Framed::Bytes(state.1.save()?)])))
    }

    fn restore(&self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError> {
        // Every saved state is two frames: the last time (the same in every process), then
        // the operator's.
        let split = |b| -> Result<(Option<Time>, &[u8]), CodecError> {
            let frames = decode_frames(b)?;
            let [last, op] = frames[..] else {
                return Err(CodecError::FrameCount { what: "a window state", found: frames.len() });
            };
            Ok((from_bytes(last)?, op))
        };
        let (last, ops) = match saved {
            Saved::Own(b) => {
                let (last, op) = split(b)?;
                (last, Saved::Own(op))
            }
            Saved::Spread { before, states } => {
                let split: Vec<(usize, (Option<Time>, &[u8]))> =
                    states.into_iter().map(|(j, b)| Ok((j, split(b)?))).collect::<Result<_, CodecError>>()?;
                let last = split.iter().filter_map(|(_, s)| s.0).max();
                (last, Saved::Spread { before, states: split.into_iter().map(|(j, s)| (j, s.1)).collect() })
            }
        };
        let mut state = self.0.state.lock();
        state.1.restore(ops, env)?;
        state.0 = last;
        Ok(())
    }
    fn tick(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        let mut state = self.0.state.lock();
        self.0.advance(t, env, &mut state)
    }

    fn view(&self) -> Option<crate::metrics::StateView> {
        Some(self.0.state.lock().1.view())
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
    let from = parent.label();
    let label = name.clone();
    let core = Arc::new(Core { name, parent, window, state: Mutex::new((None, op)) });
    ctx.add_tick(Box::new(Ticker(Arc::clone(&core))), from);
    DStream::from_node(ctx, NodeRef::new(Emit(core), slide).labelled(label))
}
