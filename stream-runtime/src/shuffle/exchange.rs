//! Crossing processes: the one place where the map side's tables or buckets of every global
//! reduce partition become this process's reduce columns, and where outputs gather at process
//! 0. With no [`Peers`](crate::cluster::Peers) (one process) nothing here encodes or copies.
//!
//! With `N` processes of `P` local partitions each there are `N * P` global reduce partitions;
//! process `q` owns `[q * P, (q + 1) * P)`, so a key always lands on the same process and
//! local partition (the state and windows of later batches find it there). In a cluster keys
//! are placed by their key group ([`KEY_GROUPS`] of them, [`key_group`]): each process owns a
//! contiguous range of whole groups ([`group_owner`]), so a restart with another `N` moves
//! whole groups.

use parking_lot::Mutex;
use rayon::prelude::*;

use super::{partition_of, transpose, Table};
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::cluster::{PeerError, Tag};
use crate::context::StreamingContext;
use crate::data::{hash_of, Key, Persist};
use crate::error::BatchError;
use crate::node::Env;
use crate::time::Time;

/// Times an operation remembers its exchange count for (an operation computes at a handful
/// of times per batch at most).
const REMEMBERED_TIMES: usize = 8;

/// The identity of an operation that exchanges: its id, given in graph order when the job is
/// built (so the same in every process), and how many exchanges it made at each recent time.
pub(crate) struct Exchanges {
    op: u32,
    rounds: Mutex<Vec<(Time, u32)>>,
}

impl Exchanges {
    /// The next operation id of `ctx`'s graph.
    pub(crate) fn new(ctx: &StreamingContext) -> Self {
        Exchanges { op: ctx.next_op(), rounds: Mutex::new(Vec::new()) }
    }

    /// The tag of this operation's next exchange at `t`: rounds count the exchanges the
    /// operation makes at `t`, so an operation computing at several times in a batch, or
    /// exchanging several times at one, has a distinct tag for each, the same in every
    /// process (all make the same exchanges in the same order).
    pub(crate) fn tag(&self, t: Time) -> Tag {
        let mut rounds = self.rounds.lock();
        let round = match rounds.iter_mut().find(|(time, _)| *time == t) {
            Some((_, n)) => {
                *n += 1;
                *n - 1
            }
            None => {
                if rounds.len() == REMEMBERED_TIMES {
                    rounds.remove(0);
                }
                rounds.push((t, 1));
                0
            }
        };
        Tag { time: t, op: self.op, round }
    }
}

/// How many key groups keyed data is split into in a cluster. A key's group
/// ([`key_group`]) never changes; groups, not keys, are what is assigned to processes
/// ([`group_owner`]), checkpointed and moved when a cluster restarts with another number of
/// processes.
pub(crate) const KEY_GROUPS: usize = 256;

/// The key group (`0..KEY_GROUPS`) of a key with hash `h`: the hash's top 8 bits. The one
/// rule from a hash to a group. They are independent of the bits that place a key in a
/// reduce partition on one process ([`partition_of`]: bits 16 to 47) and of a table's tag
/// (bits 0 to 31), and well mixed (the engine's hash is foldhash, fixed seed: the same in every
/// process of one build).
#[inline]
pub(crate) fn key_group(h: u64) -> usize {
    (h >> 56) as usize
}

/// The range (of `n` contiguous, nearly equal ranges of the groups) group `g` falls in:
/// `g * n / KEY_GROUPS`. With `n` processes, the process that owns `g`; with `n = processes
/// * local` partitions, its global reduce partition.
#[inline]
pub(crate) fn group_owner(g: usize, n: usize) -> usize {
    g * n / KEY_GROUPS
}

/// The groups range `i` of `n` holds (see [`group_owner`]): `ceil(i * KEY_GROUPS / n)` to
/// `ceil((i + 1) * KEY_GROUPS / n)`, empty when `n > KEY_GROUPS` leaves it none.
pub(crate) fn groups_of(i: usize, n: usize) -> std::ops::Range<usize> {
    let n = n.max(1);
    let start = |i: usize| (i * KEY_GROUPS).div_ceil(n).min(KEY_GROUPS);
    start(i)..start(i + 1)
}

/// Where keys live: this process among `processes`, with `local` reduce partitions each.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub(crate) process: usize,
    pub(crate) processes: usize,
    pub(crate) local: usize,
}

impl Placement {
    /// The placement of an operation with `local` partitions per process in `env`.
    pub(crate) fn of(env: &Env, local: usize) -> Placement {
        let local = local.max(1);
        match &env.peers {
            Some(p) => Placement { process: p.process(), processes: p.processes().max(1), local },
            None => Placement { process: 0, processes: 1, local },
        }
    }

    /// Global reduce partitions: the map side splits into this many.
    pub(crate) fn global(&self) -> usize {
        self.local * self.processes
    }

    /// Whether keys are placed by key group (a cluster) rather than by the hash alone (one
    /// process: nothing changes there).
    #[inline]
    pub(crate) fn by_groups(&self) -> bool {
        self.processes > 1
    }

    /// The global reduce partition of a key with hash `h`.
    ///
    /// On one process, [`partition_of`] over the local partitions, as ever. In a cluster the
    /// key groups are cut into `processes * local` contiguous ranges ([`group_owner`]):
    /// process `q` owns the groups `g` with `g * processes / KEY_GROUPS == q` (whatever the
    /// number of local partitions, as `floor(floor(x) / local) == floor(x / local)`), and its
    /// local partition `l` a contiguous range of them, so every local partition, and every
    /// frame a checkpoint saves of it, holds whole key groups. When a job restarts with another
    /// number of processes, a new process reads the frames that hold its groups, from the old
    /// processes that owned them ([`overlapping`]).
    #[inline]
    pub(crate) fn global_of(&self, h: u64) -> usize {
        if self.by_groups() {
            group_owner(key_group(h), self.global())
        } else {
            partition_of(h, self.local)
        }
    }

    /// The process that owns a key with hash `h`.
    #[inline]
    pub(crate) fn owner_of(&self, h: u64) -> usize {
        if self.by_groups() {
            group_owner(key_group(h), self.processes)
        } else {
            0
        }
    }

    /// The local partition of a key with hash `h`, when this process owns it.
    pub(crate) fn local_of(&self, h: u64) -> Option<usize> {
        let g = self.global_of(h);
        (g / self.local == self.process).then_some(g % self.local)
    }

    /// The local partition of `k` (when this process owns it).
    pub(crate) fn local_of_key<K: Key>(&self, k: &K) -> Option<usize> {
        self.local_of(hash_of(k))
    }

    /// The key groups this process owns.
    pub(crate) fn groups(&self) -> std::ops::Range<usize> {
        if self.by_groups() {
            groups_of(self.process, self.processes)
        } else {
            0..KEY_GROUPS
        }
    }
}

/// The key groups that local partition `part` of process `process` of `processes`, with
/// `local` partitions each, held when a frame was saved of it (hash routing; see
/// [`Placement::global_of`]). `None` on one process (its partitions are not cut by group).
pub(crate) fn groups_of_part(
    process: usize,
    processes: usize,
    local: usize,
    part: usize,
) -> Option<std::ops::Range<usize>> {
    (processes > 1).then(|| groups_of(process * local + part, processes * local))
}

/// The processes of a run with `before` processes that owned any of the key groups process
/// `process` of `now` owns: the checkpoint files it reads when the cluster restarts with
/// another number of processes.
pub(crate) fn overlapping(process: usize, now: usize, before: usize) -> std::ops::Range<usize> {
    let (now, before) = (now.max(1), before.max(1));
    let mine = if now == 1 { 0..KEY_GROUPS } else { groups_of(process, now) };
    if mine.is_empty() {
        return 0..0;
    }
    if before == 1 {
        return 0..1;
    }
    group_owner(mine.start, before)..group_owner(mine.end - 1, before) + 1
}

/// What the map side builds per reduce partition and sends across processes: combiner tables
/// and record buckets.
pub(crate) trait Wire: Send + Sized {
    /// Encodes `[map][reduce]` tables or buckets for one process.
    fn encode(maps: &[Vec<Self>]) -> Result<Vec<u8>, CodecError>;
    /// Decodes what [`encode`](Self::encode) made.
    fn decode(bytes: &[u8]) -> Result<Vec<Vec<Self>>, CodecError>;
}

impl<K: Key + Persist, C: Persist + Send> Wire for Table<K, C> {
    fn encode(maps: &[Vec<Self>]) -> Result<Vec<u8>, CodecError> {
        to_bytes(maps)
    }

    fn decode(bytes: &[u8]) -> Result<Vec<Vec<Self>>, CodecError> {
        let maps: Vec<Vec<Vec<(K, C)>>> = from_bytes(bytes)?;
        Ok(maps.into_iter().map(|m| m.into_iter().map(Table::from_pairs).collect()).collect())
    }
}

impl<T: Persist + Send> Wire for Vec<T> {
    fn encode(maps: &[Vec<Self>]) -> Result<Vec<u8>, CodecError> {
        to_bytes(maps)
    }

    fn decode(bytes: &[u8]) -> Result<Vec<Vec<Self>>, CodecError> {
        from_bytes(bytes)
    }
}

fn decode_error(tag: Tag, process: usize, reason: String) -> BatchError {
    BatchError::Exchange { tag, source: PeerError::Decode { process, tag, reason } }
}

/// Turns the map side's `[map][global reduce]` tables or buckets into this process's
/// `[local reduce][map]` columns: in one process, a transpose (`local` columns); in a cluster,
/// the entries of the partitions other processes own are encoded and exchanged, and the
/// columns hold, per local partition, the maps of every process in process order.
pub(crate) fn columns<B: Wire>(
    maps: Vec<Vec<B>>,
    local: usize,
    ex: &Exchanges,
    t: Time,
    env: &Env,
) -> Result<Vec<Vec<B>>, BatchError> {
    let Some(peers) = &env.peers else {
        return Ok(transpose(maps, local));
    };
    let (me, n) = (peers.process(), peers.processes());
    let tag = ex.tag(t);
    // [process][map][local reduce]
    let mut per: Vec<Vec<Vec<B>>> = (0..n).map(|_| Vec::with_capacity(maps.len())).collect();
    for m in maps {
        let mut buckets = m.into_iter();
        for to in &mut per {
            to.push(buckets.by_ref().take(local).collect());
        }
    }
    let mine = std::mem::take(&mut per[me]);
    let out: Vec<Vec<u8>> = per
        .into_par_iter()
        .enumerate()
        .map(|(q, maps)| if q == me { Ok(Vec::new()) } else { B::encode(&maps) })
        .collect::<Result<_, _>>()
        .map_err(|source| BatchError::Encode { tag, source })?;
    let got = peers.exchange(tag, out).map_err(|source| BatchError::Exchange { tag, source })?;
    let mut decoded: Vec<Vec<Vec<B>>> = got
        .into_par_iter()
        .enumerate()
        .map(|(q, bytes)| if q == me { Ok(Vec::new()) } else { B::decode(&bytes).map_err(|e| (q, e)) })
        .collect::<Result<_, _>>()
        .map_err(|(q, e)| decode_error(tag, q, e.to_string()))?;
    if decoded.len() != n {
        return Err(decode_error(tag, me, format!("{} answers from {n} processes", decoded.len())));
    }
    decoded[me] = mine;
    let mut cols: Vec<Vec<B>> = (0..local).map(|_| Vec::new()).collect();
    for (q, maps) in decoded.into_iter().enumerate() {
        for m in maps {
            if m.len() != local {
                return Err(decode_error(tag, q, format!("{} partitions where {local} were expected", m.len())));
            }
            for (col, b) in cols.iter_mut().zip(m) {
                col.push(b);
            }
        }
    }
    Ok(cols)
}

/// Sends `mine` to every process and returns what every process sent, in process order (in
/// one process, `[mine]`).
pub(crate) fn all_gather<T: Persist + Send>(mine: T, ex: &Exchanges, t: Time, env: &Env) -> Result<Vec<T>, BatchError> {
    let Some(peers) = &env.peers else {
        return Ok(vec![mine]);
    };
    let (me, n) = (peers.process(), peers.processes());
    let tag = ex.tag(t);
    let bytes = to_bytes(&mine).map_err(|source| BatchError::Encode { tag, source })?;
    let out = (0..n).map(|q| if q == me { Vec::new() } else { bytes.clone() }).collect();
    let got = peers.exchange(tag, out).map_err(|source| BatchError::Exchange { tag, source })?;
    let mut mine = Some(mine);
    got.iter()
        .enumerate()
        .map(|(q, b)| match mine.take_if(|_| q == me) {
            Some(m) => Ok(m),
            None => from_bytes(b).map_err(|e| decode_error(tag, q, e.to_string())),
        })
        .collect()
}

/// Deals the driver's `records` over the processes: process `q` of `n` gets the `q`-th of `n`
/// contiguous chunks of nearly equal length (the first `len % n` one record longer), so a
/// source the driver alone reads (a receiver) is processed everywhere. Every process calls it
/// for the same tag; only process 0's `records` count (the others pass nothing). In one
/// process, `records` as they are. Order within a chunk is kept.
pub(crate) fn scatter<T: Persist + Send>(
    records: Vec<T>,
    ex: &Exchanges,
    t: Time,
    env: &Env,
) -> Result<Vec<T>, BatchError> {
    let Some(peers) = &env.peers else {
        return Ok(records);
    };
    let (me, n) = (peers.process(), peers.processes().max(1));
    let tag = ex.tag(t);
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); n];
    let mut kept = Vec::new();
    if me == 0 {
        let mut chunks = chunks(records, n).into_iter();
        kept = chunks.next().unwrap_or_default();
        for (slot, chunk) in out.iter_mut().skip(1).zip(chunks) {
            *slot = to_bytes(&chunk).map_err(|source| BatchError::Encode { tag, source })?;
        }
    }
    let got = peers.exchange(tag, out).map_err(|source| BatchError::Exchange { tag, source })?;
    if me == 0 {
        return Ok(kept);
    }
    let bytes = got.first().map(Vec::as_slice).unwrap_or_default();
    from_bytes(bytes).map_err(|e| decode_error(tag, 0, e.to_string()))
}

/// `records` cut into `n` contiguous chunks whose lengths differ by at most one, the longer
/// first.
fn chunks<T>(records: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let n = n.max(1);
    let (base, extra) = (records.len() / n, records.len() % n);
    let mut rest = records.into_iter();
    (0..n).map(|q| rest.by_ref().take(base + usize::from(q < extra)).collect()).collect()
}

/// Sends `mine` to process 0. There, returns what every process sent, in process order;
/// elsewhere `None`. In one process, `Some([mine])`.
pub(crate) fn gather<T: Persist + Send>(
    mine: T,
    ex: &Exchanges,
    t: Time,
    env: &Env,
) -> Result<Option<Vec<T>>, BatchError> {
    let Some(peers) = &env.peers else {
        return Ok(Some(vec![mine]));
    };
    let (me, n) = (peers.process(), peers.processes());
    let tag = ex.tag(t);
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); n];
    let mut kept = None;
    if me == 0 {
        kept = Some(mine);
    } else {
        out[0] = to_bytes(&mine).map_err(|source| BatchError::Encode { tag, source })?;
    }
    let got = peers.exchange(tag, out).map_err(|source| BatchError::Exchange { tag, source })?;
    let Some(own) = kept else {
        return Ok(None);
    };
    let mut all = Vec::with_capacity(n);
    let mut own = Some(own);
    for (q, bytes) in got.iter().enumerate() {
        match own.take_if(|_| q == 0) {
            Some(m) => all.push(m),
            None => all.push(from_bytes(bytes).map_err(|e| decode_error(tag, q, e.to_string()))?),
        }
    }
    Ok(Some(all))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cluster::Peers;
    use crate::time::Duration;

    /// Process 0 of two, whose peer answers `answer` to every exchange.
    #[derive(Debug)]
    struct Answers(Vec<u8>);

    impl Peers for Answers {
        fn process(&self) -> usize {
            0
        }
        fn processes(&self) -> usize {
            2
        }
        fn exchange(&self, _: Tag, out: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, PeerError> {
            assert_eq!(out.len(), 2);
            Ok(vec![Vec::new(), self.0.clone()])
        }
    }

    #[test]
    fn every_group_has_exactly_one_owner_whose_range_holds_it() {
        for n in 1..9 {
            let mut owners = vec![Vec::new(); KEY_GROUPS];
            for q in 0..n {
                for g in groups_of(q, n) {
                    owners[g].push(q);
                }
                // Nearly equal shares: 256 / n, rounded up or down.
                assert!(groups_of(q, n).len().abs_diff(KEY_GROUPS / n) <= 1, "{n}");
            }
            for (g, o) in owners.iter().enumerate() {
                assert_eq!(o, &[group_owner(g, n)], "group {g} of {n} processes");
            }
        }
        assert_eq!(groups_of(1, 3), 86..171);
        assert_eq!(groups_of(300, 512), 150..151);
    }

    #[test]
    fn a_keys_group_is_fixed() {
        // The engine's hash (foldhash, fixed seed) must not change under a checkpoint: these
        // values pin it, and with it the group every key of a cluster's state lives in.
        let groups: Vec<usize> = ["spark", "sluice", "a", ""].iter().map(|k| key_group(hash_of(k))).collect();
        assert_eq!(groups, [32, 76, 240, 155]);
        assert_eq!(key_group(hash_of(&String::from("spark"))), groups[0]);
        assert_eq!(key_group(hash_of(&crate::Str::from("spark"))), groups[0]);
    }

    #[test]
    fn key_groups_spread_short_keys_and_small_integers_evenly() {
        // The cases where weak hash bits would crowd a few groups, hence a few processes.
        for n in [2, 3, 4, 8] {
            let mut load = vec![0_usize; n];
            for i in 0..8192_u32 {
                load[group_owner(key_group(hash_of(&format!("w{i:04}"))), n)] += 1;
                load[group_owner(key_group(hash_of(&i)), n)] += 1;
                load[group_owner(key_group(hash_of(&u64::from(i))), n)] += 1;
            }
            let even = 3 * 8192 / n;
            assert!(load.iter().all(|&l| l > even * 85 / 100 && l < even * 115 / 100), "{n} processes: {load:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_key_lives_in_its_owners_groups_whatever_the_partitions(h: u64, n in 2usize..9, p in 1usize..9, before in 1usize..9) {
            let g = key_group(h);
            let owner = group_owner(g, n);
            proptest::prop_assert!(groups_of(owner, n).contains(&g));
            let place = Placement { process: owner, processes: n, local: p };
            proptest::prop_assert_eq!(place.owner_of(h), owner);
            let local = place.local_of(h);
            proptest::prop_assert!(local.is_some());
            // Its local partition holds whole groups, its own among them.
            proptest::prop_assert!(groups_of_part(owner, n, p, local.unwrap()).unwrap().contains(&g));
            for other in (0..n).filter(|&q| q != owner) {
                proptest::prop_assert_eq!(Placement { process: other, ..place }.local_of(h), None);
            }
            // After a restart with `n` processes, the key's new owner reads its old owner's file.
            let old = if before == 1 { 0 } else { group_owner(g, before) };
            proptest::prop_assert!(overlapping(owner, n, before).contains(&old));
        }

        #[test]
        fn one_process_places_keys_by_the_hash_alone(h: u64, p in 1usize..9) {
            let place = Placement { process: 0, processes: 1, local: p };
            proptest::prop_assert_eq!(place.local_of(h), Some(partition_of(h, p)));
        }
    }

    #[test]
    fn overlapping_ranges_cover_the_old_processes_once_in_order() {
        for now in 2..9 {
            for before in 1..9 {
                let ranges: Vec<_> = (0..now).map(|i| overlapping(i, now, before)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[now - 1].end, before);
                for w in ranges.windows(2) {
                    // Neighbours share at most the old process at their border.
                    assert!(w[1].start + 1 >= w[0].end && w[1].start <= w[0].end, "{now} {before} {ranges:?}");
                }
            }
        }
        assert_eq!(overlapping(0, 2, 4), 0..2);
        assert_eq!(overlapping(1, 2, 4), 2..4);
        assert_eq!(overlapping(0, 2, 3), 0..2);
        assert_eq!(overlapping(1, 2, 3), 1..3);
    }

    fn env(peers: Option<Arc<dyn Peers>>) -> Env {
        Env { zero: Time::from_millis(0), batch: Duration::seconds(1), parallelism: 2, peers }
    }

    fn exchanges() -> Exchanges {
        Exchanges { op: 7, rounds: Mutex::new(Vec::new()) }
    }

    #[test]
    fn rounds_count_the_exchanges_of_an_operation_at_each_time() {
        let ex = exchanges();
        let (t1, t2) = (Time::from_millis(1000), Time::from_millis(2000));
        let rounds: Vec<u32> = [t1, t1, t2, t1, t2].iter().map(|&t| ex.tag(t).round).collect();
        assert_eq!(rounds, [0, 1, 0, 2, 1]);
        assert_eq!(ex.tag(t2), Tag { time: t2, op: 7, round: 2 });
    }

    #[test]
    fn one_process_transposes_and_a_cluster_keeps_its_partitions_and_receives_the_others() {
        // Two maps, four global partitions (2 processes x 2).
        let maps = vec![vec![vec![1u32], vec![2], vec![3], vec![4]], vec![vec![5], vec![6], vec![7], vec![8]]];
        let single = columns(maps.clone(), 4, &exchanges(), Time::from_millis(1000), &env(None)).unwrap();
        assert_eq!(
            single,
            vec![vec![vec![1], vec![5]], vec![vec![2], vec![6]], vec![vec![3], vec![7]], vec![vec![4], vec![8]]]
        );
        // The peer's one map sends [10] and [20] for this process's two partitions.
        let from_peer = to_bytes(&vec![vec![vec![10u32], vec![20u32]]]).unwrap();
        let cluster = env(Some(Arc::new(Answers(from_peer))));
        let cols = columns(maps, 2, &exchanges(), Time::from_millis(1000), &cluster).unwrap();
        assert_eq!(cols, vec![vec![vec![1], vec![5], vec![10]], vec![vec![2], vec![6], vec![20]]]);
    }

    #[test]
    fn what_cannot_be_decoded_is_a_typed_exchange_error() {
        let maps = vec![vec![vec![1u32], vec![2], vec![3], vec![4]]];
        for bad in [vec![0xff, 0xff, 0xff], to_bytes(&vec![vec![vec![1u32]]]).unwrap()] {
            let cluster = env(Some(Arc::new(Answers(bad))));
            let err = columns(maps.clone(), 2, &exchanges(), Time::from_millis(1000), &cluster).unwrap_err();
            let BatchError::Exchange { tag, source: PeerError::Decode { process, .. } } = &err else {
                panic!("{err:?}");
            };
            assert_eq!((tag.op, *process), (7, 1));
            assert!(std::error::Error::source(&err).is_some());
        }
    }

    #[test]
    fn chunks_are_contiguous_and_differ_by_at_most_one() {
        assert_eq!(chunks((0..7).collect::<Vec<u32>>(), 3), vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]);
        assert_eq!(chunks(vec![1u32], 3), vec![vec![1], vec![], vec![]]);
        assert_eq!(chunks(Vec::<u32>::new(), 2), vec![Vec::<u32>::new(), vec![]]);
    }

    #[test]
    fn a_scatter_deals_the_drivers_records_over_every_process_once() {
        let peers = crate::cluster::MemoryPeers::cluster(3);
        let got: Vec<Vec<u32>> = std::thread::scope(|scope| {
            let handles: Vec<_> = peers
                .into_iter()
                .map(|p| {
                    scope.spawn(move || {
                        let mine = if p.process() == 0 { (0..10).collect() } else { vec![99] };
                        scatter(mine, &exchanges(), Time::from_millis(1000), &env(Some(p as Arc<dyn Peers>))).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(got, vec![vec![0, 1, 2, 3], vec![4, 5, 6], vec![7, 8, 9]]);
        assert_eq!(scatter(vec![1u32, 2], &exchanges(), Time::from_millis(0), &env(None)).unwrap(), vec![1, 2]);
    }

    #[test]
    fn gathers_reach_process_zero_in_process_order() {
        let cluster = env(Some(Arc::new(Answers(to_bytes(&5u64).unwrap()))));
        let got = gather(3u64, &exchanges(), Time::from_millis(1000), &cluster).unwrap();
        assert_eq!(got, Some(vec![3, 5]));
        assert_eq!(all_gather(3u64, &exchanges(), Time::from_millis(1000), &cluster).unwrap(), vec![3, 5]);
        assert_eq!(gather(3u64, &exchanges(), Time::from_millis(1000), &env(None)).unwrap(), Some(vec![3]));
    }
}
