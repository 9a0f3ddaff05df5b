//! Keyed partitions of the operators that keep data across batches (windows, state): a batch
//! in hash partitions, and partitioned state saved frame by frame and re-hashed when a job
//! restarts with another thread count.

use std::collections::VecDeque;

use rayon::prelude::*;

use super::{partition_of, route};
use crate::batch::Batch;
use crate::checkpoint::codec::CodecError;
use crate::checkpoint::frames::{decode_frames, encode_frames};
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
