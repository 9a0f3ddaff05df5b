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

/// Starts `recoverable_wordcount` on `input`, with its outputs in `<url>/out` and its
/// checkpoints in `<url>/ckpt`.
pub fn spawn(url: &str, input: &[&str]) -> Child {
    spawn_in(Layout::Single, url, input)
}

/// [`spawn`] in `layout`.
pub fn spawn_in(layout: Layout, url: &str, input: &[&str]) -> Child {
    let layout_args: Vec<String> = match layout {
        Layout::Single => vec!["--threads".into(), "2".into()],
        Layout::Cluster(n) => vec!["--threads".into(), "1".into(), "--local-cluster".into(), n.to_string()],
    };
    Command::new(env!("CARGO_BIN_EXE_recoverable_wordcount"))
        .args(input)
        .args(["--output", &format!("{url}/out"), "--checkpoint", &format!("{url}/ckpt")])
        .args(["--batch", "100ms", "--checkpoint-interval", "300ms"])
        .args(&layout_args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
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
    // The first run creates the checkpoint; data arrives only after it started.
    let mut child = spawn_in(layout, url, input);
    let ckpt = match layout {
        Layout::Single => fs::join(root, "ckpt"),
        Layout::Cluster(n) => fs::join(&fs::join(root, "ckpt"), &format!("process-0-of-{n}")),
    };
    let deadline = Instant::now() + FIRST_CHECKPOINT;
    while !fs.list(&ckpt).map(|l| l.iter().any(|f| f.name.starts_with("checkpoint-"))).unwrap_or(false) {
        assert!(Instant::now() < deadline, "no checkpoint after {FIRST_CHECKPOINT:?}");
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
                    let o = child.wait_with_output().unwrap();
                    panic!("the cluster ended by itself ({}):\n{}", o.status, String::from_utf8_lossy(&o.stderr));
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
        child = spawn_in(layout, url, input);
    }
    feeder.join().unwrap();
    drain_and_check(fs.as_ref(), child, root, expected);
}

/// Lets the last run `child` drain the input and stops it gracefully on SIGTERM, sent once it
/// is surely up (a signal before the handlers are installed just kills it): once it committed
/// a batch of its own, later than any of the earlier runs. Then checks the outputs in
/// `<root>/out`: both outputs of every batch, every word counted once, and every batch's
/// totals the sum of the counts up to it.
pub fn drain_and_check(fs: &dyn FileSystem, child: Child, root: &str, expected: &Counts) {
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
            panic!(
                "totals never reached the expected counts; differing: {diff:?}\nstderr:\n{}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    sigterm(&child);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "graceful stop: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));

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
