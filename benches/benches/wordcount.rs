//! Word count over one batch of the shared corpus (`SLUICE_BENCH_MB`, default 8 MiB, from
//! `sluice-gen-corpus`): the engine beside the hand-written loop, at 1 and 2 threads.
//!
//! Both sides get the same input in the same form, made outside the timed region: the batch as
//! the file source hands it over, `threads` partitions of whole lines, each partition one
//! shared buffer cut into `Str` lines ([`sluice_benches::file_lines`]). Inside the timed
//! region both split every line on spaces, count every word in a hash table per partition and
//! merge the tables:
//!
//! - `hand_loop`: [`sluice_benches::hand_wordcount`], one pass per partition in parallel over
//!   the lines (borrowed), `str::split(' ')`, a hashbrown map of borrowed `&str` words with
//!   foldhash, then a merge into the largest map;
//! - `engine`: `flat_map(|line| line.split(' ')).map(|w| (w, 1)).reduce_by_key(+)` stepped
//!   through the runtime (`Stepper`) on a pool of `threads` workers. It consumes its input, so
//!   it gets a clone of the partitions (reference-count increments, made outside the timed
//!   region by `iter_batched`); its output (the counts, partitioned) is dropped inside it, as
//!   the loop's map is.
//!
//! So the two sides start from the same bytes in the same `Str` lines, and each does all of
//! split, hash, probe and merge inside the timed region; neither gets words cut in advance.
//! The loop is the best plain Rust we know for this job: it never copies a word or touches a
//! reference count (its keys borrow the lines), and its map is allocated large enough for the
//! vocabulary; the engine's tables are sized from its previous batch instead.
//!
//! Both return the number of distinct words, checked equal before timing.
#![forbid(unsafe_code)]

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sluice_benches::{corpus, corpus_mb, file_lines, hand_wordcount};
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
        let parts: Vec<Vec<Str>> = file_lines(&text, threads);
        let mut step = Stepper::new(threads, |lines| {
            lines.flat_map(|line: Str| line.split(' ')).map(|word| (word, 1u64)).reduce_by_key(|a, b| a + b)
        });
        let distinct = hand_wordcount(&parts);
        assert_eq!(step.step(Batch::from_partitions(parts.clone())).len(), distinct, "both count alike");
        group.bench_with_input(BenchmarkId::new("hand_loop", threads), &threads, |b, _| {
            b.iter(|| hand_wordcount(&parts))
        });
        group.bench_with_input(BenchmarkId::new("engine", threads), &threads, |b, _| {
            b.iter_batched(|| parts.clone(), |p| step.step(Batch::from_partitions(p)).len(), BatchSize::LargeInput)
        });
    }
    group.finish();
}

criterion_group!(benches, wordcount);
criterion_main!(benches);
