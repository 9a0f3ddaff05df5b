//! Property tests: random input, random window shapes, random thread counts, each run compared
//! batch by batch with an oracle that recomputes the batch's output from the raw input, from
//! scratch, with plain maps (no windows, no state, no partitions).
//!
//! - windows: the output at time `t` is the reduction of every record of the batches in
//!   `(t - window, t]`, for the non-invertible path (`reduce_by_key_and_window`) and the
//!   invertible one (`reduce_by_key_and_window_inv`, with and without a filter);
//! - state: the state at `t` is the fold of all input up to `t` (`update_state_by_key`,
//!   `map_with_state` with and without a timeout);
//! - checkpoints: a run checkpointed and recovered (into a fresh pipeline, maybe at another
//!   thread count) at random batches has the outputs of an uninterrupted run.
//!
//! Times are in batch units: input batch `i` (0-based) is the data at time `i + 1`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use stream_runtime::testing::{run, Harness, Stepper};
use stream_runtime::{Duration, State, StateSpec, Time};

use crate::sorted;

type Rows = Vec<Vec<(u8, i64)>>;

/// Few cases, small inputs: the whole file runs in seconds.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 64, ..ProptestConfig::default() }
}

/// One batch: often empty, else up to 12 records over 12 keys, so that keys come and go
/// (and time out).
fn batch() -> impl Strategy<Value = Vec<(u8, i64)>> {
    prop_oneof![
        1 => Just(Vec::new()),
        3 => prop::collection::vec((0..12u8, -20..20i64), 0..12),
    ]
}

/// `1..=max` batches.
fn batches(max: usize) -> impl Strategy<Value = Rows> {
    prop::collection::vec(batch(), 1..=max)
}

fn secs(n: usize) -> Duration {
    Duration::seconds(n as i64)
}

/// The times at which a stream sliding every `slide` batches has a batch, among `n` batches.
fn output_times(n: usize, slide: usize) -> impl Iterator<Item = usize> {
    (slide..=n).step_by(slide)
}

/// Every record of the batches in the window `(t - window, t]`.
fn window_records(input: &Rows, t: usize, window: usize) -> Vec<(u8, i64)> {
    input[t.saturating_sub(window)..t].concat()
}

fn sum_by_key(records: &[(u8, i64)]) -> BTreeMap<u8, i64> {
    let mut m = BTreeMap::new();
    for &(k, v) in records {
        *m.entry(k).or_insert(0) += v;
    }
    m
}

/// Which pairs the invertible window emits, by the filter it was given.
#[derive(Debug, Clone, Copy)]
enum Keep {
    /// No filter: every key ever seen stays, with the value the inverse left (Spark).
    All,
    /// Spark's usual filter: drop the zeros.
    NonZero,
    /// A filter on the key and the value.
    EvenKeyOrPositive,
}

impl Keep {
    fn keeps(self, k: u8, v: i64) -> bool {
        match self {
            Keep::All => true,
            Keep::NonZero => v != 0,
            Keep::EvenKeyOrPositive => k % 2 == 0 || v > 0,
        }
    }
}

fn keep() -> impl Strategy<Value = Keep> {
    prop_oneof![Just(Keep::All), Just(Keep::NonZero), Just(Keep::EvenKeyOrPositive)]
}

proptest! {
    #![proptest_config(config())]

    /// `reduce_by_key_and_window(f, w, s)` at `t` is `f` over the records of `(t - w, t]`,
    /// per key, for any window and slide multiple of the batch (Spark's windows, the slide
    /// longer than the window included).
    #[test]
    fn reduce_by_key_and_window_is_the_reduction_of_the_window(
        input in batches(16), window in 1..7usize, slide in 1..5usize, threads in 1..=4usize,
    ) {
        let got = sorted(run(input.clone(), threads, |s| s.reduce_by_key_and_window(|a, b| a + b, secs(window), secs(slide))));
        let want: Vec<Vec<(u8, i64)>> = output_times(input.len(), slide)
            .map(|t| sum_by_key(&window_records(&input, t, window)).into_iter().collect())
            .collect();
        prop_assert_eq!(got, want);
    }

    /// `reduce_by_key_and_window_inv(f, inv, w, s)` at `t`: every key seen up to `t` with
    /// the reduction of its records in `(t - w, t]` (zero, the inverse's value, when none are
    /// left: Spark keeps such keys), restricted to the pairs the filter keeps.
    #[test]
    fn reduce_by_key_and_window_inv_is_the_reduction_of_the_window(
        input in batches(16), window in 1..7usize, slide in 1..5usize, threads in 1..=4usize,
        keep in keep(), partitions in prop::option::of(1..5usize),
    ) {
        let got = sorted(run(input.clone(), threads, |s| {
            let (w, sl) = (secs(window), secs(slide));
            match keep {
                Keep::All if partitions.is_none() => s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, w, sl),
                _ => s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, w, sl, partitions.unwrap_or(0), move |(k, v)| keep.keeps(*k, *v)),
            }
        }));
        let want: Vec<Vec<(u8, i64)>> = output_times(input.len(), slide)
            .map(|t| {
                let sums = sum_by_key(&window_records(&input, t, window));
                let seen: BTreeSet<u8> = input[..t].iter().flatten().map(|(k, _)| *k).collect();
                seen.into_iter()
                    .map(|k| (k, sums.get(&k).copied().unwrap_or(0)))
                    .filter(|&(k, v)| keep.keeps(k, v))
                    .collect()
            })
            .collect();
        prop_assert_eq!(got, want);
    }

    /// `update_state_by_key`: the state at `t` is the fold of the update over all input up to
    /// `t`, from the initial state; every key with a state is emitted every batch.
    #[test]
    fn update_state_by_key_is_the_fold_of_all_input(
        input in batches(12),
        initial in prop::collection::btree_map(0..12u8, -20..20i64, 0..4),
        threads in 1..=4usize,
    ) {
        let initial: Vec<(u8, (i64, u32))> = initial.into_iter().map(|(k, v)| (k, (v, 0))).collect();
        let got = sorted(run(input.clone(), threads, |s| s.update_state_by_key_with_initial(update, initial.clone())));
        let want: Vec<Vec<(u8, (i64, u32))>> =
            (1..=input.len()).map(|t| fold_updates(&input[..t], &initial).into_iter().collect()).collect();
        prop_assert_eq!(got, want);
    }

    /// `map_with_state`: one call per record in batch order, each seeing the state the
    /// previous call left; with a timeout, a key idle for longer is called once more, timing
    /// out, at the first batch after its deadline, and removed (Spark with every batch a
    /// full-scan batch). Compares the mapped records per key (in call order) and the
    /// snapshots with a sequential model folded from the first batch.
    #[test]
    fn map_with_state_is_a_sequential_fold_of_the_records(
        input in batches(14), timeout in prop::option::of(1..4usize), threads in 1..=4usize,
    ) {
        let (mapped, snaps) = run_map_with_state(input.clone(), threads, timeout);
        for t in 1..=input.len() {
            let (calls, state) = model_map_with_state(&input[..t], timeout);
            prop_assert_eq!(per_key(&mapped[t - 1]), per_key(&calls), "mapped at {}", t);
            let mut snap = snaps[t - 1].clone();
            snap.sort();
            prop_assert_eq!(snap, state.into_iter().map(|(k, (s, _))| (k, s)).collect::<Vec<_>>(), "snapshot at {}", t);
        }
    }
}

/// A running `(sum, idle batches)` per key, dropped after three idle batches or when the sum
/// becomes a multiple of 5.
fn update(values: Vec<i64>, state: Option<(i64, u32)>) -> Option<(i64, u32)> {
    let (sum, idle) = state.unwrap_or((0, 0));
    if values.is_empty() {
        return (idle + 1 < 3).then_some((sum, idle + 1));
    }
    let sum = sum + values.iter().sum::<i64>();
    (sum % 5 != 0).then_some((sum, 0))
}

/// The state after `input`: every key with a state or values goes through `update` each batch.
fn fold_updates(input: &[Vec<(u8, i64)>], initial: &[(u8, (i64, u32))]) -> BTreeMap<u8, (i64, u32)> {
    let mut state: BTreeMap<u8, (i64, u32)> = initial.iter().copied().collect();
    for batch in input {
        let mut values: BTreeMap<u8, Vec<i64>> = state.keys().map(|k| (*k, Vec::new())).collect();
        batch.iter().for_each(|&(k, v)| values.entry(k).or_default().push(v));
        state = values.into_iter().filter_map(|(k, vs)| update(vs, state.get(&k).copied()).map(|s| (k, s))).collect();
    }
    state
}

/// What the `map_with_state` function does with a record's value: `v % 5 == 0` removes the
/// key, `v % 5 == 1` leaves the state alone, anything else adds `v`.
#[derive(Debug, PartialEq)]
enum Action {
    Remove,
    Nothing,
    Add,
}

fn action(v: i64) -> Action {
    match v.rem_euclid(5) {
        0 => Action::Remove,
        1 => Action::Nothing,
        _ => Action::Add,
    }
}

/// A timing-out key is reported as `1000 + state`.
const TIMED_OUT: i64 = 1000;

fn map_fn(k: &u8, v: Option<i64>, state: &mut State<i64>) -> (u8, i64) {
    let current = state.get_option().copied();
    let Some(v) = v else {
        assert!(state.is_timing_out(), "called without a value while not timing out");
        return (*k, TIMED_OUT + current.unwrap_or_default());
    };
    match action(v) {
        Action::Remove => {
            if current.is_some() {
                state.remove();
            }
            (*k, current.unwrap_or(-1))
        }
        Action::Nothing => (*k, current.unwrap_or(-1)),
        Action::Add => {
            let s = current.unwrap_or(0) + v;
            state.update(s);
            (*k, s)
        }
    }
}

/// Runs `map_with_state(map_fn)`; returns the mapped records and the snapshots of each batch.
fn run_map_with_state(input: Rows, threads: usize, timeout: Option<usize>) -> (Rows, Rows) {
    let mapped = Arc::new(Mutex::new(Vec::new()));
    let snaps = Arc::new(Mutex::new(Vec::new()));
    let (m, s) = (Arc::clone(&mapped), Arc::clone(&snaps));
    let errors = Harness::new(threads).run(input, move |stream| {
        let spec = StateSpec::function(map_fn);
        let spec = match timeout {
            Some(d) => spec.timeout(secs(d)),
            None => spec,
        };
        let state = stream.map_with_state(spec);
        state.mapped().foreach_batch(move |b, _| m.lock().unwrap().push(b.into_vec()));
        state.state_snapshots().foreach_batch(move |b, _| s.lock().unwrap().push(b.into_vec()));
    });
    assert!(errors.is_empty(), "{errors:?}");
    let mapped = std::mem::take(&mut *mapped.lock().unwrap());
    let snaps = std::mem::take(&mut *snaps.lock().unwrap());
    (mapped, snaps)
}

/// The sequential model of `map_with_state(map_fn)` over `input`, from an empty state: the
/// calls of the last batch and the state after it, per key `(state, last update)`.
fn model_map_with_state(
    input: &[Vec<(u8, i64)>],
    timeout: Option<usize>,
) -> (Vec<(u8, i64)>, BTreeMap<u8, (i64, usize)>) {
    let mut state: BTreeMap<u8, (i64, usize)> = BTreeMap::new();
    let mut calls = Vec::new();
    for (i, batch) in input.iter().enumerate() {
        let t = i + 1;
        calls.clear();
        for &(k, v) in batch {
            let current = state.get(&k).map(|(s, _)| *s);
            match action(v) {
                Action::Remove => {
                    state.remove(&k);
                    calls.push((k, current.unwrap_or(-1)));
                }
                Action::Nothing => {
                    // A record refreshes an existing key's timer when a timeout is set.
                    if let (Some(s), Some(_)) = (current, timeout) {
                        state.insert(k, (s, t));
                    }
                    calls.push((k, current.unwrap_or(-1)));
                }
                Action::Add => {
                    let s = current.unwrap_or(0) + v;
                    state.insert(k, (s, t));
                    calls.push((k, s));
                }
            }
        }
        if let Some(d) = timeout {
            let due: Vec<u8> = state.iter().filter(|(_, (_, last))| last + d < t).map(|(k, _)| *k).collect();
            for k in due {
                let (s, _) = state.remove(&k).unwrap_or_default();
                calls.push((k, TIMED_OUT + s));
            }
        }
    }
    (calls, state)
}

/// A batch's outputs grouped by key, each key's in order: calls for one key happen in record
/// order; across keys the batch is a set.
fn per_key(rows: &[(u8, i64)]) -> BTreeMap<u8, Vec<i64>> {
    let mut m: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
    rows.iter().for_each(|&(k, v)| m.entry(k).or_default().push(v));
    m
}

// ---- Checkpoint, then recover ----

/// The stateful pipelines checkpoints must carry over, each ending in `(key, value)` pairs.
#[derive(Debug, Clone, Copy)]
enum Pipeline {
    Window { window: usize, slide: usize },
    Reduce { window: usize, slide: usize },
    Inverse { window: usize, slide: usize, keep: Keep },
    UpdateStateByKey,
    MapWithState { timeout: Option<usize> },
}

/// Every pipeline, with the given window shape, filter and timeout.
fn pipelines(window: usize, slide: usize, keep: Keep, timeout: Option<usize>) -> [Pipeline; 5] {
    [
        Pipeline::Window { window, slide },
        Pipeline::Reduce { window, slide },
        Pipeline::Inverse { window, slide, keep },
        Pipeline::UpdateStateByKey,
        Pipeline::MapWithState { timeout },
    ]
}

fn stepper(p: Pipeline, threads: usize) -> Stepper<(u8, i64), (u8, i64)> {
    match p {
        Pipeline::Window { window, slide } => Stepper::new(threads, move |s| s.window(secs(window), secs(slide))),
        Pipeline::Reduce { window, slide } => {
            Stepper::new(threads, move |s| s.reduce_by_key_and_window(|a, b| a + b, secs(window), secs(slide)))
        }
        Pipeline::Inverse { window, slide, keep } => Stepper::new(threads, move |s| {
            let (w, sl) = (secs(window), secs(slide));
            s.reduce_by_key_and_window_inv_with(|a, b| a + b, |a, b| a - b, w, sl, 0, move |(k, v)| keep.keeps(*k, *v))
        }),
        Pipeline::UpdateStateByKey => {
            Stepper::new(threads, |s| s.update_state_by_key(update).map(|(k, (sum, idle))| (k, sum * 10 + idle as i64)))
        }
        Pipeline::MapWithState { timeout } => Stepper::new(threads, move |s| {
            let spec = StateSpec::function(map_fn);
            let spec = match timeout {
                Some(d) => spec.timeout(secs(d)),
                None => spec,
            };
            s.map_with_state(spec).mapped()
        }),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Stopping at random batches (a checkpoint after the batch, then a fresh pipeline,
    /// maybe at another thread count, recovering from it) does not change any output: the
    /// run equals an uninterrupted one, batch by batch.
    #[test]
    fn checkpoint_then_recover_at_random_batches_matches_an_uninterrupted_run(
        input in batches(14),
        (window, slide) in (1..7usize, 1..5usize),
        keep in keep(),
        timeout in prop::option::of(1..4usize),
        threads in 1..=4usize,
        restarts in prop::collection::vec((0..14usize, 1..=4usize), 1..4),
    ) {
        for p in pipelines(window, slide, keep, timeout) {
            let mut whole = stepper(p, threads);
            let want: Rows = input.iter().map(|b| sorted(vec![whole.step(b.clone())]).remove(0)).collect();

            let mut current = stepper(p, threads);
            let mut got = Rows::new();
            for (i, b) in input.iter().enumerate() {
                if let Some(&(_, t)) = restarts.iter().find(|(at, _)| *at == i) {
                    let file = current.checkpoint();
                    current = stepper(p, t);
                    current.recover(&file).expect("recovers its own checkpoint");
                    prop_assert_eq!(current.time(), Time::from_millis(i as i64 * 1000));
                }
                got.push(sorted(vec![current.step(b.clone())]).remove(0));
            }
            prop_assert_eq!(got, want, "{:?}", p);
        }
    }
}

/// One side of a join: up to 10 records over 6 keys, so keys meet often, with repeats.
fn join_side() -> impl Strategy<Value = Rows> {
    prop::collection::vec(prop::collection::vec((0..6u8, -5..5i64), 0..10), 1..=4)
}

/// The records of batch `i` of `rows` (none after the last).
fn at(rows: &Rows, i: usize) -> &[(u8, i64)] {
    rows.get(i).map_or(&[], Vec::as_slice)
}

type Joined<A, B> = Vec<Vec<(u8, (A, B))>>;

proptest! {
    #![proptest_config(config())]

    /// Every join kind, and cogroup, per batch: the records of an obvious nested-loop join over
    /// the two batches of the same time, at any thread and partition count.
    #[test]
    fn joins_match_the_nested_loop_join(
        a in join_side(), b in join_side(), threads in 1..=4usize, partitions in 0..4usize,
    ) {
        let ((inner, left, right, full, cogroup), errors) = Harness::new(threads).scenario(|t| {
            let x = t.input(a.clone());
            let y = t.input(b.clone());
            (
                t.output(x.clone().join_with_partitions(y.clone(), partitions)),
                t.output(x.clone().left_outer_join_with_partitions(y.clone(), partitions)),
                t.output(x.clone().right_outer_join_with_partitions(y.clone(), partitions)),
                t.output(x.clone().full_outer_join_with_partitions(y.clone(), partitions)),
                t.output(x.cogroup_with_partitions(y, partitions)),
            )
        });
        prop_assert!(errors.is_empty(), "{:?}", errors);
        let n = a.len().max(b.len());
        let (mut want_inner, mut want_left, mut want_right, mut want_full) =
            (Joined::new(), Joined::new(), Joined::new(), Joined::new());
        let mut want_cogroup = Vec::new();
        for i in 0..n {
            let (xs, ys) = (at(&a, i), at(&b, i));
            let (mut inner, mut left, mut right, mut full) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for &(k, v) in xs {
                let mut matched = false;
                for &(k2, w) in ys {
                    if k == k2 {
                        matched = true;
                        inner.push((k, (v, w)));
                        left.push((k, (v, Some(w))));
                        right.push((k, (Some(v), w)));
                        full.push((k, (Some(v), Some(w))));
                    }
                }
                if !matched {
                    left.push((k, (v, None)));
                    full.push((k, (Some(v), None)));
                }
            }
            for &(k, w) in ys {
                if !xs.iter().any(|&(k2, _)| k2 == k) {
                    right.push((k, (None, w)));
                    full.push((k, (None, Some(w))));
                }
            }
            let keys: BTreeSet<u8> = xs.iter().chain(ys).map(|&(k, _)| k).collect();
            let groups: Vec<(u8, (Vec<i64>, Vec<i64>))> = keys
                .into_iter()
                .map(|k| {
                    let mut vs: Vec<i64> = xs.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
                    let mut ws: Vec<i64> = ys.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
                    vs.sort();
                    ws.sort();
                    (k, (vs, ws))
                })
                .collect();
            want_inner.push(inner);
            want_left.push(left);
            want_right.push(right);
            want_full.push(full);
            want_cogroup.push(groups);
        }
        prop_assert_eq!(sorted(inner.batches()), sorted(want_inner));
        prop_assert_eq!(sorted(left.batches()), sorted(want_left));
        prop_assert_eq!(sorted(right.batches()), sorted(want_right));
        prop_assert_eq!(sorted(full.batches()), sorted(want_full));
        let got_cogroup: Vec<Vec<(u8, (Vec<i64>, Vec<i64>))>> = cogroup
            .batches()
            .into_iter()
            .map(|b| b.into_iter().map(|(k, (mut vs, mut ws))| {
                vs.sort();
                ws.sort();
                (k, (vs, ws))
            }).collect())
            .collect();
        prop_assert_eq!(sorted(got_cogroup), want_cogroup);
    }
}
