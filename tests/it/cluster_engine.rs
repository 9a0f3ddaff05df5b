//! The engine across processes: a job run as 2 or 3 processes (threads of this one, connected
//! by `MemoryPeers`) at 1 or 2 threads each outputs, batch by batch, the multiset one process
//! outputs, on random input, for every operation that shuffles, gathers or keeps keyed state.
//! `print` is compared as text: process 0 prints what one process prints, the others nothing.

use proptest::prelude::*;
use stream_runtime::testing::{run, run_cluster, run_cluster_printed, run_cluster_rescaled};
use stream_runtime::{DStream, Duration, State, StateSpec, Str};

use crate::sorted;

type Rows = Vec<Vec<(u8, i64)>>;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 24, ..ProptestConfig::default() }
}

fn batch() -> impl Strategy<Value = Vec<(u8, i64)>> {
    prop_oneof![
        1 => Just(Vec::new()),
        3 => prop::collection::vec((0..16u8, -20..20i64), 0..16),
    ]
}

fn batches(max: usize) -> impl Strategy<Value = Rows> {
    prop::collection::vec(batch(), 1..=max)
}

fn secs(n: usize) -> Duration {
    Duration::seconds(n as i64)
}

/// Runs `build` on `processes` processes and on one, and compares each batch as a multiset.
macro_rules! same_as_one_process {
    ($input:expr, $processes:expr, $threads:expr, |$s:ident| $body:expr) => {{
        let cluster = sorted(run_cluster($processes, $threads, $input.clone(), |$s| $body));
        let single = sorted(run($input.clone(), $threads, |$s| $body));
        prop_assert_eq!(cluster, single);
    }};
}

/// A second keyed stream from the same input: other keys, some records dropped.
fn other_side<'a>(s: DStream<'a, (u8, i64)>) -> DStream<'a, (u8, i64)> {
    s.filter(|(_, v)| v % 3 != 0).map(|(k, v)| (k % 7, v * 10)).boxed()
}

fn narrow(s: DStream<'_, (u8, i64)>) -> DStream<'_, (u8, i64)> {
    s.filter(|(k, _)| k % 3 != 0).map(|(k, v)| (k, v * 2)).boxed()
}

fn sums(s: DStream<'_, (u8, i64)>) -> DStream<'_, (u8, i64)> {
    s.reduce_by_key(|a, b| a + b)
}

/// A running sum per key that times out after 2 s without data, saying when it does (a macro:
/// the spec's closure type cannot be named).
macro_rules! timed {
    () => {
        StateSpec::function(|k: &u8, v: Option<i64>, st: &mut State<i64>| {
            let timing_out = st.is_timing_out();
            if !timing_out {
                st.update(st.get_option().copied().unwrap_or(0) + v.unwrap_or(0));
            }
            (*k, timing_out)
        })
        .timeout(secs(2))
    };
}

fn sort_values<V: Ord>(mut vs: Vec<V>) -> Vec<V> {
    vs.sort();
    vs
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn word_count(input in batches(6), processes in 2..=3usize, threads in 1..=2usize) {
        let words: Vec<Vec<String>> =
            input.iter().map(|b| b.iter().map(|(k, v)| format!("w{} w{}", k, v.rem_euclid(5))).collect()).collect();
        same_as_one_process!(words, processes, threads, |s| {
            s.flat_map(|l| l.split(' ').map(Str::from).collect::<Vec<_>>()).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b)
        });
    }

    #[test]
    fn group_by_key_and_count_by_value(input in batches(6), processes in 2..=3usize, threads in 1..=2usize) {
        same_as_one_process!(input, processes, threads, |s| {
            s.group_by_key().map(|(k, vs)| (k, sort_values(vs)))
        });
        same_as_one_process!(input, processes, threads, |s| s.map(|(k, _)| k).count_by_value());
        same_as_one_process!(input, processes, threads, |s| {
            s.combine_by_key(|v| (v, 1u32), |c, v| { c.0 += v; c.1 += 1 }, |c, o| { c.0 += o.0; c.1 += o.1 })
        });
    }

    #[test]
    fn joins_and_cogroup(input in batches(6), processes in 2..=3usize, threads in 1..=2usize) {
        same_as_one_process!(input, processes, threads, |s| s.clone().join(other_side(s)));
        same_as_one_process!(input, processes, threads, |s| s.clone().left_outer_join(other_side(s)));
        same_as_one_process!(input, processes, threads, |s| s.clone().right_outer_join(other_side(s)));
        same_as_one_process!(input, processes, threads, |s| s.clone().full_outer_join(other_side(s)));
        same_as_one_process!(input, processes, threads, |s| {
            s.clone().cogroup(other_side(s)).map(|(k, (vs, ws))| (k, (sort_values(vs), sort_values(ws))))
        });
    }

    #[test]
    fn union_of_keyed_streams_and_repartition(input in batches(6), processes in 2..=3usize, threads in 1..=2usize) {
        same_as_one_process!(input, processes, threads, |s| {
            s.clone().reduce_by_key(|a, b| a + b).union(other_side(s).reduce_by_key(|a, b| a.max(b)))
        });
        same_as_one_process!(input, processes, threads, |s| s.repartition(3));
    }

    #[test]
    fn sliding_windows(
        input in batches(10), window in 1..5usize, slide in 1..3usize, processes in 2..=3usize, threads in 1..=2usize,
    ) {
        let (w, sl) = (secs(window), secs(slide));
        same_as_one_process!(input, processes, threads, |s| s.reduce_by_key_and_window(|a, b| a + b, w, sl));
        same_as_one_process!(input, processes, threads, |s| {
            s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl)
        });
        same_as_one_process!(input, processes, threads, |s| {
            s.group_by_key_and_window(w, sl).map(|(k, vs)| (k, sort_values(vs)))
        });
        same_as_one_process!(input, processes, threads, |s| {
            s.map(|(k, _)| k).count_by_value_and_window(w, sl)
        });
    }

    #[test]
    fn global_aggregates(
        input in batches(8), window in 1..4usize, slide in 1..3usize, processes in 2..=3usize, threads in 1..=2usize,
    ) {
        let (w, sl) = (secs(window), secs(slide));
        same_as_one_process!(input, processes, threads, |s| s.count());
        same_as_one_process!(input, processes, threads, |s| s.map(|(_, v)| v).reduce(|a, b| a + b));
        same_as_one_process!(input, processes, threads, |s| s.count_by_window(w, sl));
        same_as_one_process!(input, processes, threads, |s| {
            s.map(|(_, v)| v).reduce_by_window(|a, b| a.max(b), w, sl)
        });
        same_as_one_process!(input, processes, threads, |s| {
            s.map(|(_, v)| v).reduce_by_window_inv(|a, b| a + b, |a, b| a - b, w, sl)
        });
    }

    #[test]
    fn keyed_state(input in batches(8), processes in 2..=3usize, threads in 1..=2usize) {
        same_as_one_process!(input, processes, threads, |s| {
            s.update_state_by_key_with_initial(
                |vs: Vec<i64>, st: Option<i64>| {
                    let sum = st.unwrap_or(0) + vs.iter().sum::<i64>();
                    (sum % 7 != 0).then_some(sum)
                },
                vec![(1, 1), (2, 2), (9, 9)],
            )
        });
        same_as_one_process!(input, processes, threads, |s| {
            s.running_reduce_by_key(|a, b| a + b).state_snapshots()
        });
        // Order-sensitive on purpose: each record sees the state the previous record of its
        // key left, in batch order.
        let spec = || StateSpec::function(|k: &u8, v: Option<i64>, st: &mut State<i64>| {
            let n = st.get_option().copied().unwrap_or(0) * 3 + v.unwrap_or(0);
            if n % 4 == 0 { st.remove(); } else { st.update(n); }
            (*k, n)
        }).initial_state(vec![(3, 5), (4, 1)]);
        same_as_one_process!(input, processes, threads, |s| s.map_with_state(spec()).mapped());
        same_as_one_process!(input, processes, threads, |s| s.map_with_state(spec()).state_snapshots());
        same_as_one_process!(input, processes, threads, |s| s.map_with_state(timed!()).mapped());
    }

    /// A cluster checkpointed after `split` batches and restarted with another number of
    /// processes (the state of the old processes re-spread over the new ones) goes on as one
    /// process does, for every operation that keeps keyed or unkeyed data across batches.
    #[test]
    fn restarted_with_another_number_of_processes(
        input in batches(9), split in 1..8usize, window in 1..5usize, slide in 1..3usize,
        before in 1..=3usize, after in 1..=4usize, threads in 1..=2usize,
    ) {
        let (w, sl) = (secs(window), secs(slide));
        macro_rules! same_after_restart {
            (|$s:ident| $body:expr) => {{
                let rescaled = sorted(run_cluster_rescaled(before, after, threads, split, input.clone(), |$s| $body));
                let single = sorted(run(input.clone(), threads, |$s| $body));
                prop_assert_eq!(rescaled, single);
            }};
        }
        same_after_restart!(|s| s.reduce_by_key_and_window(|a, b| a + b, w, sl));
        same_after_restart!(|s| s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl));
        same_after_restart!(|s| s.group_by_key_and_window(w, sl).map(|(k, vs)| (k, sort_values(vs))));
        same_after_restart!(|s| s.window(w, sl).count());
        same_after_restart!(|s| s.count_by_window(w, sl));
        same_after_restart!(|s| s.map(|(_, v)| v).reduce_by_window_inv(|a, b| a + b, |a, b| a - b, w, sl));
        same_after_restart!(|s| {
            s.update_state_by_key_with_initial(
                |vs: Vec<i64>, st: Option<i64>| {
                    let sum = st.unwrap_or(0) + vs.iter().sum::<i64>();
                    (sum % 7 != 0).then_some(sum)
                },
                vec![(1, 1), (2, 2), (9, 9)],
            )
        });
        same_after_restart!(|s| s.running_reduce_by_key(|a, b| a + b).state_snapshots());
        same_after_restart!(|s| s.map_with_state(timed!()).mapped());
        same_after_restart!(|s| s.map_with_state(timed!()).state_snapshots());
    }

    /// Process 0 prints exactly what one process prints (records in input order through narrow
    /// operations, and a count), the other processes nothing.
    #[test]
    fn print_is_the_text_of_one_process(
        input in batches(5), num in 0..12usize, processes in 2..=3usize, threads in 1..=2usize,
    ) {
        let single = run_cluster_printed(1, threads, input.clone(), num, narrow);
        prop_assert_eq!(run_cluster_printed(processes, threads, input.clone(), num, narrow), single);
        prop_assert_eq!(
            run_cluster_printed(processes, threads, input.clone(), num, |s| s.count()),
            run_cluster_printed(1, threads, input.clone(), num, |s| s.count())
        );
        // After a shuffle, records are in another order within partitions: the same header and
        // as many lines; with room for all, the same lines.
        let cluster = run_cluster_printed(processes, threads, input.clone(), num, sums);
        let single = run_cluster_printed(1, threads, input.clone(), num, sums);
        prop_assert_eq!(cluster.len(), single.len());
        for (c, s) in cluster.iter().zip(&single) {
            prop_assert_eq!(c.lines().take(3).collect::<Vec<_>>(), s.lines().take(3).collect::<Vec<_>>());
            prop_assert_eq!(c.lines().count(), s.lines().count());
            prop_assert_eq!(c.lines().last(), s.lines().last());
        }
        let all = run_cluster_printed(processes, threads, input.clone(), 100, sums);
        let one = run_cluster_printed(1, threads, input.clone(), 100, sums);
        let lines = |texts: &[String]| texts.iter().map(|t| sort_values(t.lines().map(String::from).collect())).collect::<Vec<_>>();
        prop_assert_eq!(lines(&all), lines(&one));
    }
}

/// `save_as_text_files` in a cluster: every process writes the part files of its partitions,
/// numbered globally in process order, and the batch directory is committed once, with
/// `_SUCCESS`; its lines are one process's.
#[test]
fn save_as_text_files_commits_one_directory_with_every_process_parts() {
    let dir = tempfile::tempdir().unwrap();
    let input: Vec<Vec<(u8, i64)>> = vec![(0..40).map(|i| (i as u8 % 9, i)).collect(), vec![]];
    for (processes, name) in [(1usize, "one"), (3, "three")] {
        let prefix = dir.path().join(name).to_string_lossy().into_owned();
        let p = prefix.clone();
        let _ = run_cluster(processes, 2, input.clone(), move |s| {
            let sums = s.reduce_by_key(|a, b| a + b);
            sums.clone().save_as_text_files(&p, "txt");
            sums
        });
        for t in [1000, 2000] {
            let batch = std::path::PathBuf::from(format!("{prefix}-{t}.txt"));
            assert!(batch.join("_SUCCESS").exists(), "{batch:?}");
            let mut parts: Vec<String> = std::fs::read_dir(&batch)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("part-"))
                .collect();
            parts.sort();
            let expected: Vec<String> = (0..processes * 2).map(|i| format!("part-{i:05}")).collect();
            assert_eq!(parts, expected, "{name} at {t}");
        }
        assert!(!dir.path().join(format!("_temporary-{name}-1000.txt")).exists());
    }
    let lines = |name: &str| {
        let batch = dir.path().join(format!("{name}-1000.txt"));
        let mut lines: Vec<String> = std::fs::read_dir(&batch)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("part-"))
            .flat_map(|p| std::fs::read_to_string(p).unwrap().lines().map(String::from).collect::<Vec<_>>())
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(lines("three"), lines("one"));
    assert_eq!(lines("one").len(), 9);
}

/// `foreach_batch_gathered` runs on process 0 only, with the whole batch; `foreach_batch` runs
/// on every process with its partitions.
#[test]
fn foreach_batch_gathered_sees_the_whole_batch_once() {
    use std::sync::{Arc, Mutex};
    let input: Vec<Vec<(u8, i64)>> = vec![(0..30).map(|i| (i as u8 % 11, 1)).collect()];
    let gathered = Arc::new(Mutex::new(Vec::new()));
    let local = Arc::new(Mutex::new(Vec::new()));
    let (g, l) = (Arc::clone(&gathered), Arc::clone(&local));
    let _ = run_cluster(3, 1, input, move |s| {
        let sums = s.reduce_by_key(|a, b| a + b);
        let g = Arc::clone(&g);
        sums.clone().foreach_batch_gathered(move |b, _| g.lock().unwrap().push(sort_values(b.into_vec())));
        let l = Arc::clone(&l);
        sums.clone().foreach_batch(move |b, _| l.lock().unwrap().push(b.len()));
        sums
    });
    let gathered = gathered.lock().unwrap();
    assert_eq!(gathered.len(), 1, "process 0 only");
    assert_eq!(gathered[0], (0..11u8).map(|k| (k, if k < 8 { 3 } else { 2 })).collect::<Vec<_>>());
    let local = local.lock().unwrap();
    assert_eq!(local.len(), 3, "every process");
    assert_eq!(local.iter().sum::<usize>(), 11);
}

/// Even keys in partition 0, odd keys in partition 1: a user's partitioner, which places keys
/// within a process (their process still follows their key group).
struct Parity;

impl stream_runtime::Partitioner<u32> for Parity {
    fn num_partitions(&self) -> usize {
        2
    }
    fn partition(&self, key: &u32) -> usize {
        (*key % 2) as usize
    }
}

/// 3 -> 2 and 2 -> 4 processes (and 4 -> 3, 1 -> 3), with thousands of keys spread over every
/// key group: after the restart each key's state and window contents are found by the process
/// that owns its group now, whatever the partitions (the threads, a count of 3, a user's
/// partitioner): every later batch is one process's, key for key.
#[test]
fn every_keys_state_is_found_after_a_restart_with_another_number_of_processes() {
    let input: Vec<Vec<(u32, i64)>> = (0..6)
        .map(|b| (0..3000u32).filter(|k| (k + b) % 3 != 0).map(|k| (k, i64::from(k % 7) + b as i64)).collect())
        .collect();
    let (w, sl) = (secs(3), secs(1));
    for (before, after) in [(3, 2), (2, 4), (4, 3), (1, 3)] {
        for threads in [1, 2] {
            macro_rules! same_after_restart {
                (|$s:ident| $body:expr) => {{
                    let rescaled = sorted(run_cluster_rescaled(before, after, threads, 3, input.clone(), |$s| $body));
                    let single = sorted(run(input.clone(), threads, |$s| $body));
                    assert_eq!(rescaled.len(), single.len());
                    for (t, (r, s)) in rescaled.iter().zip(&single).enumerate() {
                        assert!(
                            r == s,
                            "{before} -> {after} processes x {threads} threads, batch {t}: {} against {} records",
                            r.len(),
                            s.len()
                        );
                    }
                }};
            }
            same_after_restart!(|s| s.running_reduce_by_key(|a, b| a + b).state_snapshots());
            same_after_restart!(|s| s.update_state_by_key_with_partitions(
                |vs: Vec<i64>, st: Option<i64>| Some(st.unwrap_or(0) + vs.iter().sum::<i64>()),
                3usize,
            ));
            same_after_restart!(|s| s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl));
            same_after_restart!(|s| s.reduce_by_key_and_window_with_partitions(|a, b| a + b, w, sl, Parity));
            same_after_restart!(|s| s.group_by_key_and_window(w, sl).map(|(k, vs)| (k, sort_values(vs))));
        }
    }
}
