//! Hash partitioning with map-side combine: the one shuffle every keyed operation uses.
//!
//! The map side hashes each key once, routes it to the table of its reduce partition and
//! combines in place; the reduce side merges, per partition and in parallel, the tables that
//! every map partition built for it.
//!
//! A word count is bound by memory latency: most keys of a large batch are not in cache when
//! they are looked up. So the tables are our own: open addressing with linear probing over
//! slots that hold their key's hash (growing and merging never hash a key again, and a probe
//! compares hashes before keys), and records wait in a short queue while the slot they will
//! probe is prefetched, so [`LOOKAHEAD`] cache misses overlap instead of following each other.

mod exchange;
mod partitions;

use std::collections::VecDeque;

use rayon::prelude::*;

pub(crate) use exchange::{all_gather, columns, gather, overlapping, scatter, Exchanges, Placement};
pub(crate) use partitions::{
    hash_partitions, reroute_maps, reroute_rings, restore_parts, route_partitions, save_parts, Route,
};
pub use partitions::{HashPartitioner, Partitioner};

use crate::data::{hash_of, Key};

/// Records queued between hashing a key and probing its table.
const LOOKAHEAD: usize = 8;

/// The reduce partition of a key with hash `h` among `n`.
#[inline]
pub(crate) fn partition_of(h: u64, n: usize) -> usize {
    ((((h >> 16) & 0xFFFF_FFFF) * n as u64) >> 32) as usize
}

/// Asks the CPU to bring `p`'s cache line in; a hint, which never faults.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch<T>(p: *const T) {
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

struct Slot<K, C> {
    hash: u64,
    key: K,
    comb: C,
}

/// A hash table of combiners: linear probing, at most 5/8 full, capacity a power of two.
pub(crate) struct Table<K, C> {
    slots: Vec<Option<Slot<K, C>>>,
    len: usize,
}

impl<K: Key, C> Table<K, C> {
    fn new() -> Self {
        Table { slots: Vec::new(), len: 0 }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn prefetch(&self, h: u64) {
        if !self.slots.is_empty() {
            prefetch(&self.slots[h as usize & (self.slots.len() - 1)]);
        }
    }

    /// Makes room for `additional` more keys without growing.
    fn reserve(&mut self, additional: usize) {
        let need = self.len + additional;
        if need * 8 >= self.slots.len() * 5 {
            self.resize((need * 8 / 5 + 1).next_power_of_two().max(16));
        }
    }

    fn resize(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.slots, (0..capacity).map(|_| None).collect());
        let mask = capacity - 1;
        for slot in old.into_iter().flatten() {
            let mut i = slot.hash as usize & mask;
            while self.slots[i].is_some() {
                i = (i + 1) & mask;
            }
            self.slots[i] = Some(slot);
        }
    }

    /// Combines `v` into the combiner of `k` (hash `h`), creating it with `create` when `k`
    /// is new.
    #[inline]
    fn upsert<V>(&mut self, h: u64, k: K, v: V, create: impl FnOnce(V) -> C, merge: impl FnOnce(&mut C, V)) {
        if self.len * 8 >= self.slots.len() * 5 {
            self.resize((self.slots.len() * 2).max(16));
        }
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            match slot {
                Some(s) if s.hash == h && s.key == k => return merge(&mut s.comb, v),
                Some(_) => i = (i + 1) & mask,
                None => {
                    *slot = Some(Slot { hash: h, key: k, comb: create(v) });
                    self.len += 1;
                    return;
                }
            }
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

    fn into_entries(self) -> impl Iterator<Item = (u64, K, C)> {
        self.slots.into_iter().flatten().map(|s| (s.hash, s.key, s.comb))
    }
}

/// A table crosses processes as the sequence of its keys and combiners (no hashes).
impl<K: serde::Serialize, C: serde::Serialize> serde::Serialize for Table<K, C> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        for slot in self.slots.iter().flatten() {
            seq.serialize_element(&(&slot.key, &slot.comb))?;
        }
        seq.end()
    }
}

/// Map-side combiner: one table per reduce partition, fed through the prefetch queue (a ring:
/// the record at `next` is the oldest, replaced by the newest).
pub(crate) struct Combiner<K, V, C> {
    tables: Vec<Table<K, C>>,
    queue: [Option<(u64, K, V)>; LOOKAHEAD],
    next: usize,
    /// A user's partitioner and where this process stands; `None`: the hash over the tables.
    routed: Option<(Route<K>, Placement)>,
}

impl<K: Key, V, C> Combiner<K, V, C> {
    pub(crate) fn new(partitions: usize) -> Self {
        Self::with_capacity(partitions, 0)
    }

    /// A combiner whose tables each have room for `keys` keys before they grow (the size of
    /// the previous batch's tables, say: growing rehashes nothing, since slots keep their
    /// hash, but it moves every entry and the first probes of a small table prefetch nothing).
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
        Combiner { tables, queue: std::array::from_fn(|_| None), next: 0, routed: None }
    }

    /// A combiner into the global partitions of `place`, keys placed by `route`, each table
    /// with room for `keys` keys (see [`with_capacity`](Self::with_capacity)).
    pub(crate) fn on(route: &Route<K>, place: Placement, keys: usize) -> Self {
        let mut c = Combiner::with_capacity(place.global(), keys);
        if route.is_custom() {
            c.routed = Some((route.clone(), place));
        }
        c
    }

    #[inline]
    fn table_of(&self, h: u64, k: &K) -> usize {
        match &self.routed {
            None => partition_of(h, self.tables.len()),
            Some((route, place)) => route.global_of(place, h, k),
        }
    }

    /// Combines `v` into the combiner of `k`, creating it with `create` when `k` is new. The
    /// record may wait in the queue until [`LOOKAHEAD`] more have come, or until
    /// [`finish`](Self::finish); records of one key are combined in the order they came.
    #[inline]
    pub(crate) fn add(&mut self, k: K, v: V, create: impl FnOnce(V) -> C, merge: impl FnOnce(&mut C, V)) {
        let h = hash_of(&k);
        let i = self.table_of(h, &k);
        self.tables[i].prefetch(h);
        let oldest = self.queue[self.next].replace((h, k, v));
        self.next = (self.next + 1) % LOOKAHEAD;
        if let Some((h0, k0, v0)) = oldest {
            let i0 = self.table_of(h0, &k0);
            self.tables[i0].upsert(h0, k0, v0, create, merge);
        }
    }

    /// Combines the queued records and returns the table of each reduce partition.
    pub(crate) fn finish(mut self, create: impl Fn(V) -> C, merge: impl Fn(&mut C, V)) -> Vec<Table<K, C>> {
        for j in 0..LOOKAHEAD {
            if let Some((h, k, v)) = self.queue[(self.next + j) % LOOKAHEAD].take() {
                let i = self.table_of(h, &k);
                self.tables[i].upsert(h, k, v, &create, &merge);
            }
        }
        self.tables
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
        let mut queue = VecDeque::with_capacity(LOOKAHEAD);
        for (h, k, c) in tables.into_iter().flat_map(Table::into_entries) {
            base.prefetch(h);
            if queue.len() == LOOKAHEAD {
                if let Some((h0, k0, c0)) = queue.pop_front() {
                    base.upsert(h0, k0, c0, |c| c, &merge);
                }
            }
            queue.push_back((h, k, c));
        }
        for (h, k, c) in queue {
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
            c.add(i % 1_000, i, |v| vec![v], |acc, v| acc.push(v));
        }
        let tables = c.finish(|v| vec![v], |acc, v| acc.push(v));
        assert_eq!(tables.iter().map(Table::len).sum::<usize>(), 1_000);
        for (_, k, vs) in tables.into_iter().flat_map(Table::into_entries) {
            assert_eq!(vs, (0..10).map(|j| k + j * 1_000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn combine_then_reduce_sums_per_key() {
        let mut a = Combiner::<u32, u64, u64>::new(3);
        let mut b = Combiner::<u32, u64, u64>::new(3);
        for i in 0..100u32 {
            a.add(i % 10, 1u64, |v| v, |c, v| *c += v);
            b.add(i % 5, 2u64, |v| v, |c, v| *c += v);
        }
        let maps = vec![a.finish(|v| v, |c, v| *c += v), b.finish(|v| v, |c, v| *c += v)];
        let mut out: Vec<(u32, u64)> =
            reduce_side(transpose(maps, 3), |c, o| *c += o, |k, c| Some((k, c))).into_iter().flatten().collect();
        out.sort();
        let expected: Vec<(u32, u64)> = (0..10).map(|k| (k, 10 + if k < 5 { 40 } else { 0 })).collect();
        assert_eq!(out, expected);
    }

    /// The combiner with any starting size against the obvious count in a `BTreeMap`.
    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::collections::BTreeMap;

        proptest! {
            #[test]
            fn a_sized_combiner_counts_as_a_map(
                maps in proptest::collection::vec(proptest::collection::vec(0u16..300, 0..600), 1..4),
                reduce in 1usize..5,
                sized in 0usize..2000,
            ) {
                let mut expected = BTreeMap::new();
                let mut tables = Vec::new();
                for keys in &maps {
                    let mut c = Combiner::<u16, u64, u64>::with_capacity(reduce, sized);
                    for &k in keys {
                        *expected.entry(k).or_insert(0u64) += 1;
                        c.add(k, 1, |v| v, |a, v| *a += v);
                    }
                    tables.push(c.finish(|v| v, |a, v| *a += v));
                }
                let got: BTreeMap<u16, u64> = reduce_side(transpose(tables, reduce), |a, b| *a += b, |k, c| Some((k, c)))
                    .into_iter()
                    .flatten()
                    .collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
