//! Shared pieces of the benchmarks: the corpus and the hand-written baseline, and the Sluice
//! side of the comparison with Spark Streaming ([`compare`]).
#![forbid(unsafe_code)]

pub mod compare;
pub mod corpus;
pub mod spread;

use std::path::PathBuf;

use hashbrown::HashMap;
use rayon::prelude::*;
use stream_runtime::Str;

/// Megabytes of corpus the benchmarks use: `SLUICE_BENCH_MB`, default 8.
pub fn corpus_mb() -> usize {
    std::env::var("SLUICE_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(8)
}

/// The shared benchmark corpus of `mb` megabytes ([`corpus::generate`], seed 7, 100,000-word
/// vocabulary: `sluice-gen-corpus --mb <mb> --out <file>`), generated once and cached under
/// `target/bench-data/`.
///
/// # Panics
/// When the cache directory cannot be written or read.
pub fn corpus(mb: usize) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cache = root.join("target/bench-data");
    std::fs::create_dir_all(&cache).expect("create target/bench-data");
    let path = cache.join(format!("corpus-{mb}mb.txt"));
    if !path.exists() {
        let tmp = cache.join(format!("corpus-{mb}mb.txt.tmp"));
        corpus::write_files(&corpus::CorpusSpec::mb(mb as f64), &tmp).expect("write the corpus");
        std::fs::rename(&tmp, &path).expect("move corpus into place");
    }
    std::fs::read_to_string(&path).expect("read corpus")
}

/// Splits `text` into `n` pieces of whole lines.
///
/// ```
/// assert_eq!(sluice_benches::split_lines("a\nb\nc\n", 2), ["a\nb\n", "c\n"]);
/// ```
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

/// `text` as the file source hands a batch over: `partitions` pieces of whole lines, each one
/// shared buffer cut into its non-empty lines (`Str`s sharing it, or inline when short).
///
/// ```
/// let parts = sluice_benches::file_lines("one\ntwo\n\nthree\nfour\n", 2);
/// assert_eq!(parts, [vec!["one", "two", "three"], vec!["four"]]);
/// ```
pub fn file_lines(text: &str, partitions: usize) -> Vec<Vec<Str>> {
    split_lines(text, partitions)
        .into_iter()
        .map(|piece| {
            let buf: std::sync::Arc<str> = std::sync::Arc::from(piece);
            Str::from(buf).split('\n').filter(|l| !l.is_empty()).collect()
        })
        .collect()
}

/// The hand-written baseline: one pass per partition (in parallel on rayon's pool) over its
/// lines, splitting each on spaces (as Spark's `split(" ")`) and counting in a hashbrown map
/// of words borrowed from the lines (foldhash, as the engine), then a merge of the maps into
/// the largest. Returns the number of distinct words.
///
/// ```
/// let parts = sluice_benches::file_lines("to be or\nnot to be\n", 2);
/// assert_eq!(sluice_benches::hand_wordcount(&parts), 4);
/// ```
pub fn hand_wordcount(parts: &[Vec<Str>]) -> usize {
    let maps: Vec<Counts<'_>> = parts
        .par_iter()
        .map(|lines| {
            let mut counts = Counts::with_capacity_and_hasher(1 << 16, Default::default());
            for line in lines {
                for word in line.as_str().split(' ') {
                    *counts.entry(word).or_insert(0) += 1;
                }
            }
            counts
        })
        .collect();
    let Some(largest) = (0..maps.len()).max_by_key(|&i| maps[i].len()) else { return 0 };
    let mut maps = maps;
    let mut total = maps.swap_remove(largest);
    for m in maps {
        for (w, n) in m {
            *total.entry(w).or_insert(0) += n;
        }
    }
    total.len()
}

/// Starts `ssc` (whose clock is `clock`), moves the clock to its first batch and returns how
/// long that batch took from its planning to its end; then stops the job. The end is
/// signalled by the batch itself (a listener), so the timing thread sleeps until then rather
/// than polling beside the job's threads.
///
/// # Panics
/// When the job cannot start, or ends without completing a batch.
pub fn time_first_batch(
    ssc: stream_runtime::StreamingContext,
    clock: &stream_runtime::ManualClock,
) -> std::time::Duration {
    let (done, completed) = std::sync::mpsc::channel();
    ssc.on_batch_completed(move |_| {
        let _ = done.send(());
    });
    let running = ssc.start().expect("start");
    let began = std::time::Instant::now();
    clock.set(running.zero_time() + stream_runtime::Duration::seconds(1));
    completed.recv().expect("the first batch completes");
    let took = began.elapsed();
    running.stop(false);
    took
}
