//! The window values of an invertible keyed window, in dense entries under a hash index of
//! entry positions: the per-batch partials in the ring name their key by its position, so
//! taking a batch out of the window reads no key and hashes nothing; emitting the window is
//! one sequential pass over the entries into an output of the right size; and growing the
//! index re-hashes no key (each entry keeps its hash).
//!
//! The index is 8-byte slots (open addressing, linear probing, at most half full): 0 when
//! empty, else the key's tag (the low half of its hash) in the high half and the entry's
//! position plus one in the low half: the shuffle's tag index (`shuffle::rebuild_index`,
//! `shuffle::home_entry`), as its combiner tables use it. A batch's keys are
//! hashed first, then looked up with their home slot and, [`AHEAD`] keys later, the entry it
//! points to prefetched, so the cache misses of the lookups overlap.

use crate::data::{detach, hash_of, Key};
use crate::shuffle::{home_entry, position_of_slot, prefetch, rebuild_index, slot, tag_of, unindex_slot};

/// One key's window value and the number of batches in the window that hold the key. `key`
/// is `None` for a free entry; `value` is `None` in a free entry and while `f` or `inv` runs.
#[derive(Debug)]
struct Entry<K, V> {
    key: Option<K>,
    value: Option<V>,
    batches: u32,
}

/// How many keys ahead of the one being looked up its home slot is prefetched (the entry
/// that slot points to, half as far ahead).
pub(crate) const AHEAD: usize = 16;

/// The window value of each key, by position.
#[derive(Debug)]
pub(crate) struct Dense<K, V> {
    /// The slots over the entries (a power of two of them, or none).
    index: Vec<u64>,
    /// Keys in the index.
    keys: usize,
    /// The hash of each entry's key (what growing the index needs).
    hashes: Vec<u64>,
    entries: Vec<Entry<K, V>>,
    /// Free entries, to reuse.
    free: Vec<u32>,
}

impl<K: Key, V: Clone> Dense<K, V> {
    /// No keys.
    pub(crate) fn new() -> Self {
        Dense { index: Vec::new(), keys: 0, hashes: Vec::new(), entries: Vec::new(), free: Vec::new() }
    }

    /// The keys held.
    pub(crate) fn len(&self) -> usize {
        self.keys
    }

    /// Makes room for `additional` more keys without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let need = self.keys + additional;
        if need * 2 > self.index.len() {
            self.reindex((need * 2).next_power_of_two().max(16));
        }
        let fresh = additional.saturating_sub(self.free.len());
        self.entries.reserve(fresh);
        self.hashes.reserve(fresh);
    }

    /// Rebuilds the index with `capacity` slots (a power of two, more than twice the keys)
    /// from the hashes of the held entries.
    fn reindex(&mut self, capacity: usize) {
        let held = self.entries.iter().zip(&self.hashes).enumerate().filter(|(_, (e, _))| e.key.is_some());
        rebuild_index(&mut self.index, capacity, held.map(|(p, (_, &h))| (p, tag_of(h))));
    }

    /// The home slot of hash `h`.
    #[inline(always)]
    fn home(&self, h: u64) -> usize {
        tag_of(h) as usize & self.index.len().wrapping_sub(1)
    }

    /// The first stage of a lookup of hash `h`: brings its home slot into the cache.
    #[inline(always)]
    fn prefetch_slot(&self, h: u64) {
        if !self.index.is_empty() {
            prefetch(&self.index[self.home(h)]);
        }
    }

    /// The second stage, once the home slot of `h` has had time to arrive: when it holds a
    /// key of the same tag, brings that entry in.
    #[inline(always)]
    fn prefetch_entry(&self, h: u64) {
        if let Some(p) = home_entry(&self.index, h) {
            self.prefetch(p as u32);
        }
    }

    /// Folds each of `records` into its key's value with `f` (see [`add`](Self::add)),
    /// giving each with its key's position to `out`, in order.
    pub(crate) fn add_all(&mut self, records: Vec<(K, V)>, f: &impl Fn(V, V) -> V, mut out: impl FnMut(u32, V)) {
        self.reserve(records.len());
        let hashes: Vec<u64> = records.iter().map(|(k, _)| hash_of(k)).collect();
        for (i, (k, v)) in records.into_iter().enumerate() {
            if let Some(&h) = hashes.get(i + AHEAD) {
                self.prefetch_slot(h);
            }
            if let Some(&h) = hashes.get(i + AHEAD / 2) {
                self.prefetch_entry(h);
            }
            let p = self.add_hashed(hashes[i], k, v.clone(), f);
            out(p, v);
        }
    }

    /// The position of `k` (of hash `h`) in `index`, or the empty slot where it would go.
    #[inline]
    fn probe(&self, h: u64, k: &K) -> Result<u32, usize> {
        let (tag, mask) = (tag_of(h), self.index.len().wrapping_sub(1));
        let mut i = tag as usize & mask;
        loop {
            let s = *self.index.get(i).ok_or(i)?;
            if s == 0 {
                return Err(i);
            }
            if (s >> 32) as u32 == tag {
                let p = s as u32 - 1;
                if self.entries[p as usize].key.as_ref() == Some(k) {
                    return Ok(p);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The position of `k`'s entry (`k` of hash `h`), made (empty, in no batch) when `k` is
    /// new; and whether it was.
    #[inline]
    fn locate(&mut self, h: u64, k: K) -> (u32, bool) {
        if (self.keys + 1) * 2 > self.index.len() {
            self.reindex((self.index.len() * 2).max(16));
        }
        let i = match self.probe(h, &k) {
            Ok(p) => return (p, false),
            Err(i) => i,
        };
        // The index keeps the key as long as it is in the window, which for a key in every
        // batch is for ever: it must not keep the input buffer it came in (`detach`).
        let mut k = k;
        detach(&mut k);
        let fresh = Entry { key: Some(k), value: None, batches: 0 };
        let p = match self.free.pop() {
            Some(p) => {
                self.entries[p as usize] = fresh;
                self.hashes[p as usize] = h;
                p
            }
            None => {
                let p = u32::try_from(self.entries.len()).expect("a window partition holds fewer than 2^32 - 1 keys");
                self.entries.push(fresh);
                self.hashes.push(h);
                p
            }
        };
        self.index[i] = slot(tag_of(h), p as usize);
        self.keys += 1;
        (p, true)
    }

    /// Takes the key at `p` out of the index (moving back the keys after it in its run, so
    /// that every key stays reachable from its home slot).
    fn unindex(&mut self, p: u32) {
        let i = position_of_slot(&self.index, slot(tag_of(self.hashes[p as usize]), p as usize));
        unindex_slot(&mut self.index, i);
        self.keys -= 1;
    }

    /// Folds `v` into the value of `k` with `f` (or makes `v` its value when `k` is new) and
    /// counts one more batch holding `k`. Returns `k`'s position.
    #[inline]
    fn add_hashed(&mut self, h: u64, k: K, v: V, f: &impl Fn(V, V) -> V) -> u32 {
        let (p, new) = self.locate(h, k);
        let e = &mut self.entries[p as usize];
        e.value = if new { Some(v) } else { e.value.take().map(|old| f(old, v)) };
        e.batches += 1;
        p
    }

    /// Brings the entry at `p` into the cache (a hint).
    #[inline(always)]
    pub(crate) fn prefetch(&self, p: u32) {
        prefetch(self.entries.as_ptr().wrapping_add(p as usize));
    }

    /// Takes each `(p, v)` of `items` out of the window with [`take_out`](Self::take_out),
    /// in order, the entries prefetched [`AHEAD`] / 2 items ahead.
    pub(crate) fn take_out_all(
        &mut self,
        items: &[(u32, V)],
        inv: &impl Fn(V, V) -> V,
        keep: &impl Fn((&K, &V)) -> bool,
    ) {
        for (i, (p, v)) in items.iter().enumerate() {
            if let Some(&(ahead, _)) = items.get(i + AHEAD / 2) {
                self.prefetch(ahead);
            }
            self.take_out(*p, v.clone(), inv, keep);
        }
    }

    /// Takes `v` out of the value at `p` with `inv` and counts one batch fewer holding its
    /// key. A key with no batch left whose value `keep` rejects can never come back with
    /// another value: it is forgotten (its entry freed).
    #[inline]
    fn take_out(&mut self, p: u32, v: V, inv: &impl Fn(V, V) -> V, keep: &impl Fn((&K, &V)) -> bool) {
        let e = &mut self.entries[p as usize];
        let Some(k) = &e.key else { return };
        e.value = e.value.take().map(|old| inv(old, v));
        e.batches = e.batches.saturating_sub(1);
        if e.batches == 0 && !e.value.as_ref().is_some_and(|v| keep((k, v))) {
            e.key = None;
            e.value = None;
            self.unindex(p);
            self.free.push(p);
        }
    }

    /// Each key with its value, when `keep` holds for them.
    pub(crate) fn emit(&self, keep: &impl Fn((&K, &V)) -> bool) -> Vec<(K, V)> {
        let mut out = Vec::with_capacity(self.len());
        for e in &self.entries {
            if let (Some(k), Some(v)) = (&e.key, &e.value) {
                if keep((k, v)) {
                    out.push((k.clone(), v.clone()));
                }
            }
        }
        out
    }

    /// The key at `p`, when the entry is not free.
    pub(crate) fn key(&self, p: u32) -> Option<&K> {
        self.entries.get(p as usize).and_then(|e| e.key.as_ref())
    }

    /// The position of `k`.
    pub(crate) fn position(&self, k: &K) -> Option<u32> {
        self.probe(hash_of(k), k).ok()
    }

    /// Each key, its value (`None` only after `f` or `inv` panicked) and the batches holding
    /// it, in position order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &Option<V>, u32)> {
        self.entries.iter().filter_map(|e| e.key.as_ref().map(|k| (k, &e.value, e.batches)))
    }

    /// The keys with their values and batch counts, in position order.
    pub(crate) fn into_iter(self) -> impl Iterator<Item = (K, Option<V>, u32)> {
        self.entries.into_iter().filter_map(|e| e.key.map(|k| (k, e.value, e.batches)))
    }

    /// Sets the value of `k` and the batches holding it (restoring a window). Returns its
    /// position.
    pub(crate) fn insert(&mut self, k: K, value: Option<V>, batches: u32) -> u32 {
        let (p, _) = self.locate(hash_of(&k), k);
        let e = &mut self.entries[p as usize];
        e.value = value;
        e.batches = batches;
        p
    }

    /// Bytes of the index's slots and the entries, in line.
    pub(crate) fn table_bytes(&self) -> u64 {
        let index = self.index.capacity() * std::mem::size_of::<u64>();
        let entries = self.entries.capacity() * (std::mem::size_of::<Entry<K, V>>() + std::mem::size_of::<u64>());
        (index + entries) as u64
    }
}
