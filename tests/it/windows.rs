//! Windowed operations: Spark's WindowOperationsSuite and Python streaming test cases, and
//! runs observed on Spark, then oracle tests comparing every window operation with a
//! from-scratch recomputation of the window from the raw batches.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use stream_runtime::testing::{run, Harness};
use stream_runtime::Duration;

use crate::{sorted, THREADS};

fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

fn ms(m: i64) -> Duration {
    Duration::millis(m)
}

/// `[x]` batches of single values.
fn singles(values: &[i32]) -> Vec<Vec<i32>> {
    values.iter().map(|&v| vec![v]).collect()
}

/// Pairs `(word, 1)` per batch.
fn words(rows: &[&[&'static str]]) -> Vec<Vec<(&'static str, i32)>> {
    rows.iter().map(|r| r.iter().map(|w| (*w, 1)).collect()).collect()
}

/// The input of WindowOperationsSuite's "reduceByKeyAndWindow - big test".
fn big_input() -> Vec<Vec<(&'static str, i32)>> {
    let a: &[&str] = &["a"];
    let ab: &[&str] = &["a", "b"];
    let abc: &[&str] = &["a", "b", "c"];
    words(&[a, ab, abc, ab, a, &[], a, ab, abc, ab, a, &[]])
}

/// Batches of `(key, value)` pairs.
type Pairs = Vec<Vec<(&'static str, i32)>>;

fn kv(rows: &[&[(&'static str, i32)]]) -> Pairs {
    rows.iter().map(|r| r.to_vec()).collect()
}

#[test]
fn sliding_window_holds_the_batches_of_the_last_window_duration() {
    for t in THREADS {
        let out = run(singles(&[0, 1, 2, 3, 4, 5]), t, |s| s.window(secs(2), secs(1)));
        assert_eq!(sorted(out), vec![vec![0], vec![0, 1], vec![1, 2], vec![2, 3], vec![3, 4], vec![4, 5]]);
    }
}

#[test]
fn tumbling_window_holds_disjoint_runs_of_batches() {
    for t in THREADS {
        let out = run(singles(&[0, 1, 2, 3, 4, 5]), t, |s| s.window(secs(2), secs(2)));
        assert_eq!(sorted(out), vec![vec![0, 1], vec![2, 3], vec![4, 5]]);
    }
}

#[test]
fn window_keeps_emitting_after_the_input_until_the_data_leaves() {
    for t in THREADS {
        let out = Harness::new(t)
            .batches(8)
            .collect(singles(&[0, 1, 2, 3, 4, 5]).into_iter().map(Some).collect(), |s| s.window(secs(4), secs(2)));
        assert!(out.errors.is_empty());
        assert_eq!(sorted(out.outputs), vec![vec![0, 1], vec![0, 1, 2, 3], vec![2, 3, 4, 5], vec![4, 5]]);
    }
}

#[test]
fn slide_longer_than_the_window_skips_batches() {
    for t in THREADS {
        let out = run(singles(&[0, 1, 2, 3, 4, 5]), t, |s| s.window(secs(2), secs(3)));
        assert_eq!(sorted(out), vec![vec![1, 2], vec![4, 5]]);
    }
}

#[test]
fn window_of_a_window_composes_slides() {
    for t in THREADS {
        let out = run(singles(&[1, 2, 3, 4, 5, 6, 7, 8]), t, |s| s.window(secs(2), secs(1)).window(secs(4), secs(2)));
        // Outer windows at 2, 4, 6, 8 s hold the inner windows at (t-4, t] with a 2 s stride.
        assert_eq!(
            sorted(out),
            vec![vec![1, 1, 2], vec![1, 1, 2, 2, 3, 3, 4], vec![2, 3, 3, 4, 4, 5, 5, 6], vec![4, 5, 5, 6, 6, 7, 7, 8]]
        );
    }
}

#[test]
fn missing_parent_batches_contribute_nothing() {
    for t in THREADS {
        let out =
            Harness::new(t).collect(vec![Some(vec![1]), None, Some(vec![3]), None], |s| s.window(secs(2), secs(1)));
        assert!(out.errors.is_empty());
        assert_eq!(sorted(out.outputs), vec![vec![1], vec![1], vec![3], vec![3]]);
    }
}

#[test]
fn reduce_by_key_and_window_reduces_each_key_over_the_window() {
    let cases: Vec<(Pairs, Pairs)> = vec![
        (kv(&[&[("a", 1), ("a", 3)]]), kv(&[&[("a", 4)]])),
        (kv(&[&[("a", 1)], &[("a", 1)]]), kv(&[&[("a", 1)], &[("a", 2)]])),
        (kv(&[&[("a", 1)], &[("a", 1), ("b", 1)]]), kv(&[&[("a", 1)], &[("a", 2), ("b", 1)]])),
        (kv(&[&[("a", 1)], &[("a", 1)], &[], &[]]), kv(&[&[("a", 1)], &[("a", 2)], &[("a", 1)], &[]])),
    ];
    for (input, expected) in cases {
        for t in THREADS {
            let out = run(input.clone(), t, |s| s.reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1)));
            assert_eq!(sorted(out), expected);
        }
    }
}

#[test]
fn reduce_by_key_and_window_inv_keeps_a_key_whose_data_left_with_the_inverse_value() {
    for t in THREADS {
        let out = run(kv(&[&[("a", 1)], &[("a", 1)], &[], &[]]), t, |s| {
            s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1))
        });
        assert_eq!(sorted(out), kv(&[&[("a", 1)], &[("a", 2)], &[("a", 1)], &[("a", 0)]]));
    }
}

#[test]
fn reduce_by_key_and_window_with_a_two_batch_slide_on_both_paths() {
    let input = kv(&[&[("a", 1)], &[("a", 2)], &[("a", 3)], &[("a", 4)], &[("a", 5)], &[("a", 6)], &[], &[]]);
    let expected = kv(&[&[("a", 3)], &[("a", 10)], &[("a", 18)], &[("a", 11)]]);
    for t in THREADS {
        let plain = run(input.clone(), t, |s| s.reduce_by_key_and_window(|a, b| a + b, secs(4), secs(2)));
        let inv =
            run(input.clone(), t, |s| s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(4), secs(2)));
        assert_eq!(sorted(plain), expected);
        assert_eq!(sorted(inv), expected);
    }
}

#[test]
fn plain_inverse_and_filtered_inverse_windows_on_sparks_big_test() {
    let plain = vec![
        kv(&[&[("a", 1)]]),
        kv(&[&[("a", 2), ("b", 1)]]),
        kv(&[&[("a", 2), ("b", 2), ("c", 1)]]),
        kv(&[&[("a", 2), ("b", 2), ("c", 1)]]),
        kv(&[&[("a", 2), ("b", 1)]]),
        kv(&[&[("a", 1)]]),
    ];
    let plain: Vec<Vec<(&str, i32)>> = plain.into_iter().flatten().collect();
    let plain: Vec<Vec<(&str, i32)>> = plain.iter().chain(plain.iter()).cloned().collect();
    let inv = kv(&[
        &[("a", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 1), ("c", 0)],
        &[("a", 1), ("b", 0), ("c", 0)],
        &[("a", 1), ("b", 0), ("c", 0)],
        &[("a", 2), ("b", 1), ("c", 0)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 2), ("c", 1)],
        &[("a", 2), ("b", 1), ("c", 0)],
        &[("a", 1), ("b", 0), ("c", 0)],
    ]);
    for t in THREADS {
        let out = run(big_input(), t, |s| s.reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1)));
        assert_eq!(sorted(out), plain);
        let out = run(big_input(), t, |s| s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1)));
        assert_eq!(sorted(out), inv);
        let out = run(big_input(), t, |s| {
            s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, secs(2), secs(1), 0, |(_, v)| *v != 0)
        });
        assert_eq!(sorted(out), plain);
    }
}

#[test]
fn group_by_key_and_window_has_the_keys_of_reduce_by_key_and_window() {
    for t in THREADS {
        let out = run(big_input(), t, |s| s.group_by_key_and_window(secs(2), secs(1)));
        let keys: Vec<Vec<&str>> = sorted(out.into_iter().map(|b| b.into_iter().map(|(k, _)| k).collect()).collect());
        let plain = run(big_input(), t, |s| s.reduce_by_key_and_window(|a, b| a + b, secs(2), secs(1)));
        let expected: Vec<Vec<&str>> =
            sorted(plain.into_iter().map(|b| b.into_iter().map(|(k, _)| k).collect()).collect());
        assert_eq!(keys, expected);
    }
}

#[test]
fn count_by_window_counts_the_records_of_the_window() {
    let input = vec![vec![1], vec![1], vec![1, 2], vec![0], vec![], vec![]];
    for t in THREADS {
        let out = run(input.clone(), t, |s| s.count_by_window(secs(2), secs(1)));
        assert_eq!(out, vec![vec![1], vec![2], vec![3], vec![3], vec![1], vec![0]]);
    }
}

#[test]
fn count_by_window_is_empty_before_data_and_zero_after() {
    let input = vec![vec![], vec![], vec!["x"], vec![], vec![], vec![]];
    for t in THREADS {
        let out = run(input.clone(), t, |s| s.count_by_window(secs(2), secs(1)));
        assert_eq!(out, vec![vec![], vec![], vec![1], vec![1], vec![0], vec![0]]);
    }
}

#[test]
fn count_by_value_and_window_counts_each_value_over_the_window() {
    let input = words(&[&["a"], &["b", "b"], &["a", "b"], &[], &[]]);
    for t in THREADS {
        let out = run(input.clone(), t, |s| s.map(|(w, _)| w).count_by_value_and_window(secs(2), secs(1)));
        assert_eq!(
            sorted(out),
            vec![vec![("a", 1)], vec![("a", 1), ("b", 2)], vec![("a", 1), ("b", 3)], vec![("a", 1), ("b", 1)], vec![]]
        );
    }
}

#[test]
fn reduce_by_window_inv_emits_zero_and_the_plain_form_nothing_for_an_empty_window() {
    let input = vec![vec![1], vec![2], vec![3], vec![], vec![], vec![]];
    for t in THREADS {
        let inv = run(input.clone(), t, |s| s.reduce_by_window_inv(|a, b| a + b, |a, b| a - b, secs(2), secs(1)));
        assert_eq!(inv, vec![vec![1], vec![3], vec![5], vec![3], vec![0], vec![0]]);
        let plain = run(input.clone(), t, |s| s.reduce_by_window(|a, b| a + b, secs(2), secs(1)));
        assert_eq!(plain, vec![vec![1], vec![3], vec![5], vec![3], vec![], vec![]]);
    }
}

/// Inputs `range(1)`, `range(2)`, ... of the Python tests (B = 0.5 s).
fn ranges(n: usize) -> Vec<Vec<usize>> {
    (1..=n).map(|i| (0..i).collect()).collect()
}

#[test]
fn window_count_and_count_by_window_agree_with_half_second_batches() {
    for t in THREADS {
        let h = Harness::new(t).batch(ms(500)).batches(7);
        let input: Vec<Option<Vec<usize>>> = ranges(5).into_iter().map(Some).collect();
        let counted = h.collect(input.clone(), |s| s.window(ms(1500), ms(500)).count());
        let by_window = h.collect(input, |s| s.count_by_window(ms(1500), ms(500)));
        let expected: Vec<Vec<u64>> = [1, 3, 6, 9, 12, 9, 5].iter().map(|&n| vec![n]).collect();
        assert_eq!(counted.outputs, expected);
        assert_eq!(by_window.outputs, expected);

        let h = Harness::new(t).batch(ms(500)).batches(10);
        let out = h.collect(ranges(6).into_iter().map(Some).collect(), |s| s.count_by_window(ms(2500), ms(500)));
        let expected: Vec<Vec<u64>> = [1, 3, 6, 10, 15, 20, 18, 15, 11, 6].iter().map(|&n| vec![n]).collect();
        assert_eq!(out.outputs, expected);
    }
}

#[test]
fn count_by_value_and_window_with_half_second_batches() {
    for t in THREADS {
        let h = Harness::new(t).batch(ms(500)).batches(10);
        let out =
            h.collect(ranges(6).into_iter().map(Some).collect(), |s| s.count_by_value_and_window(ms(2500), ms(500)));
        let counts: [&[u64]; 10] = [
            &[1],
            &[2, 1],
            &[3, 2, 1],
            &[4, 3, 2, 1],
            &[5, 4, 3, 2, 1],
            &[5, 5, 4, 3, 2, 1],
            &[4, 4, 4, 3, 2, 1],
            &[3, 3, 3, 3, 2, 1],
            &[2, 2, 2, 2, 2, 1],
            &[1, 1, 1, 1, 1, 1],
        ];
        let expected: Vec<Vec<(usize, u64)>> = counts.iter().map(|c| c.iter().copied().enumerate().collect()).collect();
        assert_eq!(sorted(out.outputs), expected);
    }
}

#[test]
fn group_by_key_and_window_keeps_the_values_in_batch_order() {
    for t in THREADS {
        let h = Harness::new(t).batch(ms(500)).batches(7);
        let input: Vec<Option<Vec<(&str, i32)>>> = (0..5).map(|i| Some(vec![("a", i)])).collect();
        let out = h.collect(input, |s| s.group_by_key_and_window(ms(1500), ms(500)));
        let expected: Vec<Vec<(&str, Vec<i32>)>> =
            [&[0][..], &[0, 1], &[0, 1, 2], &[1, 2, 3], &[2, 3, 4], &[3, 4], &[4]]
                .iter()
                .map(|vs| vec![("a", vs.to_vec())])
                .collect();
        assert_eq!(out.outputs, expected);
    }
}

#[test]
fn reduce_by_key_and_window_then_filter_and_count_emits_at_the_slide() {
    for t in THREADS {
        let h = Harness::new(t).batch(ms(500)).batches(12);
        let out = h.collect(ranges(6).into_iter().map(Some).collect(), |s| {
            s.map(|x| (x, 1)).reduce_by_key_and_window(|a, b| a + b, secs(5), secs(1)).filter(|(_, v)| *v > 0).count()
        });
        assert_eq!(out.outputs, vec![vec![2], vec![4], vec![6], vec![6], vec![6], vec![6]]);
    }
}

#[test]
fn invalid_windows_fail_start_with_spark_messages() {
    let h = Harness::new(1).batch(secs(2));
    let errors = |o: stream_runtime::testing::Outcome<i32>| o.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let e = errors(h.collect(vec![Some(vec![1])], |s| s.window(secs(3), secs(2))));
    assert_eq!(e, ["The window duration of windowed DStream (3000 ms) must be a multiple of the slide duration of parent DStream (2000 ms)"]);
    let e = errors(h.collect(vec![Some(vec![1])], |s| s.window(secs(4), secs(3))));
    assert_eq!(e, ["The slide duration of windowed DStream (3000 ms) must be a multiple of the slide duration of parent DStream (2000 ms)"]);
    let e = errors(h.collect(vec![Some(vec![1])], |s| {
        s.map(|x| (x, x)).reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, secs(3), secs(2)).map(|(_, v)| v)
    }));
    assert_eq!(e, ["requirement failed: The window duration of ReducedWindowedDStream (3000 ms) must be multiple of the slide duration of parent DStream (2000 ms)"]);
    let e = errors(h.collect(vec![Some(vec![1])], |s| s.window(ms(0), ms(0))));
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("must be positive"), "{e:?}");
}

#[test]
fn invertible_windows_need_a_checkpoint_directory() {
    use stream_runtime::prelude::*;
    let ssc = StreamingContext::new(secs(1));
    ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count_by_window(secs(2), secs(1)).print();
    let err = ssc.start().unwrap_err();
    assert_eq!(
        err.to_string(),
        "The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint()."
    );
    // Non-invertible windows do not.
    let ssc = StreamingContext::new(secs(1));
    ssc.queue_stream(BatchQueue::<i32>::new(), true, None).reduce_by_window(|a, b| a + b, secs(2), secs(1)).print();
    ssc.start().unwrap().stop(false);
}

// ---- Oracle: every window operation against a from-scratch recomputation. ----

type Rows = Vec<Vec<(u8, i64)>>;

fn random_batches(seed: u64, batches: usize) -> Rows {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..batches)
        .map(|_| {
            let n = if rng.gen_bool(0.2) { 0 } else { rng.gen_range(0..60) };
            (0..n).map(|_| (rng.gen_range(0..12u8), rng.gen_range(-20..20i64))).collect()
        })
        .collect()
}

/// The raw records of each window: output `j` at time `(j + 1) * slide` holds batches `i`
/// (at time `i + 1`, in batch units) with `t - window < i + 1 <= t`.
fn windows_of(input: &Rows, window: usize, slide: usize) -> Vec<Vec<(u8, i64)>> {
    (1..=input.len() / slide)
        .map(|j| {
            let t = j * slide;
            (0..input.len()).filter(|i| *i < t && i + 1 + window > t).flat_map(|i| input[i].clone()).collect()
        })
        .collect()
}

fn by_key(records: &[(u8, i64)], f: impl Fn(i64, i64) -> i64) -> BTreeMap<u8, i64> {
    let mut m = BTreeMap::new();
    for &(k, v) in records {
        let e = m.entry(k).or_insert(None);
        *e = Some(match *e {
            Some(a) => f(a, v),
            None => v,
        });
    }
    m.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect()
}

#[test]
fn every_window_operation_matches_recomputation() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for seed in 0..12 {
        let window = rng.gen_range(1..7usize);
        let slide = rng.gen_range(1..5usize);
        let batches = slide * rng.gen_range(3..8usize);
        let input = random_batches(seed, batches);
        let expected = windows_of(&input, window, slide);
        let (w, s) = (secs(window as i64), secs(slide as i64));
        let ctx = format!("seed {seed}, window {window}, slide {slide}");
        for t in THREADS {
            let ctx = format!("{ctx}, {t} threads");
            let raw = sorted(run(input.clone(), t, |x| x.window(w, s)));
            assert_eq!(raw, sorted(expected.clone()), "window: {ctx}");

            // The sums on both paths, with and without a filter: `properties.rs`.
            let maxes: Vec<Vec<(u8, i64)>> =
                expected.iter().map(|r| by_key(r, i64::max).into_iter().collect()).collect();
            let out = sorted(run(input.clone(), t, |x| x.reduce_by_key_and_window(i64::max, w, s)));
            assert_eq!(out, maxes, "reduce_by_key_and_window(max): {ctx}");

            let groups = run(input.clone(), t, |x| x.group_by_key_and_window(w, s));
            let groups: Vec<Vec<(u8, Vec<i64>)>> = sorted(
                groups
                    .into_iter()
                    .map(|b| {
                        b.into_iter()
                            .map(|(k, mut vs)| {
                                (k, {
                                    vs.sort();
                                    vs
                                })
                            })
                            .collect()
                    })
                    .collect(),
            );
            let want: Vec<Vec<(u8, Vec<i64>)>> = expected
                .iter()
                .map(|r| {
                    let mut m: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
                    r.iter().for_each(|&(k, v)| m.entry(k).or_default().push(v));
                    m.into_iter()
                        .map(|(k, mut vs)| {
                            (k, {
                                vs.sort();
                                vs
                            })
                        })
                        .collect()
                })
                .collect();
            assert_eq!(groups, want, "group_by_key_and_window: {ctx}");

            let total = run(input.clone(), t, |x| x.map(|(_, v)| v).reduce_by_window(|a, b| a + b, w, s));
            let want: Vec<Vec<i64>> = expected
                .iter()
                .map(|r| if r.is_empty() { vec![] } else { vec![r.iter().map(|(_, v)| v).sum()] })
                .collect();
            assert_eq!(total, want, "reduce_by_window: {ctx}");

            // The invertible forms: no element until data has been seen, then the exact value.
            let first_data = (0..expected.len()).find(|&j| (0..(j + 1) * slide).any(|i| !input[i].is_empty()));
            let total_inv =
                run(input.clone(), t, |x| x.map(|(_, v)| v).reduce_by_window_inv(|a, b| a + b, |a, b| a - b, w, s));
            let counts = run(input.clone(), t, |x| x.count_by_window(w, s));
            for (j, r) in expected.iter().enumerate() {
                let seen = first_data.is_some_and(|f| j >= f);
                let sum: i64 = r.iter().map(|(_, v)| v).sum();
                assert_eq!(total_inv[j], if seen { vec![sum] } else { vec![] }, "reduce_by_window_inv: {ctx}");
                assert_eq!(counts[j], if seen { vec![r.len() as u64] } else { vec![] }, "count_by_window: {ctx}");
            }

            let by_value = sorted(run(input.clone(), t, |x| x.map(|(k, _)| k).count_by_value_and_window(w, s)));
            let want: Vec<Vec<(u8, u64)>> = expected
                .iter()
                .map(|r| {
                    let mut m = BTreeMap::new();
                    r.iter().for_each(|&(k, _)| *m.entry(k).or_insert(0u64) += 1);
                    m.into_iter().collect()
                })
                .collect();
            assert_eq!(by_value, want, "count_by_value_and_window: {ctx}");
        }
    }
}
