//! Hash partitioning with map-side combine: the one shuffle every keyed operation uses.
//!
//! The map side hashes each key once, routes it to the table of its reduce partition and
//! combines in place; the reduce side merges, per partition and in parallel, the tables that
//! every map partition built for it.
//!
//! A word count is bound by memory latency: most keys of a large batch are not in cache when
//! they are looked up. So the tables are our own ([`Table`]): dense entries under an index of
//! 8-byte slots that carry a 32-bit tag of their key's hash (growing and merging never hash a
//! key again, and a probe compares tags before it reads a key), and records wait in short
//! blocks while the slot they will probe, then the entry it points to, are prefetched, so
//! cache misses overlap instead of following each other (the map side: [`Blocks`]; the
//! reduce side's merge: a ring of [`LOOKAHEAD`]).

mod exchange;
mod partitions;

use rayon::prelude::*;

pub(crate) use exchange::{
    all_gather, columns, gather, groups_of, groups_of_part, overlapping, scatter, Exchanges, Placement,
};
pub(crate) use partitions::{
    hash_partitions, reroute_maps, reroute_rings, restore_parts, route_partitions, save_parts, Route,
};
pub use partitions::{HashPartitioner, Partitioner};

use std::mem::MaybeUninit;

use crate::data::{hash_of, Key};

/// Records queued between hashing a key and probing its table: the first [`LOOKAHEAD`] / 2
/// records after a key's hash, its home slot is on its way into the cache; the rest, the
/// entry that slot points to.
const LOOKAHEAD: usize = 16;

/// The reduce partition of a key with hash `h` among `n`.
#[inline]
pub(crate) fn partition_of(h: u64, n: usize) -> usize {
    ((((h >> 16) & 0xFFFF_FFFF) * n as u64) >> 32) as usize
}

/// Asks the CPU to bring `p`'s cache line in; a hint, which never faults.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` needs the `sse` target feature, which every x86_64 CPU has (it
    // is in the target's baseline). `prefetcht0` only loads a cache line; it has no effect on
    // program state and never faults, whatever the address, so `p` need not be valid.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The tag of a key with hash `h`: its low 32 bits. A table places and compares keys by their
/// tag alone (the partition of a key is taken from bits 16 to 47, so within one partition the
/// low bits still vary), so growing and merging tables never hash a key again.
#[inline(always)]
pub(crate) fn tag_of(h: u64) -> u32 {
    h as u32
}

/// Rebuilds a tag index (see [`Table`]; the window's dense values use the same) with
/// `capacity` slots, a power of two above twice the entries, over the entries `(position,
/// tag)`.
pub(crate) fn rebuild_index(index: &mut Vec<u64>, capacity: usize, entries: impl Iterator<Item = (usize, u32)>) {
    index.clear();
    index.resize(capacity, 0);
    for (at, tag) in entries {
        place_slot(index, slot(tag, at));
    }
}

/// Writes slot `s` into the first empty slot of a tag index from its tag's home (the index
/// has an empty slot).
#[inline(always)]
pub(crate) fn place_slot(index: &mut [u64], s: u64) {
    let mask = index.len() - 1;
    let mut i = (s >> 32) as usize & mask;
    while index[i] != 0 {
        i = (i + 1) & mask;
    }
    index[i] = s;
}

/// Where slot `s` is in a tag index that holds it: the first slot equal to it from its tag's
/// home.
pub(crate) fn position_of_slot(index: &[u64], s: u64) -> usize {
    let mask = index.len() - 1;
    let mut i = (s >> 32) as usize & mask;
    while index[i] != s {
        i = (i + 1) & mask;
    }
    i
}

/// Empties slot `i` of a tag index (see [`rebuild_index`]), moving back the slots after it in
/// its run (linear probing's backward shift), so that every entry stays reachable from its
/// home slot without crossing an empty one.
pub(crate) fn unindex_slot(index: &mut [u64], mut i: usize) {
    let mask = index.len() - 1;
    let mut j = i;
    loop {
        j = (j + 1) & mask;
        let s = index[j];
        if s == 0 {
            break;
        }
        // The slot at `j` may move to the hole at `i` when its home is not in (i, j].
        let home = (s >> 32) as usize & mask;
        if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(i) & mask) {
            index[i] = s;
            i = j;
        }
    }
    index[i] = 0;
}

/// The entry that the home slot of hash `h` in a tag index names, when that slot holds `h`'s
/// tag: what a lookup's second stage prefetches (most keys found are found there).
#[inline(always)]
pub(crate) fn home_entry(index: &[u64], h: u64) -> Option<usize> {
    let tag = tag_of(h);
    match index.get(tag as usize & index.len().wrapping_sub(1)) {
        Some(&s) if s != 0 && (s >> 32) as u32 == tag => Some((s as u32 - 1) as usize),
        _ => None,
    }
}

/// A hash table of combiners: the entries dense, in the order their keys came, and an index
/// of 8-byte slots over them (open addressing, linear probing, at most half full, capacity a
/// power of two). A slot is 0 when empty, else the key's tag in its high half and the entry's
/// position plus one in its low half: a probe compares tags in the index, 8 slots a cache
/// line, and reads an entry only when its tag matches. Growing rebuilds the index from the
/// tags alone; the entries do not move.
///
/// Invariant (the unchecked probes of [`upsert_indexed`](Self::upsert_indexed) rely on it):
/// the index is empty (a new table, which allocates nothing: an empty batch builds its tables
/// for free) or has a power of two of at least [`MIN_SLOTS`] slots and more than twice as many
/// as there are entries, so a probe always meets an empty slot. [`index`](Self::index) gives
/// an empty index its first slots (a [`Combiner`] does it for all its tables once, when its
/// first block fills, so its probes check nothing); a table grows just after the insert that
/// reaches half full, so a lookup of a key already there checks nothing at all.
pub(crate) struct Table<K, C> {
    slots: Vec<u64>,
    /// The tag of each entry.
    tags: Vec<u32>,
    entries: Vec<(K, C)>,
}

impl<K: Key, C> Table<K, C> {
    fn new() -> Self {
        Table { slots: Vec::new(), tags: Vec::new(), entries: Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The first stage of a lookup of hash `h`: brings its home slot into the cache.
    #[inline(always)]
    fn prefetch_slot(&self, h: u64) {
        // A prefetch needs no valid address: an empty index's is not one, and is not read.
        prefetch(self.slots.as_ptr().wrapping_add(tag_of(h) as usize & self.slots.len().wrapping_sub(1)));
    }

    /// The second stage, once the home slot of `h` has had time to arrive: when it holds a
    /// key of the same tag (most keys found are found there), brings that entry in. Checks
    /// that the index is not empty (see [`prefetch_entry_indexed`](Self::prefetch_entry_indexed)).
    #[inline(always)]
    fn prefetch_entry(&self, h: u64) {
        let tag = tag_of(h);
        // Checked: the index may still be empty (a table no key was put in yet).
        let Some(&s) = self.slots.get(tag as usize & self.slots.len().wrapping_sub(1)) else { return };
        // An empty slot (0) matches only a zero tag, and then the address is out of the
        // entries: a prefetch is a hint, which never faults, so neither case is checked.
        if (s >> 32) as u32 == tag {
            prefetch(self.entries.as_ptr().wrapping_add((s as u32).wrapping_sub(1) as usize));
        }
    }

    /// [`prefetch_entry`](Self::prefetch_entry) of a table whose index is not empty.
    ///
    /// # Safety
    /// The index must not be empty: [`index`](Self::index), [`reserve`](Self::reserve) or an
    /// insert ran on this table before.
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn prefetch_entry_indexed(&self, h: u64) {
        let tag = tag_of(h);
        let i = tag as usize & self.slots.len().wrapping_sub(1);
        debug_assert!(i < self.slots.len());
        // SAFETY: `i <= len - 1 < len`: the index is not empty (the caller's promise), so
        // `len - 1` does not wrap, and the mask keeps `i` below it.
        let s = unsafe { *self.slots.get_unchecked(i) };
        // An empty slot (0) matches only a zero tag, and then the address is out of the
        // entries: a prefetch is a hint, which never faults, so neither case is checked.
        if (s >> 32) as u32 == tag {
            prefetch(self.entries.as_ptr().wrapping_add((s as u32).wrapping_sub(1) as usize));
        }
    }

    /// Gives an empty index its first [`MIN_SLOTS`] slots (after which it is never empty).
    #[inline]
    fn index(&mut self) {
        if self.slots.is_empty() {
            self.reindex(MIN_SLOTS);
        }
    }

    /// Makes room for `additional` more keys without growing.
    fn reserve(&mut self, additional: usize) {
        let need = self.len() + additional;
        self.entries.reserve(additional);
        self.tags.reserve(additional);
        if need * 2 >= self.slots.len() {
            self.reindex((need * 2 + 1).next_power_of_two().max(MIN_SLOTS));
        }
    }

    /// Rebuilds the index with `capacity` slots (a power of two, more than twice the entries).
    fn reindex(&mut self, capacity: usize) {
        assert!(self.len() < u32::MAX as usize, "a combiner table holds fewer than 2^32 - 1 keys");
        rebuild_index(&mut self.slots, capacity, self.tags.iter().copied().enumerate());
    }

    /// Combines `v` into the combiner of `k` (hash `h`), creating it with `create` when `k`
    /// is new.
    #[inline]
    fn upsert<V>(&mut self, h: u64, k: K, v: V, create: impl FnOnce(V) -> C, merge: impl FnOnce(&mut C, V)) {
        self.index();
        // SAFETY: the index is not empty: `index` just above.
        #[allow(unsafe_code)]
        unsafe {
            self.upsert_indexed(h, k, v, create, merge)
        }
    }

    /// [`upsert`](Self::upsert) into a table whose index is not empty: the probe checks
    /// nothing.
    ///
    /// # Safety
    /// The index must not be empty: [`index`](Self::index), [`reserve`](Self::reserve) or an
    /// insert ran on this table before.
    #[inline]
    #[allow(unsafe_code)]
    unsafe fn upsert_indexed<V>(
        &mut self,
        h: u64,
        k: K,
        v: V,
        create: impl FnOnce(V) -> C,
        merge: impl FnOnce(&mut C, V),
    ) {
        debug_assert!(!self.slots.is_empty());
        let tag = tag_of(h);
        let mask = self.slots.len() - 1;
        let mut i = tag as usize & mask;
        loop {
            debug_assert!(i < self.slots.len());
            // SAFETY: `i <= mask < self.slots.len()`: `mask` is the length less one, and the
            // length is a power of two of at least `MIN_SLOTS` (the table's invariant: the
            // index is not empty, the caller's promise, and `reindex` is only given such
            // lengths), so no wrap-around.
            let s = unsafe { *self.slots.get_unchecked(i) };
            if s == 0 {
                // `create` first: should it panic, no slot names an entry that is not there.
                let c = create(v);
                self.slots[i] = slot(tag, self.entries.len());
                self.entries.push((k, c));
                self.tags.push(tag);
                // Keeps more than half the slots empty, so the next probe meets one.
                if self.len() * 2 >= self.slots.len() {
                    self.reindex(self.slots.len() * 2);
                }
                return;
            }
            if (s >> 32) as u32 == tag {
                let at = (s as u32 - 1) as usize;
                debug_assert!(at < self.entries.len());
                // SAFETY: `at < self.entries.len()`: every slot that is not 0 names an entry
                // that exists. Slots are written in two places only: here, just above, with
                // the position the entry pushed right after it takes (its combiner made
                // before, so no panic comes between the two), and in `reindex`, from
                // `self.tags` enumerated, which holds one tag per entry (both are pushed
                // together, neither is ever shortened while the table lives).
                let entry = unsafe { self.entries.get_unchecked_mut(at) };
                if entry.0 == k {
                    return merge(&mut entry.1, v);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// A table of distinct keys and their combiners (received from another process: the
    /// hashes are computed again here).
    fn from_pairs(pairs: Vec<(K, C)>) -> Self {
        let mut table = Table::new();
        table.reserve(pairs.len());
        for (k, c) in pairs {
            table.upsert(hash_of(&k), k, c, |c| c, |old, c| *old = c);
        }
        table
    }

    /// The entries in the order their keys came, each with its tag (as a hash: what
    /// [`upsert`](Self::upsert) into another table needs).
    fn into_entries(self) -> impl Iterator<Item = (u64, K, C)> {
        self.tags.into_iter().zip(self.entries).map(|(t, (k, c))| (u64::from(t), k, c))
    }
}

/// The fewest slots a [`Table`]'s index has (a power of two).
const MIN_SLOTS: usize = 16;

/// An index slot: `tag` and the entry at `at`.
#[inline(always)]
pub(crate) fn slot(tag: u32, at: usize) -> u64 {
    (u64::from(tag) << 32) | (at as u64 + 1)
}

/// A table crosses processes as the sequence of its keys and combiners (no hashes).
impl<K: serde::Serialize, C: serde::Serialize> serde::Serialize for Table<K, C> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.entries.len()))?;
        for (key, comb) in &self.entries {
            seq.serialize_element(&(key, comb))?;
        }
        seq.end()
    }
}

/// Records between hashing their key and probing for it: a ring of [`LOOKAHEAD`], the oldest
/// at `next`, replaced by the newest.
struct Ring<T> {
    items: [Option<T>; LOOKAHEAD],
    next: usize,
}

impl<T> Ring<T> {
    fn new() -> Self {
        Ring { items: std::array::from_fn(|_| None), next: 0 }
    }

    /// The record pushed [`LOOKAHEAD`] / 2 pushes ago.
    #[inline(always)]
    fn middle(&self) -> Option<&T> {
        self.items[(self.next + LOOKAHEAD / 2) % LOOKAHEAD].as_ref()
    }

    /// Queues `item`, returning the record pushed [`LOOKAHEAD`] pushes ago.
    #[inline(always)]
    fn push(&mut self, item: T) -> Option<T> {
        let oldest = self.items[self.next].replace(item);
        self.next = (self.next + 1) % LOOKAHEAD;
        oldest
    }

    /// The records still queued, oldest first.
    fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        let next = self.next;
        (0..LOOKAHEAD).filter_map(move |j| self.items[(next + j) % LOOKAHEAD].take())
    }
}

/// Records the map side holds per stage of its pipeline (see [`Blocks`]).
const BLOCK: usize = 16;

/// Records between hashing their key and combining them: two halves of [`BLOCK`] slots, the
/// hash, table and record of each in plain arrays (a record is written once and read once:
/// no ring arithmetic, no `Option`, no move through a queue). A record's home slot is
/// prefetched when it comes; when its half is full, the entries those slots point to are
/// prefetched, and the other half, full since the previous time and its entries prefetched
/// then, is combined. So a record waits for between [`BLOCK`] and 2 × [`BLOCK`] others.
///
/// Invariant (the unchecked reads rely on it), between calls: with `half = next & BLOCK`,
/// `records[half..next]` are initialized; when `ready`, so are the [`BLOCK`] records of the
/// other half (`half ^ BLOCK`); no other is. (Within [`Combiner::advance`], `next` is the end
/// of the half just filled, 16 or 32; should a user's function panic there, `ready` is
/// already clear and that `half..next` range is empty, so the records left leak.)
struct Blocks<K, V> {
    hashes: [u64; 2 * BLOCK],
    tables: [usize; 2 * BLOCK],
    records: [MaybeUninit<(K, V)>; 2 * BLOCK],
    /// Where the next record goes: the half being filled is `next & BLOCK` (0 or
    /// [`BLOCK`]), the records in it `next & (BLOCK - 1)`. One field, so that a record's
    /// queueing reads and writes one position.
    next: usize,
    /// Whether the other half holds [`BLOCK`] records waiting to be combined.
    ready: bool,
}

impl<K, V> Blocks<K, V> {
    fn new() -> Self {
        Blocks {
            hashes: [0; 2 * BLOCK],
            tables: [0; 2 * BLOCK],
            records: std::array::from_fn(|_| MaybeUninit::uninit()),
            next: 0,
            ready: false,
        }
    }

    /// Takes the record at `j`, `half..next` or, when `ready`, of the other half; the
    /// caller then shrinks that range past `j` (or clears `ready`) before reading another,
    /// so no record is read twice.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn take(&mut self, j: usize) -> (u64, usize, K, V) {
        let j = j & (2 * BLOCK - 1);
        // SAFETY: `assume_init_read` needs `records[j]` initialized: the caller's `j` is in
        // the range the struct's invariant says is, and the caller takes it out of that
        // range (so the record is never read, or dropped, a second time).
        let (k, v) = unsafe { self.records[j].assume_init_read() };
        (self.hashes[j], self.tables[j], k, v)
    }
}

impl<K, V> Drop for Blocks<K, V> {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // Records a combiner dropped without `finish` (a panic in a user function) still hold.
        let half = self.next & BLOCK;
        let other = half ^ BLOCK;
        let waiting = if self.ready { other..other + BLOCK } else { 0..0 };
        // `half..next`, empty when `next` is the end of a half (a panic within `advance`).
        for j in waiting.chain(half..half + (self.next & (BLOCK - 1))) {
            // SAFETY: `assume_init_drop` needs `records[j]` initialized, and dropped once:
            // the ranges are the ones the invariant says are initialized, each taken once.
            unsafe { self.records[j].assume_init_drop() };
        }
    }
}

/// The table at `i`, an index [`Combiner::table_of`] returned.
#[inline(always)]
#[allow(unsafe_code)]
fn table_at<K, C>(tables: &mut [Table<K, C>], i: usize) -> &mut Table<K, C> {
    debug_assert!(i < tables.len());
    // SAFETY: `i < tables.len()`: every index given here came from `table_of`, which returns
    // one below the table count (see there), and a combiner's tables never change in number.
    unsafe { tables.get_unchecked_mut(i) }
}

/// Map-side combiner: one table per reduce partition, fed through the prefetch [`Blocks`].
pub(crate) struct Combiner<K, V, C> {
    tables: Vec<Table<K, C>>,
    pending: Blocks<K, V>,
    /// A user's partitioner, or key groups (a cluster), and where this process stands;
    /// `None` (one process, hash partitioning): the hash over the tables.
    routed: Option<(Route<K>, Placement)>,
    /// Whether every table's index has its first slots ([`Table::index`]): done when the first
    /// block fills, once a batch, so that an empty batch allocates none and the probes of a
    /// full one check nothing.
    indexed: bool,
}

impl<K: Key, V, C> Combiner<K, V, C> {
    pub(crate) fn new(partitions: usize) -> Self {
        Self::with_capacity(partitions, 0)
    }

    /// A combiner whose tables each have room for `keys` keys before they grow (the size of
    /// the previous batch's tables, say: growing hashes nothing again, but it rebuilds the
    /// index and moves the entries, and the first probes of a small table prefetch nothing).
    pub(crate) fn with_capacity(partitions: usize, keys: usize) -> Self {
        let tables = (0..partitions.max(1))
            .map(|_| {
                let mut t = Table::new();
                if keys > 0 {
                    t.reserve(keys);
                }
                t
            })
            .collect();
        Combiner { tables, pending: Blocks::new(), routed: None, indexed: false }
    }

    /// A combiner into the global partitions of `place`, keys placed by `route`, each table
    /// with room for `keys` keys (see [`with_capacity`](Self::with_capacity)).
    pub(crate) fn on(route: &Route<K>, place: Placement, keys: usize) -> Self {
        let mut c = Combiner::with_capacity(place.global(), keys);
        if route.is_custom() || place.by_groups() {
            c.routed = Some((route.clone(), place));
        }
        c
    }

    /// The table of key `k` with hash `h`: always below `self.tables.len()` (which the
    /// unchecked accesses of [`table_at`] rely on). `partition_of(h, n)` is below `n` (a
    /// 32-bit fraction of `n`); a route's global partition is below the table count too, and
    /// the remainder makes that a fact here rather than a promise of another module (it costs
    /// a division, on the routed path only).
    #[inline]
    fn table_of(&self, h: u64, k: &K) -> usize {
        let n = self.tables.len();
        match &self.routed {
            None => partition_of(h, n),
            Some((route, place)) => route.global_of(place, h, k) % n,
        }
    }

    /// Combines `v` into the combiner of `k`, creating it with `create` when `k` is new. The
    /// record may wait until up to 2 × [`BLOCK`] more have come, or until
    /// [`finish`](Self::finish); records of one key are combined in the order they came.
    #[inline]
    pub(crate) fn add(&mut self, k: K, v: V, create: &impl Fn(V) -> C, merge: &impl Fn(&mut C, V)) {
        let h = hash_of(&k);
        let i = self.table_of(h, &k);
        table_at(&mut self.tables, i).prefetch_slot(h);
        let p = &mut self.pending;
        let at = p.next & (2 * BLOCK - 1);
        p.hashes[at] = h;
        p.tables[at] = i;
        p.records[at].write((k, v));
        p.next = at + 1;
        if p.next % BLOCK == 0 {
            self.advance(create, merge);
        }
    }

    /// Combines the half at `other`, the one waiting, when it is full (`ready`), and marks it
    /// free.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn combine_ready(&mut self, other: usize, create: &impl Fn(V) -> C, merge: &impl Fn(&mut C, V)) {
        let p = &mut self.pending;
        if p.ready {
            debug_assert!(self.indexed);
            // Cleared first: a panic in `merge` leaks the rest, never drops one twice.
            p.ready = false;
            for j in other..other + BLOCK {
                let (h, i, k, v) = p.take(j);
                // SAFETY: the table's index is not empty: `ready` is set by `advance` only,
                // which indexes every table first (`indexed`), and indexes are never emptied.
                unsafe { table_at(&mut self.tables, i).upsert_indexed(h, k, v, create, merge) };
            }
        }
    }

    /// Gives every table's index its first slots: once a batch, when the first block fills.
    #[cold]
    #[inline(never)]
    fn index_tables(&mut self) {
        self.tables.iter_mut().for_each(Table::index);
        self.indexed = true;
    }

    /// The half being filled is full: combines the other half, prefetches the entries of
    /// this one, and starts filling the other.
    #[inline]
    #[allow(unsafe_code)]
    fn advance(&mut self, create: &impl Fn(V) -> C, merge: &impl Fn(&mut C, V)) {
        if !self.indexed {
            self.index_tables();
        }
        // `next` is the end of the half just filled (16 or 32).
        let filled = (self.pending.next - BLOCK) & BLOCK;
        let other = filled ^ BLOCK;
        self.combine_ready(other, create, merge);
        let p = &mut self.pending;
        for j in filled..filled + BLOCK {
            let j = j & (2 * BLOCK - 1);
            // SAFETY: the table's index is not empty: `index_tables` just above, or before.
            unsafe { table_at(&mut self.tables, p.tables[j]).prefetch_entry_indexed(p.hashes[j]) };
        }
        p.next = other;
        p.ready = true;
    }

    /// Combines the queued records and returns the table of each reduce partition.
    pub(crate) fn finish(mut self, create: impl Fn(V) -> C, merge: impl Fn(&mut C, V)) -> Vec<Table<K, C>> {
        let half = self.pending.next & BLOCK;
        self.combine_ready(half ^ BLOCK, &create, &merge);
        let p = &mut self.pending;
        let end = p.next;
        p.next = half;
        for j in half..end {
            let (h, i, k, v) = p.take(j);
            table_at(&mut self.tables, i).upsert(h, k, v, &create, &merge);
        }
        std::mem::take(&mut self.tables)
    }
}

/// Merges, per reduce partition and in parallel, the tables every map partition built for it
/// (`[reduce][map]` columns, from [`columns`] over [`Combiner::finish`]'s tables). `finish`
/// turns each merged combiner into an output record (or drops it).
pub(crate) fn reduce_side<K: Key, C: Send, R: Send>(
    columns: Vec<Vec<Table<K, C>>>,
    merge: impl Fn(&mut C, C) + Sync,
    finish: impl Fn(K, C) -> Option<R> + Sync,
) -> Vec<Vec<R>> {
    let small = columns.iter().flatten().map(Table::len).sum::<usize>() < crate::stream::SEQUENTIAL_BELOW;
    let merge_column = |mut tables: Vec<Table<K, C>>| {
        let Some(largest) = (0..tables.len()).max_by_key(|&i| tables[i].len()) else {
            return Vec::new();
        };
        let mut base = tables.swap_remove(largest);
        base.reserve(tables.iter().map(Table::len).sum());
        let mut ring = Ring::new();
        for (h, k, c) in tables.into_iter().flat_map(Table::into_entries) {
            base.prefetch_slot(h);
            if let Some(&(hm, _, _)) = ring.middle() {
                base.prefetch_entry(hm);
            }
            if let Some((h0, k0, c0)) = ring.push((h, k, c)) {
                base.upsert(h0, k0, c0, |c| c, &merge);
            }
        }
        for (h, k, c) in ring.drain() {
            base.upsert(h, k, c, |c| c, &merge);
        }
        base.into_entries().filter_map(|(_, k, c)| finish(k, c)).collect()
    };
    if small {
        columns.into_iter().map(merge_column).collect()
    } else {
        columns.into_par_iter().map(merge_column).collect()
    }
}

/// Routes records to `n` buckets by the hash of their key (no combining), for joins.
pub(crate) fn route<K: Key, V>(records: impl IntoIterator<Item = (K, V)>, n: usize) -> Vec<Vec<(K, V)>> {
    let mut buckets: Vec<Vec<(K, V)>> = (0..n.max(1)).map(|_| Vec::new()).collect();
    let n = buckets.len();
    for (k, v) in records {
        buckets[partition_of(hash_of(&k), n)].push((k, v));
    }
    buckets
}

/// Transposes map-side buckets (`[map][reduce]`) into reduce-side columns (`[reduce][map]`).
pub(crate) fn transpose<T>(maps: Vec<Vec<T>>, n: usize) -> Vec<Vec<T>> {
    let mut cols: Vec<Vec<T>> = (0..n).map(|_| Vec::with_capacity(maps.len())).collect();
    for m in maps {
        for (r, b) in m.into_iter().enumerate() {
            cols[r].push(b);
        }
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_of_covers_all_partitions_in_range() {
        let mut seen = [false; 7];
        for i in 0..10_000u64 {
            let p = partition_of(hash_of(&i), 7);
            seen[p] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn values_of_a_key_combine_in_arrival_order_across_growth() {
        let mut c = Combiner::<u64, u64, Vec<u64>>::new(2);
        for i in 0..10_000u64 {
            c.add(i % 1_000, i, &|v| vec![v], &|acc, v| acc.push(v));
        }
        let tables = c.finish(|v| vec![v], |acc, v| acc.push(v));
        assert_eq!(tables.iter().map(Table::len).sum::<usize>(), 1_000);
        for (_, k, vs) in tables.into_iter().flat_map(Table::into_entries) {
            assert_eq!(vs, (0..10).map(|j| k + j * 1_000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_combiner_dropped_unfinished_drops_each_queued_record_once() {
        // Every number of queued records, around the two halves of the blocks.
        let value = std::rc::Rc::new(());
        for n in 0..3 * BLOCK + 2 {
            let mut c = Combiner::<u64, std::rc::Rc<()>, usize>::new(2);
            for i in 0..n as u64 {
                c.add(i % 7, value.clone(), &|_| 1, &|n, _| *n += 1);
            }
            drop(c);
            assert_eq!(std::rc::Rc::strong_count(&value), 1, "{n} records");
        }
    }

    #[test]
    fn combine_then_reduce_sums_per_key() {
        let mut a = Combiner::<u32, u64, u64>::new(3);
        let mut b = Combiner::<u32, u64, u64>::new(3);
        for i in 0..100u32 {
            a.add(i % 10, 1u64, &|v| v, &|c, v| *c += v);
            b.add(i % 5, 2u64, &|v| v, &|c, v| *c += v);
        }
        let maps = vec![a.finish(|v| v, |c, v| *c += v), b.finish(|v| v, |c, v| *c += v)];
        let mut out: Vec<(u32, u64)> =
            reduce_side(transpose(maps, 3), |c, o| *c += o, |k, c| Some((k, c))).into_iter().flatten().collect();
        out.sort();
        let expected: Vec<(u32, u64)> = (0..10).map(|k| (k, 10 + if k < 5 { 40 } else { 0 })).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn keys_whose_tags_collide_stay_apart() {
        // The table trusts the hash it is given: 16 tags for 5,000 keys, so most probes meet
        // other keys of the same tag before theirs.
        let mut t = Table::<u64, u64>::new();
        for i in 0..20_000u64 {
            let k = i % 5_000;
            t.upsert(k % 16, k, 1, |v| v, |c, v| *c += v);
        }
        assert_eq!(t.len(), 5_000);
        let mut seen: Vec<(u64, u64, u64)> = t.into_entries().collect();
        seen.sort();
        let expected: Vec<(u64, u64, u64)> = {
            let mut e: Vec<_> = (0..5_000).map(|k| (k % 16, k, 4)).collect();
            e.sort();
            e
        };
        assert_eq!(seen, expected);
    }

    /// The combiner and the reduce side against a fold into a std `HashMap`: any keys, any
    /// number of map and reduce partitions, any starting size, and the values of each key
    /// combined in the order they came.
    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashMap;

        fn fold(maps: &[Vec<(String, u32)>]) -> HashMap<String, Vec<u32>> {
            let mut expected: HashMap<String, Vec<u32>> = HashMap::new();
            for records in maps {
                for (k, v) in records {
                    expected.entry(k.clone()).or_default().push(*v);
                }
            }
            expected
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            #[test]
            fn combiner_and_reduce_side_fold_as_a_hash_map(
                maps in proptest::collection::vec(
                    proptest::collection::vec(("[a-e]{0,3}|[a-z]{10,20}", any::<u32>()), 0..400), 1..4),
                reduce in 1usize..5,
                sized in 0usize..600,
            ) {
                let mut tables = Vec::new();
                for records in &maps {
                    let mut c = Combiner::<String, u32, Vec<u32>>::with_capacity(reduce, sized);
                    for (k, v) in records {
                        c.add(k.clone(), *v, &|v| vec![v], &|acc, v| acc.push(v));
                    }
                    tables.push(c.finish(|v| vec![v], |acc, v| acc.push(v)));
                }
                let mut got: HashMap<String, Vec<u32>> =
                    reduce_side(transpose(tables, reduce), |a, b| a.extend(b), |k, c| Some((k, c)))
                        .into_iter()
                        .flatten()
                        .collect();
                let mut expected = fold(&maps);
                // One map partition: each key's values in the order they came. Several: the
                // reduce side merges into the largest table first, so only the multisets agree.
                if maps.len() == 1 {
                    prop_assert_eq!(&got, &expected);
                }
                got.values_mut().for_each(|vs| vs.sort());
                expected.values_mut().for_each(|vs| vs.sort());
                prop_assert_eq!(got, expected);
            }

            #[test]
            fn a_table_from_pairs_finds_every_key(keys in proptest::collection::hash_set("[a-z]{0,12}", 0..300)) {
                let pairs: Vec<(String, usize)> = keys.iter().cloned().zip(0..).collect();
                let mut t = Table::from_pairs(pairs.clone());
                // Every key is found again (the value is replaced), none is added.
                for (k, v) in &pairs {
                    t.upsert(hash_of(k), k.clone(), v + 1, |v| v, |c, v| *c = v);
                }
                prop_assert_eq!(t.len(), keys.len());
                let got: HashMap<String, usize> = t.into_entries().map(|(_, k, c)| (k, c)).collect();
                let expected: HashMap<String, usize> = pairs.into_iter().map(|(k, v)| (k, v + 1)).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
