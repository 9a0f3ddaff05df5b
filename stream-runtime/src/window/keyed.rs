//! The per-key window queues ([`Chunked`]: chunks of plain values under a DABA Lite queue of
//! chunk aggregates) of one partition of a non-invertible keyed window, laid out so that a
//! long window costs a slide what a short one does.
//!
//! With a window of thousands of batches each key's queue holds thousands of partials, and
//! all the queues together are megabytes: far more than the cache. A push or pop is O(1), but
//! it reads and writes a line of its queue that the other keys' operations since have pushed
//! out of the cache (a DABA Lite queue alone touches four such lines: the oldest value, `q[l]`,
//! `q[a - 1]`, the slot after the newest; a [`Chunked`] one the two ends, and its chunk
//! aggregates once per chunk), so each one waited for memory in turn. Here:
//!
//! * the queues live in one dense array of slots, and the window's ring holds each partial's
//!   slot number, not its key: evicting needs no hash lookup at all, and ingesting looks
//!   every key of the batch up first, in one pass over the small key index;
//! * so the slots every push, pop and query will touch are known before the first one runs,
//!   and each operation first asks the CPU for the slot of the key `2 *` [`AHEAD`] places
//!   further on and for the queue lines of the key [`AHEAD`] places on
//!   ([`Chunked::prefetch`], which reads that slot): the misses of several keys overlap
//!   instead of following each other;
//! * a slot whose queue empties keeps its buffer for the next new key, so a steady window
//!   allocates nothing.

use std::collections::VecDeque;

use serde::Serialize;

use super::chunked::Chunked;
use super::ring::Ring;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::data::{fast_map, FastMap, Key, Persist};
use crate::shuffle::prefetch;
use crate::time::Time;

/// The first two bytes of the checkpoint form: `0xFF` (no varint starts with it, so no
/// earlier form, which starts with the key count) and the form's version, 2 (the chunked
/// queues; 1 was the per-key DABA Lite queues, untagged).
const FORM: (u8, u8) = (0xFF, 2);

/// How many keys ahead of the one being updated the queue lines are prefetched.
const AHEAD: usize = 8;

/// One key's queue; `key` is `None` for a free slot (its queue empty).
#[derive(Debug)]
struct Slot<K, V> {
    key: Option<K>,
    q: Chunked<V>,
}

/// Asks the CPU for every cache line of `slot` (a hint only).
#[inline]
fn prefetch_slot<T>(slot: &T) {
    let at = std::ptr::from_ref(slot).cast::<u8>();
    for line in (0..std::mem::size_of::<T>()).step_by(64) {
        prefetch(at.wrapping_add(line));
    }
}

/// Per key, a DABA Lite queue of values; per batch time, which keys got one (so the oldest
/// batch's can be popped).
#[derive(Debug)]
pub(crate) struct KeyedQueues<K, V> {
    /// Each key's slot.
    index: FastMap<K, u32>,
    slots: Vec<Slot<K, V>>,
    /// Slots whose queue is empty, to reuse.
    free: Vec<u32>,
    /// Per batch, the slots of the keys it pushed to.
    ring: Ring<u32>,
    /// Slot numbers of the batch at hand, kept to reuse its allocation.
    scratch: Vec<u32>,
}

impl<K: Key, V: Clone> KeyedQueues<K, V> {
    /// No keys.
    pub(crate) fn new() -> Self {
        KeyedQueues {
            index: fast_map(),
            slots: Vec::new(),
            free: Vec::new(),
            ring: Ring::default(),
            scratch: Vec::new(),
        }
    }

    /// The keys with a value in the window.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot of `k`, made (empty) when `k` is new.
    fn slot_of(&mut self, k: &K) -> u32 {
        if let Some(&s) = self.index.get(k) {
            return s;
        }
        let s = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.slots.len()).expect("a window partition holds fewer than 2^32 keys");
                self.slots.push(Slot { key: None, q: Chunked::new() });
                s
            }
        };
        self.slots[s as usize].key = Some(k.clone());
        self.index.insert(k.clone(), s);
        s
    }

    /// Before the operation on `slots[i]`: asks for the queue lines of the key [`AHEAD`]
    /// places on (its slot arrived one stride ago) and for the slot of the key `2 * AHEAD` on.
    #[inline]
    fn prefetch_ahead(&self, slots: &[u32], i: usize) {
        if let Some(&ahead) = slots.get(i + AHEAD) {
            self.slots[ahead as usize].q.prefetch();
        }
        if let Some(&further) = slots.get(i + 2 * AHEAD) {
            prefetch_slot(&self.slots[further as usize]);
        }
    }

    /// Pushes each record's value onto its key's queue, as batch `t`.
    pub(crate) fn push(&mut self, t: Time, records: Vec<(K, V)>, f: &impl Fn(V, V) -> V) {
        let mut slots = std::mem::take(&mut self.scratch);
        slots.clear();
        for (k, _) in &records {
            let s = self.slot_of(k);
            slots.push(s);
        }
        for (i, ((_, v), &s)) in records.into_iter().zip(&slots).enumerate() {
            self.prefetch_ahead(&slots, i);
            self.slots[s as usize].q.push(v, f);
        }
        self.ring.push(t, slots.iter().copied());
        self.scratch = slots;
    }

    /// Pops the oldest value of each key of every batch at a time `<= cutoff`; a key whose
    /// queue empties leaves.
    pub(crate) fn evict(&mut self, cutoff: Time, f: &impl Fn(V, V) -> V) {
        let mut slots = std::mem::take(&mut self.scratch);
        slots.clear();
        self.ring.evict(cutoff, |s| slots.push(s));
        for (i, &s) in slots.iter().enumerate() {
            self.prefetch_ahead(&slots, i);
            let slot = &mut self.slots[s as usize];
            slot.q.pop(f);
            if slot.q.is_empty() {
                if let Some(k) = slot.key.take() {
                    self.index.remove(&k);
                }
                self.free.push(s);
            }
        }
        self.scratch = slots;
    }

    /// Each key with its queue's aggregate.
    pub(crate) fn aggregates(&self, f: &impl Fn(V, V) -> V) -> Vec<(K, V)> {
        let mut out = Vec::with_capacity(self.index.len());
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(ahead) = self.slots.get(i + AHEAD) {
                ahead.q.prefetch_front();
            }
            if let Some(ahead) = self.slots.get(i + 2 * AHEAD) {
                prefetch_slot(ahead);
            }
            if let Some(k) = &slot.key {
                if let Some(v) = slot.q.query(f) {
                    out.push((k.clone(), v));
                }
            }
        }
        out
    }

    /// The keys with their queues, in slot order.
    pub(crate) fn queues(&self) -> impl Iterator<Item = (&K, &Chunked<V>)> {
        self.slots.iter().filter_map(|s| s.key.as_ref().map(|k| (k, &s.q)))
    }

    /// The ring of slots (for its per-batch counts).
    pub(crate) fn ring(&self) -> &Ring<u32> {
        &self.ring
    }

    /// Bytes of the key index's slots and of the queue slots, in line.
    pub(crate) fn table_bytes(&self) -> u64 {
        let index = crate::heap::buckets(self.index.capacity()) * (std::mem::size_of::<(K, u32)>() + 1);
        (index + self.slots.capacity() * std::mem::size_of::<Slot<K, V>>()) as u64
    }

    /// What it holds, serialized as `([(key, queue)], [(time, [key])])`: the form
    /// [`from_keyed`](Self::from_keyed) takes back.
    pub(crate) fn keyed(&self) -> impl Serialize + '_
    where
        K: Serialize,
        V: Serialize,
    {
        let slots = &self.slots;
        (
            self.queues().collect::<Vec<_>>(),
            self.ring.mapped(move |&s: &u32| slots[s as usize].key.as_ref().expect("the ring holds only live slots")),
        )
    }

    /// What it holds, in the checkpoint form: [`FORM`] (a first byte no earlier form starts
    /// with), then [`keyed`](Self::keyed).
    pub(crate) fn to_checkpoint(&self) -> Result<Vec<u8>, CodecError>
    where
        K: Serialize,
        V: Serialize,
    {
        to_bytes(&(FORM, self.keyed()))
    }

    /// The queues of [`to_checkpoint`](Self::to_checkpoint)'s bytes. An earlier form (the
    /// per-key DABA Lite queues written before 2026-12-03, whose first byte is the varint of
    /// the key count, never `0xFF`) is refused: it holds no plain values to rebuild chunks
    /// from.
    pub(crate) fn from_checkpoint(bytes: &[u8]) -> Result<Self, CodecError>
    where
        K: Persist,
        V: Persist,
    {
        if bytes.first() != Some(&FORM.0) {
            return Err(CodecError::Inconsistent(
                "the window state is in the per-key DABA form of an earlier release; finish the job with that \
                 release or start with a fresh checkpoint directory",
            ));
        }
        type Form<K, V> = ((u8, u8), Vec<(K, Chunked<V>)>, VecDeque<(Time, Vec<K>)>);
        let (form, queues, ring): Form<K, V> = from_bytes(bytes)?;
        if form != FORM {
            return Err(CodecError::Inconsistent("the window state is in a form of another release"));
        }
        KeyedQueues::from_keyed(queues, ring)
    }

    /// What it holds, as the keys' queues and per batch the keys it pushed to.
    pub(crate) fn into_keyed(self) -> (FastMap<K, Chunked<V>>, VecDeque<(Time, Vec<K>)>) {
        let keys: Vec<Option<K>> = self.slots.iter().map(|s| s.key.clone()).collect();
        let ring = self
            .ring
            .into_batches()
            .into_iter()
            .map(|(t, slots)| (t, slots.into_iter().filter_map(|s| keys[s as usize].clone()).collect()));
        let ring = ring.collect();
        let queues = self.slots.into_iter().filter_map(|s| s.key.map(|k| (k, s.q))).collect();
        (queues, ring)
    }

    /// The queues of [`into_keyed`](Self::into_keyed) (or what [`keyed`](Self::keyed)
    /// decodes to) back. Fails when the batches do not name each key as many times as its
    /// queue has values (damaged state).
    pub(crate) fn from_keyed(
        queues: impl IntoIterator<Item = (K, Chunked<V>)>,
        batches: VecDeque<(Time, Vec<K>)>,
    ) -> Result<Self, CodecError> {
        let mut out = KeyedQueues::new();
        for (k, q) in queues {
            if !q.is_consistent() {
                return Err(CodecError::Inconsistent("a window key's queue contradicts itself"));
            }
            if q.is_empty() {
                continue;
            }
            let s = out.slot_of(&k);
            out.slots[s as usize].q = q;
        }
        let mut named = vec![0usize; out.slots.len()];
        for (t, keys) in batches {
            let mut slots = Vec::with_capacity(keys.len());
            for k in &keys {
                let s =
                    *out.index.get(k).ok_or(CodecError::Inconsistent("a window batch names a key with no values"))?;
                named[s as usize] += 1;
                slots.push(s);
            }
            out.ring.push(t, slots);
        }
        if named.iter().zip(&out.slots).any(|(&n, s)| n != s.q.len()) {
            return Err(CodecError::Inconsistent("a window key has another number of values than batches naming it"));
        }
        Ok(out)
    }
}
