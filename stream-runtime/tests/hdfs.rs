//! The engine on HDFS, against the embedded `minihdfs` cluster over loopback: the filesystem
//! layer, `text_file_stream` and `save_as_text_files` on `hdfs://` URLs, a namenode restart in
//! the middle of a stream, and round trips with the Go `hdfs` command line client.
//!
//! Streams run on a [`ManualClock`] set from the real clock: file modification times come from
//! the namenode's (real) clock, so each step moves the manual clock to the first batch time at
//! or after the real time, which puts every file written before the step into a known batch.
//!
//! The CLI tests fail when `hdfs` (Debian package `hdfs-cli`) is missing (run
//! `scripts/install-test-deps.sh`), unless `SLUICE_SKIP_HDFS_CLI=1` is set.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Instant;

use minihdfs::cli::{cli_available, hdfs_command, run_with_timeout};
use minihdfs::{Config, MiniHdfs};
use parking_lot::Mutex;
use stream_runtime::fs::hdfs::{split_bounds, HdfsFs};
use stream_runtime::fs::{FileSystem, FsError};
use stream_runtime::prelude::*;
use stream_runtime::{Clock, ManualClock, RunningContext};

/// Test clusters use 1 MiB blocks so that a few MiB span several blocks.
const BLOCK: u64 = 1 << 20;
const BATCH_MS: i64 = 1000;

struct Cluster {
    hdfs: Option<MiniHdfs>,
    config: Config,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.block_size = BLOCK;
        config.user = "sluice".into();
        let hdfs = MiniHdfs::start(config.clone()).expect("start minihdfs");
        config.namenode_port = hdfs.namenode_addr().port();
        Cluster { hdfs: Some(hdfs), config, _dir: dir }
    }

    fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.config.namenode_port)
    }

    fn url(&self, path: &str) -> String {
        format!("hdfs://{}{path}", self.authority())
    }

    fn fs(&self) -> Arc<HdfsFs> {
        HdfsFs::connect(&self.authority()).unwrap()
    }

    fn stop(&mut self) {
        self.hdfs.take().expect("running").shutdown();
    }

    fn restart(&mut self) {
        assert!(self.hdfs.is_none());
        self.hdfs = Some(MiniHdfs::start(self.config.clone()).expect("restart minihdfs on the same port"));
    }
}

/// Puts `text` at `path` as `hdfs dfs -put` does: written as `path._COPYING_`, then renamed.
fn put(fs: &dyn FileSystem, path: &str, text: &str) {
    let tmp = format!("{path}._COPYING_");
    fs.write(&tmp, text.as_bytes()).unwrap();
    fs.rename(&tmp, path).unwrap();
}

fn real_now() -> Time {
    stream_runtime::SystemClock.now()
}

/// A started stream over an HDFS directory on a manual clock, collecting each batch's lines.
struct Run {
    clock: ManualClock,
    running: Option<RunningContext>,
    batches: Arc<Mutex<BTreeMap<Time, Vec<String>>>>,
    zero: Time,
}

impl Run {
    fn start(url: &str) -> Run {
        let batch = Duration::millis(BATCH_MS);
        let clock = ManualClock::new(real_now());
        let ssc = StreamingContext::new(batch).with_threads(2).with_clock(Arc::new(clock.clone()));
        let batches = Arc::new(Mutex::new(BTreeMap::new()));
        let b = Arc::clone(&batches);
        ssc.text_file_stream(url).foreach_batch(move |lines: Batch<Str>, t| {
            b.lock().insert(t, lines.into_vec().into_iter().map(|l| l.to_string()).collect());
        });
        let running = ssc.start().unwrap();
        let zero = running.zero_time();
        Run { clock, running: Some(running), batches, zero }
    }

    fn running(&self) -> &RunningContext {
        self.running.as_ref().unwrap()
    }

    /// Moves the clock to the first batch time at or after the real time (at least one batch
    /// on) and waits until every batch up to it ran; returns the lines of those batches.
    fn step(&mut self) -> Vec<String> {
        let done = self.running().batches_completed() as i64;
        let now = real_now().as_millis() - self.zero.as_millis();
        let k = (now.max(0) + BATCH_MS - 1) / BATCH_MS;
        let k = k.max(done + 1);
        let before: Vec<Time> = self.batches.lock().keys().copied().collect();
        self.clock.set(self.zero + Duration::millis(k * BATCH_MS));
        let deadline = Instant::now() + std::time::Duration::from_secs(60);
        while (self.running().batches_completed() as i64) < k {
            assert!(Instant::now() < deadline, "batches did not run in time");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let batches = self.batches.lock();
        let mut lines: Vec<String> =
            batches.iter().filter(|(t, _)| !before.contains(t)).flat_map(|(_, l)| l.clone()).collect();
        lines.sort();
        lines
    }

    fn errors(&self) -> u64 {
        self.running().source_stats()[0].1.errors
    }

    fn stop(mut self) {
        self.running.take().unwrap().stop(false);
    }
}

fn sorted(lines: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn filesystem_operations_and_errors() {
    let c = Cluster::start();
    let (fs, path) = stream_runtime::fs::resolve(&c.url("/t/dir")).unwrap();
    assert_eq!(path, "/t/dir");
    fs.mkdirs("/t/dir/sub").unwrap();
    fs.write("/t/dir/a.txt", b"alpha\n").unwrap();
    fs.write("/t/dir/empty", b"").unwrap();
    assert_eq!(fs.read("/t/dir/a.txt").unwrap(), b"alpha\n");
    assert_eq!(fs.read("/t/dir/empty").unwrap(), b"");
    fs.write("/t/dir/a.txt", b"replaced\n").unwrap();
    assert_eq!(fs.read("/t/dir/a.txt").unwrap(), b"replaced\n");

    let listing = fs.list("/t/dir").unwrap();
    let names: Vec<(&str, bool, u64)> = listing.iter().map(|s| (s.name.as_str(), s.is_dir, s.len)).collect();
    assert_eq!(names, vec![("a.txt", false, 9), ("empty", false, 0), ("sub", true, 0)]);
    assert_eq!(listing[0].path, "/t/dir/a.txt");
    let age = real_now() - listing[0].modified;
    assert!(age.as_millis() >= -2000 && age.as_millis() < 60_000, "plausible mtime {:?}", listing[0].modified);

    let st = fs.status("/t/dir/a.txt").unwrap().unwrap();
    assert_eq!((st.path.as_str(), st.name.as_str(), st.len, st.is_dir), ("/t/dir/a.txt", "a.txt", 9, false));
    assert!(fs.status("/t/dir/missing").unwrap().is_none());

    // Rename is atomic and refuses to replace.
    fs.write("/t/dir/b.txt", b"beta\n").unwrap();
    let err = fs.rename("/t/dir/b.txt", "/t/dir/a.txt").unwrap_err();
    assert!(
        matches!(&err, FsError::Io { path, source } if path.ends_with("/t/dir/a.txt")
            && source.kind() == std::io::ErrorKind::AlreadyExists),
        "{err:?}"
    );
    assert_eq!(fs.read("/t/dir/a.txt").unwrap(), b"replaced\n");
    fs.rename("/t/dir/b.txt", "/t/dir/sub/b.txt").unwrap();
    assert_eq!(fs.read("/t/dir/sub/b.txt").unwrap(), b"beta\n");

    // Errors carry the URL.
    let err = fs.read("/t/dir/b.txt").unwrap_err();
    assert!(matches!(&err, FsError::NotFound { path } if *path == c.url("/t/dir/b.txt")), "{err:?}");
    let err = fs.list("/t/nope").unwrap_err();
    assert!(matches!(&err, FsError::NotFound { path } if *path == c.url("/t/nope")), "{err:?}");
    assert!(fs.rename("/t/nope", "/t/x").is_err());

    fs.delete("/t/dir/sub", true).unwrap();
    fs.delete("/t/dir/sub", true).unwrap();
    assert!(fs.status("/t/dir/sub").unwrap().is_none());
    fs.delete("/t/dir/empty", false).unwrap();
    assert!(fs.delete("/t/dir", false).is_err(), "non-empty directory needs recursive");
}

#[test]
fn splits_read_every_line_exactly_once() {
    let c = Cluster::start();
    let fs = c.fs();
    // Lines of varied lengths, CRLF endings, one line longer than the read-ahead and no final
    // newline; 2.5 blocks.
    let mut text = String::new();
    let mut i = 0u64;
    while text.len() < (2 * BLOCK + BLOCK / 2) as usize {
        let len = (i * 7919) % 300;
        text.push_str(&format!("{i}:{}", "x".repeat(len as usize)));
        text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        if i == 1000 {
            text.push_str(&"L".repeat(200_000));
            text.push('\n');
        }
        i += 1;
    }
    text.push_str("last line without newline");
    fs.write("/split/f.txt", text.as_bytes()).unwrap();
    let file = fs.open("/split/f.txt").unwrap();
    assert_eq!(file.len(), text.len() as u64);
    for n in [1, 2, 3, 7, 16, 100, 5000] {
        let mut joined = Vec::new();
        for (s, e) in split_bounds(file.len(), n) {
            let split = file.read_split(s, e).unwrap();
            if !split.bytes().is_empty() {
                assert_eq!(split.offset as usize, joined.len(), "splits are contiguous ({n} splits)");
            }
            joined.extend_from_slice(split.bytes());
        }
        assert!(joined == text.as_bytes(), "{n} splits give back the file");
    }
    // A split starting inside the file's last line holds nothing.
    let tail = file.read_split(file.len() - 3, file.len()).unwrap();
    assert!(tail.bytes().is_empty());
    assert_eq!(file.read_range(3, 5).unwrap(), &text.as_bytes()[3..8]);
}

#[test]
fn text_file_stream_reads_new_files_once() {
    let c = Cluster::start();
    let fs = c.fs();
    fs.mkdirs("/in").unwrap();
    put(fs.as_ref(), "/in/old.txt", "old\n");
    // The stream starts once the clock is past the file's modification time.
    let old = fs.status("/in/old.txt").unwrap().unwrap().modified;
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while real_now() <= old {
        assert!(Instant::now() < deadline, "the clock never passed {old}");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut run = Run::start(&c.url("/in"));
    assert_eq!(run.step(), Vec::<String>::new(), "files older than the stream are not read");

    put(fs.as_ref(), "/in/a.txt", "a one\na two\n");
    fs.write("/in/.hidden", b"hidden\n").unwrap();
    fs.write("/in/b.txt._COPYING_", b"copying\n").unwrap();
    assert_eq!(run.step(), sorted(&["a one", "a two"]));

    // A big file, read in several splits; a small one beside it.
    let big: Vec<String> = (0..60_000).map(|i| format!("line {i} {}", "y".repeat(i % 50))).collect();
    put(fs.as_ref(), "/in/big.txt", &(big.join("\n") + "\n"));
    put(fs.as_ref(), "/in/c.txt", "c\n");
    let mut expected = big.clone();
    expected.push("c".into());
    expected.sort();
    assert!(fs.status("/in/big.txt").unwrap().unwrap().len > 2 * BLOCK);
    assert!(run.step() == expected, "every line of the big file once");

    // Nothing is read twice; a file renamed into place later counts then.
    assert_eq!(run.step(), Vec::<String>::new());
    fs.rename("/in/b.txt._COPYING_", "/in/b.txt").unwrap();
    // Renaming keeps the mtime of the copy, which is still within the remember window.
    assert_eq!(run.step(), sorted(&["copying"]));
    assert_eq!(run.step(), Vec::<String>::new());
    assert_eq!(run.errors(), 0);
    let stats = run.running().source_stats();
    assert_eq!(stats[0].1.lines, 60_000 + 4);
    run.stop();
}

#[test]
fn stream_survives_a_namenode_restart() {
    let mut c = Cluster::start();
    let fs = c.fs();
    fs.mkdirs("/in").unwrap();
    let mut run = Run::start(&c.url("/in"));
    put(fs.as_ref(), "/in/1.txt", "first\n");
    assert_eq!(run.step(), sorted(&["first"]));

    // Put just before the namenode goes away, before any batch listed it.
    put(fs.as_ref(), "/in/2.txt", "before restart\n");
    c.stop();
    assert_eq!(run.step(), Vec::<String>::new(), "batches stay empty while the namenode is down");
    let errors = run.errors();
    assert!(errors >= 1, "the failed listing is counted");
    assert_eq!(run.step(), Vec::<String>::new());

    c.restart();
    put(fs.as_ref(), "/in/3.txt", "after restart\n");
    assert_eq!(run.step(), sorted(&["after restart", "before restart"]));
    assert_eq!(run.step(), Vec::<String>::new());
    // One outage, however many listings failed during it (one per batch while it was down).
    let stats = run.running().source_stats()[0].1;
    assert_eq!((stats.outages, stats.errors), (1, 2));
    run.stop();
}

#[test]
fn save_as_text_files_writes_readable_batch_directories() {
    let c = Cluster::start();
    let prefix = c.url("/out/counts");
    let p = prefix.clone();
    let errors = stream_runtime::testing::Harness::new(2)
        .run(vec![vec![("a", 1), ("b", 2), ("c", 3)], vec![]], move |s| s.save_as_text_files(&p, "txt"));
    assert!(errors.is_empty(), "{errors:?}");
    let fs = c.fs();
    let names: Vec<String> = fs.list("/out").unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["counts-1000.txt", "counts-2000.txt"], "no temporary directory is left");
    let files = |dir: &str| -> Vec<(String, Vec<u8>)> {
        fs.list(dir).unwrap().into_iter().map(|s| (s.name.clone(), fs.read(&s.path).unwrap())).collect()
    };
    // Test input comes in two partitions: [a] and [b, c].
    assert_eq!(
        files("/out/counts-1000.txt"),
        vec![
            ("_SUCCESS".to_string(), b"".to_vec()),
            ("part-00000".to_string(), b"(a,1)\n".to_vec()),
            ("part-00001".to_string(), b"(b,2)\n(c,3)\n".to_vec()),
        ]
    );
    let second = files("/out/counts-2000.txt");
    assert!(second.iter().any(|(n, b)| n == "_SUCCESS" && b.is_empty()), "{second:?}");
    assert!(second.iter().all(|(_, b)| b.is_empty()));
    if cli_available() {
        let out = hdfs_cli(&c, &["cat", "/out/counts-1000.txt/part-00001"]);
        assert_eq!(out, b"(b,2)\n(c,3)\n");
    }
}

/// Runs `hdfs ARGS...` against the cluster (killed after 60 s); returns its standard output
/// and fails the test on a non-zero exit.
fn hdfs_cli(c: &Cluster, args: &[&str]) -> Vec<u8> {
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
    let started = Instant::now();
    let out = run_with_timeout(hdfs_command(&c.authority(), args), TIMEOUT).expect("spawn hdfs");
    // `run_with_timeout` kills an overrunning child with SIGKILL (9).
    if started.elapsed() > TIMEOUT && out.status.signal() == Some(9) {
        panic!("hdfs {args:?} timed out");
    }
    let (status, err) = (out.status, String::from_utf8_lossy(&out.stderr));
    assert!(status.success(), "hdfs {args:?} failed: {status}: {err}");
    out.stdout
}

#[test]
fn round_trips_with_the_go_cli() {
    if !cli_available() {
        return;
    }
    let c = Cluster::start();
    let fs = c.fs();
    // Engine writes, the CLI reads.
    let text: String = (0..20_000).map(|i| format!("row {i}\n")).collect();
    fs.write("/rt/engine.txt", text.as_bytes()).unwrap();
    assert!(hdfs_cli(&c, &["cat", "/rt/engine.txt"]) == text.as_bytes());
    let ls = String::from_utf8(hdfs_cli(&c, &["ls", "/rt"])).unwrap();
    assert_eq!(ls.trim(), "engine.txt");

    // The CLI puts (to a dot-name, then moves), the stream reads.
    fs.mkdirs("/rt/in").unwrap();
    let mut run = Run::start(&c.url("/rt/in"));
    let local = tempfile::tempdir().unwrap();
    let file = local.path().join("words.txt");
    std::fs::write(&file, "from the cli\nsecond line\n").unwrap();
    hdfs_cli(&c, &["put", &file.to_string_lossy(), "/rt/in/.words.txt"]);
    hdfs_cli(&c, &["mv", "/rt/in/.words.txt", "/rt/in/words.txt"]);
    assert_eq!(run.step(), sorted(&["from the cli", "second line"]));
    assert_eq!(run.step(), Vec::<String>::new());
    run.stop();
}
