//! Word count over one batch of the shared corpus: the engine (socket/file-style `Str` lines
//! through flat_map → map → reduce_by_key) beside the hand-written loop, at 1 and 2 threads.
#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sluice_benches::{corpus, corpus_mb, hand_wordcount};
use stream_runtime::testing::Stepper;
use stream_runtime::{Batch, Str};

fn wordcount(c: &mut Criterion) {
    let mb = corpus_mb();
    let text = corpus(mb);
    let mut group = c.benchmark_group("wordcount");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10).warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(3));
    for threads in [1usize, 2] {
        group.bench_with_input(BenchmarkId::new("hand_loop", threads), &threads, |b, &t| {
            b.iter(|| hand_wordcount(&text, t))
        });
        // Lines as the file source cuts them: one shared buffer per partition.
        let parts: Vec<Vec<Str>> = sluice_benches::split_lines(&text, 2 * threads)
            .into_iter()
            .map(|piece| {
                let buf: std::sync::Arc<str> = std::sync::Arc::from(piece);
                let line = Str::from(buf);
                line.split('\n').filter(|l| !l.is_empty()).collect()
            })
            .collect();
        let mut step = Stepper::new(threads, |lines| {
            lines.flat_map(|line: Str| line.split(' ')).map(|word| (word, 1u64)).reduce_by_key(|a, b| a + b)
        });
        group.bench_with_input(BenchmarkId::new("engine", threads), &threads, |b, _| {
            // The copy of the input lines is made outside the timed part.
            b.iter_batched(|| parts.clone(), |p| step.step(Batch::from_partitions(p)).len(), BatchSize::LargeInput)
        });
    }
    group.finish();
}

criterion_group!(benches, wordcount);
criterion_main!(benches);
