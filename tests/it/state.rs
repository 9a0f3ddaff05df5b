//! Per-key state: Spark's updateStateByKey and MapWithStateSuite cases, and runs observed on
//! Spark, then `running_reduce_by_key` against a plain sequential model on seeded random
//! input. (The property tests of `update_state_by_key` and `map_with_state` are in
//! `properties.rs`.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use stream_runtime::testing::{run, Harness};
use stream_runtime::{Duration, State, StateError, StateSpec, Time};

use crate::{sorted, THREADS};

type Words = Vec<Vec<&'static str>>;

fn words(rows: &[&[&'static str]]) -> Words {
    rows.iter().map(|r| r.to_vec()).collect()
}

/// `[a] | [a,b] | [a,b,c] | [a,b] | [a] | []`, the input of Spark's updateStateByKey tests.
fn abc() -> Words {
    words(&[&["a"], &["a", "b"], &["a", "b", "c"], &["a", "b"], &["a"], &[]])
}

fn pairs(rows: &[&[(&'static str, i64)]]) -> Vec<Vec<(&'static str, i64)>> {
    rows.iter().map(|r| r.to_vec()).collect()
}

fn sum_update(vs: Vec<i64>, s: Option<i64>) -> Option<i64> {
    Some(vs.iter().sum::<i64>() + s.unwrap_or(0))
}

#[test]
fn update_state_by_key_emits_every_key_every_batch() {
    for t in THREADS {
        let out = run(abc(), t, |s| s.map(|w| (w, 1i64)).update_state_by_key(sum_update));
        assert_eq!(
            sorted(out),
            pairs(&[
                &[("a", 1)],
                &[("a", 2), ("b", 1)],
                &[("a", 3), ("b", 2), ("c", 1)],
                &[("a", 4), ("b", 3), ("c", 1)],
                &[("a", 5), ("b", 3), ("c", 1)],
                &[("a", 5), ("b", 3), ("c", 1)],
            ])
        );
    }
}

#[test]
fn update_state_by_key_starts_from_the_initial_state() {
    for t in THREADS {
        let out = run(abc(), t, |s| {
            s.map(|w| (w, 1i64)).update_state_by_key_with_initial(sum_update, vec![("a", 1), ("c", 2)])
        });
        assert_eq!(
            sorted(out),
            pairs(&[
                &[("a", 2), ("c", 2)],
                &[("a", 3), ("b", 1), ("c", 2)],
                &[("a", 4), ("b", 2), ("c", 3)],
                &[("a", 5), ("b", 3), ("c", 3)],
                &[("a", 6), ("b", 3), ("c", 3)],
                &[("a", 6), ("b", 3), ("c", 3)],
            ])
        );
    }
}

#[test]
fn update_state_by_key_with_time_passes_the_batch_time() {
    for t in THREADS {
        let out = run(abc(), t, |s| {
            s.map(|w| (w, 1i64)).update_state_by_key_with_time(
                |time: Time, _k: &&str, vs: Vec<i64>, s: Option<i64>| {
                    Some(if vs.is_empty() { s.unwrap_or(0) } else { time.as_millis() + s.unwrap_or(0) })
                },
                vec![("a", 0), ("c", 0)],
            )
        });
        assert_eq!(
            sorted(out),
            pairs(&[
                &[("a", 1000), ("c", 0)],
                &[("a", 3000), ("b", 2000), ("c", 0)],
                &[("a", 6000), ("b", 5000), ("c", 3000)],
                &[("a", 10000), ("b", 9000), ("c", 3000)],
                &[("a", 15000), ("b", 9000), ("c", 3000)],
                &[("a", 15000), ("b", 9000), ("c", 3000)],
            ])
        );
    }
}

#[test]
fn update_state_by_key_calls_idle_keys_across_missing_batches_and_none_removes() {
    // (count, batches without values); dropped after the second consecutive empty batch.
    let update = |vs: Vec<i64>, s: Option<(i64, u32)>| {
        let (n, idle) = s.unwrap_or((0, 0));
        if vs.is_empty() {
            (idle + 1 < 2).then_some((n, idle + 1))
        } else {
            Some((n + vs.len() as i64, 0))
        }
    };
    let input = vec![Some(vec!["a", "b"]), None, Some(vec!["a", "c", "a"]), Some(vec!["c"]), None, None];
    for t in THREADS {
        let out = Harness::new(t)
            .collect(input.clone(), |s| s.map(|w| (w, 1i64)).update_state_by_key(update).map(|(k, (n, _))| (k, n)));
        assert!(out.errors.is_empty());
        assert_eq!(
            sorted(out.outputs),
            pairs(&[
                &[("a", 1), ("b", 1)],
                &[("a", 1), ("b", 1)],
                &[("a", 3), ("c", 1)],
                &[("a", 3), ("c", 2)],
                &[("c", 2)],
                &[]
            ])
        );
    }
}

#[test]
fn update_state_by_key_none_removes_the_key() {
    let input = words(&[&["a"], &["a", "b"], &["b"], &[], &["c"], &[]]);
    let update = |vs: Vec<i64>, s: Option<i64>| (!vs.is_empty()).then(|| vs.len() as i64 + s.unwrap_or(0));
    for t in THREADS {
        let out = run(input.clone(), t, |s| s.map(|w| (w, 1i64)).update_state_by_key(update));
        assert_eq!(sorted(out), pairs(&[&[("a", 1)], &[("a", 2), ("b", 1)], &[("b", 2)], &[], &[("c", 1)], &[]]));
    }
}

#[test]
fn update_state_by_key_state_can_be_a_growing_list() {
    let append = |vs: Vec<i32>, s: Option<Vec<i32>>| {
        let mut l = s.unwrap_or_default();
        l.extend(vs);
        Some(l)
    };
    for t in THREADS {
        let input: Vec<Vec<(&str, i32)>> = (0..5).map(|i| vec![("k", i)]).collect();
        let out = run(input, t, |s| s.update_state_by_key(append));
        let expected: Vec<Vec<(&str, Vec<i32>)>> = (1..=5).map(|n| vec![("k", (0..n).collect())]).collect();
        assert_eq!(out, expected);
        let input: Vec<Vec<(&str, i32)>> = (2..5).map(|i| vec![("k", i)]).collect();
        let out = run(input, t, |s| s.update_state_by_key_with_initial(append, vec![("k", vec![0, 1])]));
        let expected: Vec<Vec<(&str, Vec<i32>)>> = (3..=5).map(|n| vec![("k", (0..n).collect())]).collect();
        assert_eq!(out, expected);
    }
}

// ---- map_with_state ----

/// `[] | [a] | [a,b] | [a,b,c] | [a,b] | [a] | []`, the MapWithStateSuite input.
fn suite_input() -> Words {
    words(&[&[], &["a"], &["a", "b"], &["a", "b", "c"], &["a", "b"], &["a"], &[]])
}

type Outputs<M, S> = (Vec<Vec<M>>, Vec<Vec<(&'static str, S)>>);

/// Runs `map_with_state` over `(word, 1)` pairs; returns the mapped batches and the snapshots.
fn map_with_state<S, M, F>(input: Words, threads: usize, spec: StateSpec<&'static str, i64, S, M, F>) -> Outputs<M, S>
where
    S: stream_runtime::Data + stream_runtime::Persist + Ord,
    M: stream_runtime::Data + Ord,
    F: Fn(Time, &&'static str, Option<i64>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
{
    let mapped = Arc::new(Mutex::new(Vec::new()));
    let snaps = Arc::new(Mutex::new(Vec::new()));
    let (m, s) = (Arc::clone(&mapped), Arc::clone(&snaps));
    let errors = Harness::new(threads).run(input, move |words| {
        let state = words.map(|w| (w, 1i64)).map_with_state(spec);
        state.mapped().foreach_batch(move |b, _| m.lock().unwrap().push(b.into_vec()));
        state.state_snapshots().foreach_batch(move |b, _| s.lock().unwrap().push(b.into_vec()));
    });
    assert!(errors.is_empty(), "{errors:?}");
    let mapped = std::mem::take(&mut *mapped.lock().unwrap());
    let snaps = std::mem::take(&mut *snaps.lock().unwrap());
    (sorted(mapped), sorted(snaps))
}

fn running_count(_k: &&'static str, v: Option<i64>, state: &mut State<i64>) -> i64 {
    let n = state.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
    state.update(n);
    n
}

fn snapshot_38() -> Vec<Vec<(&'static str, i64)>> {
    pairs(&[
        &[],
        &[("a", 1)],
        &[("a", 2), ("b", 1)],
        &[("a", 3), ("b", 2), ("c", 1)],
        &[("a", 4), ("b", 3), ("c", 1)],
        &[("a", 5), ("b", 3), ("c", 1)],
        &[("a", 5), ("b", 3), ("c", 1)],
    ])
}

#[test]
fn map_with_state_simple_function_emits_one_record_per_input_record() {
    for t in THREADS {
        let (mapped, snaps) = map_with_state(suite_input(), t, StateSpec::function(running_count));
        assert_eq!(mapped, vec![vec![], vec![1], vec![1, 2], vec![1, 2, 3], vec![3, 4], vec![5], vec![]]);
        assert_eq!(snaps, snapshot_38());
    }
}

#[test]
fn map_with_state_full_function_emits_what_it_returns() {
    for t in THREADS {
        let spec = StateSpec::function_full(|_t: Time, k: &&'static str, v: Option<i64>, state: &mut State<i64>| {
            running_count(k, v, state);
            Some(k.repeat(2))
        });
        let (mapped, snaps) = map_with_state(suite_input(), t, spec);
        let expected: Vec<Vec<String>> =
            words(&[&[], &["aa"], &["aa", "bb"], &["aa", "bb", "cc"], &["aa", "bb"], &["aa"], &[]])
                .into_iter()
                .map(|b| b.into_iter().map(String::from).collect())
                .collect();
        assert_eq!(mapped, expected);
        assert_eq!(snaps, snapshot_38());
    }
}

#[test]
fn map_with_state_can_emit_the_updated_states() {
    for t in THREADS {
        let spec = StateSpec::function_full(|_t: Time, k: &&'static str, v: Option<i64>, state: &mut State<i64>| {
            Some((*k, running_count(k, v, state)))
        });
        let (mapped, _) = map_with_state(suite_input(), t, spec);
        assert_eq!(
            mapped,
            pairs(&[
                &[],
                &[("a", 1)],
                &[("a", 2), ("b", 1)],
                &[("a", 3), ("b", 2), ("c", 1)],
                &[("a", 4), ("b", 3)],
                &[("a", 5)],
                &[]
            ])
        );
    }
}

#[test]
fn map_with_state_starts_from_the_initial_state() {
    for t in THREADS {
        let spec = StateSpec::function_full(|_t: Time, k: &&'static str, v: Option<i64>, state: &mut State<i64>| {
            running_count(k, v, state);
            None::<i64>
        })
        .initial_state(vec![("a", 5), ("b", 10), ("c", -20), ("d", 0)]);
        let (mapped, snaps) = map_with_state(suite_input(), t, spec);
        assert!(mapped.iter().all(Vec::is_empty));
        assert_eq!(
            snaps,
            pairs(&[
                &[("a", 5), ("b", 10), ("c", -20), ("d", 0)],
                &[("a", 6), ("b", 10), ("c", -20), ("d", 0)],
                &[("a", 7), ("b", 11), ("c", -20), ("d", 0)],
                &[("a", 8), ("b", 12), ("c", -19), ("d", 0)],
                &[("a", 9), ("b", 13), ("c", -19), ("d", 0)],
                &[("a", 10), ("b", 13), ("c", -19), ("d", 0)],
                &[("a", 10), ("b", 13), ("c", -19), ("d", 0)],
            ])
        );
    }
}

fn toggle(_t: Time, k: &&'static str, v: Option<i64>, state: &mut State<i64>) -> Option<&'static str> {
    if state.exists() {
        state.remove();
        Some(*k)
    } else {
        state.update(v.unwrap_or(0));
        None
    }
}

#[test]
fn map_with_state_remove_drops_the_key_from_the_snapshots() {
    let input = words(&[&[], &["a"], &["a", "b"], &["a", "b", "c"], &["a", "b", "c"], &["a", "b"], &["a"], &[]]);
    for t in THREADS {
        let (mapped, snaps) = map_with_state(input.clone(), t, StateSpec::function_full(toggle).num_partitions(1));
        assert_eq!(mapped, words(&[&[], &[], &["a"], &["b"], &["a", "c"], &["b"], &["a"], &[]]));
        assert_eq!(
            snaps,
            pairs(&[&[], &[("a", 1)], &[("b", 1)], &[("a", 1), ("c", 1)], &[("b", 1)], &[("a", 1)], &[], &[]])
        );
    }
}

#[test]
fn map_with_state_a_removed_key_can_be_set_again_later() {
    let input = words(&[&["a"], &["a", "b"], &["a", "b"], &["b"], &[]]);
    let spec = || {
        StateSpec::function(|k: &&'static str, _v: Option<i64>, state: &mut State<i64>| {
            if state.exists() {
                state.remove();
                format!("removed({k})")
            } else {
                state.update(1);
                format!("set({k})")
            }
        })
    };
    for t in THREADS {
        let (mapped, snaps) = map_with_state(input.clone(), t, spec());
        let expected: Vec<Vec<String>> =
            [&["set(a)"][..], &["removed(a)", "set(b)"], &["removed(b)", "set(a)"], &["set(b)"], &[]]
                .iter()
                .map(|b| b.iter().map(|s| s.to_string()).collect())
                .collect();
        assert_eq!(mapped, expected);
        assert_eq!(
            snaps,
            pairs(&[&[("a", 1)], &[("b", 1)], &[("a", 1)], &[("a", 1), ("b", 1)], &[("a", 1), ("b", 1)]])
        );
    }
}

#[test]
fn map_with_state_calls_once_per_record_in_order() {
    for t in THREADS {
        let (mapped, snaps) = map_with_state(words(&[&["a", "a", "a"]]), t, StateSpec::function(running_count));
        assert_eq!(mapped, vec![vec![1, 2, 3]]);
        assert_eq!(snaps, pairs(&[&[("a", 3)]]));
    }
}

/// Adds values to the state; reports `TIMEOUT(k)` when timing out, else `k=<state>`.
/// The function of the timeout tests.
type TimeoutFn = fn(Time, &&'static str, Option<i64>, &mut State<i64>) -> Option<String>;

fn timeout_spec() -> StateSpec<&'static str, i64, i64, String, TimeoutFn> {
    fn report(_t: Time, k: &&'static str, v: Option<i64>, state: &mut State<i64>) -> Option<String> {
        Some(if state.is_timing_out() {
            assert_eq!(state.try_update(0), Err(StateError::UpdateWhileTimingOut));
            format!("TIMEOUT({k})")
        } else {
            format!("{k}={}", running_count(k, v, state))
        })
    }
    StateSpec::function_full(report as TimeoutFn).timeout(Duration::seconds(3))
}

#[test]
fn map_with_state_times_out_at_the_first_eligible_batch() {
    // Spark with checkpoint(1s) (every batch a full scan): c (last update 1000) times out at
    // 5000 and b (2000) at 6000. Sluice always fires at the first eligible batch.
    let mut input = words(&[&["a", "b", "c"], &["a", "b"], &["a"], &[], &[]]);
    input.extend((0..9).map(|_| vec!["a"]));
    for t in THREADS {
        let (mapped, snaps) = map_with_state(input.clone(), t, timeout_spec());
        let strings = |rows: &[&[&str]]| -> Vec<Vec<String>> {
            rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect()
        };
        assert_eq!(
            mapped[..7].to_vec(),
            strings(&[
                &["a=1", "b=1", "c=1"],
                &["a=2", "b=2"],
                &["a=3"],
                &[],
                &["TIMEOUT(c)"],
                &["TIMEOUT(b)", "a=4"],
                &["a=5"]
            ])
        );
        assert_eq!(snaps[3], pairs(&[&[("a", 3), ("b", 2), ("c", 1)]])[0]);
        assert_eq!(snaps[4], pairs(&[&[("a", 3), ("b", 2)]])[0]);
        assert_eq!(snaps[5], pairs(&[&[("a", 4)]])[0]);
        assert_eq!(snaps.last(), Some(&vec![("a", 12)]));
    }
}

#[test]
fn map_with_state_reports_each_timeout_once() {
    let update_to_one = |k: &&'static str, v: Option<i64>, state: &mut State<i64>| {
        if state.is_timing_out() {
            Some(*k)
        } else {
            if v.is_some() {
                state.update(1);
            }
            None
        }
    };
    let mut input = words(&[&["a", "b", "c"], &["a", "b"], &["a"], &[], &[], &["a"]]);
    input.extend((0..14).map(|_| vec!["a"]));
    for t in THREADS {
        let spec = StateSpec::function(update_to_one).timeout(Duration::seconds(3));
        let (mapped, snaps) = map_with_state(input.clone(), t, spec);
        let mut all: Vec<&str> = mapped.into_iter().flatten().flatten().collect();
        all.sort();
        assert_eq!(all, vec!["b", "c"]);
        assert!(snaps.contains(&vec![("a", 1), ("b", 1), ("c", 1)]));
        assert_eq!(snaps.last(), Some(&vec![("a", 1)]));
    }
}

#[test]
fn state_object_refuses_misuse_with_sparks_messages() {
    let s: State<i32> = State::new(None);
    assert!(!s.exists());
    assert_eq!(s.get(), Err(StateError::NotSet));
    assert_eq!(s.get_option(), None);
    assert_eq!(s.to_string(), "<state not set>");
    let mut s = State::new(Some(1));
    assert!(s.exists());
    assert_eq!(s.get(), Ok(&1));
    s.update(2);
    assert!(s.is_updated());
    s.remove();
    assert!(!s.exists() && s.is_removed());
    assert_eq!(s.error(), None);
    assert_eq!(s.try_update(3), Err(StateError::UpdateAfterRemove));
    assert_eq!(s.try_remove(), Err(StateError::AlreadyRemoved));
    assert_eq!(s.error(), None, "try_ forms record nothing");
    s.remove();
    s.update(3);
    assert_eq!(s.error(), Some(StateError::AlreadyRemoved), "the first misuse is kept");
    assert!(!s.exists());
    let mut s = State::timing_out(3);
    assert!(s.is_timing_out());
    assert_eq!(s.get(), Ok(&3));
    assert_eq!(
        s.try_update(4).unwrap_err().to_string(),
        "requirement failed: Cannot update the state that is timing out"
    );
    assert_eq!(
        s.try_remove().unwrap_err().to_string(),
        "requirement failed: Cannot remove the state that is timing out"
    );
    s.update(4);
    assert_eq!(s.get(), Ok(&3));
    assert_eq!(s.error(), Some(StateError::UpdateWhileTimingOut));
}

/// Spark throws `IllegalArgumentException` from the mapping function on a misuse of `State`,
/// failing the batch; here the misuse is recorded and the batch fails with the same message.
#[test]
fn map_with_state_misuse_fails_the_batch_with_sparks_message() {
    use stream_runtime::{BatchError, StreamingError};
    type Misuse = fn(&mut State<i64>);
    let cases: [(Misuse, &str); 2] = [
        (
            |s| {
                s.remove();
                s.update(1);
            },
            "requirement failed: Cannot update the state after it has been removed",
        ),
        (
            |s| {
                s.remove();
                s.remove();
            },
            "requirement failed: Cannot remove the state that has already been removed",
        ),
    ];
    for t in THREADS {
        for (misuse, message) in cases {
            let outcome = Harness::new(t).collect(vec![Some(vec![("a", 1i64)]), Some(vec![("b", 1)])], |s| {
                let spec = s.state_spec().function(move |_k, _v, state| misuse(state));
                s.map_with_state(spec).mapped()
            });
            assert!(!outcome.errors.is_empty(), "{t} threads: the batch did not fail");
            for e in &outcome.errors {
                let StreamingError::BatchFailed { cause: BatchError::State(cause), .. } = e else {
                    panic!("not a state error: {e:?}")
                };
                assert_eq!(cause.to_string(), message);
            }
        }
        // A timing-out state: update and remove are refused.
        for (update, message) in [
            (true, "requirement failed: Cannot update the state that is timing out"),
            (false, "requirement failed: Cannot remove the state that is timing out"),
        ] {
            let input = vec![Some(vec![("a", 1i64)]), Some(vec![]), Some(vec![]), Some(vec![])];
            let outcome = Harness::new(t).collect(input, |s| {
                let spec = s
                    .state_spec()
                    .function(move |_k, v, state| match (v, update) {
                        (Some(v), _) => state.update(v),
                        (None, true) => state.update(0),
                        (None, false) => state.remove(),
                    })
                    .timeout(Duration::seconds(1));
                s.map_with_state(spec).mapped()
            });
            assert_eq!(outcome.errors.len(), 1, "{t} threads: {:?}", outcome.errors);
            assert!(outcome.errors[0].to_string().ends_with(message), "{}", outcome.errors[0]);
        }
    }
}

#[test]
fn stateful_operations_need_a_checkpoint_directory() {
    use stream_runtime::prelude::*;
    let message = "The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint().";
    let ssc = StreamingContext::new(Duration::seconds(1));
    ssc.queue_stream(BatchQueue::<(i32, i32)>::new(), true, None)
        .update_state_by_key(|vs: Vec<i32>, s: Option<i32>| s.or(vs.first().copied()))
        .print();
    assert_eq!(ssc.start().unwrap_err().to_string(), message);
    let ssc = StreamingContext::new(Duration::seconds(1));
    ssc.queue_stream(BatchQueue::<(i32, i32)>::new(), true, None).running_reduce_by_key(|a, b| a + b).print_state(10);
    assert_eq!(ssc.start().unwrap_err().to_string(), message);
    let ssc = StreamingContext::new(Duration::seconds(1));
    let spec = StateSpec::function(|_k: &i32, v: Option<i32>, _s: &mut State<i32>| v);
    ssc.queue_stream(BatchQueue::<(i32, i32)>::new(), true, None).map_with_state(spec).mapped().print();
    assert_eq!(ssc.start().unwrap_err().to_string(), message);
}

#[test]
fn state_views_agree_and_print_state_runs() {
    for t in THREADS {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let copies = Arc::new(Mutex::new(Vec::new()));
        let copy_sink = Arc::clone(&copies);
        Harness::new(t).run(abc(), move |s| {
            let state = s.map(|w| (w, 1i64)).running_reduce_by_key(|a, b| a + b);
            state.clone().print_state(2);
            state.state_snapshots().foreach_batch(move |b, _| copy_sink.lock().unwrap().push(b.into_vec()));
            state.foreach_snapshot(move |snap, _| {
                let mut v: Vec<(&str, i64)> = snap.iter().map(|(k, s)| (*k, *s)).collect();
                v.sort();
                assert_eq!(snap.len(), v.len());
                assert!(v.iter().all(|(k, s)| snap.get(k) == Some(s)));
                sink.lock().unwrap().push(v);
            });
        });
        let copies = sorted(std::mem::take(&mut *copies.lock().unwrap()));
        assert_eq!(*seen.lock().unwrap(), copies);
        assert_eq!(copies[2], vec![("a", 3), ("b", 2), ("c", 1)]);
    }
}

// ---- Oracles on seeded random input (update_state_by_key with removals and map_with_state
// with timeouts are property tests, in `properties.rs`) ----

type Rows = Vec<Vec<(u8, i64)>>;

fn random_batches(seed: u64, batches: usize, keys: u8) -> Rows {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..batches)
        .map(|_| {
            let n = if rng.gen_bool(0.25) { 0 } else { rng.gen_range(0..50) };
            (0..n).map(|_| (rng.gen_range(0..keys), rng.gen_range(-20..20i64))).collect()
        })
        .collect()
}

#[test]
fn running_reduce_matches_update_state_by_key_and_a_model() {
    for seed in 0..8 {
        let input = random_batches(seed, 10, 30);
        let mut model: BTreeMap<u8, i64> = BTreeMap::new();
        let mut snapshots = Vec::new();
        let mut updates = Vec::new();
        for batch in &input {
            let mut touched = BTreeMap::new();
            for &(k, v) in batch {
                *model.entry(k).or_insert(0) += v;
                touched.insert(k, ());
            }
            updates.push(touched.keys().map(|k| (*k, model[k])).collect::<Vec<_>>());
            snapshots.push(model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
        }
        for t in THREADS {
            let snaps = run(input.clone(), t, |s| s.running_reduce_by_key(|a, b| a + b).state_snapshots());
            assert_eq!(sorted(snaps), snapshots, "snapshots, seed {seed}, {t} threads");
            let mapped = run(input.clone(), t, |s| s.running_reduce_by_key(|a, b| a + b).mapped());
            assert_eq!(sorted(mapped), updates, "updates, seed {seed}, {t} threads");
            let general = run(input.clone(), t, |s| s.update_state_by_key(sum_update));
            assert_eq!(sorted(general), snapshots, "update_state_by_key, seed {seed}, {t} threads");
        }
    }
}
