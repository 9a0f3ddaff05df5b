//! Windows and state: what one slide or one batch costs as the window grows or the state
//! fills with idle keys.
//!
//! * `window_slide/<op>/<w>`: a keyed sum over a window of `w` batches sliding by one batch;
//!   each batch holds 1,000 records over 1,000 keys (about 630 distinct keys per batch), and
//!   every measured slide ingests one batch, evicts the oldest and emits the window's ~1,000
//!   sums, on one thread. `inv` is the invertible `reduce_by_key_and_window_inv` (add the
//!   entering batch's partials, subtract the leaving one's), `daba` the non-invertible
//!   `reduce_by_key_and_window` (time-major columns under DABA Lite), and the baseline `recompute` is
//!   Spark's non-inverse plan (`reduce_by_key` per batch → `window` → `reduce_by_key`), which
//!   re-reduces the whole window every slide (not at 3,600 batches, whose set-up alone takes
//!   minutes). The target: a slide at `w` = 3,600 within 10% of one at `w` = 10.
//! * `state_batch/<op>/<idle>`: one batch touching 1,000 keys while the state holds `idle`
//!   other keys. `running_reduce` and `map_with_state` touch only the batch's keys; the
//!   baseline `update_state_by_key` is Spark's shape (every key, every batch, full state out).
//!   Sizes are 0, 100k and 1M idle keys (10M takes minutes to set up per operator on the
//!   2-core build machine).
//!
//! After criterion's estimates, each case's samples (per slide or per batch) are printed as
//! the median with the min–max range, with the ratios `w = 3600 / w = 10` and `w = 1000 /
//! w = 10` of each window operation, all from the same run.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_benches::spread::Spread;
use stream_runtime::testing::Stepper;
use stream_runtime::{Batch, State, StateSpec};

const RECORDS: usize = 1_000;
const KEYS: u64 = 1_000;
/// A pipeline from `(key, value)` records to `(key, value)` records.
type KeyedStepper = Stepper<(u64, u64), (u64, u64)>;
/// Pre-generated input batches, cycled.
const POOL: usize = 64;
/// Criterion's samples per case.
const SAMPLES: usize = 10;

/// A small seeded generator (no dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn pool(seed: u64, key_base: u64) -> Vec<Vec<(u64, u64)>> {
    let mut rng = Lcg(seed);
    (0..POOL).map(|_| (0..RECORDS).map(|_| (key_base + rng.next() % KEYS, rng.next() % 100)).collect()).collect()
}

/// Times `iters` batches of `step`, fed from `input`.
fn time_batches<O: stream_runtime::Data>(
    step: &mut Stepper<(u64, u64), O>,
    input: &[Vec<(u64, u64)>],
    iters: u64,
) -> Duration {
    let began = Instant::now();
    step.step_many(iters as usize, |i| Batch::from(input[i % POOL].clone()));
    began.elapsed().max(Duration::from_nanos(1))
}

fn window_slide(c: &mut Criterion) {
    let mut spread = Spread::new(SAMPLES);
    let mut group = c.benchmark_group("window_slide");
    group.sample_size(SAMPLES).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(RECORDS as u64));
    let input = pool(1, 0);
    for w in [1u64, 10, 100, 1000, 3600] {
        let window = stream_runtime::Duration::seconds(w as i64);
        let slide = stream_runtime::Duration::seconds(1);
        let mut steps: Vec<(&str, KeyedStepper)> = vec![
            (
                "inv",
                Stepper::new(1, move |s| s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, window, slide)),
            ),
            ("daba", Stepper::new(1, move |s| s.reduce_by_key_and_window(|a, b| a + b, window, slide))),
            (
                "recompute",
                Stepper::new(1, move |s| {
                    s.reduce_by_key(|a, b| a + b).window(window, slide).reduce_by_key(|a, b| a + b)
                }),
            ),
        ];
        if w > 1000 {
            // Filling a window of 3,600 batches the recompute way re-reduces it on every one
            // of them: minutes of set-up (quadratic in w) for one figure. Its cost per slide
            // grows linearly from the w = 1000 one.
            steps.retain(|(name, _)| *name != "recompute");
        }
        for (name, step) in &mut steps {
            // Fill the window first, so every measured slide evicts a batch.
            step.step_many(w as usize, |i| Batch::from(input[i % POOL].clone()));
            let case = format!("{name}/{w}");
            group.bench_function(BenchmarkId::new(*name, w), |bench| {
                bench.iter_custom(|iters| {
                    let took = time_batches(step, &input, iters);
                    spread.add(&case, took, iters);
                    took
                })
            });
        }
    }
    group.finish();
    let ratios = [("inv/3600", "inv/10"), ("daba/3600", "daba/10"), ("inv/1000", "inv/10"), ("daba/1000", "daba/10")];
    spread.print("window_slide, per slide", &ratios);
}

fn idle_keys(n: u64) -> Batch<(u64, u64)> {
    Batch::from_vec((0..n).map(|k| (k, 1)).collect(), 2)
}

fn state_batch(c: &mut Criterion) {
    let mut spread = Spread::new(SAMPLES);
    let mut group = c.benchmark_group("state_batch");
    group.sample_size(SAMPLES).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    group.throughput(Throughput::Elements(RECORDS as u64));
    // The measured batches touch keys above every idle key.
    let input = pool(2, 1 << 40);
    for idle in [0u64, 100_000, 1_000_000] {
        let mut running = Stepper::new(1, |s| s.running_reduce_by_key(|a, b| a + b).mapped());
        running.step(idle_keys(idle));
        group.bench_function(BenchmarkId::new("running_reduce", idle), |bench| {
            bench.iter_custom(|iters| {
                let took = time_batches(&mut running, &input, iters);
                spread.add(&format!("running_reduce/{idle}"), took, iters);
                took
            })
        });
        drop(running);

        let mut mapped = Stepper::new(1, |s| {
            s.map_with_state(StateSpec::function(|_k: &u64, v: Option<u64>, state: &mut State<u64>| {
                let n = state.get_option().copied().unwrap_or(0) + v.unwrap_or(0);
                state.update(n);
                n
            }))
            .mapped()
        });
        mapped.step(idle_keys(idle));
        group.bench_function(BenchmarkId::new("map_with_state", idle), |bench| {
            bench.iter_custom(|iters| {
                let took = time_batches(&mut mapped, &input, iters);
                spread.add(&format!("map_with_state/{idle}"), took, iters);
                took
            })
        });
        drop(mapped);

        let mut general = Stepper::new(1, |s| {
            s.update_state_by_key(|vs: Vec<u64>, st: Option<u64>| Some(st.unwrap_or(0) + vs.iter().sum::<u64>()))
        });
        general.step(idle_keys(idle));
        group.bench_function(BenchmarkId::new("update_state_by_key", idle), |bench| {
            bench.iter_custom(|iters| {
                let took = time_batches(&mut general, &input, iters);
                spread.add(&format!("update_state_by_key/{idle}"), took, iters);
                took
            })
        });
    }
    group.finish();
    spread.print("state_batch, per batch", &[]);
}

criterion_group!(benches, window_slide, state_batch);
criterion_main!(benches);
