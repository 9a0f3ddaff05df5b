//! The keys of a state partition and their slots, in dense entries under a tag index.
//!
//! The entries are one `Vec` of `(key, slot)` with no holes: a sweep of the state (the
//! per-key step of `update_state_by_key` calls `f` for every key each batch) reads only live
//! bytes, front to back. Over them, an index of 8-byte slots (open addressing, linear
//! probing, at most half full, a power of two of them): 0 when empty, else the key's tag (the
//! low half of its hash) in the high half and its entry's position plus one in the low half,
//! the layout of the shuffle's combiner tables and the window's `Dense`
//! (`shuffle::rebuild_index`, `shuffle::home_entry`). A probe compares tags, 8 slots a cache
//! line, and reads an entry only when its tag matches; a batch's keys are hashed first and
//! their home slots and entries prefetched ahead of their lookups, so the cache misses of the
//! lookups overlap. Growing the index places the old slots by their tags: no key is read or
//! hashed again, and the entries do not move.
//!
//! A removed entry's place is taken by the last entry (`swap_remove`), whose slot is then
//! pointed at its new place (its key hashed to find it): removals are rare in the states this
//! serves, lookups and sweeps are not.

use std::fmt;
use std::mem::ManuallyDrop;

use allocator_api2::vec::Vec;

use super::store::Slot;
use crate::data::{hash_of, Key};
use crate::huge::Huge;
use crate::shuffle::{home_entry, place_slot, position_of_slot, prefetch, slot, tag_of, unindex_slot};

/// How many keys ahead of the one being looked up its home slot is prefetched (the entry
/// that slot names, half as far ahead).
pub(crate) const AHEAD: usize = 16;

/// The fewest slots an index that holds anything has.
const MIN_SLOTS: usize = 16;

/// A state partition's keys and their slots.
///
/// Invariant: `index.len()` is 0 or a power of two at least twice `entries.len()`; every
/// entry at position `p` is named by exactly one nonzero slot of the index, `slot(tag_of(h),
/// p)` with `h` the hash of its key, reachable by linear probing from the slot `tag_of(h) &
/// (index.len() - 1)` without crossing an empty slot; and no other slot is nonzero.
/// ([`replace_with`](Self::replace_with), the one `unsafe` user, relies only on `entries`
/// being a `Vec` it holds a `&mut` to.)
///
/// Both are in [`Huge`] blocks once large: the batch's lookups land on them at random.
pub(crate) struct StateMap<K, S> {
    index: Vec<u64, Huge>,
    entries: Vec<(K, Slot<S>), Huge>,
}

impl<K, S> Default for StateMap<K, S> {
    fn default() -> Self {
        StateMap { index: Vec::new_in(Huge), entries: Vec::new_in(Huge) }
    }
}

impl<K: fmt::Debug, S: fmt::Debug> fmt::Debug for StateMap<K, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries.iter().map(|(k, s)| (k, s))).finish()
    }
}

/// Two states are equal when they hold the same keys with equal slots, in any order.
impl<K: Key, S: PartialEq> PartialEq for StateMap<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, s)| other.get(k) == Some(s))
    }
}

impl<K, S> StateMap<K, S> {
    /// The keys held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each key and its slot, in position order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &Slot<S>)> {
        self.entries.iter().map(|(k, s)| (k, s))
    }

    /// The key and slot at position `p` (`p < len()`).
    #[inline]
    pub(crate) fn at(&self, p: usize) -> (&K, &Slot<S>) {
        let (k, s) = &self.entries[p];
        (k, s)
    }

    /// The slot at position `p` (`p < len()`), to change (not the key: the index places it).
    #[inline]
    pub(crate) fn slot_mut(&mut self, p: usize) -> &mut Slot<S> {
        &mut self.entries[p].1
    }

    /// Bytes of the index and of the entries, in line (what the state's view reports).
    pub(crate) fn table_bytes(&self) -> u64 {
        let index = self.index.capacity() * size_of::<u64>();
        let entries = self.entries.capacity() * size_of::<(K, Slot<S>)>();
        (index + entries) as u64
    }

    /// The home slot of hash `h` (the index not empty).
    #[inline(always)]
    fn home(&self, h: u64) -> usize {
        tag_of(h) as usize & (self.index.len() - 1)
    }

    /// The first stage of a lookup of hash `h`: brings its home slot into the cache (a hint).
    #[inline(always)]
    pub(crate) fn prefetch_slot(&self, h: u64) {
        if !self.index.is_empty() {
            prefetch(&self.index[self.home(h)]);
        }
    }

    /// The second stage, once the home slot of `h` has had time to arrive: when it names a
    /// key of the same tag, brings that entry in (a hint).
    #[inline(always)]
    pub(crate) fn prefetch_entry(&self, h: u64) {
        if let Some(p) = home_entry(&self.index, h) {
            prefetch(self.entries.as_ptr().wrapping_add(p));
        }
    }

    /// An index of `capacity` slots (a power of two, at least twice the entries) over the
    /// same entries, placed by the old slots' tags.
    fn regrow(&mut self, capacity: usize) {
        let mut index = Vec::with_capacity_in(capacity, Huge);
        index.resize(capacity, 0u64);
        for &s in self.index.iter().filter(|&&s| s != 0) {
            place_slot(&mut index, s);
        }
        self.index = index;
    }

    /// Makes room for `additional` more keys: no growth of the index or the entries until
    /// they are in.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let need = self.entries.len().saturating_add(additional);
        if need.saturating_mul(2) > self.index.len() {
            self.regrow(need.saturating_mul(2).next_power_of_two().max(MIN_SLOTS));
        }
        self.entries.reserve(additional);
    }

    /// Takes slot `i` out of the index, moving back the slots after it in its run, so that
    /// every key stays reachable from its home slot.
    fn unindex(&mut self, i: usize) {
        unindex_slot(&mut self.index, i);
    }
}

impl<K: Key, S> StateMap<K, S> {
    /// An empty state with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> Self {
        let mut m = StateMap::default();
        m.reserve(n);
        m
    }

    /// Where `k` (of hash `h`) is: `Ok((slot, position))`, or `Err(slot)`, the empty slot where
    /// it would go. An insertion at that slot must come before any growth (call
    /// [`reserve`](Self::reserve) first).
    #[inline]
    pub(crate) fn find(&self, h: u64, k: &K) -> Result<(usize, usize), usize> {
        if self.index.is_empty() {
            return Err(0);
        }
        let (tag, mask) = (tag_of(h), self.index.len() - 1);
        let mut i = tag as usize & mask;
        loop {
            let s = self.index[i];
            if s == 0 {
                return Err(i);
            }
            if (s >> 32) as u32 == tag {
                let p = (s as u32 - 1) as usize;
                if self.entries[p].0 == *k {
                    return Ok((i, p));
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Puts `k` (of hash `h`, not held) with `s` at the empty slot `i` that
    /// [`find`](Self::find) gave, after a [`reserve`](Self::reserve) that left room for it.
    /// Returns its position.
    #[inline]
    pub(crate) fn insert_at(&mut self, i: usize, h: u64, k: K, s: Slot<S>) -> usize {
        debug_assert!(self.index[i] == 0 && (self.entries.len() + 1) * 2 <= self.index.len());
        let p = self.entries.len();
        assert!(p < u32::MAX as usize, "a state partition holds fewer than 2^32 - 1 keys");
        self.index[i] = slot(tag_of(h), p);
        self.entries.push((k, s));
        p
    }

    /// The slot of `k`.
    pub(crate) fn get(&self, k: &K) -> Option<&Slot<S>> {
        self.find(hash_of(k), k).ok().map(|(_, p)| &self.entries[p].1)
    }

    /// Sets the slot of `k`; returns the one it replaced.
    pub(crate) fn insert(&mut self, k: K, s: Slot<S>) -> Option<Slot<S>> {
        self.reserve(1);
        let h = hash_of(&k);
        match self.find(h, &k) {
            Ok((_, p)) => Some(std::mem::replace(&mut self.entries[p].1, s)),
            Err(i) => {
                self.insert_at(i, h, k, s);
                None
            }
        }
    }

    /// Takes out the key at position `p`, named by slot `i` (as [`find`](Self::find) gave
    /// them). The last entry moves to `p`.
    pub(crate) fn remove_at(&mut self, i: usize, p: usize) -> (K, Slot<S>) {
        self.unindex(i);
        let out = self.entries.swap_remove(p);
        self.moved(p);
        out
    }

    /// Points the slot of the entry that `swap_remove` moved to `p` (from the end) at `p`.
    fn moved(&mut self, p: usize) {
        let from = self.entries.len();
        let Some((k, _)) = self.entries.get(p) else { return };
        let tag = tag_of(hash_of(k));
        let i = position_of_slot(&self.index, slot(tag, from));
        self.index[i] = slot(tag, p);
    }

    /// Removes the key at position `p` (named by whichever slot): what a sweep does.
    fn remove_position(&mut self, p: usize) -> (K, Slot<S>) {
        let i = position_of_slot(&self.index, slot(tag_of(hash_of(&self.entries[p].0)), p));
        self.remove_at(i, p)
    }

    /// Replaces the slot at position `p` (named by slot `i`, as [`find`](Self::find) gave
    /// them) with what `f` makes of it, or removes the key when `f` returns `None` (the last
    /// entry then moves to `p`). Returns the key's position, `None` when removed. If `f`
    /// panics, the key is removed (its slot, given to `f`, is not dropped twice).
    pub(crate) fn replace_with(
        &mut self,
        i: usize,
        p: usize,
        f: impl FnOnce(&K, Slot<S>) -> Option<Slot<S>>,
    ) -> Option<usize> {
        /// Removes the entry whose slot was moved out if `f` unwinds.
        struct Guard<'a, K: Key, S> {
            map: &'a mut StateMap<K, S>,
            i: usize,
            p: usize,
        }
        impl<K: Key, S> Drop for Guard<'_, K, S> {
            fn drop(&mut self) {
                self.map.unindex(self.i);
                let (k, s) = self.map.entries.swap_remove(self.p);
                // The slot was moved out to `f`: this bitwise copy must not be dropped.
                let _ = ManuallyDrop::new(s);
                drop(k);
                self.map.moved(self.p);
            }
        }
        let guard = Guard { map: self, i, p };
        let entry = &mut guard.map.entries[p];
        #[allow(unsafe_code)]
        // SAFETY: `entry.1` is a valid, initialized `Slot<S>` behind a `&mut`. It is read out
        // (moved to `f`) and, before anything can observe or drop it, either overwritten with
        // `ptr::write` (no drop of the moved-out value) or, when `f` returns `None` or
        // unwinds, the entry is taken out of the `Vec` by the guard and the copy forgotten
        // (`ManuallyDrop`), so the value is dropped exactly once, by whoever owns it after `f`.
        let old = unsafe { std::ptr::read(&entry.1) };
        match f(&entry.0, old) {
            Some(new) => {
                #[allow(unsafe_code)]
                // SAFETY: the slot at `entry.1` was moved out above and nothing dropped it;
                // writing without dropping it puts back a value there.
                unsafe {
                    std::ptr::write(&mut entry.1, new)
                };
                std::mem::forget(guard);
                Some(p)
            }
            // The guard removes the key, forgetting the moved-out slot.
            None => None,
        }
    }

    /// Keeps the keys for which `f` returns `true` (it may change their slots), in one pass
    /// over the entries; a removed key's place is taken by the last entry, which `f` then
    /// sees in its turn. Each key is given to `f` once.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(&K, &mut Slot<S>) -> bool) {
        let mut p = 0;
        while p < self.entries.len() {
            let (k, s) = &mut self.entries[p];
            if f(k, s) {
                p += 1;
            } else {
                drop(self.remove_position(p));
            }
        }
    }
}

impl<K, S> IntoIterator for StateMap<K, S> {
    type Item = (K, Slot<S>);
    type IntoIter = allocator_api2::vec::IntoIter<(K, Slot<S>), Huge>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, K, S> IntoIterator for &'a StateMap<K, S> {
    type Item = (&'a K, &'a Slot<S>);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, Slot<S>)>, fn(&'a (K, Slot<S>)) -> (&'a K, &'a Slot<S>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, s)| (k, s))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;
    use crate::time::Time;

    fn slot_of(v: u32, t: i64) -> Slot<u32> {
        Slot { state: v, updated: Time::from_millis(t) }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        /// Through `find`, `reserve` and `insert_at` / `replace_with`, as the steps use them:
        /// `None` removes.
        Update(u16, Option<u32>),
        Remove(u16),
        /// A sweep that keeps the keys with an even value, adding `1` to the kept values
        /// whose key is a multiple of 3.
        Sweep,
        Reserve(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Keys from a small range, so that updates and removals find them; some from a
        // larger one, for growth.
        let key = prop_oneof![0u16..64, any::<u16>()];
        prop_oneof![
            4 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => (key.clone(), prop::option::of(any::<u32>())).prop_map(|(k, v)| Op::Update(k, v)),
            2 => key.prop_map(Op::Remove),
            1 => Just(Op::Sweep),
            1 => (0u16..300).prop_map(Op::Reserve),
        ]
    }

    /// Every key reachable through the index, every slot naming a live entry once.
    fn check(m: &StateMap<u64, u32>) {
        let live = m.index.iter().filter(|&&s| s != 0).count();
        assert_eq!(live, m.entries.len());
        assert!(m.index.is_empty() || m.index.len().is_power_of_two());
        assert!(m.entries.len() * 2 <= m.index.len() || m.entries.is_empty());
        for (p, (k, _)) in m.entries.iter().enumerate() {
            assert_eq!(m.find(hash_of(k), k).map(|(_, q)| q), Ok(p));
        }
    }

    proptest! {
        #[test]
        fn the_table_holds_what_a_hash_map_holds(ops in prop::collection::vec(op(), 0..400)) {
            let mut m: StateMap<u64, u32> = StateMap::default();
            let mut model: HashMap<u64, u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let old = m.insert(u64::from(k), slot_of(v, 1)).map(|s| s.state);
                        prop_assert_eq!(old, model.insert(u64::from(k), v));
                    }
                    Op::Update(k, v) => {
                        let k = u64::from(k);
                        m.reserve(1);
                        let h = hash_of(&k);
                        match m.find(h, &k) {
                            Ok((i, p)) => {
                                let got = m.replace_with(i, p, |key, old| {
                                    assert_eq!(*key, k);
                                    assert_eq!(Some(&old.state), model.get(&k));
                                    v.map(|v| slot_of(v, 2))
                                });
                                prop_assert_eq!(got.is_some(), v.is_some());
                            }
                            Err(i) => {
                                prop_assert!(!model.contains_key(&k));
                                if let Some(v) = v {
                                    m.insert_at(i, h, k, slot_of(v, 2));
                                }
                            }
                        }
                        match v {
                            Some(v) => model.insert(k, v),
                            None => model.remove(&k),
                        };
                    }
                    Op::Remove(k) => {
                        let k = u64::from(k);
                        let got = match m.find(hash_of(&k), &k) {
                            Ok((i, p)) => Some(m.remove_at(i, p).1.state),
                            Err(_) => None,
                        };
                        prop_assert_eq!(got, model.remove(&k));
                    }
                    Op::Sweep => {
                        let mut seen = Vec::new();
                        m.retain(|k, s| {
                            seen.push(*k);
                            if k % 3 == 0 {
                                s.state = s.state.wrapping_add(1);
                            }
                            s.state % 2 == 0
                        });
                        // Every key seen once, whatever the order the removals leave.
                        seen.sort_unstable();
                        let mut keys: Vec<u64> = model.keys().copied().collect();
                        keys.sort_unstable();
                        prop_assert_eq!(seen, keys);
                        model.retain(|k, v| {
                            if k % 3 == 0 {
                                *v = v.wrapping_add(1);
                            }
                            *v % 2 == 0
                        });
                    }
                    Op::Reserve(n) => m.reserve(usize::from(n)),
                }
                check(&m);
                prop_assert_eq!(m.len(), model.len());
            }
            for (k, v) in &model {
                prop_assert_eq!(m.get(k).map(|s| s.state), Some(*v));
            }
            let mut all: Vec<(u64, u32)> = m.into_iter().map(|(k, s)| (k, s.state)).collect();
            all.sort_unstable();
            let mut want: Vec<(u64, u32)> = model.into_iter().collect();
            want.sort_unstable();
            prop_assert_eq!(all, want);
        }
    }

    #[test]
    fn a_panicking_update_removes_the_key_and_drops_its_state_once() {
        let mut m: StateMap<String, String> = StateMap::default();
        for k in ["a", "b", "c"] {
            m.insert(k.to_string(), Slot { state: format!("state of {k}"), updated: Time::from_millis(0) });
        }
        let k = "a".to_string();
        let (i, p) = m.find(hash_of(&k), &k).unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            m.replace_with(i, p, |_, s| {
                drop(s);
                panic!("f failed")
            })
        }));
        assert!(caught.is_err());
        assert_eq!(m.len(), 2);
        assert!(m.get(&k).is_none());
        assert_eq!(m.get(&"c".to_string()).map(|s| s.state.as_str()), Some("state of c"));
    }
}
