//! Word count over one batch of the shared corpus, three ways in one group: the job compiled by
//! `#[stream_job]` (run as a simulation: its text source fed from memory), the same pipeline
//! built by hand on the runtime API (the test kit's `Harness`, which likewise builds the graph
//! and its thread pool per run), and the hand-written loop as the baseline.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sluice_benches::{corpus, corpus_mb, file_lines, hand_wordcount};
use stream_runtime::prelude::*;
use stream_runtime::testing::Harness;

/// Distinct words of the last batch counted by either engine path.
static DISTINCT: AtomicUsize = AtomicUsize::new(0);

/// Spark's `HdfsWordCount`, with an output that only records the number of distinct words.
#[stream_job(batch = "1s")]
fn bench_wordcount(ssc: &mut StreamingContext, dir: String) {
    ssc.text_file_stream(&dir)
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1u64))
        .reduce_by_key(|a, b| a + b)
        .foreach_batch(|counts, _| DISTINCT.store(counts.len(), Ordering::Relaxed));
}

fn macro_wordcount(c: &mut Criterion) {
    let text = corpus(corpus_mb());
    // Lines as the file source cuts them: slices of one shared buffer.
    let buffer: std::sync::Arc<str> = std::sync::Arc::from(text.as_str());
    let lines: Vec<Str> = Str::from(buffer).split('\n').filter(|l| !l.is_empty()).collect();
    let mut group = c.benchmark_group("macro_wordcount");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10).warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(3));
    for threads in [1usize, 2] {
        // The loop reads the same lines cut into one partition per thread.
        let parts = file_lines(&text, threads);
        let expected = hand_wordcount(&parts);
        group.bench_with_input(BenchmarkId::new("hand_loop", threads), &threads, |b, _| {
            b.iter(|| hand_wordcount(&parts))
        });
        group.bench_with_input(BenchmarkId::new("runtime_api", threads), &threads, |b, &t| {
            b.iter_batched(
                || vec![lines.clone()],
                |input| {
                    let errors = Harness::new(t).run(input, |lines| {
                        lines
                            .flat_map(|line| line.split(' '))
                            .map(|word| (word, 1u64))
                            .reduce_by_key(|a, b| a + b)
                            .foreach_batch(|counts, _| DISTINCT.store(counts.len(), Ordering::Relaxed));
                    });
                    assert!(errors.is_empty(), "{errors:?}");
                    black_box(DISTINCT.load(Ordering::Relaxed))
                },
                BatchSize::LargeInput,
            )
        });
        assert_eq!(DISTINCT.load(Ordering::Relaxed), expected, "the runtime pipeline counts as the hand loop");
        group.bench_with_input(BenchmarkId::new("stream_job", threads), &threads, |b, &t| {
            b.iter_batched(
                || BENCH_WORDCOUNT.simulate(["corpus"]).threads(t).input(vec![lines.clone()]),
                |simulation| {
                    let out = simulation.run().expect("the job builds");
                    assert!(out.errors.is_empty(), "{:?}", out.errors);
                    black_box(DISTINCT.load(Ordering::Relaxed))
                },
                BatchSize::LargeInput,
            )
        });
        assert_eq!(DISTINCT.load(Ordering::Relaxed), expected, "the macro job counts as the hand loop");
    }
    group.finish();
}

criterion_group!(benches, macro_wordcount);
criterion_main!(benches);
