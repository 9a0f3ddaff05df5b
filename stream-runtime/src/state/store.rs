//! The state of a keyed stateful operator: per hash partition, a map from key to state and
//! the time of its last update, plus a timer of deadlines for `map_with_state` timeouts.

use std::collections::BTreeMap;

use serde::de::Deserializer;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::data::{hash_of, FastMap, Key};
use crate::shuffle::{partition_of, Placement};
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
    pub(crate) map: FastMap<K, Slot<S>>,
    /// Deadlines (`updated + timeout`) and the keys that had them. Entries are not removed
    /// when a key is updated again or removed: they are checked against the key's slot when
    /// due (lazy invalidation).
    pub(crate) timer: BTreeMap<Time, Vec<K>>,
}

impl<K, S> Default for Part<K, S> {
    fn default() -> Self {
        Part { map: FastMap::default(), timer: BTreeMap::new() }
    }
}

/// `n` empty partitions.
pub(crate) fn parts<K, S>(n: usize) -> Vec<Part<K, S>> {
    (0..n.max(1)).map(|_| Part::default()).collect()
}

/// The partition of `k` among `n`.
pub(crate) fn part_of<K: Key>(k: &K, n: usize) -> usize {
    partition_of(hash_of(k), n)
}

struct Entries<'a, K, S>(&'a FastMap<K, Slot<S>>);

impl<K: Serialize, S: Serialize> Serialize for Entries<'_, K, S> {
    fn serialize<Z: Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        z.collect_seq(self.0.iter())
    }
}

impl<K: Serialize, S: Serialize> Serialize for Part<K, S> {
    fn serialize<Z: Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        let mut st = z.serialize_struct("Part", 2)?;
        st.serialize_field("entries", &Entries(&self.map))?;
        st.serialize_field("timer", &self.timer)?;
        st.end()
    }
}

impl<'de, K: Key + Deserialize<'de>, S: Deserialize<'de>> Deserialize<'de> for Part<K, S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Repr<K, S> {
            entries: Vec<(K, Slot<S>)>,
            timer: BTreeMap<Time, Vec<K>>,
        }
        let r = Repr::<K, S>::deserialize(d)?;
        Ok(Part { map: r.entries.into_iter().collect(), timer: r.timer })
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
