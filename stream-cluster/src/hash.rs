//! Hashes that every process computes alike: the plan fingerprint and the demo's routing of
//! words. (The engine's keyed data is placed by key group: `stream-runtime`'s shuffle holds
//! that rule, the one from a key's hash to its group.)
//!
//! Both must be the same in every process of a cluster and across builds, so neither uses
//! `std`'s `DefaultHasher` (whose algorithm may change between Rust releases): FNV-1a over the
//! bytes, then a `splitmix64` finalizer so that every output bit depends on every input bit.
//! timely routes a record to worker `hash & (peers - 1)` when the number of workers is a power
//! of two, so a hash whose low bits are weak (a string's length, a small integer) would send
//! most keys to a few workers; the finalizer prevents that.

use std::hash::{Hash, Hasher};

/// A stable, well-mixed [`Hasher`]: FNV-1a, finished with `splitmix64`.
///
/// ```
/// use std::hash::Hasher;
/// let mut hasher = stream_cluster::StableHasher::default();
/// hasher.write(b"wordcount");
/// assert_eq!(hasher.finish(), stream_cluster::plan_fingerprint("wordcount"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        mix64(self.0)
    }
}

/// `splitmix64`'s finalizer: a bijection on `u64` with full avalanche.
///
/// ```
/// assert_ne!(stream_cluster::hash::mix64(1) & 0xff, stream_cluster::hash::mix64(2) & 0xff);
/// ```
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The fingerprint of a job's plan text: processes running different plans refuse each other.
///
/// ```
/// use stream_cluster::plan_fingerprint;
/// assert_eq!(plan_fingerprint("map -> reduce_by_key"), plan_fingerprint("map -> reduce_by_key"));
/// assert_ne!(plan_fingerprint("map -> reduce_by_key"), plan_fingerprint("map -> count"));
/// ```
pub fn plan_fingerprint(plan: &str) -> u64 {
    let mut hasher = StableHasher::default();
    hasher.write(plan.as_bytes());
    hasher.finish()
}

/// The stable, well-mixed hash of a key ([`StableHasher`]): the same in every process and
/// build, with strong low bits, as timely's routing by `hash & (peers - 1)` needs.
///
/// ```
/// use stream_cluster::stable_hash;
/// assert_eq!(stable_hash("spark"), stable_hash(&String::from("spark")));
/// assert_ne!(stable_hash("spark") & 0xff, stable_hash("spank") & 0xff);
/// ```
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = StableHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_fixed_across_builds() {
        // FNV-1a of "" is the offset basis; these values pin the algorithm.
        assert_eq!(plan_fingerprint(""), mix64(0xcbf2_9ce4_8422_2325));
        let mut fnv = StableHasher::default();
        fnv.write(b"a");
        assert_eq!(fnv.0, 0xaf63_dc4c_8601_ec8c, "FNV-1a test vector for \"a\"");
    }

    #[test]
    fn stable_hashes_spread_short_keys_over_power_of_two_workers() {
        // Keys of equal length and small integers: the cases where a weak hash routes badly.
        for workers in [2_u64, 4, 8] {
            let mut load = vec![0_usize; workers as usize];
            for i in 0..4096_u32 {
                load[(stable_hash(&format!("w{i:04}")) & (workers - 1)) as usize] += 1;
                load[(stable_hash(&i) & (workers - 1)) as usize] += 1;
            }
            let even = 8192 / workers as usize;
            for &l in &load {
                assert!(l > even * 8 / 10 && l < even * 12 / 10, "{workers} workers: {load:?}");
            }
        }
    }
}
