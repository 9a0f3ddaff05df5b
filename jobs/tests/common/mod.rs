#![allow(dead_code)] // each test binary uses part of it

//! The kill soak test every `recoverable_wordcount` input shares: start the job, feed it,
//! kill it with SIGKILL [`KILLS`] times at random points and restart it with the same
//! checkpoint directory, let it drain and stop on SIGTERM, then check its committed outputs
//! against the expected counts.
//!
//! Bounded in time: the random kill points and the feeders' pacing make the scenario (about
//! 10 s); every wait has a deadline ([`FIRST_CHECKPOINT`], [`DRAIN`]), so a test that cannot
//! finish fails in minutes instead of hanging CI.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use stream_runtime::fs::{self, FileSystem};

/// Word counts.
pub type Counts = BTreeMap<String, u64>;

/// Kills per test.
pub const KILLS: usize = 20;

/// Kills per cluster test (each costs a restart of every process).
pub const CLUSTER_KILLS: usize = 10;

/// The pids of a local cluster's processes (children of `launcher` started with
/// `--process I`), by index; waits until all are there.
pub fn members(launcher: &mut Child, processes: usize) -> Option<Vec<u32>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut found = vec![0u32; processes];
        if let Ok(out) = Command::new("pgrep").args(["-P", &launcher.id().to_string()]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
                let args: Vec<String> =
                    cmdline.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                let index =
                    args.iter().position(|a| a == "--process").and_then(|i| args.get(i + 1)?.parse::<usize>().ok());
                if let (Some(i), Ok(pid)) = (index, pid.parse()) {
                    if i < processes {
                        found[i] = pid;
                    }
                }
            }
        }
        if found.iter().all(|&p| p != 0) {
            return Some(found);
        }
        if launcher.try_wait().ok().flatten().is_some() {
            return None;
        }
        assert!(Instant::now() < deadline, "the local cluster's processes did not all start: {found:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long the first run may take to write its first checkpoint.
pub const FIRST_CHECKPOINT: Duration = Duration::from_secs(60);

/// How long the last run may take to drain the input after the last kill.
pub const DRAIN: Duration = Duration::from_secs(180);

/// The committed batch directories `<prefix>-<ms>` under `dir`, by batch time.
fn batch_dirs(fs: &dyn FileSystem, dir: &str, prefix: &str) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for entry in fs.list(dir).unwrap_or_default() {
        let time = entry.name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')).and_then(|r| r.parse().ok());
        if let Some(t) = time {
            out.insert(t, entry.path);
        }
    }
    out
}

/// The `(word,n)` records of a committed batch directory.
fn read_counts(fs: &dyn FileSystem, dir: &str) -> Counts {
    let files = fs.list(dir).unwrap();
    assert!(files.iter().any(|f| f.name == "_SUCCESS"), "{dir} is committed without _SUCCESS");
    let mut counts = Counts::new();
    for f in files.iter().filter(|f| f.name.starts_with("part-")) {
        for line in String::from_utf8(fs.read(&f.path).unwrap()).unwrap().lines() {
            let (w, n) = line[1..line.len() - 1].rsplit_once(',').unwrap();
            assert!(counts.insert(w.to_string(), n.parse().unwrap()).is_none(), "{w} twice in {dir}");
        }
    }
    counts
}

/// Every committed batch directory `<prefix>-<ms>` under `dir` and its records.
fn committed(fs: &dyn FileSystem, dir: &str, prefix: &str) -> BTreeMap<i64, Counts> {
    batch_dirs(fs, dir, prefix).into_iter().map(|(t, path)| (t, read_counts(fs, &path))).collect()
}

/// How the job runs: one process of 2 threads, or a local cluster of `n` processes of 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One process.
    Single,
    /// `--local-cluster n`.
    Cluster(usize),
}

/// Where the runs of a kill test write their standard error: one file, appended to by every
/// run (a pipe nobody reads while the job runs would fill and stall the job's logging). Kept
/// when the test fails (its path is printed).
#[derive(Debug)]
pub struct Log {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl Drop for Log {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("the jobs' standard error is kept in {}", kept.join("stderr").display());
            }
        }
    }
}

impl Log {
    /// An empty log in a directory of its own.
    pub fn new() -> Log {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stderr");
        std::fs::write(&path, "").unwrap();
        Log { dir: Some(dir), path }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A handle for a child's standard error, appending to the file.
    pub fn stdio(&self) -> Stdio {
        std::fs::OpenOptions::new().append(true).open(&self.path).unwrap().into()
    }

    /// The last 20,000 bytes written.
    pub fn tail(&self) -> String {
        let mut f = std::fs::File::open(&self.path).unwrap();
        let len = f.metadata().unwrap().len();
        f.seek(SeekFrom::Start(len.saturating_sub(20_000))).unwrap();
        let mut text = Vec::new();
        f.read_to_end(&mut text).unwrap();
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// The log filter of the jobs a kill test starts: `warn`, or `$SLUICE_SOAK_LOG` (to look
/// into a failure, e.g. `warn,hdfs_native=debug`).
fn log_filter() -> String {
    std::env::var("SLUICE_SOAK_LOG").unwrap_or_else(|_| "warn".to_string())
}

/// Starts `recoverable_wordcount` on `input`, with its outputs in `<url>/out` and its
/// checkpoints in `<url>/ckpt`; its standard error is piped.
pub fn spawn(url: &str, input: &[&str]) -> Child {
    spawn_in(Layout::Single, url, input, Stdio::piped())
}

/// [`spawn`] in `layout`, standard error to `stderr`.
pub fn spawn_in(layout: Layout, url: &str, input: &[&str], stderr: Stdio) -> Child {
    let layout_args: Vec<String> = match layout {
        Layout::Single => vec!["--threads".into(), "2".into()],
        Layout::Cluster(n) => vec!["--threads".into(), "1".into(), "--local-cluster".into(), n.to_string()],
    };
    Command::new(env!("CARGO_BIN_EXE_recoverable_wordcount"))
        .args(input)
        .args(["--output", &format!("{url}/out"), "--checkpoint", &format!("{url}/ckpt")])
        .args(["--batch", "100ms", "--checkpoint-interval", "300ms"])
        .args(&layout_args)
        .env("RUST_LOG", log_filter())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start recoverable_wordcount")
}

/// Asks `child` to stop gracefully.
pub fn sigterm(child: &Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
}

/// Starts the job, starts `feed` once it has checkpointed, kills the job [`KILLS`] times at
/// random points and restarts it, then lets it drain and checks its outputs.
pub fn kill_and_check(
    fs: Arc<dyn FileSystem>,
    url: &str,
    root: &str,
    seed: u64,
    input: &[&str],
    feed: impl FnOnce() + Send + 'static,
    expected: &Counts,
) {
    kill_and_check_in(Layout::Single, fs, url, root, seed, input, feed, expected);
}

/// [`kill_and_check`] in `layout`: in a cluster, each kill is a SIGKILL of one process chosen
/// at random; the others stop by themselves (fail-stop) and all are started again.
#[allow(clippy::too_many_arguments)]
pub fn kill_and_check_in(
    layout: Layout,
    fs: Arc<dyn FileSystem>,
    url: &str,
    root: &str,
    seed: u64,
    input: &[&str],
    feed: impl FnOnce() + Send + 'static,
    expected: &Counts,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    let log = Log::new();
    // The first run creates the checkpoint; data arrives only after it started.
    let mut child = spawn_in(layout, url, input, log.stdio());
    // Every process's checkpoint directory: a restart recovers from a checkpoint that every
    // process has, so none is killed before each wrote its first.
    let ckpts: Vec<String> = match layout {
        Layout::Single => vec![fs::join(root, "ckpt")],
        Layout::Cluster(n) => {
            (0..n).map(|i| fs::join(&fs::join(root, "ckpt"), &format!("process-{i}-of-{n}"))).collect()
        }
    };
    let checkpointed =
        |dir: &String| fs.list(dir).map(|l| l.iter().any(|f| f.name.starts_with("checkpoint-"))).unwrap_or(false);
    let deadline = Instant::now() + FIRST_CHECKPOINT;
    while !ckpts.iter().all(checkpointed) {
        assert!(Instant::now() < deadline, "no checkpoint after {FIRST_CHECKPOINT:?}\n{}", log.tail());
        std::thread::sleep(Duration::from_millis(20));
    }
    let feeder = std::thread::spawn(feed);
    // The scenario: kills at random points (these sleeps choose them; nothing is asserted
    // after them).
    let kills = match layout {
        Layout::Single => KILLS,
        Layout::Cluster(_) => CLUSTER_KILLS,
    };
    let mut layout = layout;
    for kill in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..700)));
        match layout {
            Layout::Single => {
                child.kill().unwrap(); // SIGKILL
            }
            Layout::Cluster(n) => {
                let Some(members) = members(&mut child, n) else {
                    let status = child.wait().unwrap();
                    panic!("the cluster ended by itself ({status}):\n{}", log.tail());
                };
                let victim = members[rng.gen_range(0..n)];
                let _ = Command::new("kill").args(["-KILL", &victim.to_string()]).status();
            }
        }
        let _ = child.wait();
        // A cluster restarts twice with another number of processes (3 -> 2 -> 4): the
        // state is re-spread over the new processes.
        if let Layout::Cluster(n) = layout {
            if kill == kills / 2 {
                layout = Layout::Cluster(if n > 2 { n - 1 } else { n + 1 });
            } else if kill == kills * 3 / 4 {
                layout = Layout::Cluster(n + 2);
            }
        }
        child = spawn_in(layout, url, input, log.stdio());
    }
    feeder.join().unwrap();
    drain_and_check_logged(fs.as_ref(), child, root, expected, Some(&log));
}

/// Lets the last run `child` drain the input and stops it gracefully on SIGTERM, sent once it
/// is surely up (a signal before the handlers are installed just kills it): once it committed
/// a batch of its own, later than any of the earlier runs. Then checks the outputs in
/// `<root>/out`: both outputs of every batch, every word counted once, and every batch's
/// totals the sum of the counts up to it.
pub fn drain_and_check(fs: &dyn FileSystem, child: Child, root: &str, expected: &Counts) {
    drain_and_check_logged(fs, child, root, expected, None);
}

/// [`drain_and_check`] of a child whose standard error goes to `log` (else it is piped).
fn drain_and_check_logged(fs: &dyn FileSystem, child: Child, root: &str, expected: &Counts, log: Option<&Log>) {
    let stderr = |o: std::process::Output| match log {
        Some(log) => log.tail(),
        None => String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    let out = fs::join(root, "out");
    let killed_runs_last = batch_dirs(fs, &out, "totals").pop_last().map(|(t, _)| t);
    let deadline = Instant::now() + DRAIN;
    loop {
        let last = batch_dirs(fs, &out, "totals").pop_last();
        let own_batch = last.as_ref().is_some_and(|(t, _)| Some(*t) > killed_runs_last);
        let latest = last.map(|(_, d)| read_counts(fs, &d));
        if own_batch && latest.as_ref() == Some(expected) {
            break;
        }
        if Instant::now() > deadline {
            sigterm(&child);
            let o = child.wait_with_output().unwrap();
            let diff: Vec<String> = expected
                .iter()
                .filter_map(|(w, n)| {
                    let got = latest.as_ref().and_then(|l| l.get(w)).copied().unwrap_or(0);
                    (got != *n).then(|| format!("{w}: {got} (expected {n})"))
                })
                .collect();
            panic!("totals never reached the expected counts; differing: {diff:?}\nstderr:\n{}", stderr(o));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&child);
    let o = child.wait_with_output().unwrap();
    let status = o.status;
    assert!(status.success(), "graceful stop: {status}\n{}", stderr(o));

    let counts = committed(fs, &out, "counts");
    let totals = committed(fs, &out, "totals");
    assert_eq!(counts.keys().collect::<Vec<_>>(), totals.keys().collect::<Vec<_>>(), "both outputs of every batch");
    let mut sum = Counts::new();
    for (t, batch) in &counts {
        for (w, n) in batch {
            *sum.entry(w.clone()).or_default() += n;
        }
        assert_eq!(&totals[t], &sum, "totals at {t} are the counts up to {t}");
    }
    assert_eq!(&sum, expected, "every word counted once over {} batches", counts.len());
}

/// Seeded input files and their word counts.
pub fn corpus(seed: u64, files: usize) -> (Vec<String>, Counts) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let vocab: Vec<String> = (0..60).map(|i| format!("w{i}")).collect();
    let mut counts = Counts::new();
    let texts = (0..files)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..rng.gen_range(1..20) {
                let words: Vec<&str> =
                    (0..rng.gen_range(1..15)).map(|_| vocab[rng.gen_range(0..vocab.len())].as_str()).collect();
                for w in &words {
                    *counts.entry(w.to_string()).or_default() += 1;
                }
                text.push_str(&words.join(" "));
                text.push('\n');
            }
            text
        })
        .collect();
    (texts, counts)
}

/// Runs the kill test in `layout` on the filesystem at `url` (paths under it through `fs`)
/// over a directory stream fed `files` seeded files.
pub fn dir_kill_test(layout: Layout, fs: Arc<dyn FileSystem>, url: &str, root: &str, seed: u64, files: usize) {
    let (files, expected) = corpus(seed, files);
    let input = fs::join(root, "in");
    let staging = fs::join(root, "staging");
    fs.mkdirs(&input).unwrap();
    fs.mkdirs(&staging).unwrap();
    let feed = {
        let fs = Arc::clone(&fs);
        move || {
            for (i, text) in files.iter().enumerate() {
                let name = format!("part-{i:03}.txt");
                let tmp = fs::join(&staging, &name);
                fs.write(&tmp, text.as_bytes()).unwrap();
                fs.rename(&tmp, &fs::join(&input, &name)).unwrap();
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    };
    kill_and_check_in(layout, fs, url, root, seed, &["--dir", &format!("{url}/in")], feed, &expected);
}

/// Chunks of seeded lines for a Kafka topic (one produce call each) and the word counts of all
/// of them.
pub fn kafka_corpus(seed: u64, chunks: usize) -> (Vec<Vec<String>>, Counts) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut counts = Counts::new();
    let chunks = (0..chunks)
        .map(|_| {
            (0..rng.gen_range(1..12))
                .map(|_| {
                    let words: Vec<String> =
                        (0..rng.gen_range(1..10)).map(|_| format!("k{}", rng.gen_range(0..50))).collect();
                    for w in &words {
                        *counts.entry(w.clone()).or_default() += 1;
                    }
                    words.join(" ")
                })
                .collect()
        })
        .collect();
    (chunks, counts)
}

/// The fewest partitions (at least 2) of `topic` that give each of `processes` processes one to
/// read at least (a cluster spreads partitions by a hash of topic and partition).
pub fn partitions_for(topic: &str, processes: usize) -> i32 {
    (2..64)
        .find(|&n| {
            (0..processes)
                .all(|p| (0..n).any(|i| stream_runtime::cluster::owner_of_partition(topic, i, processes) == p))
        })
        .expect("a partition count that gives every process a partition")
}

/// Runs the kill test in `layout` over a Kafka topic of a local `tansu` broker (2 partitions on
/// one process; on a cluster, enough that every process owns one), fed `chunks` seeded chunks
/// of lines while the job runs. Skipped (returns) when there is no broker and
/// `SLUICE_SKIP_KAFKA` is set.
pub fn kafka_kill_test(layout: Layout, seed: u64, chunks: usize) {
    use jobs::kafka_wordcount::LocalBroker;
    use stream_runtime::{KafkaClient, KafkaOptions};
    let Some(broker) = LocalBroker::start_for_test().unwrap() else { return };
    let client = KafkaClient::new(&broker.brokers(), &KafkaOptions::default()).unwrap();
    let partitions = match layout {
        Layout::Single => 2,
        Layout::Cluster(n) => partitions_for("words", n),
    };
    client.create_topic("words", partitions).unwrap();
    let (chunks, expected) = kafka_corpus(seed, chunks);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let feed = move || {
        for (i, chunk) in chunks.iter().enumerate() {
            let partition = i as i32 % partitions;
            client.produce_values("words", partition, chunk.iter().map(|l| l.as_bytes().to_vec())).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let brokers = broker.brokers();
    let input = ["--kafka", brokers.as_str(), "--topic", "words"];
    kill_and_check_in(layout, Arc::new(fs::LocalFs), &root, &root, seed, &input, feed, &expected);
}

/// A line server that replays its log from the first line on every connection; the log
/// grows by `lines` over time (one every millisecond or so).
pub fn replayable_server(lines: Vec<String>) -> (u16, impl FnOnce() + Send + 'static) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let published = Arc::new(AtomicUsize::new(0));
    let lines = Arc::new(lines);
    {
        let (published, lines) = (Arc::clone(&published), Arc::clone(&lines));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let (published, lines) = (Arc::clone(&published), Arc::clone(&lines));
                std::thread::spawn(move || {
                    let mut sent = 0;
                    loop {
                        let upto = published.load(Ordering::SeqCst);
                        while sent < upto {
                            if writeln!(conn, "{}", lines[sent]).is_err() {
                                return;
                            }
                            sent += 1;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                });
            }
        });
    }
    let total = lines.len();
    let publish = move || {
        for n in (0..=total).step_by(10) {
            published.store(n, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(8));
        }
        published.store(total, Ordering::SeqCst);
    };
    (port, publish)
}

/// The kill test over a replayable socket with the write-ahead log (`recoverable_wordcount
/// --socket --replayable --wal`), on `files` files' worth of lines, in `layout`.
pub fn socket_kill_test(layout: Layout, seed: u64, files: usize) {
    let (files, expected) = corpus(seed, files);
    let lines: Vec<String> = files.iter().flat_map(|f| f.lines().map(String::from).collect::<Vec<_>>()).collect();
    let (port, publish) = replayable_server(lines);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let addr = format!("127.0.0.1:{port}");
    let input = ["--socket", addr.as_str(), "--replayable", "--wal"];
    kill_and_check_in(layout, Arc::new(fs::LocalFs), &root, &root, seed, &input, publish, &expected);
}
