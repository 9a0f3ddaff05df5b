//! Bound aliases for the records that flow through streams.

use std::hash::Hash;

/// A record a stream can carry: cloneable, shareable across worker threads, owned.
///
/// Blanket-implemented; you never implement it yourself.
///
/// ```
/// fn takes_data<T: stream_runtime::Data>(_: T) {}
/// takes_data((String::from("a"), 1u64));
/// ```
pub trait Data: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> Data for T {}

/// A record usable as a key of keyed operations (`reduce_by_key`, joins, ...).
///
/// ```
/// fn takes_key<K: stream_runtime::Key>(_: K) {}
/// takes_key(String::from("word"));
/// ```
pub trait Key: Data + Eq + Hash {}
impl<T: Data + Eq + Hash> Key for T {}

/// A record a checkpoint can hold or that crosses processes: the keys and states of stateful
/// operations and the contents of windows, and, because a job may run as a cluster (the
/// [`cluster`](crate::cluster) module), the keys, values and combiners of every keyed
/// operation that shuffles (`reduce_by_key`, `combine_by_key`, `group_by_key`,
/// `count_by_value`, joins, `cogroup`, `repartition` and the window and state operations
/// built on them) and the records of global aggregates (`reduce`, `reduce_by_window`,
/// `foreach_batch_gathered`), as Spark requires them to be serializable.
///
/// Blanket-implemented for every `serde` type whose values can be decoded to live for the
/// whole program: owned ones (`String`, [`Str`](crate::Str), numbers, tuples, `Vec`, your
/// `#[derive(Serialize, Deserialize)]` types) and `&'static str`. A `&'static str` is decoded
/// by leaking a copy of it (it must live for the whole program): fine for a recovered
/// checkpoint, read once, but in a cluster every batch decodes the keys that cross, so a
/// cluster job should use [`Str`](crate::Str) or `String` keys.
///
/// ```
/// fn takes_persist<T: stream_runtime::Persist>(_: T) {}
/// takes_persist((stream_runtime::Str::from("word"), 1u64));
/// ```
pub trait Persist: serde::Serialize + serde::Deserialize<'static> {}
impl<T: serde::Serialize + serde::Deserialize<'static>> Persist for T {}

/// The hasher every keyed operation and shuffle uses: fast, seeded identically on every thread
/// so that map-side and reduce-side agree.
pub type FastHasher = foldhash::fast::FixedState;

/// A hash map keyed with [`FastHasher`].
pub type FastMap<K, V> = hashbrown::HashMap<K, V, FastHasher>;

/// A new, empty [`FastMap`].
pub(crate) fn fast_map<K, V>() -> FastMap<K, V> {
    FastMap::with_hasher(FastHasher::default())
}

/// Copies `x` out of the larger input buffer it shares when it is a [`Str`](crate::Str)
/// ([`Str::detach`](crate::Str::detach)): what the stateful operators do to the keys and
/// states they keep across batches, so that a state does not keep every line, file split or
/// Kafka fetch that brought it a new key. For every other type it does nothing, at no cost
/// (the type test is decided at compile time).
#[inline(always)]
pub(crate) fn detach<T: 'static>(x: &mut T) {
    if let Some(s) = (x as &mut dyn std::any::Any).downcast_mut::<crate::Str>() {
        s.detach();
    }
}

/// The 64-bit hash of `k` used for partitioning.
pub(crate) fn hash_of<K: Hash + ?Sized>(k: &K) -> u64 {
    use std::hash::BuildHasher;
    FastHasher::default().hash_one(k)
}
