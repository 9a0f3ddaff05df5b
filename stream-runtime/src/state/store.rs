//! The state of a keyed stateful operator: per hash partition, a map from key to state and
//! the time of its last update, plus a timer of deadlines for `map_with_state` timeouts.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub(crate) use super::table::StateMap;
use crate::checkpoint::codec::{CodecError, ColumnReader, ColumnWriter};
use crate::data::{Key, Persist};
use crate::shuffle::Placement;
use crate::time::Time;

/// The state of one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Slot<S> {
    pub(crate) state: S,
    /// The batch time of the last update (Spark's `updateTime`).
    pub(crate) updated: Time,
}

/// One hash partition of the state.
#[derive(Debug)]
pub(crate) struct Part<K, S> {
    pub(crate) map: StateMap<K, S>,
    /// Deadlines (`updated + timeout`) and the keys that had them. Entries are not removed
    /// when a key is updated again or removed: they are checked against the key's slot when
    /// due (lazy invalidation).
    pub(crate) timer: BTreeMap<Time, Vec<K>>,
}

impl<K, S> Default for Part<K, S> {
    fn default() -> Self {
        Part { map: StateMap::default(), timer: BTreeMap::new() }
    }
}

/// `n` empty partitions.
pub(crate) fn parts<K, S>(n: usize) -> Vec<Part<K, S>> {
    (0..n.max(1)).map(|_| Part::default()).collect()
}

/// Every key and its state, copied out partition by partition (in parallel).
pub(crate) fn copy_out<K: Key, S: Clone + Send + Sync>(parts: &[Part<K, S>]) -> Vec<Vec<(K, S)>> {
    parts.par_iter().map(|p| p.map.iter().map(|(k, slot)| (k.clone(), slot.state.clone())).collect()).collect()
}

impl<K: Key + Persist, S: Persist> Part<K, S> {
    /// The partition as a checkpoint holds it, in columns: the entry count and the byte
    /// length of the pairs, the `updated` times run-length encoded (one `(time, count)` per
    /// run of equal times in table order), the `(key, state)` pairs in table order with no
    /// framing, then the timer. One pass over the table, into a buffer sized up front.
    ///
    /// Table order is the entries' order: [`decode`](Self::decode) inserts in it.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, CodecError> {
        let n = self.map.len();
        let mut w = ColumnWriter::with_capacity(32 + n * (size_of::<K>() + size_of::<S>() + 2));
        w.put_u64(n as u64);
        let pairs_len = w.put_u64(0);
        let mut runs: Vec<(Time, u64)> = Vec::new();
        let pairs_start = w.len();
        for (k, slot) in &self.map {
            w.put(k)?;
            w.put(&slot.state)?;
            match runs.last_mut() {
                Some((t, count)) if *t == slot.updated => *count += 1,
                _ => runs.push((slot.updated, 1)),
            }
        }
        w.patch_u64(pairs_len, (w.len() - pairs_start) as u64);
        w.put(&runs)?;
        w.put(&self.timer)?;
        Ok(w.finish())
    }

    /// Takes back what [`encode`](Self::encode) made: the table is made with its final
    /// capacity, and each pair goes into it as it is decoded.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let bad = |why: &str| CodecError::Decode(Box::new(bincode::ErrorKind::Custom(format!("keyed state: {why}"))));
        let mut r = ColumnReader::new(bytes);
        let n = r.get_u64()?;
        let pairs_len = r.get_u64()?;
        let mut pairs = r.split(usize::try_from(pairs_len).map_err(|_| bad("pairs past the end"))?)?;
        let runs: Vec<(Time, u64)> = r.get()?;
        let timer: BTreeMap<Time, Vec<K>> = r.get()?;
        if runs.iter().try_fold(0u64, |sum, (_, c)| sum.checked_add(*c)) != Some(n) {
            return Err(bad("the update times do not cover every entry"));
        }
        // Every pair takes at least one byte, unless its key and state take none.
        let cap = if size_of::<K>() + size_of::<S>() == 0 { 0 } else { (n as usize).min(bytes.len()) };
        let mut map = StateMap::with_capacity(cap);
        for (updated, count) in runs {
            for _ in 0..count {
                let k: K = pairs.get()?;
                let state: S = pairs.get()?;
                map.insert(k, Slot { state, updated });
            }
        }
        if !pairs.is_empty() || !r.is_empty() {
            return Err(bad("bytes left over"));
        }
        Ok(Part { map, timer })
    }
}

/// A read-only view of a keyed state after a batch, borrowed without copying (see
/// [`StateStream::foreach_snapshot`](crate::StateStream::foreach_snapshot)).
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use stream_runtime::testing::Harness;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = Arc::clone(&seen);
/// Harness::new(2).run(vec![vec![("a", 1), ("b", 2)], vec![("a", 3)]], move |s| {
///     s.running_reduce_by_key(|a, b| a + b).foreach_snapshot(move |snap, _time| {
///         sink.lock().unwrap().push((snap.len(), snap.get(&"a").copied()));
///     });
/// });
/// assert_eq!(*seen.lock().unwrap(), vec![(2, Some(1)), (2, Some(4))]);
/// ```
pub struct Snapshot<'s, K, S> {
    pub(crate) parts: &'s [Part<K, S>],
    /// Which keys this process holds, and where.
    pub(crate) place: Placement,
}

impl<K, S> std::fmt::Debug for Snapshot<'_, K, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("len", &self.parts.iter().map(|p| p.map.len()).sum::<usize>()).finish()
    }
}

impl<'s, K: Key, S> Snapshot<'s, K, S> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.map.len()).sum()
    }

    /// Whether no key has state.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| p.map.is_empty())
    }

    /// The state of `key` (in a cluster, `None` for a key another process holds).
    pub fn get(&self, key: &K) -> Option<&'s S> {
        let parts: &'s [Part<K, S>] = self.parts;
        parts.get(self.place.local_of_key(key)?)?.map.get(key).map(|slot| &slot.state)
    }

    /// Every key and its state, partition by partition (unordered within a partition); in a
    /// cluster, the keys this process holds.
    pub fn iter(&self) -> impl Iterator<Item = (&'s K, &'s S)> + 's {
        let parts: &'s [Part<K, S>] = self.parts;
        parts.iter().flat_map(|p| p.map.iter().map(|(k, slot)| (k, &slot.state)))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn part<K: Key, S>(entries: Vec<(K, S, i64)>, timer: Vec<(i64, Vec<K>)>) -> Part<K, S> {
        let mut p = Part::default();
        for (k, state, t) in entries {
            p.map.insert(k, Slot { state, updated: Time::from_millis(t) });
        }
        p.timer = timer.into_iter().map(|(t, keys)| (Time::from_millis(t), keys)).collect();
        p
    }

    fn same<K: Key + std::fmt::Debug, S: PartialEq + std::fmt::Debug>(a: &Part<K, S>, b: &Part<K, S>) {
        assert_eq!(a.map, b.map);
        assert_eq!(a.timer, b.timer);
    }

    proptest! {
        #[test]
        fn keyed_state_round_trips_in_columns(
            entries in prop::collection::vec((any::<u64>(), any::<u64>(), 0i64..5), 0..300),
            timer in prop::collection::vec((any::<i64>(), prop::collection::vec(any::<u64>(), 0..3)), 0..4),
        ) {
            let p = part(entries, timer);
            let bytes = p.encode().unwrap();
            same(&Part::decode(&bytes).unwrap(), &p);
            // Any truncation is an error, never a panic or a wrong table.
            for cut in [0, 1, 8, 15, bytes.len() / 2, bytes.len().saturating_sub(1)] {
                if cut < bytes.len() {
                    prop_assert!(Part::<u64, u64>::decode(&bytes[..cut]).is_err());
                }
            }
        }

        #[test]
        fn string_keys_and_structured_states_round_trip(
            entries in prop::collection::vec(
                (".{0,12}", (any::<i32>(), prop::option::of(".{0,5}")), -3i64..3), 0..100),
        ) {
            let p = part(entries, vec![(7, vec!["a".to_string()])]);
            same(&Part::decode(&p.encode().unwrap()).unwrap(), &p);
        }
    }

    #[test]
    fn static_str_keys_round_trip() {
        let p = part(vec![("a", 1u8, 1), ("bb", 2, 1), ("", 3, 2)], vec![]);
        same(&Part::decode(&p.encode().unwrap()).unwrap(), &p);
    }

    #[test]
    fn bytes_left_over_are_an_error() {
        let p = part(vec![(1u64, 2u64, 3)], vec![]);
        let mut bytes = p.encode().unwrap();
        bytes.push(0);
        assert!(Part::<u64, u64>::decode(&bytes).is_err());
    }
}
