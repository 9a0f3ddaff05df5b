//! Hash partitioning with map-side combine: the one shuffle every keyed operation uses.
//!
//! The map side hashes each key once, routes it to the table of its reduce partition and
//! combines in place; the reduce side merges, per partition and in parallel, the tables that
//! every map partition built for it.

use hashbrown::hash_table::{Entry, HashTable};
use rayon::prelude::*;

use crate::data::{hash_of, Key};

/// The reduce partition of a key with hash `h` among `n`.
#[inline]
pub(crate) fn partition_of(h: u64, n: usize) -> usize {
    ((((h >> 16) & 0xFFFF_FFFF) * n as u64) >> 32) as usize
}

/// Map-side combiner: one hash table per reduce partition.
pub(crate) struct Combiner<K, C> {
    tables: Vec<HashTable<(K, C)>>,
}

impl<K: Key, C> Combiner<K, C> {
    pub(crate) fn new(partitions: usize) -> Self {
        Combiner { tables: (0..partitions.max(1)).map(|_| HashTable::new()).collect() }
    }

    /// Combines `v` into the combiner of `k`, creating it with `create` when `k` is new.
    #[inline]
    pub(crate) fn add<V>(&mut self, k: K, v: V, create: impl FnOnce(V) -> C, merge: impl FnOnce(&mut C, V)) {
        let h = hash_of(&k);
        let n = self.tables.len();
        let table = &mut self.tables[partition_of(h, n)];
        match table.entry(h, |(k2, _)| *k2 == k, |(k2, _)| hash_of(k2)) {
            Entry::Occupied(mut e) => merge(&mut e.get_mut().1, v),
            Entry::Vacant(e) => {
                e.insert((k, create(v)));
            }
        }
    }
}

/// Merges the combiners of every map partition into `n` reduce partitions, in parallel.
/// `finish` turns each merged combiner into an output record (or drops it).
pub(crate) fn reduce_side<K: Key, C: Send, R: Send>(
    combiners: Vec<Combiner<K, C>>,
    merge: impl Fn(&mut C, C) + Sync,
    finish: impl Fn(K, C) -> Option<R> + Sync,
) -> Vec<Vec<R>> {
    let n = combiners.first().map_or(1, |c| c.tables.len());
    let mut columns: Vec<Vec<HashTable<(K, C)>>> = (0..n).map(|_| Vec::with_capacity(combiners.len())).collect();
    for c in combiners {
        for (r, t) in c.tables.into_iter().enumerate() {
            columns[r].push(t);
        }
    }
    let small = columns.iter().flatten().map(HashTable::len).sum::<usize>() < crate::stream::SEQUENTIAL_BELOW;
    let merge_column = |mut tables: Vec<HashTable<(K, C)>>| {
        let Some(largest) = (0..tables.len()).max_by_key(|&i| tables[i].len()) else {
            return Vec::new();
        };
        let mut base = tables.swap_remove(largest);
        for t in tables {
            for (k, c) in t {
                let h = hash_of(&k);
                match base.entry(h, |(k2, _)| *k2 == k, |(k2, _)| hash_of(k2)) {
                    Entry::Occupied(mut e) => merge(&mut e.get_mut().1, c),
                    Entry::Vacant(e) => {
                        e.insert((k, c));
                    }
                }
            }
        }
        base.into_iter().filter_map(|(k, c)| finish(k, c)).collect()
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
    fn combine_then_reduce_sums_per_key() {
        let mut a = Combiner::<u32, u64>::new(3);
        let mut b = Combiner::<u32, u64>::new(3);
        for i in 0..100u32 {
            a.add(i % 10, 1u64, |v| v, |c, v| *c += v);
            b.add(i % 5, 2u64, |v| v, |c, v| *c += v);
        }
        let mut out: Vec<(u32, u64)> =
            reduce_side(vec![a, b], |c, o| *c += o, |k, c| Some((k, c))).into_iter().flatten().collect();
        out.sort();
        let expected: Vec<(u32, u64)> = (0..10).map(|k| (k, 10 + if k < 5 { 40 } else { 0 })).collect();
        assert_eq!(out, expected);
    }
}
