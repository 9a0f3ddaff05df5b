//! Keyed partitions of the operators that keep data across batches (windows, state): a batch
//! in hash partitions, and partitioned state saved frame by frame and re-hashed when a job
//! restarts with another thread count.

use std::collections::VecDeque;
use std::sync::Arc;

use rayon::prelude::*;

use super::{partition_of, Placement};
use crate::batch::Batch;
use crate::checkpoint::codec::CodecError;
use crate::checkpoint::frames::encode_frames;
use crate::checkpoint::Saved;
use crate::data::{hash_of, FastMap, Key};
use crate::time::Time;

/// Where a keyed operation puts each key (Spark's `Partitioner`): how many partitions, and the
/// partition of a key. Every keyed operation that takes a partition count in Spark takes one
/// here, in its `_with_partitions` form: a count (`usize`, Spark's `numPartitions`), a
/// [`HashPartitioner`] (the same thing by Spark's name), or a type of yours.
///
/// Only where keys go changes, never what an operation outputs. The partitions of one batch
/// are processed in parallel, and the stateful operators keep their state per partition.
///
/// **In a cluster** (`N` processes) the count is per process: keys are spread over `N ×
/// partitions` global partitions. The engine picks each key's process by its key group (so
/// every process sends a key to the same one, and a restart with another `N` moves whole
/// groups), and your partitioner picks its partition within that process: `partition(key)`
/// of a key is taken modulo the count, and each key is in exactly one place.
///
/// ```
/// use stream_runtime::{Partitioner, testing};
/// /// Even keys in partition 0, odd keys in partition 1.
/// struct Parity;
/// impl Partitioner<u32> for Parity {
///     fn num_partitions(&self) -> usize {
///         2
///     }
///     fn partition(&self, key: &u32) -> usize {
///         (*key % 2) as usize
///     }
/// }
/// let input = vec![vec![(1u32, 1), (2, 1), (3, 1), (1, 1)]];
/// let parts = testing::run(input, 4, |s| s.reduce_by_key_with_partitions(|a, b| a + b, Parity).glom());
/// let mut parts = parts[0].clone();
/// parts.iter_mut().for_each(|p| p.sort());
/// assert_eq!(parts, vec![vec![(2, 1)], vec![(1, 2), (3, 1)]]);
/// ```
pub trait Partitioner<K>: Send + Sync + 'static {
    /// How many partitions; in a cluster, per process. A count of 0 (`0usize`) is the
    /// default, the thread count; a partitioner of yours giving 0 has 1.
    fn num_partitions(&self) -> usize;

    /// The partition of `key`, below [`num_partitions`](Self::num_partitions) (taken modulo
    /// the count otherwise). It must depend on the key alone.
    fn partition(&self, key: &K) -> usize;

    /// Whether this is the engine's hash partitioning (a count or a [`HashPartitioner`]),
    /// which the engine computes without calling [`partition`](Self::partition).
    #[doc(hidden)]
    fn is_hash(&self) -> bool {
        false
    }
}

/// Spark's `HashPartitioner`: keys by the engine's hash, into a number of partitions. A plain
/// count does the same.
///
/// ```
/// use stream_runtime::{HashPartitioner, Partitioner};
/// let p = HashPartitioner::new(3);
/// assert_eq!(Partitioner::<&str>::num_partitions(&p), 3);
/// assert_eq!(p.partition(&"word"), Partitioner::<&str>::partition(&3usize, &"word"));
/// assert!(p.partition(&"word") < 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    /// Hash partitioning into `partitions` partitions (at least 1).
    pub fn new(partitions: usize) -> Self {
        HashPartitioner { partitions: partitions.max(1) }
    }
}

impl<K: Key> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &K) -> usize {
        partition_of(hash_of(key), self.partitions)
    }
    fn is_hash(&self) -> bool {
        true
    }
}

/// A count is a [`HashPartitioner`] of that many partitions.
impl<K: Key> Partitioner<K> for usize {
    /// The count itself: 0 is the default (the thread count).
    fn num_partitions(&self) -> usize {
        *self
    }
    fn partition(&self, key: &K) -> usize {
        partition_of(hash_of(key), (*self).max(1))
    }
    fn is_hash(&self) -> bool {
        true
    }
}

/// How an operator places keys: the engine's hash over the default or a given number of
/// partitions, or a user's [`Partitioner`]. The one place that turns a key into a partition.
pub(crate) struct Route<K> {
    count: Option<usize>,
    custom: Option<Arc<dyn Partitioner<K>>>,
}

impl<K> Clone for Route<K> {
    fn clone(&self) -> Self {
        Route { count: self.count, custom: self.custom.clone() }
    }
}

impl<K: Key> Default for Route<K> {
    fn default() -> Self {
        Route { count: None, custom: None }
    }
}

impl<K: Key> Route<K> {
    /// The route of `p`: its count, and `p` itself unless it is hash partitioning.
    /// A hash count of 0 is the default count.
    pub(crate) fn of(p: impl Partitioner<K>) -> Self {
        let n = p.num_partitions();
        if p.is_hash() {
            return Route { count: (n > 0).then_some(n), custom: None };
        }
        Route { count: Some(n.max(1)), custom: Some(Arc::new(p)) }
    }

    /// This route with its count fixed to `n` (an operator that keeps partitions of its own
    /// and must get its parent's batches in as many).
    pub(crate) fn fixed(&self, n: usize) -> Self {
        Route { count: Some(n.max(1)), custom: self.custom.clone() }
    }

    /// Partitions per process: the given count, else `default` (the thread count).
    pub(crate) fn count(&self, default: usize) -> usize {
        self.count.unwrap_or(default).max(1)
    }

    /// Whether a user's partitioner places the keys.
    pub(crate) fn is_custom(&self) -> bool {
        self.custom.is_some()
    }

    /// The global partition of `k` (hash `h`) under `place`.
    #[inline]
    pub(crate) fn global_of(&self, place: &Placement, h: u64, k: &K) -> usize {
        match &self.custom {
            None => place.global_of(h),
            Some(p) => place.owner_of(h) * place.local + p.partition(k) % place.local,
        }
    }

    /// The local partition of `k` when this process owns it.
    pub(crate) fn local_of(&self, place: &Placement, k: &K) -> Option<usize> {
        let g = self.global_of(place, hash_of(k), k);
        (g / place.local == place.process).then_some(g % place.local)
    }

    /// The partition of `k` among `n` in one process (re-hashing restored state).
    pub(crate) fn index(&self, k: &K, n: usize) -> usize {
        match &self.custom {
            None => partition_of(hash_of(k), n),
            Some(p) => p.partition(k) % n.max(1),
        }
    }

    /// Splits `records` into `n` buckets of one process.
    pub(crate) fn split<V>(&self, records: impl IntoIterator<Item = (K, V)>, n: usize) -> Vec<Vec<(K, V)>> {
        let mut buckets: Vec<Vec<(K, V)>> = (0..n.max(1)).map(|_| Vec::new()).collect();
        let n = buckets.len();
        for (k, v) in records {
            buckets[self.index(&k, n)].push((k, v));
        }
        buckets
    }
}

/// The records of a keyed batch in `n` hash partitions. A batch from `reduce_by_key` or
/// `group_by_key` into `n` partitions is hash-partitioned already and passes through; any
/// other batch (an empty one without partitions) is routed. In a cluster, the keyed
/// operators that keep data across batches read from this process's shuffle into `n`
/// partitions, so their batches always pass through: partition `i` is this process's local
/// partition `i`.
///
/// With a [`Route`] of a user's partitioner the batch comes from a shuffle on that route, and
/// any routing here follows it too.
pub(crate) fn hash_partitions<K: Key, V>(batch: Batch<(K, V)>, n: usize) -> Vec<Vec<(K, V)>> {
    route_partitions(batch, n, &Route::default())
}

/// [`hash_partitions`] on `route`.
pub(crate) fn route_partitions<K: Key, V>(batch: Batch<(K, V)>, n: usize, route: &Route<K>) -> Vec<Vec<(K, V)>> {
    if batch.num_partitions() == n {
        batch.into_partitions()
    } else {
        route.split(batch.into_vec(), n)
    }
}

/// Encodes one frame per partition, in parallel.
pub(crate) fn save_parts<P: Sync>(
    parts: &[P],
    f: impl Fn(&P) -> Result<Vec<u8>, CodecError> + Sync + Send,
) -> Result<Vec<u8>, CodecError> {
    let frames: Result<Vec<Vec<u8>>, CodecError> = parts.par_iter().map(f).collect();
    Ok(encode_frames(&frames?))
}

/// Decodes partitions saved by [`save_parts`] into `place.local` partitions. When their count
/// differs (the job was restarted with another thread count) or the states of several old
/// processes are spread (another process count: only the frames holding key groups `place`
/// owns now are decoded, see [`Saved::frames`]), `regroup` re-hashes them, keeping the keys
/// `place` owns; it fails when the parts it rebuilds contradict each other.
pub(crate) fn restore_parts<K: Key, P: Send>(
    saved: Saved<'_>,
    place: Placement,
    route: &Route<K>,
    f: impl Fn(&[u8]) -> Result<P, CodecError> + Sync + Send,
    regroup: impl FnOnce(Vec<P>, Placement) -> Result<Vec<P>, CodecError>,
) -> Result<Vec<P>, CodecError> {
    let saved = saved.frames(place, !route.is_custom(), 0)?;
    let parts = saved.parts.par_iter().map(|b| f(b)).collect::<Result<Vec<P>, _>>()?;
    if saved.own && parts.len() == place.local {
        Ok(parts)
    } else {
        regroup(parts, place)
    }
}

/// Re-hashes per-partition rings of keyed items into `place`'s local partitions, keeping the
/// items of the keys it owns. Every ring holds the same batch times in the same order (each
/// batch is ingested into every partition of every process).
pub(crate) fn reroute_rings<K: Key, X>(
    rings: Vec<VecDeque<(Time, Vec<X>)>>,
    place: Placement,
    key: impl Fn(&X) -> &K,
    route: &Route<K>,
) -> Vec<VecDeque<(Time, Vec<X>)>> {
    let n = place.local;
    let mut out: Vec<VecDeque<(Time, Vec<X>)>> = (0..n).map(|_| VecDeque::new()).collect();
    let mut rings: Vec<_> = rings.into_iter().map(VecDeque::into_iter).collect();
    loop {
        let mut time = None;
        let mut buckets: Vec<Vec<X>> = (0..n).map(|_| Vec::new()).collect();
        for ring in &mut rings {
            if let Some((t, items)) = ring.next() {
                time = Some(t);
                for x in items {
                    if let Some(i) = route.local_of(&place, key(&x)) {
                        buckets[i].push(x);
                    }
                }
            }
        }
        let Some(t) = time else { return out };
        for (o, b) in out.iter_mut().zip(buckets) {
            o.push_back((t, b));
        }
    }
}

/// Re-hashes the entries of per-partition maps into `place`'s local partitions by `route`,
/// keeping the keys it owns.
pub(crate) fn reroute_maps<K: Key, V>(
    maps: Vec<FastMap<K, V>>,
    place: Placement,
    route: &Route<K>,
) -> Vec<FastMap<K, V>> {
    let mut out: Vec<FastMap<K, V>> = (0..place.local).map(|_| FastMap::default()).collect();
    for (k, v) in maps.into_iter().flatten() {
        if let Some(i) = route.local_of(&place, &k) {
            out[i].insert(k, v);
        }
    }
    out
}
