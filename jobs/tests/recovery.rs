//! The kill test of `recoverable_wordcount`: the job is killed with SIGKILL at random points
//! (at least 20 times) while files arrive, and started again each time with the same
//! checkpoint directory. At the end the committed outputs must be those of a run without
//! failures: every batch's counts once, their sum the word counts of all the input, and
//! every batch's totals the sum of the counts up to it. Local and on the embedded HDFS cluster.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use stream_runtime::fs::{self, FileSystem};

type Counts = BTreeMap<String, u64>;

const KILLS: usize = 20;
const FILES: usize = 40;

/// Seeded input files and their word counts.
fn corpus(seed: u64) -> (Vec<String>, Counts) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let vocab: Vec<String> = (0..60).map(|i| format!("w{i}")).collect();
    let mut counts = Counts::new();
    let files = (0..FILES)
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
    (files, counts)
}

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

/// Runs the kill test on the filesystem at `url` (paths under it through `fs`) over a
/// directory stream.
fn kill_test(fs: Arc<dyn FileSystem>, url: &str, root: &str, seed: u64) {
    let (files, expected) = corpus(seed);
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
    kill_and_check(fs, url, root, seed, &["--dir", &format!("{url}/in")], feed, &expected);
}

/// Starts the job, starts `feed` once it has checkpointed, kills the job [`KILLS`] times at
/// random points and restarts it, then lets it drain and checks its outputs.
fn kill_and_check(
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while !fs.list(&ckpt).map(|l| l.iter().any(|f| f.name.starts_with("checkpoint-"))).unwrap_or(false) {
        assert!(Instant::now() < deadline, "no checkpoint after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let feeder = std::thread::spawn(feed);
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..700)));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        child = spawn(url, input);
    }
    feeder.join().unwrap();
    // The last run drains the input, then stops gracefully on SIGTERM (sent once it is
    // surely up: a signal before the handlers are installed just kills it).
    let last_start = Instant::now();
    let out = fs::join(root, "out");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let latest = batch_dirs(fs.as_ref(), &out, "totals").into_values().last().map(|d| read_counts(fs.as_ref(), &d));
        if latest.as_ref() == Some(expected) && last_start.elapsed() > Duration::from_secs(1) {
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

#[test]
fn killed_20_times_on_a_local_directory_counts_every_word_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    kill_test(Arc::new(fs::LocalFs), &root, &root, 7);
}

#[test]
fn killed_20_times_on_hdfs_counts_every_word_once() {
    let data = tempfile::tempdir().unwrap();
    let cluster = minihdfs::MiniHdfs::start(minihdfs::Config::new(data.path())).unwrap();
    let url = format!("{}/job", cluster.url());
    let (fs, root) = fs::resolve(&url).unwrap();
    kill_test(fs, &url, &root, 11);
    cluster.shutdown();
}

/// A line server that replays its log from the first line on every connection; the log
/// grows by `lines` over time (one every millisecond or so).
fn replayable_server(lines: Vec<String>) -> (u16, impl FnOnce() + Send + 'static) {
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

#[test]
fn killed_20_times_reading_a_replayable_socket_with_the_write_ahead_log_counts_every_word_once() {
    let (files, expected) = corpus(23);
    let lines: Vec<String> = files.iter().flat_map(|f| f.lines().map(String::from).collect::<Vec<_>>()).collect();
    let (port, publish) = replayable_server(lines);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let addr = format!("127.0.0.1:{port}");
    let input = ["--socket", addr.as_str(), "--replayable", "--wal"];
    kill_and_check(Arc::new(fs::LocalFs), &root, &root, 23, &input, publish, &expected);
}
