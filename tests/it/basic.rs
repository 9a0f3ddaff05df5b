//! Spark's BasicOperationsSuite and the Python streaming tests' basic cases, on the test kit.

use stream_runtime::testing::{run, run2, Harness};
use stream_runtime::{Batch, Str};

use crate::{sorted, THREADS};

fn ints(rows: &[&[i32]]) -> Vec<Vec<i32>> {
    rows.iter().map(|r| r.to_vec()).collect()
}

#[test]
fn map_keeps_order() {
    for t in THREADS {
        let out = run(ints(&[&[1, 2, 3, 4], &[5, 6, 7, 8], &[9, 10, 11, 12]]), t, |s| s.map(|x| x.to_string()));
        let expected: Vec<Vec<String>> = (0..3).map(|b| (1..=4).map(|i| (b * 4 + i).to_string()).collect()).collect();
        assert_eq!(out, expected);
    }
}

#[test]
fn flat_map_keeps_order() {
    for t in THREADS {
        let out = run(ints(&[&[1, 2, 3, 4]]), t, |s| s.flat_map(|x| [x, 2 * x]));
        assert_eq!(out, vec![vec![1, 2, 2, 4, 3, 6, 4, 8]]);
    }
}

#[test]
fn glom_sees_two_input_partitions() {
    for t in THREADS {
        let out = run(ints(&[&[1, 2, 3, 4], &[5, 6, 7, 8], &[9, 10, 11, 12]]), t, |s| s.glom());
        assert_eq!(
            out,
            vec![vec![vec![1, 2], vec![3, 4]], vec![vec![5, 6], vec![7, 8]], vec![vec![9, 10], vec![11, 12]]]
        );
    }
}

#[test]
fn map_partitions_sums_each_partition() {
    for t in THREADS {
        let out = run(ints(&[&[1, 2, 3, 4], &[5, 6, 7, 8], &[9, 10, 11, 12]]), t, |s| {
            s.map_partitions(|it| std::iter::once(it.sum::<i32>()))
        });
        assert_eq!(sorted(out), vec![vec![3, 7], vec![11, 15], vec![19, 23]]);
    }
}

#[test]
fn repartition_spreads_over_n_partitions_keeping_elements() {
    for t in THREADS {
        let input: Vec<Vec<i32>> = (0..3).map(|b| (b * 100..b * 100 + 100).collect()).collect();
        let out = run(input.clone(), t, |s| s.repartition(5).glom());
        for (batch, expected) in out.into_iter().zip(input) {
            assert_eq!(batch.len(), 5);
            let mut all: Vec<i32> = batch.into_iter().flatten().collect();
            all.sort();
            assert_eq!(all, expected);
        }
    }
}

fn words() -> Vec<Vec<&'static str>> {
    vec![vec!["a", "a", "b"], vec!["", ""], vec![]]
}

#[test]
fn group_by_key_groups_the_values_of_each_key_per_batch() {
    for t in THREADS {
        let out = run(words(), t, |s| s.map(|w| (w, 1)).group_by_key());
        assert_eq!(sorted(out), vec![vec![("a", vec![1, 1]), ("b", vec![1])], vec![("", vec![1, 1])], vec![]]);
    }
}

#[test]
fn reduce_by_key_then_map_values_and_flat_map_values_keep_the_keys() {
    for t in THREADS {
        let out = run(words(), t, |s| s.map(|w| (w, 1)).reduce_by_key(|a, b| a + b));
        assert_eq!(sorted(out), vec![vec![("a", 2), ("b", 1)], vec![("", 2)], vec![]]);
        let out = run(words(), t, |s| s.map(|w| (w, 1)).reduce_by_key(|a, b| a + b).map_values(|v| v + 10));
        assert_eq!(sorted(out), vec![vec![("a", 12), ("b", 11)], vec![("", 12)], vec![]]);
        let out = run(words(), t, |s| s.map(|w| (w, 1)).reduce_by_key(|a, b| a + b).flat_map_values(|v| [v, v + 10]));
        assert_eq!(sorted(out), vec![vec![("a", 2), ("a", 12), ("b", 1), ("b", 11)], vec![("", 2), ("", 12)], vec![]]);
    }
}

#[test]
fn reduce_gives_one_value_per_batch_and_nothing_for_an_empty_batch() {
    for t in THREADS {
        let out = run(ints(&[&[1, 2, 3, 4], &[5, 6, 7, 8], &[9, 10, 11, 12], &[]]), t, |s| s.reduce(|a, b| a + b));
        assert_eq!(out, vec![vec![10], vec![26], vec![42], vec![]]);
    }
}

#[test]
fn count_is_zero_for_an_empty_batch() {
    for t in THREADS {
        let out = run(ints(&[&[], &[1], &[1, 2], &[1, 2, 3], &[1, 2, 3, 4]]), t, |s| s.count());
        assert_eq!(out, vec![vec![0], vec![1], vec![2], vec![3], vec![4]]);
    }
}

#[test]
fn count_by_value_counts_each_distinct_value_per_batch() {
    for t in THREADS {
        let out = run(ints(&[&[1], &[1, 1, 1], &[1, 2], &[1, 1, 2, 2]]), t, |s| s.count_by_value());
        assert_eq!(sorted(out), vec![vec![(1, 1)], vec![(1, 3)], vec![(1, 1), (2, 1)], vec![(1, 2), (2, 2)]]);
    }
}

#[test]
fn union_of_two_and_of_many_streams_holds_all_their_records() {
    for t in THREADS {
        let input = ints(&[&[1, 2, 3, 4], &[101, 102, 103, 104], &[201, 202, 203, 204]]);
        let out = run(input.clone(), t, |s| s.clone().union(s.map(|x| x + 4)));
        let expected: Vec<Vec<i32>> = [1, 101, 201].iter().map(|&b| (b..b + 8).collect()).collect();
        assert_eq!(sorted(out), expected);
        let out = run(input, t, |s| {
            let ctx = s.context();
            ctx.union(vec![s.clone(), s.clone().map(|x| x + 4).boxed(), s.map(|x| x + 8).boxed()])
        });
        let expected: Vec<Vec<i32>> = [1, 101, 201].iter().map(|&b| (b..b + 12).collect()).collect();
        assert_eq!(sorted(out), expected);
    }
}

#[test]
fn union_with_a_missing_parent_batch_fails_the_batch_and_keeps_running() {
    let outcome = Harness::new(2).collect(vec![Some(vec![1]), None, Some(vec![3])], |s| s.clone().union(s));
    assert_eq!(outcome.outputs, vec![vec![1, 1], vec![3, 3]]);
    assert_eq!(outcome.errors.len(), 1);
    assert!(outcome.errors[0]
        .to_string()
        .contains("Could not generate RDD from a parent for unifying at time 2000 ms"));
}

#[test]
fn transform_applies_a_function_to_each_batch() {
    for t in THREADS {
        let out = run(ints(&[&[1, 2, 3, 4]]), t, |s| s.transform(|b, _| b.map(|x| x.to_string())));
        assert_eq!(out, vec![vec!["1", "2", "3", "4"]]);
    }
}

fn join_inputs() -> (Vec<Vec<&'static str>>, Vec<Vec<&'static str>>) {
    (vec![vec!["a", "b"], vec!["a", ""], vec![""], vec![]], vec![vec!["a", "b"], vec!["b", ""], vec![], vec![""]])
}

#[test]
fn join_and_transform_with_pair_the_keys_of_the_same_batch() {
    for t in THREADS {
        let (a, b) = join_inputs();
        let out = run2(a.clone(), b.clone(), t, |x, y| x.map(|w| (w, 1)).join(y.map(|w| (w, "x"))));
        let expected = vec![vec![("a", (1, "x")), ("b", (1, "x"))], vec![("", (1, "x"))], vec![], vec![]];
        assert_eq!(sorted(out), expected);
        let out = run2(a, b, t, |x, y| {
            x.map(|w| (w, 1)).transform_with(y.map(|w| (w, "x")), |l, r, _| {
                let right: Vec<(&str, &str)> = r.into_vec();
                Batch::from(
                    l.into_vec()
                        .into_iter()
                        .flat_map(|(k, v)| right.iter().filter(move |(k2, _)| *k2 == k).map(move |(_, w)| (k, (v, *w))))
                        .collect::<Vec<_>>(),
                )
            })
        });
        assert_eq!(sorted(out), expected);
    }
}

#[test]
fn cogroup_groups_both_sides_per_key_including_one_sided_keys() {
    for t in THREADS {
        let a = vec![vec!["a", "a", "b"], vec!["a", ""], vec![""], vec![]];
        let b = vec![vec!["a", "a", "b"], vec!["b", ""], vec![], vec![]];
        let out = run2(a, b, t, |x, y| x.map(|w| (w, 1)).cogroup(y.map(|w| (w, "x"))));
        let expected = vec![
            vec![("a", (vec![1, 1], vec!["x", "x"])), ("b", (vec![1], vec!["x"]))],
            vec![("", (vec![1], vec!["x"])), ("a", (vec![1], vec![])), ("b", (vec![], vec!["x"]))],
            vec![("", (vec![1], vec![]))],
            vec![],
        ];
        assert_eq!(sorted(out), expected);
    }
}

#[test]
fn outer_joins_fill_the_missing_side_with_none() {
    for t in THREADS {
        let (a, b) = join_inputs();
        let out = run2(a.clone(), b.clone(), t, |x, y| x.map(|w| (w, 1)).left_outer_join(y.map(|w| (w, "x"))));
        assert_eq!(
            sorted(out),
            vec![
                vec![("a", (1, Some("x"))), ("b", (1, Some("x")))],
                vec![("", (1, Some("x"))), ("a", (1, None))],
                vec![("", (1, None))],
                vec![]
            ]
        );
        let out = run2(a.clone(), b.clone(), t, |x, y| x.map(|w| (w, 1)).right_outer_join(y.map(|w| (w, "x"))));
        assert_eq!(
            sorted(out),
            vec![
                vec![("a", (Some(1), "x")), ("b", (Some(1), "x"))],
                vec![("", (Some(1), "x")), ("b", (None, "x"))],
                vec![],
                vec![("", (None, "x"))]
            ]
        );
        let out = run2(a, b, t, |x, y| x.map(|w| (w, 1)).full_outer_join(y.map(|w| (w, "x"))));
        assert_eq!(
            sorted(out),
            vec![
                vec![("a", (Some(1), Some("x"))), ("b", (Some(1), Some("x")))],
                vec![("", (Some(1), Some("x"))), ("a", (Some(1), None)), ("b", (None, Some("x")))],
                vec![("", (Some(1), None))],
                vec![("", (None, Some("x")))]
            ]
        );
    }
}

#[test]
fn join_and_right_outer_join_of_pair_streams() {
    let a = vec![vec![("a", 1), ("b", 2)]];
    let b = vec![vec![("b", 3), ("c", 4)]];
    assert_eq!(run2(a.clone(), b.clone(), 2, |x, y| x.join(y)), vec![vec![("b", (2, 3))]]);
    assert_eq!(sorted(run2(a, b, 2, |x, y| x.right_outer_join(y))), vec![vec![("b", (Some(2), 3)), ("c", (None, 4))]]);
}

#[test]
fn context_transform_sees_the_batches_of_its_streams_in_order() {
    let out = run(vec![vec![1], vec![2]], 2, |s| {
        let ctx = s.context();
        let d2 = s.clone().map(|x| x * 10).boxed();
        let d3 = s.clone().map(|x| x * 100).boxed();
        ctx.transform(vec![s, d2, d3], |b, _| {
            let mut it = b.into_iter();
            let (r1, r2, r3) =
                (it.next().unwrap_or_default(), it.next().unwrap_or_default(), it.next().unwrap_or_default());
            r2.union(r3).union(r1)
        })
    });
    assert_eq!(out, vec![vec![10, 100, 1], vec![20, 200, 2]]);
}

#[test]
fn a_panicking_user_function_fails_only_its_batch() {
    let outcome = Harness::new(2).collect((0..4).map(|i| Some(vec![i])).collect(), |s| {
        s.map(|x| {
            if x == 1 {
                panic!("This is a special error");
            }
            x
        })
    });
    assert_eq!(outcome.outputs, vec![vec![0], vec![2], vec![3]]);
    assert_eq!(outcome.errors.len(), 1);
    assert!(outcome.errors[0].to_string().contains("This is a special error"));
}

#[test]
fn word_count_on_shared_lines() {
    for t in THREADS {
        let lines = vec![vec![Str::from("a b a"), Str::from("c")], vec![Str::from("b")]];
        let out = run(lines, t, |s| s.flat_map(|l| l.split(' ')).map(|w| (w, 1)).reduce_by_key(|a, b| a + b));
        let as_strings: Vec<Vec<(String, i32)>> =
            out.into_iter().map(|b| b.into_iter().map(|(w, n)| (w.to_string(), n)).collect()).collect();
        assert_eq!(
            sorted(as_strings),
            vec![vec![("a".into(), 2), ("b".into(), 1), ("c".into(), 1)], vec![("b".into(), 1)]]
        );
    }
}
