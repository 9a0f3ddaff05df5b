//! What the Streaming page costs a batch: the real-time driver's per-batch step (each output
//! operation timed, the batch's `BatchInfo` built) over a three-operator job, with the page's
//! monitor told of every batch (its start, what the input holds, the ring of batches and the
//! Prometheus histograms and counters) and its fused stages timed (two clock reads a stage,
//! the times in `sluice_stage_seconds`) against the same step with no page (no clock read on
//! the fused data path). Same job, same
//! records, same step both sides; the difference is the page's per-batch cost.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use stream_runtime::testing::Stepper;
use stream_runtime::Batch;

fn ui_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("ui_overhead");
    // Sub-microsecond differences on a shared machine: many short samples.
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(40);
    for (name, records) in [("empty_batch", 0usize), ("one_record", 1)] {
        for (side, ui) in [("off", false), ("on", true)] {
            let mut step =
                Stepper::new(1, |s| s.map(|x: u64| (x % 7, x)).filter(|(_, v)| *v != 3).reduce_by_key(|a, b| a + b))
                    .reporting(ui);
            group.bench_function(format!("{name}/ui_{side}"), |b| {
                b.iter_custom(|iters| {
                    let began = Instant::now();
                    step.step_many(iters as usize, |_| Batch::from(vec![42u64; records]));
                    began.elapsed().max(Duration::from_nanos(1))
                })
            });
        }
    }
    // A window: its stage is timed; its state (keys, estimated bytes, contents) is read only
    // when the page, the API or `/metrics` asks, so not here.
    for (side, ui) in [("off", false), ("on", true)] {
        let mut step = Stepper::new(1, |s| {
            s.map(|x: u64| (x % 7, x)).reduce_by_key_and_window(
                |a, b| a + b,
                stream_runtime::Duration::seconds(4),
                stream_runtime::Duration::seconds(1),
            )
        })
        .reporting(ui);
        group.bench_function(format!("window_one_record/ui_{side}"), |b| {
            b.iter_custom(|iters| {
                let began = Instant::now();
                step.step_many(iters as usize, |_| Batch::from(vec![42u64; 1]));
                began.elapsed().max(Duration::from_nanos(1))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ui_overhead);
criterion_main!(benches);
