//! Shared pieces of the benchmarks: the corpus and the hand-written baseline, and the Sluice
//! side of the comparison with Spark Streaming ([`compare`]).
#![forbid(unsafe_code)]

pub mod compare;
pub mod spread;

use std::path::PathBuf;

use hashbrown::HashMap;
use rayon::prelude::*;

/// Megabytes of corpus the benchmarks use: `SLUICE_BENCH_MB`, default 8.
pub fn corpus_mb() -> usize {
    std::env::var("SLUICE_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(8)
}

/// The shared benchmark corpus of `mb` megabytes (`../shared/tools/gen_corpus.py`, seed 7,
/// 100,000-word vocabulary), generated once and cached under `target/bench-data/`.
///
/// # Panics
/// When the generator cannot be run (no `python3`, or `shared/` missing).
pub fn corpus(mb: usize) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cache = root.join("target/bench-data");
    std::fs::create_dir_all(&cache).expect("create target/bench-data");
    let path = cache.join(format!("corpus-{mb}mb.txt"));
    if !path.exists() {
        let tmp = cache.join(format!("corpus-{mb}mb.txt.tmp"));
        let status = std::process::Command::new("python3")
            .arg(root.join("../shared/tools/gen_corpus.py"))
            .args(["--mb", &mb.to_string(), "--out"])
            .arg(&tmp)
            .status()
            .expect("run python3 ../shared/tools/gen_corpus.py");
        assert!(status.success(), "gen_corpus.py failed");
        std::fs::rename(&tmp, &path).expect("move corpus into place");
    }
    std::fs::read_to_string(&path).expect("read corpus")
}

/// Splits `text` into `n` pieces of whole lines.
pub fn split_lines(text: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    let target = text.len().div_ceil(n.max(1));
    while start < text.len() {
        let guess = (start + target).min(text.len());
        let end = match memchr::memchr(b'\n', &text.as_bytes()[guess..]) {
            Some(i) if guess < text.len() => guess + i + 1,
            _ => text.len(),
        };
        out.push(&text[start..end]);
        start = end;
    }
    out
}

type Counts<'t> = HashMap<&'t str, u64, foldhash::fast::FixedState>;

/// The hand-written baseline: one pass per thread over its share of lines, splitting on
/// spaces (as Spark's `split(" ")`) and counting in a hashbrown map of borrowed words, then a
/// merge of the per-thread maps. Returns the number of distinct words.
pub fn hand_wordcount(text: &str, threads: usize) -> usize {
    let pieces = split_lines(text, threads);
    let maps: Vec<Counts<'_>> = pieces
        .par_iter()
        .map(|piece| {
            let mut counts = Counts::with_capacity_and_hasher(1 << 16, Default::default());
            for line in piece.split('\n') {
                if line.is_empty() {
                    continue;
                }
                for word in line.split(' ') {
                    *counts.entry(word).or_insert(0) += 1;
                }
            }
            counts
        })
        .collect();
    let mut maps = maps.into_iter();
    let mut total = maps.next().unwrap_or_default();
    for m in maps {
        for (w, n) in m {
            *total.entry(w).or_insert(0) += n;
        }
    }
    total.len()
}

/// Starts `ssc` (whose clock is `clock`), moves the clock to its first batch and returns how
/// long that batch took from its planning to its end; then stops the job.
///
/// # Panics
/// When the job cannot start.
pub fn time_first_batch(
    ssc: stream_runtime::StreamingContext,
    clock: &stream_runtime::ManualClock,
) -> std::time::Duration {
    let running = ssc.start().expect("start");
    let began = std::time::Instant::now();
    clock.set(running.zero_time() + stream_runtime::Duration::seconds(1));
    while running.batches_completed() < 1 {
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let took = began.elapsed();
    running.stop(false);
    took
}
