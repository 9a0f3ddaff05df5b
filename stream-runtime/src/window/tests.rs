use std::cell::Cell;
use std::collections::VecDeque;

use proptest::prelude::*;

use super::column::{Column, Pool};
use super::daba::Daba;
use super::keyed::{KeyedColumns, CHUNK};
use crate::checkpoint::codec::{to_bytes, CodecError};
use crate::time::Time;

/// One operation on a queue of columns.
#[derive(Debug, Clone)]
enum Op {
    /// A column: per slot, a value or none.
    Push(Vec<Option<u8>>),
    Pop,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    // Pushes twice as likely as pops, so queues grow long enough to flip many times.
    let column = prop::collection::vec(prop::option::of(any::<u8>()), 0..5);
    prop::collection::vec(prop_oneof![2 => column.prop_map(Op::Push), 1 => Just(Op::Pop)], 0..400)
}

/// `x ⊕ y` slot by slot, `None` the identity: what a column's slot should hold.
fn fold_slots<V: Clone>(cols: &VecDeque<Vec<Option<V>>>, f: &impl Fn(V, V) -> V) -> Vec<Option<V>> {
    let width = cols.iter().map(Vec::len).max().unwrap_or(0);
    (0..width).map(|s| cols.iter().filter_map(|c| c.get(s).cloned().flatten()).reduce(f)).collect()
}

/// A column's slots up to its last value (a missing tail and `None`s are the same).
fn trimmed<V>(mut col: Column<V>) -> Column<V> {
    while col.last().is_some_and(Option::is_none) {
        col.pop();
    }
    col
}

/// Runs `ops` on a DABA queue of columns and on a plain queue folded from scratch slot by
/// slot, comparing the aggregates after every operation.
fn check<V: Clone + PartialEq + std::fmt::Debug>(ops: &[Op], lift: impl Fn(u8) -> V, f: impl Fn(V, V) -> V) {
    let mut q = Daba::new();
    let mut pool = Pool::new();
    let mut naive: VecDeque<Vec<Option<V>>> = VecDeque::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Push(col) => {
                let col: Vec<Option<V>> = col.iter().map(|x| x.map(&lift)).collect();
                q.push(col.clone(), &f, &mut pool);
                naive.push_back(col);
            }
            Op::Pop => {
                q.pop(&f, &mut pool);
                naive.pop_front();
            }
        }
        assert_eq!(q.len(), naive.len());
        assert_eq!(q.is_empty(), naive.is_empty());
        let expected = (!naive.is_empty()).then(|| trimmed(fold_slots(&naive, &f)));
        assert_eq!(q.query(&f, &mut pool).map(trimmed), expected, "after op {i} ({op:?})");
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
}

#[test]
fn daba_makes_a_bounded_number_of_column_passes_per_operation() {
    // The point of DABA over Two-Stacks: no O(window) flip on any single pop. With one-slot
    // columns, a call of `f` is a column pass.
    let calls = Cell::new(0u32);
    let f = |a: u64, b: u64| {
        calls.set(calls.get() + 1);
        a + b
    };
    let mut q = Daba::new();
    let mut pool = Pool::new();
    for window in [1usize, 7, 64, 1000] {
        for i in 0..5 * window as u64 {
            calls.set(0);
            q.push(vec![Some(i)], &f, &mut pool);
            assert!(calls.get() <= 3, "push made {} passes", calls.get());
            if q.len() > window {
                calls.set(0);
                q.pop(&f, &mut pool);
                assert!(calls.get() <= 2, "pop made {} passes", calls.get());
            }
            calls.set(0);
            let sum = q.query(&f, &mut pool);
            assert!(calls.get() <= 1);
            let lo = (i + 1).saturating_sub(q.len() as u64);
            assert_eq!(sum, Some(vec![Some((lo..=i).sum::<u64>())]));
        }
        while !q.is_empty() {
            q.pop(&f, &mut pool);
        }
        assert_eq!(q.query(&f, &mut pool), None);
    }
}

#[test]
fn keyed_columns_call_f_a_bounded_number_of_times_per_slide() {
    // One key in every batch: a slide (push, evict, emit) calls `f` a bounded number of
    // times, bounded by the chunk and not the window, and under 5 times on average.
    let calls = Cell::new(0u32);
    let f = |a: u64, b: u64| {
        calls.set(calls.get() + 1);
        a + b
    };
    for window in [1i64, 7, 8, 9, 64, 1000] {
        let mut q = KeyedColumns::new();
        let (mut total, mut slides) = (0u64, 0u64);
        for t in 1..=5 * window {
            calls.set(0);
            q.push(Time::from_millis(t), vec![(0u8, t as u64)], &f);
            q.evict(Time::from_millis(t - window), &f);
            let out = q.aggregates(&f);
            assert!(calls.get() as usize <= 2 * CHUNK + 10, "a slide called f {} times", calls.get());
            total += u64::from(calls.get());
            slides += 1;
            let lo = (t - window + 1).max(1) as u64;
            assert_eq!(out, vec![(0, (lo..=t as u64).sum::<u64>())]);
        }
        assert!(total < 5 * slides, "{total} calls for {slides} slides (window {window})");
    }
}

/// One batch for keyed columns: `(key, value)` records, keys drawn from a few (a key may
/// come twice), and how many of the oldest batches to evict after it.
fn keyed_batches() -> impl Strategy<Value = Vec<(Vec<(u8, u8)>, usize)>> {
    let batch = prop::collection::vec((0u8..12, any::<u8>()), 0..8);
    // Evictions a little rarer than batches, so the window drifts past a few chunks.
    let evict = prop_oneof![3 => Just(0usize), 2 => Just(1), 1 => Just(3)];
    prop::collection::vec((batch, evict), 0..120)
}

/// Runs `batches` through keyed columns and through per-key plain queues of `(time, value)`
/// folded from scratch, comparing every key's aggregate after every step, and round-tripping
/// the columns through the checkpoint form (and through their batches) mid-way.
fn check_keyed(batches: &[(Vec<(u8, u8)>, usize)], f: impl Fn(String, String) -> String) {
    use std::collections::BTreeMap;

    let mut q: KeyedColumns<u8, String> = KeyedColumns::new();
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
            q = KeyedColumns::from_checkpoint(&bytes, &f).unwrap();
        }
        if i == batches.len() / 3 {
            q = KeyedColumns::from_batches(q.into_batches(), &f).unwrap();
        }
        let mut got = q.aggregates(&f);
        got.sort();
        let expected: Vec<(u8, String)> =
            naive.iter().map(|(&k, vs)| (k, vs.iter().map(|(_, v)| v.clone()).reduce(&f).unwrap())).collect();
        assert_eq!(got, expected, "after batch {i}");
        assert_eq!(q.len(), naive.len());
        // A freed slot is reused: never more slots than keys seen at once.
        assert!(q.ring().items().iter().all(|&s| (s as usize) < 12), "slots beyond the key count");
    }
}

proptest! {
    #[test]
    fn keyed_columns_match_the_fold_per_key(batches in keyed_batches()) {
        // Concatenation: associative, not commutative, so an order mistake shows.
        check_keyed(&batches, |a, b| a + "," + &b);
    }
}

#[test]
fn keyed_columns_refuse_earlier_forms_and_disordered_batches() {
    let f = |a: u64, b: u64| a + b;
    let ring = VecDeque::from([(Time::from_millis(1), vec![7u8])]);
    // What the window wrote before the chunked queues: the keys' DABA queues (values and
    // four indices, `mid`, `back`) and the ring, untagged.
    let daba = (VecDeque::from([1u64]), 1usize, 1usize, 1usize, 1usize, None::<u64>, None::<u64>);
    let old = to_bytes(&(vec![(7u8, daba)], ring.clone())).unwrap();
    match KeyedColumns::<u8, u64>::from_checkpoint(&old, &f) {
        Err(CodecError::Inconsistent(why)) => assert!(why.contains("per-key DABA"), "{why}"),
        other => panic!("the untagged form was not refused: {other:?}"),
    }
    // The per-key chunked queues, tagged (0xFF, 2).
    let chunked = to_bytes(&((0xFFu8, 2u8), Vec::<(u8, Vec<u64>)>::new(), ring.clone())).unwrap();
    match KeyedColumns::<u8, u64>::from_checkpoint(&chunked, &f) {
        Err(CodecError::Inconsistent(why)) => assert!(why.contains("chunked"), "{why}"),
        other => panic!("the chunked form was not refused: {other:?}"),
    }
    let unknown = to_bytes(&((0xFFu8, 9u8), ring.clone())).unwrap();
    assert!(matches!(KeyedColumns::<u8, u64>::from_checkpoint(&unknown, &f), Err(CodecError::Inconsistent(_))));
    assert!(KeyedColumns::<u8, u64>::from_checkpoint(&[], &f).is_err());
    assert!(KeyedColumns::<u8, u64>::from_checkpoint(&[0xFF, 3], &f).is_err());
    // The current form round-trips; batches out of time order are refused.
    let mut q = KeyedColumns::new();
    q.push(Time::from_millis(1), vec![(7u8, 5u64)], &f);
    q.push(Time::from_millis(2), vec![(7u8, 6u64), (8, 1)], &f);
    let back = KeyedColumns::<u8, u64>::from_checkpoint(&q.to_checkpoint().unwrap(), &f).unwrap();
    assert_eq!(back.aggregates(&f), vec![(7, 11), (8, 1)]);
    let disordered = VecDeque::from([(Time::from_millis(2), vec![(7u8, 1u64)]), (Time::from_millis(1), vec![])]);
    assert!(KeyedColumns::from_batches(disordered, &f).is_err());
    let twice = to_bytes(&((0xFFu8, 3u8), VecDeque::from(vec![(Time::from_millis(1), vec![(7u8, 1u64)]); 2]))).unwrap();
    assert!(KeyedColumns::<u8, u64>::from_checkpoint(&twice, &f).is_err());
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
