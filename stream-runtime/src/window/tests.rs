use std::cell::Cell;
use std::collections::VecDeque;

use proptest::prelude::*;

use super::chunked::{Chunked, CHUNK};
use super::daba::Daba;

/// One operation on a window queue.
#[derive(Debug, Clone)]
enum Op {
    Push(u8),
    Pop,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Pushes twice as likely as pops, so queues grow long enough to flip many times.
    prop::collection::vec(prop_oneof![2 => any::<u8>().prop_map(Op::Push), 1 => Just(Op::Pop)], 0..600)
}

/// The queues under test: DABA Lite, and the chunked queue built on it.
trait Queue<V>: Sized {
    fn new() -> Self;
    fn push(&mut self, v: V, f: &impl Fn(V, V) -> V);
    fn pop(&mut self, f: &impl Fn(V, V) -> V);
    fn query(&self, f: &impl Fn(V, V) -> V) -> Option<V>;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
}

macro_rules! queue {
    ($t:ident) => {
        impl<V: Clone> Queue<V> for $t<V> {
            fn new() -> Self {
                $t::new()
            }
            fn push(&mut self, v: V, f: &impl Fn(V, V) -> V) {
                $t::push(self, v, f)
            }
            fn pop(&mut self, f: &impl Fn(V, V) -> V) {
                $t::pop(self, f)
            }
            fn query(&self, f: &impl Fn(V, V) -> V) -> Option<V> {
                $t::query(self, f)
            }
            fn len(&self) -> usize {
                $t::len(self)
            }
            fn is_empty(&self) -> bool {
                $t::is_empty(self)
            }
        }
    };
}
queue!(Daba);
queue!(Chunked);

/// Runs `ops` on both queues and on a plain queue folded from scratch, comparing the
/// aggregates after every operation.
fn check<V: Clone + PartialEq + std::fmt::Debug>(ops: &[Op], lift: impl Fn(u8) -> V, f: impl Fn(V, V) -> V) {
    check_queue::<Daba<V>, V>(ops, &lift, &f);
    check_queue::<Chunked<V>, V>(ops, &lift, &f);
}

fn check_queue<Q: Queue<V>, V: Clone + PartialEq + std::fmt::Debug>(
    ops: &[Op],
    lift: impl Fn(u8) -> V,
    f: impl Fn(V, V) -> V,
) {
    let mut q = Q::new();
    let mut naive: VecDeque<V> = VecDeque::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Push(x) => {
                q.push(lift(*x), &f);
                naive.push_back(lift(*x));
            }
            Op::Pop => {
                q.pop(&f);
                naive.pop_front();
            }
        }
        assert_eq!(q.len(), naive.len());
        assert_eq!(q.is_empty(), naive.is_empty());
        let expected = naive.iter().cloned().reduce(&f);
        assert_eq!(q.query(&f), expected, "after op {i} ({op:?})");
    }
}

proptest! {
    #[test]
    fn daba_matches_the_fold_for_a_non_commutative_op(ops in ops()) {
        // Concatenation is associative but not commutative: any order mistake shows.
        check(&ops, |x| format!("{x},"), |a: String, b: String| a + &b);
    }

    #[test]
    fn daba_matches_the_fold_for_an_affine_composition(ops in ops()) {
        // Composing x -> m*x + c maps (mod 2^64): associative, not commutative, no identity
        // needed by the queue.
        let compose = |(m1, c1): (u64, u64), (m2, c2): (u64, u64)| {
            (m1.wrapping_mul(m2), c1.wrapping_mul(m2).wrapping_add(c2))
        };
        check(&ops, |x| (u64::from(x) | 1, u64::from(x) * 7), compose);
    }

    #[test]
    fn daba_matches_the_fold_for_max_and_sum(ops in ops()) {
        check(&ops, i64::from, |a: i64, b: i64| a.max(b));
        check(&ops, u64::from, |a: u64, b: u64| a + b);
    }

    #[test]
    fn daba_round_trips_through_the_codec_mid_way(ops in ops(), split in 0usize..600) {
        round_trip::<Daba<String>>(&ops, split)?;
        round_trip::<Chunked<String>>(&ops, split)?;
    }
}

/// Runs `ops` on a queue, through the codec after `split` of them, against a plain queue.
fn round_trip<Q>(ops: &[Op], split: usize) -> Result<(), TestCaseError>
where
    Q: Queue<String> + serde::Serialize + serde::Deserialize<'static>,
{
    let f = |a: String, b: String| a + &b;
    let (before, after) = ops.split_at(split.min(ops.len()));
    let mut q = Q::new();
    let mut naive: VecDeque<String> = VecDeque::new();
    let apply = |q: &mut Q, naive: &mut VecDeque<String>, op: &Op| match op {
        Op::Push(x) => {
            q.push(x.to_string(), &f);
            naive.push_back(x.to_string());
        }
        Op::Pop => {
            q.pop(&f);
            naive.pop_front();
        }
    };
    for op in before {
        apply(&mut q, &mut naive, op);
    }
    let bytes = crate::checkpoint::codec::to_bytes(&q).unwrap();
    let mut q: Q = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
    for op in after {
        apply(&mut q, &mut naive, op);
        prop_assert_eq!(q.query(&f), naive.iter().cloned().reduce(f));
    }
    Ok(())
}

#[test]
fn daba_calls_f_a_bounded_number_of_times_per_operation() {
    // The point of DABA over Two-Stacks: no O(window) flip on any single pop.
    let calls = Cell::new(0u32);
    let f = |a: u64, b: u64| {
        calls.set(calls.get() + 1);
        a + b
    };
    let mut q = Daba::new();
    for window in [1usize, 7, 64, 1000] {
        for i in 0..5 * window as u64 {
            calls.set(0);
            q.push(i, &f);
            assert!(calls.get() <= 3, "push called f {} times", calls.get());
            if q.len() > window {
                calls.set(0);
                q.pop(&f);
                assert!(calls.get() <= 2, "pop called f {} times", calls.get());
            }
            calls.set(0);
            let sum = q.query(&f);
            assert!(calls.get() <= 1);
            let lo = (i + 1).saturating_sub(q.len() as u64);
            assert_eq!(sum, Some((lo..=i).sum::<u64>()));
        }
        while !q.is_empty() {
            q.pop(&f);
        }
        assert_eq!(q.query(&f), None);
    }
}

#[test]
fn chunked_calls_f_a_bounded_number_of_times_per_operation() {
    // Worst case bounded by the chunk, not the window: at most 5 calls per push, CHUNK + 2
    // per pop (the one that ends a chunk), 2 per query; and fewer than 2 per operation over
    // a long run.
    let calls = Cell::new(0u32);
    let f = |a: u64, b: u64| {
        calls.set(calls.get() + 1);
        a + b
    };
    let mut q = Chunked::new();
    for window in [1usize, 7, 8, 9, 64, 1000] {
        let (mut total, mut ops) = (0u64, 0u64);
        for i in 0..5 * window as u64 {
            calls.set(0);
            q.push(i, &f);
            assert!(calls.get() <= 5, "push called f {} times", calls.get());
            total += u64::from(calls.get());
            ops += 1;
            if q.len() > window {
                calls.set(0);
                q.pop(&f);
                assert!(calls.get() as usize <= CHUNK + 2, "pop called f {} times", calls.get());
                total += u64::from(calls.get());
                ops += 1;
            }
            calls.set(0);
            let sum = q.query(&f);
            assert!(calls.get() <= 2);
            let lo = (i + 1).saturating_sub(q.len() as u64);
            assert_eq!(sum, Some((lo..=i).sum::<u64>()));
        }
        assert!(total < 2 * ops, "{total} calls for {ops} operations (window {window})");
        while !q.is_empty() {
            q.pop(&f);
        }
        assert_eq!(q.query(&f), None);
    }
}

#[test]
fn chunked_refuses_damaged_parts_and_accepts_its_own() {
    let f = |a: u64, b: u64| a + b;
    let mut q = Chunked::new();
    for v in 0..20u64 {
        q.push(v, &f);
        assert!(q.is_consistent());
    }
    let bytes = crate::checkpoint::codec::to_bytes(&q).unwrap();
    let good: Chunked<u64> = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
    assert!(good.is_consistent());
    assert_eq!(good.query(&f), Some((0..20).sum()));
    // The fields in their order (front, back, back_agg, middle, q, chunks), with a whole
    // chunk left in the back.
    let full_back =
        (vec![0u64], vec![1u64; CHUNK], Some(CHUNK as u64), None::<u64>, VecDeque::<u64>::new(), Daba::<u64>::new());
    let bytes = crate::checkpoint::codec::to_bytes(&full_back).unwrap();
    let damaged: Chunked<u64> = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
    assert!(!damaged.is_consistent());
}

#[test]
fn both_queues_empty_cleanly_and_pop_on_empty_is_a_no_op() {
    empties::<Daba<i64>>();
    empties::<Chunked<i64>>();
}

fn empties<Q: Queue<i64>>() {
    let f = |a: i64, b: i64| a.max(b);
    let mut q = Q::new();
    for v in [3, 1, 2] {
        q.push(v, &f);
    }
    assert_eq!(q.query(&f), Some(3));
    q.pop(&f);
    assert_eq!(q.query(&f), Some(2));
    q.pop(&f);
    q.pop(&f);
    assert!(q.is_empty());
    assert_eq!(q.query(&f), None);
    q.pop(&f);
    assert!(q.is_empty());
    q.push(5, &f);
    assert_eq!(q.query(&f), Some(5));
}

/// One batch for keyed queues: `(key, value)` records, distinct keys, and how many of the
/// oldest batches to evict after it.
fn keyed_batches() -> impl Strategy<Value = Vec<(Vec<(u8, u8)>, usize)>> {
    let batch = prop::collection::btree_map(0u8..12, any::<u8>(), 0..8).prop_map(|m| m.into_iter().collect());
    prop::collection::vec((batch, 0usize..3), 0..120)
}

/// Runs `batches` through keyed queues and through per-key plain queues of
/// `(time, value)` folded from scratch, comparing every key's aggregate after every step, and
/// round-tripping the queues through the checkpoint form half way.
fn check_keyed(batches: &[(Vec<(u8, u8)>, usize)], f: impl Fn(String, String) -> String) {
    use std::collections::BTreeMap;

    use super::keyed::KeyedQueues;
    use crate::time::Time;

    let mut q: KeyedQueues<u8, String> = KeyedQueues::new();
    let mut naive: BTreeMap<u8, VecDeque<(i64, String)>> = BTreeMap::new();
    let mut oldest = 1i64;
    for (i, (records, evict)) in batches.iter().enumerate() {
        let t = i as i64 + 1;
        q.push(Time::from_millis(t), records.iter().map(|&(k, v)| (k, v.to_string())).collect(), &f);
        for &(k, v) in records {
            naive.entry(k).or_default().push_back((t, v.to_string()));
        }
        // Evict `evict` more batches, oldest first.
        let cutoff = (oldest - 1 + *evict as i64).min(t);
        q.evict(Time::from_millis(cutoff), &f);
        for values in naive.values_mut() {
            while values.front().is_some_and(|(at, _)| *at <= cutoff) {
                values.pop_front();
            }
        }
        naive.retain(|_, values| !values.is_empty());
        oldest = oldest.max(cutoff + 1);
        if i == batches.len() / 2 {
            let bytes = q.to_checkpoint().unwrap();
            q = KeyedQueues::from_checkpoint(&bytes).unwrap();
        }
        let mut got = q.aggregates(&f);
        got.sort();
        let expected: Vec<(u8, String)> =
            naive.iter().map(|(&k, vs)| (k, vs.iter().map(|(_, v)| v.clone()).reduce(&f).unwrap())).collect();
        assert_eq!(got, expected, "after batch {i}");
        assert_eq!(q.len(), naive.len());
    }
}

proptest! {
    #[test]
    fn keyed_queues_match_the_fold_per_key(batches in keyed_batches()) {
        // Concatenation: associative, not commutative, so an order mistake shows.
        check_keyed(&batches, |a, b| a + "," + &b);
    }
}

#[test]
fn keyed_queues_reject_a_state_whose_batches_and_queues_disagree() {
    use super::keyed::KeyedQueues;
    use crate::time::Time;

    let f = |a: u64, b: u64| a + b;
    let mut q = Chunked::new();
    q.push(1u64, &f);
    q.push(2u64, &f);
    // Key 7 has two values but one batch names it; another batch names a key with none.
    let once = VecDeque::from([(Time::from_millis(1), vec![7u8])]);
    assert!(KeyedQueues::from_keyed(vec![(7u8, q.clone())], once).is_err());
    let stranger = VecDeque::from([(Time::from_millis(1), vec![7u8, 8]), (Time::from_millis(2), vec![7])]);
    assert!(KeyedQueues::from_keyed(vec![(7u8, q.clone())], stranger).is_err());
    let right = VecDeque::from([(Time::from_millis(1), vec![7u8]), (Time::from_millis(2), vec![7])]);
    let keyed = KeyedQueues::from_keyed(vec![(7u8, q)], right).unwrap();
    assert_eq!(keyed.aggregates(&f), vec![(7, 3)]);
}

#[test]
fn keyed_queues_refuse_the_earlier_daba_form_and_damaged_queues() {
    use super::keyed::KeyedQueues;
    use crate::checkpoint::codec::{to_bytes, CodecError};
    use crate::time::Time;

    let f = |a: u64, b: u64| a + b;
    let mut daba = Daba::new();
    daba.push(1u64, &f);
    let ring = VecDeque::from([(Time::from_millis(1), vec![7u8])]);
    // What the window wrote before the chunked queues: the keys' DABA queues and the ring,
    // untagged.
    let old = to_bytes(&(vec![(7u8, daba)], ring.clone())).unwrap();
    match KeyedQueues::<u8, u64>::from_checkpoint(&old) {
        Err(CodecError::Inconsistent(why)) => assert!(why.contains("earlier release"), "{why}"),
        other => panic!("the earlier form was not refused: {other:?}"),
    }
    // The current form round-trips; a queue whose parts disagree is refused.
    let mut q = KeyedQueues::new();
    q.push(Time::from_millis(1), vec![(7u8, 5u64)], &f);
    let back = KeyedQueues::<u8, u64>::from_checkpoint(&q.to_checkpoint().unwrap()).unwrap();
    assert_eq!(back.aggregates(&f), vec![(7, 5)]);
    // A value in the back with an empty front (the fields in their order).
    let no_front = (Vec::<u64>::new(), vec![5u64], Some(5u64), None::<u64>, VecDeque::<u64>::new(), Daba::<u64>::new());
    let bytes = to_bytes(&no_front).unwrap();
    let damaged: Chunked<u64> = crate::checkpoint::codec::from_bytes(&bytes).unwrap();
    assert!(KeyedQueues::from_keyed(vec![(7u8, damaged)], ring).is_err());
}

/// A key whose hash is one of four values: most lookups in a [`Dense`](super::dense::Dense)
/// index meet other keys of their tag, and the runs that removals close are long.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Crowded(u8);

impl std::hash::Hash for Crowded {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.0 % 4).hash(h);
    }
}

/// Runs `batches` through dense window values (`+`, `-` and, when `filtered`, the filter
/// "not zero", as the invertible window does) and through a `BTreeMap` of each key's value and batch count,
/// comparing what they emit and every key's position after every step.
fn check_dense<K: crate::data::Key + Ord + std::fmt::Debug>(
    batches: &[(Vec<(u8, u8)>, usize)],
    key: impl Fn(u8) -> K,
    filtered: bool,
) {
    use std::collections::BTreeMap;

    use super::dense::Dense;

    let (f, inv) = (|a: i64, b: i64| a + b, |a: i64, b: i64| a - b);
    let keep = |(_, v): (&K, &i64)| !filtered || *v != 0;
    let mut dense: Dense<K, i64> = Dense::new();
    let mut ring: VecDeque<Vec<(u32, i64)>> = VecDeque::new();
    let mut naive: BTreeMap<K, (i64, u32)> = BTreeMap::new();
    let mut held: VecDeque<Vec<(K, i64)>> = VecDeque::new();
    for (i, (records, evict)) in batches.iter().enumerate() {
        let records: Vec<(K, i64)> = records.iter().map(|&(k, v)| (key(k), i64::from(v))).collect();
        let mut items = Vec::new();
        dense.add_all(records.clone(), &f, |at, v| items.push((at, v)));
        ring.push_back(items);
        for (k, v) in &records {
            let e = naive.entry(k.clone()).or_insert((0, 0));
            *e = (e.0 + v, e.1 + 1);
        }
        held.push_back(records);
        for _ in 0..(*evict).min(ring.len()) {
            dense.take_out_all(&ring.pop_front().unwrap(), &inv, &keep);
            for (k, v) in held.pop_front().unwrap() {
                let e = naive.get_mut(&k).unwrap();
                *e = (e.0 - v, e.1 - 1);
                if e.1 == 0 && !keep((&k, &e.0)) {
                    naive.remove(&k);
                }
            }
        }
        let mut got = dense.emit(&keep);
        got.sort();
        let expected: Vec<(K, i64)> =
            naive.iter().filter(|(k, (v, _))| keep((k, v))).map(|(k, (v, _))| (k.clone(), *v)).collect();
        assert_eq!(got, expected, "after batch {i}");
        assert_eq!(dense.len(), naive.len());
        for k in naive.keys() {
            let at = dense.position(k).expect("a held key has a position");
            assert_eq!(dense.key(at), Some(k));
        }
        let mut counts: Vec<(K, u32)> = dense.iter().map(|(k, _, n)| (k.clone(), n)).collect();
        counts.sort();
        assert_eq!(counts, naive.iter().map(|(k, (_, n))| (k.clone(), *n)).collect::<Vec<_>>());
    }
}

proptest! {
    #[test]
    fn dense_window_values_match_a_map_of_values_and_batch_counts(
        batches in keyed_batches(),
        filtered in any::<bool>(),
    ) {
        check_dense(&batches, |k| k, filtered);
        check_dense(&batches, |k| format!("{k}"), filtered);
        check_dense(&batches, Crowded, filtered);
    }
}
