//! Checkpoints and the write-ahead log: what fault tolerance costs.
//!
//! * `checkpoint/write/<keys>`: a checkpoint of a `running_reduce_by_key` state of 1M and
//!   10M `u64` keys: serialize every partition (in parallel on 2 threads), frame, checksum,
//!   write to a temporary file and rename, all by the checkpoint writer's own code
//!   (`Stepper::write_checkpoint`). Beside it, the floor `checkpoint/raw_write/<keys>`:
//!   writing and renaming a buffer holding the same bytes (a copy of that checkpoint file,
//!   made outside the timed region) with `std::fs::write` and `rename`. Neither side syncs
//!   to disk. The target: `write / raw_write` within 1.5.
//! * `checkpoint/recover/<keys>`: reading the file back, checking it and restoring the state
//!   into a fresh pipeline (built outside the timed region). The target: 10M keys under 1 s.
//!
//! After criterion's estimates, each case's samples (one checkpoint each) are printed as the
//! median with the min–max range, with `write / raw_write`, all from the same run.
//! * `write_ahead_log/<lines>`: logging one received batch of 10,000 or 100,000 lines,
//!   beside `word_count/<lines>`, processing the same batch through a word count: the WAL's
//!   added cost per batch, relative to the batch's own.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sluice_benches::spread::Spread;
use stream_runtime::checkpoint::WriteAheadLog;
use stream_runtime::testing::Stepper;
use stream_runtime::{Batch, DStream, Str, Time};

type State = Stepper<(u64, u64), (u64, u64)>;

fn stateful(keys: u64) -> State {
    let mut step =
        Stepper::new(2, |s: DStream<'_, (u64, u64)>| s.running_reduce_by_key(|a, b| a + b).mapped().filter(|_| false));
    step.step(Batch::from_vec((0..keys).map(|k| (k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k)).collect(), 8));
    step
}

fn write_and_rename(dir: &std::path::Path, bytes: &[u8]) {
    let tmp = dir.join(".checkpoint.tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join("checkpoint-1000")).unwrap();
}

/// Criterion's samples per checkpoint case.
const SAMPLES: usize = 10;

/// Times `iters` runs of `f`, recording the sample as `case` in `spread`.
fn timed(spread: &mut Spread, case: &str, iters: u64, mut f: impl FnMut()) -> Duration {
    let began = Instant::now();
    for _ in 0..iters {
        f();
    }
    let took = began.elapsed();
    spread.add(case, took, iters);
    took
}

fn checkpoints(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_string_lossy().into_owned();
    let mut spread = Spread::new(SAMPLES);
    let mut g = c.benchmark_group("checkpoint");
    g.sample_size(SAMPLES).measurement_time(Duration::from_secs(10)).warm_up_time(Duration::from_secs(1));
    for keys in [1_000_000u64, 10_000_000] {
        let step = stateful(keys);
        let file = step.checkpoint();
        g.throughput(Throughput::Elements(keys));
        g.bench_with_input(BenchmarkId::new("write", keys), &keys, |b, _| {
            b.iter_custom(|iters| {
                timed(&mut spread, &format!("write/{keys}"), iters, || step.write_checkpoint(&path).unwrap())
            })
        });
        let same_bytes = file.clone();
        g.bench_with_input(BenchmarkId::new("raw_write", keys), &keys, |b, _| {
            b.iter_custom(|iters| {
                timed(&mut spread, &format!("raw_write/{keys}"), iters, || write_and_rename(dir.path(), &same_bytes))
            })
        });
        drop(same_bytes);
        write_and_rename(dir.path(), &file);
        let mut fresh = stateful(0);
        g.bench_with_input(BenchmarkId::new("recover", keys), &keys, |b, _| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let began = Instant::now();
                    let bytes = std::fs::read(dir.path().join("checkpoint-1000")).unwrap();
                    fresh.recover(&bytes).unwrap();
                    total += began.elapsed();
                    fresh = stateful(0);
                }
                spread.add(&format!("recover/{keys}"), total, iters);
                total
            })
        });
        eprintln!("checkpoint of {keys} keys: {} MB", file.len() >> 20);
    }
    g.finish();
    let ratios = [("write/1000000", "raw_write/1000000"), ("write/10000000", "raw_write/10000000")];
    spread.print("checkpoint, per checkpoint", &ratios);
}

fn lines(n: usize) -> Vec<Str> {
    (0..n).map(|i| Str::from(format!("line {i} of the received batch with a few words w{}", i % 977))).collect()
}

fn write_ahead_log(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let wal = WriteAheadLog::open(&dir.path().to_string_lossy()).unwrap();
    let mut g = c.benchmark_group("write_ahead_log");
    g.sample_size(20);
    for n in [10_000usize, 100_000] {
        let batch = lines(n);
        let bytes: usize = batch.iter().map(|l| l.len() + 1).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        let mut t = 0;
        g.bench_with_input(BenchmarkId::new("log", n), &n, |b, _| {
            b.iter(|| {
                t += 1000;
                wal.write("bench", Time::from_millis(t), &batch).unwrap()
            })
        });
        let mut count = Stepper::new(2, |s: DStream<'_, Str>| {
            s.flat_map(|l| l.split(' ')).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b).filter(|_| false)
        });
        g.bench_with_input(BenchmarkId::new("word_count", n), &n, |b, _| {
            b.iter(|| count.step(Batch::from_vec(batch.clone(), 2)))
        });
    }
    g.finish();
}

criterion_group!(benches, checkpoints, write_ahead_log);
criterion_main!(benches);
