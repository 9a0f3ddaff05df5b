//! Per-batch overhead: empty and one-record batches through a three-operator job
//! (map → filter → reduce_by_key), beside the cost of an empty closure call as the floor.

use criterion::{criterion_group, criterion_main, Criterion};
use stream_runtime::testing::Stepper;

fn overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_overhead");
    for threads in [1usize, 2] {
        let mut step = Stepper::new(threads, |s| {
            s.map(|x: u64| (x % 7, x)).filter(|(_, v)| *v != 3).reduce_by_key(|a, b| a + b)
        });
        group.bench_function(format!("empty_batch/{threads}"), |b| b.iter(|| step.step(Vec::new()).len()));
        group.bench_function(format!("one_record/{threads}"), |b| b.iter(|| step.step(vec![42u64]).len()));
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
