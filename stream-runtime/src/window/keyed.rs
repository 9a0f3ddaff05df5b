//! One partition of a non-invertible keyed window, laid out **time-major**: its state is a
//! few [`Column`]s (one value or none per key slot), and a slide makes a constant number of
//! sequential passes over them, so a window of thousands of batches costs a slide about what
//! one of ten does.
//!
//! A queue per key (what this replaces) did O(1) work per key and slide, but each key's push,
//! pop and query touched lines and pages of that key's own buffer, which the other keys'
//! operations since had pushed out of the cache: at 3,600 batches every key cost misses.
//! Here the per-key queues become one queue of columns, cut like a per-key chunked queue, in
//! chunks of [`CHUNK`] batches:
//!
//! * **raw partials**: per batch in the window, its `(slot, value)` partials, in one flat
//!   [`Ring`] of slots and a queue of values beside it (sparse: a key absent from a batch costs
//!   nothing). A batch's partials are written once, when it enters, and read once, in order,
//!   when its chunk becomes the front;
//! * **front**: suffix-aggregate columns of what is left of the oldest chunk, the oldest
//!   batch's last (`front[j]` folds its batch to the end of the chunk), so a pop drops the
//!   last column;
//! * **middle**: each whole chunk's aggregate column in a DABA Lite queue of columns
//!   ([`Daba`], [`CHUNK`] times shorter than the window), whose aggregate is kept in
//!   `middle`;
//! * **back**: the aggregate column of the newest batches, fewer than a chunk.
//!
//! A key's value in the window is `front.last()[s] ⊕ middle[s] ⊕ back[s]`. A push folds the
//! batch's partials into `back` (sparse, in cache); every [`CHUNK`] pushes `back` joins the
//! middle (a pass for `middle`, at most three for DABA's push). A pop drops a front column;
//! every [`CHUNK`] pops the next chunk's raw partials are folded right to left into fresh
//! front columns (a copy and a sparse fold each), DABA pops (two passes) and `middle` is
//! queried again (two). So a slide costs, in the worst case, `O(CHUNK)` column passes and on
//! average about five (three of them the query's), bounded by the chunk, not the window.
//!
//! A slot is freed when the last value its key has in the window leaves (per slot, a count
//! of live values); every column aggregates live batches only, so a freed slot is `None` in
//! all of them and the next new key can take it.

use std::collections::VecDeque;

use super::column::{append, append_batch, at, prepend_batch, Column, Pool};
use super::daba::Daba;
use super::ring::Ring;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::data::{detach, fast_map, FastMap, Key, Persist};
use crate::time::Time;

/// Batches per chunk: the front is rebuilt, and the middle takes a column, once every
/// `CHUNK` slides.
pub(crate) const CHUNK: usize = 8;

/// The first two bytes of the checkpoint form: `0xFF` (no varint starts with it, so no
/// untagged earlier form, which starts with the key count) and the form's version: 3, the
/// window's batches of `(key, value)` partials. 2 was the per-key chunked queues, 1 (untagged)
/// the per-key DABA Lite queues.
const FORM: (u8, u8) = (0xFF, 3);

/// The state's batches: per batch in the window, oldest first, its time and `(key, value)`
/// partials in the order they were folded.
pub(crate) type Batches<K, V> = VecDeque<(Time, Vec<(K, V)>)>;

/// One partition of the non-invertible keyed window; see the module documentation.
#[derive(Debug)]
pub(crate) struct KeyedColumns<K, V> {
    /// Each key's slot.
    index: FastMap<K, u32>,
    /// Per slot, its key (`None`: free).
    keys: Vec<Option<K>>,
    /// Per slot, how many batches in the window have a value for it.
    live: Vec<u32>,
    /// Free slots, to reuse.
    free: Vec<u32>,
    /// Per batch in the window, the slots of its partials.
    ring: Ring<u32>,
    /// The partials' values, in the ring's order.
    values: VecDeque<V>,
    /// Suffix aggregates of the oldest chunk's batches left, the oldest batch's last; empty
    /// exactly when the window is.
    front: Vec<Column<V>>,
    /// The whole chunks' aggregates; `middle` is theirs.
    chunks: Daba<V>,
    middle: Option<Column<V>>,
    /// The aggregate of the newest `back_n` batches (fewer than [`CHUNK`]; `None` when none).
    back: Option<Column<V>>,
    back_n: usize,
    pool: Pool<V>,
    /// Slot numbers of the batch at hand, kept to reuse its allocation.
    scratch: Vec<u32>,
}

impl<K: Key, V: Clone> KeyedColumns<K, V> {
    /// No keys.
    pub(crate) fn new() -> Self {
        KeyedColumns {
            index: fast_map(),
            keys: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
            ring: Ring::default(),
            values: VecDeque::new(),
            front: Vec::new(),
            chunks: Daba::new(),
            middle: None,
            back: None,
            back_n: 0,
            pool: Pool::new(),
            scratch: Vec::new(),
        }
    }

    /// The keys with a value in the window.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The slot of `k`, made when `k` is new.
    fn slot_of(&mut self, k: &K) -> u32 {
        if let Some(&s) = self.index.get(k) {
            return s;
        }
        let s = match self.free.pop() {
            Some(s) => s,
            None => {
                let s = u32::try_from(self.keys.len()).expect("a window partition holds fewer than 2^32 keys");
                self.keys.push(None);
                self.live.push(0);
                s
            }
        };
        // The key stays as long as it is in the window, which for a key in every batch is for
        // ever: it must not keep the input buffer it came in (`detach`).
        let mut k = k.clone();
        detach(&mut k);
        self.keys[s as usize] = Some(k.clone());
        self.index.insert(k, s);
        s
    }

    /// Adds batch `t`'s partials (a key may be named more than once: its values fold in
    /// order).
    pub(crate) fn push(&mut self, t: Time, records: Vec<(K, V)>, f: &impl Fn(V, V) -> V) {
        let mut slots = std::mem::take(&mut self.scratch);
        slots.clear();
        for (k, _) in &records {
            let s = self.slot_of(k);
            self.live[s as usize] += 1;
            slots.push(s);
        }
        let partials = slots.iter().copied().zip(records.iter().map(|(_, v)| v));
        if self.front.is_empty() {
            // The window's only batch is its own suffix: the front.
            let mut col = self.pool.take();
            append_batch(&mut col, partials, f);
            self.front.push(col);
        } else {
            let back = self.back.get_or_insert_with(Vec::new);
            append_batch(back, partials, f);
            self.back_n += 1;
            if self.back_n == CHUNK {
                // The back is a whole chunk: it joins the middle.
                let agg = self.back.take().unwrap_or_default();
                match &mut self.middle {
                    Some(m) => append(m, &agg, f),
                    None => self.middle = Some(self.pool.copy(&agg)),
                }
                self.chunks.push(agg, f, &mut self.pool);
                self.back_n = 0;
            }
        }
        self.ring.push(t, slots.iter().copied());
        self.values.extend(records.into_iter().map(|(_, v)| v));
        self.scratch = slots;
    }

    /// Frees slot `s` (its key has no value left).
    fn release(&mut self, s: u32) {
        if let Some(k) = self.keys[s as usize].take() {
            self.index.remove(&k);
        }
        self.free.push(s);
    }

    /// Drops every batch at a time `<= cutoff`, oldest first; a key with no value left
    /// leaves.
    pub(crate) fn evict(&mut self, cutoff: Time, f: &impl Fn(V, V) -> V) {
        loop {
            let mut freed = std::mem::take(&mut self.scratch);
            freed.clear();
            let (values, live) = (&mut self.values, &mut self.live);
            let evicted = self.ring.evict_one(cutoff, |s| {
                values.pop_front();
                let n = &mut live[s as usize];
                *n -= 1;
                if *n == 0 {
                    freed.push(s);
                }
            });
            for &s in &freed {
                self.release(s);
            }
            self.scratch = freed;
            if !evicted {
                return;
            }
            self.pop_front(f);
        }
    }

    /// Drops the oldest batch's front column; when that ends the oldest chunk, the next one
    /// (or the back) becomes the front.
    fn pop_front(&mut self, f: &impl Fn(V, V) -> V) {
        let Some(col) = self.front.pop() else { return };
        self.pool.give(col);
        if !self.front.is_empty() {
            return;
        }
        let n = if self.chunks.is_empty() {
            let n = self.back_n;
            self.pool.give_opt(self.back.take());
            self.back_n = 0;
            n
        } else {
            self.chunks.pop(f, &mut self.pool);
            let middle = self.chunks.query(f, &mut self.pool);
            self.pool.give_opt(std::mem::replace(&mut self.middle, middle));
            CHUNK
        };
        // The ring's oldest `n` batches, folded right to left into suffix columns.
        let mut bounds = Vec::with_capacity(n);
        let mut start = 0;
        for (_, len) in self.ring.batches().take(n) {
            bounds.push((start, len));
            start += len;
        }
        let (slots, values) = (self.ring.items(), &self.values);
        for &(start, len) in bounds.iter().rev() {
            let mut col = match self.front.last() {
                Some(after) => self.pool.copy(after),
                None => self.pool.take(),
            };
            let partials = (start..start + len).rev().map(|i| (slots[i], &values[i]));
            prepend_batch(&mut col, partials, f);
            self.front.push(col);
        }
    }

    /// Each key with its aggregate over the window, in slot order.
    pub(crate) fn aggregates(&self, f: &impl Fn(V, V) -> V) -> Vec<(K, V)> {
        let Some(front) = self.front.last() else { return Vec::new() };
        let middle = self.middle.as_deref().unwrap_or_default();
        let back = self.back.as_deref().unwrap_or_default();
        let mut out = Vec::with_capacity(self.index.len());
        for (s, k) in self.keys.iter().enumerate() {
            let Some(k) = k else { continue };
            let mut v = at(front, s).cloned();
            for later in [at(middle, s), at(back, s)].into_iter().flatten() {
                v = Some(match v {
                    Some(v) => f(v, later.clone()),
                    None => later.clone(),
                });
            }
            if let Some(v) = v {
                out.push((k.clone(), v));
            }
        }
        out
    }

    /// The ring of slots (for its per-batch counts).
    pub(crate) fn ring(&self) -> &Ring<u32> {
        &self.ring
    }

    /// Up to `n` of the window's partials, as `(key, value)`, for a bytes sample.
    pub(crate) fn sample(&self, n: usize) -> impl Iterator<Item = (&K, &V)> {
        let keys = &self.keys;
        self.ring
            .items()
            .iter()
            .zip(&self.values)
            .take(n)
            .filter_map(move |(&s, v)| Some((keys[s as usize].as_ref()?, v)))
    }

    /// Bytes in line: the key index, the per-slot keys and counts, the raw partials (slot
    /// and value) and every column.
    pub(crate) fn inline_bytes(&self) -> u64 {
        let index = crate::heap::buckets(self.index.capacity()) * (std::mem::size_of::<(K, u32)>() + 1);
        let slots = self.keys.capacity() * std::mem::size_of::<Option<K>>() + self.live.capacity() * 4;
        let raw = self.values.len() * (std::mem::size_of::<V>() + 4);
        let columns = self.front.iter().chain(&self.middle).chain(&self.back).chain(self.chunks.columns());
        let columns: usize = columns.map(|c| c.capacity() * std::mem::size_of::<Option<V>>()).sum();
        (index + slots + raw + columns) as u64
    }

    /// What it holds: per batch in the window, oldest first, its time and partials.
    pub(crate) fn batches(&self) -> Batches<&K, &V> {
        let mut out = VecDeque::with_capacity(self.ring.len());
        let (mut slots, mut values) = (self.ring.items().iter(), self.values.iter());
        for (t, n) in self.ring.batches() {
            let partials = slots.by_ref().zip(values.by_ref()).take(n);
            let partials = partials.filter_map(|(&s, v)| Some((self.keys[s as usize].as_ref()?, v))).collect();
            out.push_back((t, partials));
        }
        out
    }

    /// What it holds, as [`batches`](Self::batches) (to re-partition a restored window).
    pub(crate) fn into_batches(self) -> Batches<K, V> {
        self.batches()
            .into_iter()
            .map(|(t, b)| (t, b.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .collect()
    }

    /// The window of `batches` (what [`batches`](Self::batches) gives). Fails when their
    /// times do not increase (damaged state).
    pub(crate) fn from_batches(batches: Batches<K, V>, f: &impl Fn(V, V) -> V) -> Result<Self, CodecError> {
        let mut out = KeyedColumns::new();
        let mut last = None;
        for (t, partials) in batches {
            if last.is_some_and(|last| last >= t) {
                return Err(CodecError::Inconsistent("the window's batches are not in time order"));
            }
            last = Some(t);
            out.push(t, partials, f);
        }
        Ok(out)
    }

    /// What it holds, in the checkpoint form: [`FORM`] (a first byte no untagged earlier form
    /// starts with), then [`batches`](Self::batches).
    pub(crate) fn to_checkpoint(&self) -> Result<Vec<u8>, CodecError>
    where
        K: serde::Serialize,
        V: serde::Serialize,
    {
        to_bytes(&(FORM, self.batches()))
    }

    /// The window of [`to_checkpoint`](Self::to_checkpoint)'s bytes. An earlier form (the
    /// per-key DABA Lite queues, untagged, or the per-key chunked queues, version 2) is
    /// refused with a typed error.
    pub(crate) fn from_checkpoint(bytes: &[u8], f: &impl Fn(V, V) -> V) -> Result<Self, CodecError>
    where
        K: Persist,
        V: Persist,
    {
        match bytes {
            [0xFF, 3, ..] => {}
            [0xFF, 2, ..] => {
                return Err(CodecError::Inconsistent(
                    "the window state is in the per-key chunked form of an earlier release; finish the job with \
                     that release or start with a fresh checkpoint directory",
                ))
            }
            [0xFF, ..] => return Err(CodecError::Inconsistent("the window state is in a form of another release")),
            _ => {
                return Err(CodecError::Inconsistent(
                    "the window state is in the per-key DABA form of an earlier release; finish the job with that \
                     release or start with a fresh checkpoint directory",
                ))
            }
        }
        let (form, batches): ((u8, u8), Batches<K, V>) = from_bytes(bytes)?;
        if form != FORM {
            return Err(CodecError::Inconsistent("the window state is in a form of another release"));
        }
        KeyedColumns::from_batches(batches, f)
    }
}
