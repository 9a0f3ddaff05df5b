//! The kill soak test every `recoverable_wordcount` input shares: start the job, feed it,
//! kill it with SIGKILL [`KILLS`] times at random points and restart it with the same
//! checkpoint directory, let it drain and stop on SIGTERM, then check its committed outputs
//! against the expected counts.
//!
//! Bounded in time: the random kill points and the feeders' pacing make the scenario (about
//! 10 s); every wait has a deadline ([`FIRST_CHECKPOINT`], [`DRAIN`]), so a test that cannot
//! finish fails in minutes instead of hanging CI.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use stream_runtime::fs::{self, FileSystem};

/// Word counts.
pub type Counts = BTreeMap<String, u64>;

/// Kills per test.
pub const KILLS: usize = 20;

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

fn spawn(url: &str, input: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_recoverable_wordcount"))
        .args(input)
        .args(["--output", &format!("{url}/out"), "--checkpoint", &format!("{url}/ckpt")])
        .args(["--batch", "100ms", "--checkpoint-interval", "300ms", "--threads", "2"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start recoverable_wordcount")
}

fn sigterm(child: &Child) {
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
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    // The first run creates the checkpoint; data arrives only after it started.
    let mut child = spawn(url, input);
    let ckpt = fs::join(root, "ckpt");
    let deadline = Instant::now() + FIRST_CHECKPOINT;
    while !fs.list(&ckpt).map(|l| l.iter().any(|f| f.name.starts_with("checkpoint-"))).unwrap_or(false) {
        assert!(Instant::now() < deadline, "no checkpoint after {FIRST_CHECKPOINT:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let feeder = std::thread::spawn(feed);
    // The scenario: kills at random points (these sleeps choose them; nothing is asserted
    // after them).
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..700)));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        child = spawn(url, input);
    }
    feeder.join().unwrap();
    // The last run drains the input, then stops gracefully on SIGTERM, sent once it is surely
    // up (a signal before the handlers are installed just kills it): once it committed a
    // batch of its own, later than any of the killed runs.
    let out = fs::join(root, "out");
    let killed_runs_last = batch_dirs(fs.as_ref(), &out, "totals").pop_last().map(|(t, _)| t);
    let deadline = Instant::now() + DRAIN;
    loop {
        let last = batch_dirs(fs.as_ref(), &out, "totals").pop_last();
        let own_batch = last.as_ref().is_some_and(|(t, _)| Some(*t) > killed_runs_last);
        let latest = last.map(|(_, d)| read_counts(fs.as_ref(), &d));
        if own_batch && latest.as_ref() == Some(expected) {
            break;
        }
        if Instant::now() > deadline {
            sigterm(&child);
            let o = child.wait_with_output().unwrap();
            panic!(
                "totals never reached the expected counts; last: {latest:?}\nstderr:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&child);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "graceful stop: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));

    let counts = committed(fs.as_ref(), &out, "counts");
    let totals = committed(fs.as_ref(), &out, "totals");
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
