//! Keyed partitions of the operators that keep data across batches (windows, state): a batch
//! in hash partitions, and partitioned state saved frame by frame and re-hashed when a job
//! restarts with another thread count.

use std::collections::VecDeque;

use rayon::prelude::*;

use super::{route, Placement};
use crate::batch::Batch;
use crate::checkpoint::codec::CodecError;
use crate::checkpoint::frames::{decode_frames, encode_frames};
use crate::checkpoint::Saved;
use crate::data::{hash_of, FastMap, Key};
use crate::time::Time;

/// The records of a keyed batch in `n` hash partitions. A batch from `reduce_by_key` or
/// `group_by_key` into `n` partitions is hash-partitioned already and passes through; any
/// other batch (an empty one without partitions) is routed. In a cluster, the keyed
/// operators that keep data across batches read from this process's shuffle into `n`
/// partitions, so their batches always pass through: partition `i` is this process's local
/// partition `i`.
pub(crate) fn hash_partitions<K: Key, V>(batch: Batch<(K, V)>, n: usize) -> Vec<Vec<(K, V)>> {
    if batch.num_partitions() == n {
        batch.into_partitions()
    } else {
        route(batch.into_vec(), n)
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
/// processes are spread (another process count), `regroup` re-hashes them, keeping the keys
/// `place` owns.
pub(crate) fn restore_parts<P: Send>(
    saved: Saved<'_>,
    place: Placement,
    f: impl Fn(&[u8]) -> Result<P, CodecError> + Sync + Send,
    regroup: impl FnOnce(Vec<P>, Placement) -> Vec<P>,
) -> Result<Vec<P>, CodecError> {
    let (blobs, own) = saved.all();
    let mut parts = Vec::new();
    for b in blobs {
        let frames = decode_frames(b)?;
        parts.extend(frames.par_iter().map(|b| f(b)).collect::<Result<Vec<P>, _>>()?);
    }
    Ok(if own && parts.len() == place.local { parts } else { regroup(parts, place) })
}

/// Re-hashes per-partition rings of keyed items into `place`'s local partitions, keeping the
/// items of the keys it owns. Every ring holds the same batch times in the same order (each
/// batch is ingested into every partition of every process).
pub(crate) fn reroute_rings<K: Key, X>(
    rings: Vec<VecDeque<(Time, Vec<X>)>>,
    place: Placement,
    key: impl Fn(&X) -> &K,
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
                    if let Some(i) = place.local_of(hash_of(key(&x))) {
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

/// Re-hashes the entries of per-partition maps into `place`'s local partitions, keeping the
/// keys it owns.
pub(crate) fn reroute_maps<K: Key, V>(maps: Vec<FastMap<K, V>>, place: Placement) -> Vec<FastMap<K, V>> {
    let mut out: Vec<FastMap<K, V>> = (0..place.local).map(|_| FastMap::default()).collect();
    for (k, v) in maps.into_iter().flatten() {
        if let Some(i) = place.local_of(hash_of(&k)) {
            out[i].insert(k, v);
        }
    }
    out
}
