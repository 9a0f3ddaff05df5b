//! Per-batch overhead: empty and one-record batches through a three-operator job
//! (map → filter → reduce_by_key), run back to back on a worker thread as the scheduler runs
//! them. The floor beside them is a plain function call doing the same three steps on a
//! one-record `Vec`.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use stream_runtime::testing::Stepper;
use stream_runtime::Batch;

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_overhead");
    // Sub-microsecond cases: two seconds hold millions of iterations.
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    group.bench_function("hand_loop/one_record", |b| {
        b.iter(|| {
            let mut m = hashbrown::HashMap::<u64, u64>::new();
            for x in std::hint::black_box(vec![42u64]) {
                if x != 3 {
                    *m.entry(x % 7).or_default() += x;
                }
            }
            m.len()
        })
    });
    for threads in [1usize, 2] {
        let mut step =
            Stepper::new(threads, |s| s.map(|x: u64| (x % 7, x)).filter(|(_, v)| *v != 3).reduce_by_key(|a, b| a + b));
        for (name, records) in [("empty_batch", 0usize), ("one_record", 1)] {
            group.bench_function(format!("engine/{name}/{threads}"), |b| {
                b.iter_custom(|iters| {
                    let began = Instant::now();
                    step.step_many(iters as usize, |_| Batch::from(vec![42u64; records]));
                    began.elapsed().max(Duration::from_nanos(1))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
