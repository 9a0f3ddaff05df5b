//! HDFS source throughput on the embedded cluster (`minihdfs`, in this process, reached over
//! loopback TCP), beside a plain `hdfs-native` read of the same files in the same run. What
//! each side does:
//!
//! - `hdfs_native_read` (the baseline): each file opened (one namenode call) and read whole
//!   with one `read_range`, one after the other, into memory; the bytes are counted. The
//!   client is made once, before the timed region.
//! - `text_file_stream_lines`: one batch of a fresh `text_file_stream` over the directory:
//!   the directory listed, each file opened and read in line splits in parallel, about one
//!   per worker thread for the whole batch, each file its share by size (Hadoop's rule: a
//!   line belongs to the split holding its first byte), each split in chunks of about 4 MiB,
//!   the next two chunks' reads running on the client's I/O threads while the current one is
//!   decoded; the bytes validated as UTF-8
//!   and split into lines (`Str`s sharing their buffer), which are counted; each file's
//!   status is asked again after its read. Timed from the batch's planning to its end
//!   (`time_first_batch`, which blocks until then rather than polling), with 2 and 4 worker
//!   threads.
//!
//! Both sides read the same bytes from the same datanode through the same client library;
//! the engine also lists, splits into lines and counts. Target (issue 16): the engine at
//! 80% or more of the plain read's rate.
//!
//! Size: `SLUICE_BENCH_HDFS_MB` megabytes (default 64; the figure is 256), in 4 files.
//! `SLUICE_BENCH_HDFS_PROFILE` runs one case alone for profilers (see [`profile`]).
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use criterion::{criterion_group, Criterion, Throughput};
use minihdfs::{Config, MiniHdfs};
use parking_lot::Mutex;
use stream_runtime::fs::hdfs::HdfsFs;
use stream_runtime::fs::FileSystem;
use stream_runtime::prelude::*;
use stream_runtime::{Clock, FileStreamOptions, ManualClock, SystemClock};

const FILES: usize = 4;
const DIR: &str = "/bench/in";

fn megabytes() -> usize {
    std::env::var("SLUICE_BENCH_HDFS_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

/// `len` bytes of text: lines of 1 to 16 pseudo-random words from a 4,096-word vocabulary.
fn text(len: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = String::with_capacity(len + 200);
    while s.len() < len {
        let words = 1 + next() % 16;
        for w in 0..words {
            if w > 0 {
                s.push(' ');
            }
            s.push_str(&format!("w{}", next() % 4096));
        }
        s.push('\n');
    }
    s
}

/// One batch of a fresh `text_file_stream` over the directory: lines counted.
fn engine_batch(url: &str, threads: usize) -> (u64, StdDuration) {
    let clock = ManualClock::new(SystemClock.now());
    let ssc = StreamingContext::new(Duration::seconds(1)).with_threads(threads).with_clock(Arc::new(clock.clone()));
    let options = FileStreamOptions {
        new_files_only: false,
        min_remember: Duration::seconds(86_400),
        // The whole directory in the one batch timed (the default cuts batches at 64 MiB).
        max_bytes_per_batch: u64::MAX,
        ..FileStreamOptions::default()
    };
    let count = Arc::new(Mutex::new(0u64));
    let c = Arc::clone(&count);
    ssc.text_file_stream_with(url, options).count().foreach_batch(move |b: Batch<u64>, _| {
        *c.lock() += b.into_vec().into_iter().sum::<u64>();
    });
    let took = sluice_benches::time_first_batch(ssc, &clock);
    let n = *count.lock();
    (n, took)
}

/// The cluster with the bench's files, and both sides ready to run.
struct Setup {
    hdfs: MiniHdfs,
    /// `hdfs://authority/dir` of the files.
    url: String,
    /// Lines and bytes of the files.
    lines: u64,
    total: u64,
    paths: Vec<String>,
    rt: tokio::runtime::Runtime,
    client: hdfs_native::Client,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new(mb: usize) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(dir.path());
        config.user = "sluice".into();
        let hdfs = MiniHdfs::start(config).expect("start minihdfs");
        let authority = hdfs.namenode_addr().to_string();
        let fs = HdfsFs::connect(&authority).expect("client");
        let mut lines = 0u64;
        let mut total = 0u64;
        for i in 0..FILES {
            let t = text((mb << 20) / FILES, i as u64 + 1);
            lines += t.lines().count() as u64;
            total += t.len() as u64;
            fs.write(&format!("{DIR}/part-{i}.txt"), t.as_bytes()).expect("write");
        }
        let url = format!("hdfs://{authority}{DIR}");
        let paths: Vec<String> = fs.list(DIR).expect("list").into_iter().map(|s| s.path).collect();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let client = {
            let _guard = rt.enter();
            hdfs_native::ClientBuilder::new().with_url(format!("hdfs://{authority}")).build().expect("client")
        };
        Setup { hdfs, url, lines, total, paths, rt, client, _dir: dir }
    }

    /// The baseline: each file read whole, one after the other; the bytes read.
    fn raw_read(&self) -> u64 {
        self.rt.block_on(async {
            let mut n = 0;
            for p in &self.paths {
                let r = self.client.read(p).await.expect("open");
                n += r.read_range(0, r.file_length()).await.expect("read").len();
            }
            n as u64
        })
    }

    /// One engine batch on `threads` worker threads, its lines checked.
    fn engine(&self, threads: usize) -> StdDuration {
        let (n, took) = engine_batch(&self.url, threads);
        assert_eq!(n, self.lines, "the engine reads every line once");
        took
    }
}

fn hdfs_source(c: &mut Criterion) {
    let mb = megabytes();
    let setup = Setup::new(mb);
    setup.engine(2);
    assert_eq!(setup.raw_read(), setup.total);

    let mut group = c.benchmark_group("hdfs_source");
    group.throughput(Throughput::Bytes(setup.total));
    group.sample_size(10).warm_up_time(StdDuration::from_secs(1));
    group.measurement_time(StdDuration::from_secs(if mb > 64 { 15 } else { 5 }));
    group.bench_function(format!("hdfs_native_read/{mb}MiB"), |b| b.iter(|| setup.raw_read()));
    for threads in [2usize, 4] {
        group.bench_function(format!("text_file_stream_lines/{mb}MiB/{threads}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| setup.engine(threads)).sum())
        });
    }
    group.finish();
    setup.hdfs.shutdown();
}

/// `SLUICE_BENCH_HDFS_PROFILE=<case>:<n>`: the set-up, then `n` runs of one case and nothing
/// else, for profilers (`raw`, or `engine<threads>` such as `engine2`). The difference between
/// two runs of different `n` under `valgrind --tool=callgrind` (or `perf stat`) is the cost of
/// `n` runs of the case alone, which the machine's load does not move. With
/// `SLUICE_BENCH_PERF_CTL=<fifo>`, `enable` is written to that fifo after the set-up: `perf
/// record --control=fifo:<fifo> -D -1` then samples the runs only.
fn profile(spec: &str) {
    let (case, n) = spec.split_once(':').unwrap_or((spec, "1"));
    let n: usize = n.parse().expect("SLUICE_BENCH_HDFS_PROFILE=<case>:<runs>");
    let setup = Setup::new(megabytes());
    if let Ok(fifo) = std::env::var("SLUICE_BENCH_PERF_CTL") {
        std::fs::write(fifo, "enable\n").expect("perf's control fifo");
    }
    for _ in 0..n {
        let began = std::time::Instant::now();
        if case == "raw" {
            assert_eq!(setup.raw_read(), setup.total);
        } else {
            let threads = case.strip_prefix("engine").and_then(|t| t.parse().ok()).expect("raw or engine<threads>");
            setup.engine(threads);
        }
        println!("{case}: {:?}", began.elapsed());
    }
    setup.hdfs.shutdown();
}

criterion_group!(benches, hdfs_source);

fn main() {
    match std::env::var("SLUICE_BENCH_HDFS_PROFILE") {
        Ok(spec) => profile(&spec),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
