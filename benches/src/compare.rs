//! The Sluice side of the side-by-side comparison with Spark Streaming
//! (`benches/spark/compare.sh`). Each workload is the same program as in
//! `benches/spark/SparkBench.java`, run the same way:
//!
//! ```text
//! lines = ssc.textFileStream(watch)
//! pairs = lines.flatMap(_.split(" ")).map((_, 1L))
//! wordcount: pairs.reduceByKey(_ + _).foreachRDD(rdd => totals ++= rdd.collect())
//! state:     pairs.updateStateByKey((vs, s) => Some(s.getOrElse(0) + vs.sum)).foreachRDD(_.count())
//! window:    pairs.reduceByKeyAndWindow(_ + _, _ - _, 30 batches, 1 batch).foreachRDD(_.count())
//! empty:     the word count over a directory that never receives a file
//! ```
//!
//! One-second batches on a [`ManualClock`]: before batch `i` (time `i * 1000` ms) the driver
//! moves the `i`-th file of the staging directory (in name order) into the watched directory,
//! dates it half a batch earlier, sets the clock to the batch time and waits for
//! [`on_batch_completed`](StreamingContext::on_batch_completed) to report the batch. The
//! per-batch times are the engine's own [`BatchInfo::processing_time`](stream_runtime::BatchInfo).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, UNIX_EPOCH};

use stream_runtime::{Duration, FastMap, ManualClock, Str, StreamingContext, Time};

/// The batch interval, on the manual clock.
pub const BATCH_MS: i64 = 1000;

/// The window of the windowed workload, in batches.
pub const WINDOW_BATCHES: i64 = 30;

/// One of the compared programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Word count per batch; the driver adds every batch's counts to its totals.
    WordCount,
    /// Running counts with `update_state_by_key`.
    State,
    /// Windowed counts with `reduce_by_key_and_window_inv`.
    Window,
    /// The word count over batches without data.
    Empty,
}

impl std::str::FromStr for Workload {
    type Err = ArgsError;
    fn from_str(s: &str) -> Result<Self, ArgsError> {
        match s {
            "wordcount" => Ok(Workload::WordCount),
            "state" => Ok(Workload::State),
            "window" => Ok(Workload::Window),
            "empty" => Ok(Workload::Empty),
            _ => Err(ArgsError::Workload(s.to_string())),
        }
    }
}

/// Why the arguments of `sluice-compare` do not parse.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// Not seven arguments.
    #[error("{USAGE}")]
    Usage,
    /// An unknown workload name.
    #[error("unknown workload {0:?} (wordcount, state, window, empty)")]
    Workload(String),
    /// `BATCHES` is not a count.
    #[error("BATCHES {given:?}: {source}")]
    Batches {
        /// The argument.
        given: String,
        /// The parser's error.
        #[source]
        source: std::num::ParseIntError,
    },
}

/// Where a run reads and writes.
#[derive(Debug, Clone)]
pub struct Run {
    /// The input files, one per batch, taken in name order (unused by [`Workload::Empty`]).
    pub staging: PathBuf,
    /// The directory the stream watches; files are moved into it.
    pub watch: PathBuf,
    /// Number of batches.
    pub batches: usize,
    /// Gets `batch_time_ms <TAB> processing_ms` per batch.
    pub times_out: PathBuf,
    /// Gets the final counts, `word <TAB> count` sorted by word.
    pub counts_out: PathBuf,
    /// The checkpoint directory (state and windows need one).
    pub checkpoint: PathBuf,
    /// Worker threads.
    pub threads: usize,
}

type Counts = FastMap<String, u64>;

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Runs `workload` as described in the module docs.
///
/// # Errors
/// When the input cannot be read or moved, the job cannot start, a batch does not complete
/// within 30 minutes, or the outputs cannot be written.
pub fn run(workload: Workload, run: &Run) -> io::Result<()> {
    let mut files: Vec<PathBuf> = Vec::new();
    if workload != Workload::Empty {
        for entry in std::fs::read_dir(&run.staging)? {
            files.push(entry?.path());
        }
        files.sort();
        if files.len() < run.batches {
            return Err(other(format!("{} input files for {} batches", files.len(), run.batches)));
        }
    }
    std::fs::create_dir_all(&run.watch)?;

    let clock = ManualClock::new(Time::from_millis(0));
    let mut ssc = StreamingContext::new(Duration::millis(BATCH_MS))
        .with_threads(run.threads)
        .with_name(format!("sluice-compare-{workload:?}"))
        .with_clock(Arc::new(clock.clone()));
    ssc.checkpoint(run.checkpoint.to_string_lossy());
    let (tx, rx) = mpsc::channel::<(Time, StdDuration)>();
    ssc.on_batch_completed(move |info| {
        let _ = tx.send((info.batch_time, info.processing_time));
    });
    let last = Time::from_millis(run.batches as i64 * BATCH_MS);
    let totals: Arc<Mutex<Counts>> = Arc::default();
    let kept: Arc<Mutex<Vec<Vec<(Str, u64)>>>> = Arc::default();
    {
        let sink = Arc::clone(&totals);
        let keep = Arc::clone(&kept);
        let pairs =
            ssc.text_file_stream(&run.watch.to_string_lossy()).flat_map(|line: Str| line.split(' ')).map(|w| (w, 1u64));
        match workload {
            Workload::WordCount | Workload::Empty => {
                pairs.reduce_by_key(|a, b| a + b).foreach_batch(move |batch, _| {
                    let mut totals = sink.lock().unwrap();
                    for (word, n) in batch.into_partitions().into_iter().flatten() {
                        *totals.entry_ref(word.as_str()).or_insert(0) += n;
                    }
                })
            }
            Workload::State => pairs
                .update_state_by_key(|values: Vec<u64>, old: Option<u64>| {
                    Some(old.unwrap_or(0) + values.iter().sum::<u64>())
                })
                .foreach_batch(move |batch, t| keep_last(&keep, batch, t, last)),
            Workload::Window => pairs
                .reduce_by_key_and_window_inv(
                    |a, b| a + b,
                    |a, b| a - b,
                    Duration::millis(WINDOW_BATCHES * BATCH_MS),
                    Duration::millis(BATCH_MS),
                )
                .foreach_batch(move |batch, t| keep_last(&keep, batch, t, last)),
        }
    }
    let running = ssc.start().map_err(other)?;

    let mut times = Vec::with_capacity(run.batches);
    for i in 0..run.batches {
        let t = (i as i64 + 1) * BATCH_MS;
        if let Some(file) = files.get(i) {
            let target = run.watch.join(file.file_name().unwrap_or_default());
            std::fs::rename(file, &target)?;
            let stamp = UNIX_EPOCH + StdDuration::from_millis((t - BATCH_MS / 2) as u64);
            std::fs::File::options().write(true).open(&target)?.set_modified(stamp)?;
        }
        clock.set(Time::from_millis(t));
        let (done, took) = rx.recv_timeout(StdDuration::from_secs(1800)).map_err(other)?;
        if done != Time::from_millis(t) {
            return Err(other(format!("expected batch {t} ms, got {done}")));
        }
        eprintln!("sluice {workload:?} batch {}: {:.3} ms", i + 1, took.as_secs_f64() * 1e3);
        times.push((t, took));
    }
    running.stop(false);

    let mut out = BufWriter::new(std::fs::File::create(&run.times_out)?);
    for (t, took) in &times {
        writeln!(out, "{t}\t{:.6}", took.as_secs_f64() * 1e3)?;
    }
    out.flush()?;
    let mut totals = totals.lock().unwrap();
    let kept = std::mem::take(&mut *kept.lock().unwrap());
    totals.extend(kept.into_iter().flatten().map(|(w, n)| (String::from(w), n)));
    write_counts(&run.counts_out, &totals)
}

/// Counts the batch (as Spark's `rdd.count()`), or keeps the last batch's records as they are
/// (as Spark's `rdd.collect()`: the driver turns them into counts after the run).
fn keep_last(sink: &Mutex<Vec<Vec<(Str, u64)>>>, batch: stream_runtime::Batch<(Str, u64)>, t: Time, last: Time) {
    if t == last {
        *sink.lock().unwrap() = batch.into_partitions();
    } else {
        std::hint::black_box(batch.len());
    }
}

/// Writes `word <TAB> count` lines sorted by word, the format both sides write.
fn write_counts(path: &Path, counts: &Counts) -> io::Result<()> {
    let mut sorted: Vec<(&String, &u64)> = counts.iter().collect();
    sorted.sort_unstable();
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for (w, n) in sorted {
        writeln!(out, "{w}\t{n}")?;
    }
    out.flush()
}

/// The argument list of the `sluice-compare` binary (the same as `SparkBench`'s).
pub const USAGE: &str = "usage: sluice-compare WORKLOAD STAGING WATCH BATCHES TIMES_OUT COUNTS_OUT CHECKPOINT_DIR";

/// Parses `WORKLOAD STAGING WATCH BATCHES TIMES_OUT COUNTS_OUT CHECKPOINT_DIR`, on 2 threads.
///
/// # Errors
/// With [`USAGE`] or the reason when the arguments do not parse.
pub fn parse_args(args: &[String]) -> Result<(Workload, Run), ArgsError> {
    let [workload, staging, watch, batches, times_out, counts_out, checkpoint] = args else {
        return Err(ArgsError::Usage);
    };
    let run = Run {
        staging: staging.into(),
        watch: watch.into(),
        batches: batches.parse().map_err(|source| ArgsError::Batches { given: batches.clone(), source })?,
        times_out: times_out.into(),
        counts_out: counts_out.into(),
        checkpoint: checkpoint.into(),
        threads: 2,
    };
    Ok((workload.parse()?, run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_script_arguments() {
        let args: Vec<String> = ["state", "s", "w", "12", "t", "c", "k"].map(String::from).into();
        let (w, run) = parse_args(&args).unwrap();
        assert_eq!(w, Workload::State);
        assert_eq!(run.batches, 12);
        assert!(matches!(parse_args(&args[..3]), Err(ArgsError::Usage)));
        let mut bad = args.clone();
        bad[3] = "twelve".into();
        assert!(matches!(parse_args(&bad), Err(ArgsError::Batches { .. })));
        bad[3] = "12".into();
        bad[0] = "sort".into();
        assert!(matches!(parse_args(&bad), Err(ArgsError::Workload(w)) if w == "sort"));
    }

    #[test]
    fn a_short_word_count_writes_sorted_totals() {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("b.0"), "to be or\nnot to be\n").unwrap();
        std::fs::write(staging.join("b.1"), "be\n").unwrap();
        let run_cfg = Run {
            staging,
            watch: dir.path().join("watch"),
            batches: 2,
            times_out: dir.path().join("times.tsv"),
            counts_out: dir.path().join("counts.tsv"),
            checkpoint: dir.path().join("ck"),
            threads: 2,
        };
        run(Workload::WordCount, &run_cfg).unwrap();
        let counts = std::fs::read_to_string(&run_cfg.counts_out).unwrap();
        assert_eq!(counts, "be\t3\nnot\t1\nor\t1\nto\t2\n");
        assert_eq!(std::fs::read_to_string(&run_cfg.times_out).unwrap().lines().count(), 2);
    }
}
