//! What a keyed window keeps of each parent batch, in one flat queue: the items of every
//! batch in the window back to back, and each batch's time and item count.
//!
//! A queue of per-batch vectors (what this replaces) allocates a vector per batch and frees
//! the oldest one per slide; with thousands of batches in the window the allocator hands out
//! fresh, untouched pages for the new ones while the freed ones scatter, so a long window paid
//! page faults and cache misses a short one did not. The flat queue reaches its size once and
//! then only moves its ends: the batch entering is copied in (it is hot), the one leaving is
//! read in order from one contiguous buffer.

use std::collections::VecDeque;

use serde::de::Deserializer;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::time::Time;

/// The items of each batch in the window, oldest batch first.
#[derive(Debug)]
pub(crate) struct Ring<X> {
    items: VecDeque<X>,
    batches: VecDeque<(Time, usize)>,
}

impl<X> Default for Ring<X> {
    fn default() -> Self {
        Ring { items: VecDeque::new(), batches: VecDeque::new() }
    }
}

impl<X> Ring<X> {
    /// Adds batch `t`'s items as the newest batch.
    pub(crate) fn push(&mut self, t: Time, items: impl IntoIterator<Item = X>) {
        let before = self.items.len();
        self.items.extend(items);
        self.batches.push_back((t, self.items.len() - before));
    }

    /// Removes every batch at a time `<= cutoff`, oldest first, giving each item to `f`.
    pub(crate) fn evict(&mut self, cutoff: Time, mut f: impl FnMut(X)) {
        while self.evict_one(cutoff, &mut f) {}
    }

    /// Removes the oldest batch if its time is `<= cutoff`, giving each item to `f`; whether
    /// it did.
    pub(crate) fn evict_one(&mut self, cutoff: Time, f: impl FnMut(X)) -> bool {
        match self.batches.front() {
            Some(&(t, n)) if t <= cutoff => {
                self.batches.pop_front();
                self.items.drain(..n).for_each(f);
                true
            }
            _ => false,
        }
    }

    /// The batches held.
    pub(crate) fn len(&self) -> usize {
        self.batches.len()
    }

    /// Each batch's time and number of items, oldest first.
    pub(crate) fn batches(&self) -> impl DoubleEndedIterator<Item = (Time, usize)> + '_ {
        self.batches.iter().copied()
    }

    /// Every item, oldest batch first.
    pub(crate) fn items(&self) -> &VecDeque<X> {
        &self.items
    }

    /// The batches, as separate vectors (to re-partition a restored window).
    pub(crate) fn into_batches(mut self) -> VecDeque<(Time, Vec<X>)> {
        self.batches.into_iter().map(|(t, n)| (t, self.items.drain(..n).collect())).collect()
    }

    /// The items of the newest batch.
    pub(crate) fn newest(&self) -> impl Iterator<Item = &X> {
        let n = self.batches.back().map_or(0, |b| b.1);
        self.items.range(self.items.len() - n..)
    }

    /// What rings of the partitions of one window hold (they hold the same batch times, every
    /// ingest pushing one batch to each): per batch, oldest first, its items in all of them as
    /// its keys.
    pub(crate) fn window(rings: &[&Ring<X>]) -> Vec<crate::metrics::WindowBatch> {
        let Some(first) = rings.first() else { return Vec::new() };
        (0..first.batches.len())
            .map(|i| {
                let keys = rings.iter().filter_map(|r| r.batches.get(i)).map(|b| b.1 as u64).sum();
                crate::metrics::WindowBatch { time: first.batches[i].0, records: None, keys: Some(keys) }
            })
            .collect()
    }

    /// The ring of `map(item)` for each item, in the same batches; before mapping an item,
    /// `hint` sees the one `ahead` places further (to prefetch what `map` will read).
    pub(crate) fn map_ahead<'r, Y>(&'r self, ahead: usize, hint: impl Fn(&'r X), map: impl Fn(&'r X) -> Y) -> Ring<Y> {
        let items = (0..self.items.len())
            .map(|i| {
                if let Some(x) = self.items.get(i + ahead) {
                    hint(x);
                }
                map(&self.items[i])
            })
            .collect();
        Ring { items, batches: self.batches.clone() }
    }

    /// A ring of `batches`.
    pub(crate) fn from_batches(batches: VecDeque<(Time, Vec<X>)>) -> Self {
        let mut ring = Ring::default();
        for (t, items) in batches {
            ring.push(t, items);
        }
        ring
    }
}

/// One batch of a ring, serialized as `(time, [map(item)])`.
struct BatchRef<'r, 'm, X, M> {
    t: Time,
    items: std::collections::vec_deque::Iter<'r, X>,
    map: &'m M,
}

impl<'r, X, Y: Serialize, M: Fn(&'r X) -> Y> Serialize for BatchRef<'r, '_, X, M> {
    fn serialize<Z: Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        (self.t, Items { items: self.items.clone(), map: self.map }).serialize(z)
    }
}

struct Items<'r, 'm, X, M> {
    items: std::collections::vec_deque::Iter<'r, X>,
    map: &'m M,
}

impl<'r, X, Y: Serialize, M: Fn(&'r X) -> Y> Serialize for Items<'r, '_, X, M> {
    fn serialize<Z: Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        let mut seq = z.serialize_seq(Some(self.items.len()))?;
        for x in self.items.clone() {
            seq.serialize_element(&(self.map)(x))?;
        }
        seq.end()
    }
}

/// A ring serialized as the queue of `(time, [map(item)])` it holds, oldest first: what a
/// `Ring<Y>` of the mapped items serializes as.
pub(crate) struct Mapped<'r, X, M> {
    ring: &'r Ring<X>,
    map: M,
}

impl<X> Ring<X> {
    /// The ring serialized with each item replaced by `map(item)`: decodes as a ring (or a
    /// queue of `(time, [Y])`) of the mapped items.
    pub(crate) fn mapped<'r, Y: Serialize, M: Fn(&'r X) -> Y>(&'r self, map: M) -> Mapped<'r, X, M> {
        Mapped { ring: self, map }
    }
}

impl<'r, X, Y: Serialize, M: Fn(&'r X) -> Y> Serialize for Mapped<'r, X, M> {
    fn serialize<Z: Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        let ring = self.ring;
        let mut seq = z.serialize_seq(Some(ring.batches.len()))?;
        let mut start = 0;
        for &(t, n) in &ring.batches {
            seq.serialize_element(&BatchRef { t, items: ring.items.range(start..start + n), map: &self.map })?;
            start += n;
        }
        seq.end()
    }
}

/// Serialized as the queue of `(time, [items])` it holds, oldest first.
impl<X: Serialize> Serialize for Ring<X> {
    fn serialize<Z: Serializer>(&self, z: Z) -> Result<Z::Ok, Z::Error> {
        self.mapped(|x| x).serialize(z)
    }
}

impl<'de, X: Deserialize<'de>> Deserialize<'de> for Ring<X> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Ring::from_batches(VecDeque::<(Time, Vec<X>)>::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_whole_batches_in_order_and_round_trips() {
        let mut ring = Ring::default();
        for t in 1..=4 {
            ring.push(Time::from_millis(t), (0..t).map(|i| t * 10 + i));
        }
        let bytes = crate::checkpoint::codec::to_bytes(&ring).unwrap();
        let as_batches: VecDeque<(Time, Vec<i64>)> = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
        assert_eq!(as_batches[2], (Time::from_millis(3), vec![30, 31, 32]));
        let mut seen = Vec::new();
        ring.evict(Time::from_millis(2), |x| seen.push(x));
        assert_eq!(seen, vec![10, 20, 21]);
        let back: Ring<i64> = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
        let mut back_seen = Vec::new();
        let mut back = back;
        back.evict(Time::from_millis(2), |x| back_seen.push(x));
        assert_eq!(back_seen, seen);
        assert_eq!(back.into_batches(), ring.into_batches());
    }
}
