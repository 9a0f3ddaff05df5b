//! Partition counts and partitioners on every keyed operation (issue 17): whatever the count or
//! the partitioner, every operation's output equals the default's (only where keys go
//! changes), and a count is the number of partitions the batches have. The iterator form of
//! `update_state_by_key` against a from-scratch oracle.

use std::collections::BTreeMap;

use proptest::prelude::*;
use stream_runtime::testing::{run, run2};
use stream_runtime::{Duration, HashPartitioner, Partitioner};

use crate::sorted;

type Rows = Vec<Vec<(u8, i64)>>;

fn batches() -> impl Strategy<Value = Rows> {
    prop::collection::vec(
        prop_oneof![1 => Just(Vec::new()), 3 => prop::collection::vec((0..12u8, -20..20i64), 0..12)],
        1..=8,
    )
}

/// A user's partitioner: keys scattered by a multiplier, and partitions past the count (the
/// engine takes them modulo the count).
#[derive(Debug, Clone, Copy)]
struct Scatter(usize);

impl Partitioner<u8> for Scatter {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn partition(&self, key: &u8) -> usize {
        *key as usize * 7 + 100
    }
}

/// How an operation is partitioned in a case.
#[derive(Debug, Clone, Copy)]
enum Parts {
    Count(usize),
    Hash(usize),
    Custom(usize),
}

fn parts() -> impl Strategy<Value = Parts> {
    prop_oneof![
        (0..6usize).prop_map(Parts::Count),
        (1..6usize).prop_map(Parts::Hash),
        (1..6usize).prop_map(Parts::Custom)
    ]
}

/// Runs `$op` (an expression of `p`, the partitioner) with the case's partitioning.
macro_rules! with_parts {
    ($parts:expr, |$p:ident| $op:expr) => {
        match $parts {
            Parts::Count(n) => {
                let $p = n;
                $op
            }
            Parts::Hash(n) => {
                let $p = HashPartitioner::new(n);
                $op
            }
            Parts::Custom(n) => {
                let $p = Scatter(n);
                $op
            }
        }
    };
}

fn secs(n: usize) -> Duration {
    Duration::seconds(n as i64)
}

/// Each group's values sorted, each batch sorted.
fn groups<V: Ord, W: Ord>(out: Vec<Vec<(u8, (Vec<V>, Vec<W>))>>) -> Vec<Vec<(u8, (Vec<V>, Vec<W>))>> {
    sorted(
        out.into_iter()
            .map(|b| {
                b.into_iter()
                    .map(|(k, (mut v, mut w))| {
                        v.sort();
                        w.sort();
                        (k, (v, w))
                    })
                    .collect()
            })
            .collect(),
    )
}

fn grouped(out: Vec<Vec<(u8, Vec<i64>)>>) -> Vec<Vec<(u8, Vec<i64>)>> {
    sorted(
        out.into_iter()
            .map(|b| {
                b.into_iter()
                    .map(|(k, mut v)| {
                        v.sort();
                        (k, v)
                    })
                    .collect()
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Per-batch keyed operations: the same output at any partitioning as at the default.
    #[test]
    fn keyed_operations_give_the_same_output_at_any_partitioning(
        input in batches(), other in batches(), parts in parts(), threads in 1..=4usize,
    ) {
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.reduce_by_key_with_partitions(|a, b| a + b, p)))),
            sorted(run(input.clone(), threads, |s| s.reduce_by_key(|a, b| a + b)))
        );
        prop_assert_eq!(
            grouped(run(input.clone(), threads, |s| with_parts!(parts, |p| s.group_by_key_with_partitions(p)))),
            grouped(run(input.clone(), threads, |s| s.group_by_key()))
        );
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.combine_by_key_with_partitions(|v| (v, 1), |c, v| { c.0 += v; c.1 += 1 }, |c, o| { c.0 += o.0; c.1 += o.1 }, p)))),
            sorted(run(input.clone(), threads, |s| s.combine_by_key(|v| (v, 1), |c, v| { c.0 += v; c.1 += 1 }, |c, o| { c.0 += o.0; c.1 += o.1 })))
        );
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.map(|(k, _)| k).count_by_value_with_partitions(p)))),
            sorted(run(input.clone(), threads, |s| s.map(|(k, _)| k).count_by_value()))
        );
        let n = input.len().min(other.len());
        let (a, b) = (input[..n].to_vec(), other[..n].to_vec());
        prop_assert_eq!(
            groups(run2(a.clone(), b.clone(), threads, |x, y| with_parts!(parts, |p| x.cogroup_with_partitions(y, p)))),
            groups(run2(a.clone(), b.clone(), threads, |x, y| x.cogroup(y)))
        );
        prop_assert_eq!(
            sorted(run2(a.clone(), b.clone(), threads, |x, y| with_parts!(parts, |p| x.join_with_partitions(y, p)))),
            sorted(run2(a.clone(), b.clone(), threads, |x, y| x.join(y)))
        );
        prop_assert_eq!(
            sorted(run2(a.clone(), b.clone(), threads, |x, y| with_parts!(parts, |p| x.left_outer_join_with_partitions(y, p)))),
            sorted(run2(a.clone(), b.clone(), threads, |x, y| x.left_outer_join(y)))
        );
        prop_assert_eq!(
            sorted(run2(a.clone(), b.clone(), threads, |x, y| with_parts!(parts, |p| x.right_outer_join_with_partitions(y, p)))),
            sorted(run2(a.clone(), b.clone(), threads, |x, y| x.right_outer_join(y)))
        );
        prop_assert_eq!(
            sorted(run2(a.clone(), b.clone(), threads, |x, y| with_parts!(parts, |p| x.full_outer_join_with_partitions(y, p)))),
            sorted(run2(a, b, threads, |x, y| x.full_outer_join(y)))
        );
    }

    /// Windows and state: the same output at any partitioning as at the default.
    #[test]
    fn windows_and_state_give_the_same_output_at_any_partitioning(
        input in batches(), parts in parts(), threads in 1..=4usize, window in 1..4usize, slide in 1..3usize,
    ) {
        let (w, sl) = (secs(window * slide), secs(slide));
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.reduce_by_key_and_window_with_partitions(|a, b| a + b, w, sl, p)))),
            sorted(run(input.clone(), threads, |s| s.reduce_by_key_and_window(|a, b| a + b, w, sl)))
        );
        prop_assert_eq!(
            grouped(run(input.clone(), threads, |s| with_parts!(parts, |p| s.group_by_key_and_window_with_partitions(w, sl, p)))),
            grouped(run(input.clone(), threads, |s| s.group_by_key_and_window(w, sl)))
        );
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.map(|(k, _)| k).count_by_value_and_window_with_partitions(w, sl, p)))),
            sorted(run(input.clone(), threads, |s| s.map(|(k, _)| k).count_by_value_and_window(w, sl)))
        );
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, w, sl, p, |(_, v)| *v != 0)))),
            sorted(run(input.clone(), threads, |s| s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, w, sl, 0, |(_, v)| *v != 0)))
        );
        let update = |vs: Vec<i64>, s: Option<i64>| Some(vs.iter().sum::<i64>() + s.unwrap_or(0));
        prop_assert_eq!(
            sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.update_state_by_key_with_partitions(update, p)))),
            sorted(run(input.clone(), threads, |s| s.update_state_by_key(update)))
        );
    }

    /// Oracle: the iterator form of `update_state_by_key` is a running sum per key, where a
    /// key whose sum passes 30 is removed (and starts again from its next value), and the
    /// function adds a key of its own (`100`, the number of keys in the partition) — keys it
    /// adds land in their own partition.
    #[test]
    fn update_state_by_key_iter_is_a_running_sum_with_removals(
        input in batches(), parts in parts(), threads in 1..=4usize,
    ) {
        let got = sorted(run(input.clone(), threads, |s| with_parts!(parts, |p| s.update_state_by_key_iter(
            |keys| {
                let mut out: Vec<(u8, i64)> = keys
                    .filter(|(k, _, _)| *k != 100)
                    .map(|(k, vs, s)| (k, vs.iter().sum::<i64>() + s.unwrap_or(0)))
                    .filter(|(_, sum)| *sum <= 30)
                    .collect();
                if !out.is_empty() {
                    out.push((100, 0));
                }
                out
            },
            p,
            vec![(3, 5)],
        ))));
        let mut state: BTreeMap<u8, i64> = BTreeMap::from([(3, 5)]);
        let mut want = Vec::new();
        for batch in &input {
            state.remove(&100);
            for (k, v) in batch {
                *state.entry(*k).or_insert(0) += v;
            }
            state.retain(|_, s| *s <= 30);
            let mut snapshot: Vec<(u8, i64)> = state.iter().map(|(k, s)| (*k, *s)).collect();
            if !snapshot.is_empty() {
                snapshot.push((100, 0));
            }
            want.push(snapshot);
        }
        prop_assert_eq!(got, sorted(want));
    }
}

#[test]
fn a_count_is_the_number_of_partitions_of_each_batch() {
    for threads in crate::THREADS {
        let input = vec![vec![(1u8, 1i64), (2, 2), (3, 3)], vec![]];
        for n in 1..=5 {
            let out = run(input.clone(), threads, |s| s.reduce_by_key_with_partitions(|a, b| a + b, n).glom());
            assert_eq!(out[0].len(), n, "{threads} threads");
            let out = run2(input.clone(), input.clone(), threads, |x, y| x.cogroup_with_partitions(y, n).glom());
            assert_eq!(out[0].len(), n, "{threads} threads");
        }
        // 0: the default, the thread count.
        let out = run(input.clone(), threads, |s| s.group_by_key_with_partitions(0).glom());
        assert_eq!(out[0].len(), threads);
    }
}

#[test]
fn a_partitioner_puts_each_key_where_it_says() {
    let input = vec![(0..12u8).map(|k| (k, 1i64)).collect::<Vec<_>>()];
    let out = run(input, 3, |s| s.reduce_by_key_with_partitions(|a, b| a + b, Scatter(4)).glom());
    assert_eq!(out[0].len(), 4);
    for (i, part) in out[0].iter().enumerate() {
        for (k, _) in part {
            assert_eq!((*k as usize * 7 + 100) % 4, i, "key {k} in partition {i}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// In a cluster the count is per process and a user's partitioner picks the partition
    /// within the process the key's hash picks: each key is in exactly one place, so a
    /// cluster gives what one process gives (a key in two places would come out twice).
    #[test]
    fn a_user_partitioner_in_a_cluster_gives_what_one_process_gives(
        input in batches(), processes in 2..=3usize, n in 1..4usize,
    ) {
        let single = sorted(run(input.clone(), 2, |s| s.reduce_by_key(|a, b| a + b)));
        let cluster = sorted(stream_runtime::testing::run_cluster(processes, 2, input.clone(), |s| {
            s.reduce_by_key_with_partitions(|a, b| a + b, Scatter(n))
        }));
        prop_assert_eq!(cluster, single);
        let single = sorted(run(input.clone(), 2, |s| s.update_state_by_key(|vs: Vec<i64>, s: Option<i64>| Some(vs.iter().sum::<i64>() + s.unwrap_or(0)))));
        let cluster = sorted(stream_runtime::testing::run_cluster(processes, 2, input, |s| {
            s.update_state_by_key_with_partitions(|vs: Vec<i64>, s: Option<i64>| Some(vs.iter().sum::<i64>() + s.unwrap_or(0)), Scatter(n))
        }));
        prop_assert_eq!(cluster, single);
    }
}
