//! [`Values`]: the values of one key in a batch, as `update_state_by_key`'s grouping gathers
//! them before its function takes them as a `Vec`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The values of one key, in the order they came: up to three inline, more in a `Vec`.
///
/// Most keys of a batch of text come a few times, so gathering them into a `Vec` each (as
/// `group_by_key` does) costs an allocation per key on the map side, a reallocation per
/// doubling and per merge of two map partitions' values, and a free on whichever thread calls
/// the update function: on two threads, frees of blocks another thread's arena holds, under
/// its lock. Inline, a key of up to three values allocates nothing until
/// [`into_vec`](Self::into_vec) makes its `Vec` at its exact size on the thread that calls
/// the function, which frees it right after: the allocator hands the same block back.
#[derive(Debug, Clone)]
pub(crate) enum Values<V> {
    One(V),
    Two(V, V),
    Three(V, V, V),
    Many(Vec<V>),
}

/// The capacity of the `Vec` a fourth value starts.
const MANY: usize = 8;

impl<V> Values<V> {
    /// Appends `v`.
    #[inline]
    pub(crate) fn push(&mut self, v: V) {
        // The values of a frequent key are mostly pushed onto its `Vec`: in place, without
        // moving the whole enum out and back as a change of variant does.
        if let Values::Many(many) = self {
            if many.len() == many.capacity() {
                // Four times the room rather than twice: half the reallocations (each a
                // copy of the values so far) for the keys that come thousands of times.
                many.reserve(3 * many.len());
            }
            many.push(v);
            return;
        }
        // A placeholder while the variant changes: an empty `Vec` allocates nothing.
        *self = match std::mem::replace(self, Values::Many(Vec::new())) {
            Values::One(a) => Values::Two(a, v),
            Values::Two(a, b) => Values::Three(a, b, v),
            Values::Three(a, b, c) => {
                let mut many = Vec::with_capacity(MANY);
                many.extend([a, b, c, v]);
                Values::Many(many)
            }
            Values::Many(mut many) => {
                many.push(v);
                Values::Many(many)
            }
        };
    }

    /// Appends every value of `other`, in their order.
    pub(crate) fn append(&mut self, other: Values<V>) {
        match (self, other) {
            (Values::Many(mine), Values::Many(theirs)) => mine.extend(theirs),
            (me, other) => other.into_iter().for_each(|v| me.push(v)),
        }
    }

    /// The values in a `Vec` of their exact count.
    #[inline]
    pub(crate) fn into_vec(self) -> Vec<V> {
        match self {
            Values::One(a) => vec![a],
            Values::Two(a, b) => vec![a, b],
            Values::Three(a, b, c) => vec![a, b, c],
            Values::Many(many) => many,
        }
    }

    fn into_iter(self) -> impl Iterator<Item = V> {
        let (small, many) = match self {
            Values::One(a) => ([Some(a), None, None], Vec::new()),
            Values::Two(a, b) => ([Some(a), Some(b), None], Vec::new()),
            Values::Three(a, b, c) => ([Some(a), Some(b), Some(c)], Vec::new()),
            Values::Many(many) => ([None, None, None], many),
        };
        small.into_iter().flatten().chain(many)
    }

    fn len(&self) -> usize {
        match self {
            Values::One(_) => 1,
            Values::Two(..) => 2,
            Values::Three(..) => 3,
            Values::Many(many) => many.len(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &V> {
        let (small, many): ([Option<&V>; 3], &[V]) = match self {
            Values::One(a) => ([Some(a), None, None], &[]),
            Values::Two(a, b) => ([Some(a), Some(b), None], &[]),
            Values::Three(a, b, c) => ([Some(a), Some(b), Some(c)], &[]),
            Values::Many(many) => ([None, None, None], many),
        };
        small.into_iter().flatten().chain(many)
    }
}

/// Across processes, the values as a sequence (as a `Vec` would be).
impl<V: Serialize> Serialize for Values<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for v in self.iter() {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Values<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::deserialize(d).map(Values::Many)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Pushes (past several growths of the `Vec`) and appends keep every value in order,
        /// as pushing into a `Vec` does, and a round trip through the codec keeps them.
        #[test]
        fn values_gather_as_a_vec(
            first in any::<u32>(),
            pushes in prop::collection::vec(any::<u32>(), 0..80),
            appended in prop::collection::vec(prop::collection::vec(any::<u32>(), 1..12), 0..4),
        ) {
            let mut values = Values::One(first);
            let mut expected = vec![first];
            for v in pushes {
                values.push(v);
                expected.push(v);
            }
            for other in appended {
                let mut theirs = Values::One(other[0]);
                other[1..].iter().for_each(|&v| theirs.push(v));
                values.append(theirs);
                expected.extend(other);
            }
            let bytes = crate::checkpoint::codec::to_bytes(&values).unwrap();
            let back: Values<u32> = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
            prop_assert_eq!(back.into_vec(), expected.clone());
            let vec = values.into_vec();
            prop_assert_eq!(vec.capacity() == vec.len() || vec.len() > 3, true);
            prop_assert_eq!(vec, expected);
        }
    }
}
