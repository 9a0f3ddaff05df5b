//! The cluster mode with real processes on loopback: `cluster_check` (word count, a join,
//! running counts through `update_state_by_key` and `map_with_state`, windowed counts with and
//! without an inverse) on 1, 2 and 3 processes gives the outputs of an oracle; a process that
//! dies or stops answering ends the cluster with one clear line within a bounded time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::Counts;

/// Waits for `done`, polling, at most `timeout`; panics naming `what`.
fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The committed batch directories of output `name` (`b-<ms>.txt` with `_SUCCESS`), by time.
fn batches(out: &Path, name: &str) -> Vec<(i64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(out.join(name)) else { return Vec::new() };
    let mut found: Vec<(i64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let ms = file.strip_prefix("b-")?.strip_suffix(".txt")?.parse().ok()?;
            e.path().join("_SUCCESS").exists().then(|| (ms, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// The records of a batch directory, one per line, from every part file.
fn lines(dir: &Path) -> Vec<String> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("part-")))
        .collect();
    parts.sort();
    parts
        .iter()
        .flat_map(|p| std::fs::read_to_string(p).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// `(word,n)` lines as counts (a word twice in one batch is a bug: it would show here).
fn counts(dir: &Path) -> Counts {
    let mut out = Counts::new();
    for line in lines(dir) {
        let inner = line.strip_prefix('(').and_then(|l| l.strip_suffix(')')).expect("a pair");
        let (word, n) = inner.rsplit_once(',').expect("word,count");
        let previous = out.insert(word.to_string(), n.parse().expect("a count"));
        assert!(previous.is_none(), "{word} twice in {}", dir.display());
    }
    out
}

fn total(counts: &Counts) -> u64 {
    counts.values().sum()
}

fn word_counts(text: &str) -> Counts {
    let mut out = Counts::new();
    for word in text.split(['\n', ' ']).filter(|w| !w.is_empty()) {
        *out.entry(word.to_string()).or_default() += 1;
    }
    out
}

fn add(into: &mut Counts, from: &Counts) {
    for (word, n) in from {
        *into.entry(word.clone()).or_default() += n;
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the job did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `cluster_check` with `--local-cluster processes` and `flags` on `<root>/in`, writing
/// to `<root>/out`, checkpointing to `<root>/cp`, its standard error in `<root>/stderr`.
fn start_cluster_check(root: &Path, processes: usize, flags: &[&str]) -> Child {
    let (input, out, cp) = (root.join("in"), root.join("out"), root.join("cp"));
    std::fs::create_dir_all(&input).unwrap();
    let stderr = std::fs::File::create(root.join("stderr")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_cluster_check"))
        .args([input.to_str().unwrap(), out.to_str().unwrap(), "--checkpoint", cp.to_str().unwrap()])
        .args(["--local-cluster", &processes.to_string()])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Runs `cluster_check` on `processes` processes over `texts` (one file at a time, each in a
/// batch of its own) and checks every output against the oracle.
fn run_and_check(processes: usize, texts: &[String]) {
    run_and_check_with(processes, texts, &[]);
}

/// [`run_and_check`] with more flags for the job.
fn run_and_check_with(processes: usize, texts: &[String], flags: &[&str]) {
    let root = tempfile::tempdir().unwrap();
    let (input, out) = (root.path().join("in"), root.path().join("out"));
    let mut child = start_cluster_check(root.path(), processes, &[&["--ui", "off"], flags].concat());
    let log = || std::fs::read_to_string(root.path().join("stderr")).unwrap_or_default();
    wait_until("the first batch", Duration::from_secs(60), || !batches(&out, "counts").is_empty());
    let mut oracle = Counts::new();
    for (i, text) in texts.iter().enumerate() {
        let staged = root.path().join(format!("f{i}.txt"));
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, input.join(format!("f{i}.txt"))).unwrap();
        add(&mut oracle, &word_counts(text));
        let expected = total(&oracle);
        wait_until(&format!("file {i} counted ({processes} processes)"), Duration::from_secs(60), || {
            batches(&out, "counts").iter().map(|(_, d)| total(&counts(d))).sum::<u64>() == expected
        });
    }
    // The running outputs catch up with the last file.
    for name in ["state", "mapstate", "window", "window_inv"] {
        wait_until(&format!("{name} up to date"), Duration::from_secs(60), || {
            batches(&out, name).last().is_some_and(|(_, d)| counts(d) == oracle)
        });
    }
    common::sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60));
    assert!(status.success(), "{processes} processes: {status}\n{}", log());

    // Word counts: every batch's counts, summed, are the oracle's; the join of each batch
    // pairs each count with its double.
    let mut summed = Counts::new();
    let joins: BTreeMap<i64, PathBuf> = batches(&out, "join").into_iter().collect();
    for (t, dir) in batches(&out, "counts") {
        let batch = counts(&dir);
        add(&mut summed, &batch);
        let Some(join) = joins.get(&t) else { continue };
        let mut expected: Vec<String> = batch.iter().map(|(w, n)| format!("({w},({n},{}))", n * 2)).collect();
        let mut got = lines(join);
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "join at {t} with {processes} processes");
    }
    assert_eq!(summed, oracle, "{processes} processes");
    // Running counts: the state after each batch is the sum of the counts up to it.
    let by_time: BTreeMap<i64, Counts> = batches(&out, "counts").iter().map(|(t, d)| (*t, counts(d))).collect();
    for name in ["state", "mapstate", "window", "window_inv"] {
        for (t, dir) in batches(&out, name) {
            let mut expected = Counts::new();
            for (_, batch) in by_time.range(..=t) {
                add(&mut expected, batch);
            }
            assert_eq!(counts(&dir), expected, "{name} at {t} with {processes} processes");
        }
    }
}

#[test]
fn one_two_and_three_processes_give_the_oracles_outputs() {
    let (texts, _) = common::corpus(7, 5);
    for processes in [1, 2, 3] {
        run_and_check(processes, &texts);
    }
}

#[test]
fn three_batches_in_flight_give_the_oracles_outputs() {
    let (texts, _) = common::corpus(11, 4);
    run_and_check_with(3, &texts, &["--in-flight", "3"]);
}

/// Starts `cluster_check` on three processes and waits until they run batches; returns the
/// launcher, the processes' pids, and where standard error goes.
fn three_processes(env: &[(&str, &str)]) -> (tempfile::TempDir, Child, Vec<u32>) {
    let root = tempfile::tempdir().unwrap();
    let (input, out, cp) = (root.path().join("in"), root.path().join("out"), root.path().join("cp"));
    std::fs::create_dir_all(&input).unwrap();
    let stderr = std::fs::File::create(root.path().join("stderr")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_cluster_check"))
        .args([input.to_str().unwrap(), out.to_str().unwrap(), "--checkpoint", cp.to_str().unwrap()])
        .args(["--ui", "off", "--local-cluster", "3"])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut child = child;
    let pids = common::members(&mut child, 3).expect("the local cluster starts");
    wait_until("a few batches", Duration::from_secs(60), || batches(&out, "counts").len() >= 3);
    (root, child, pids)
}

/// Starts three processes (with `env`), sends process `victim` `signal`, and checks that the
/// cluster ends with a failure within 15 s; returns its standard error.
fn signal_and_wait(env: &[(&str, &str)], signal: &str, victim: usize) -> String {
    let (root, mut launcher, pids) = three_processes(env);
    let _ = Command::new("kill").args([signal, &pids[victim].to_string()]).status();
    let began = Instant::now();
    let status = wait_exit(&mut launcher, Duration::from_secs(30));
    let waited = began.elapsed();
    let log = std::fs::read_to_string(root.path().join("stderr")).unwrap();
    assert!(!status.success(), "{log}");
    assert!(waited < Duration::from_secs(15), "stopped after {waited:?}");
    log
}

#[test]
fn a_killed_process_stops_the_others_with_one_line() {
    let log = signal_and_wait(&[], "-KILL", 2);
    let gone: Vec<&str> = log.lines().filter(|l| l.starts_with("process 2 of 3 (127.0.0.1:")).collect();
    assert!(!gone.is_empty(), "{log}");
    assert!(gone
        .iter()
        .all(|l| l.ends_with("is gone; stopping; restart all processes to recover from the last checkpoint")));
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_stopped_process_stops_the_cluster_within_the_peer_timeout() {
    let log = signal_and_wait(&[("SLUICE_PEER_TIMEOUT_MS", "2000")], "-STOP", 1);
    assert!(
        log.lines().any(|l| l.contains("process 1 of 3 (127.0.0.1:") && l.contains("did not answer for 2 s; stopping")),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn processes_of_different_jobs_refuse_each_other_naming_both_plans() {
    let root = tempfile::tempdir().unwrap();
    let ports = stream_cluster::launch::free_ports(2).unwrap();
    let hosts = root.path().join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1])).unwrap();
    let input = root.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let member = |program: &str, process: usize, extra: &[&str]| {
        Command::new(program)
            .arg(input.to_str().unwrap())
            .args(extra)
            .args(["--ui", "off", "--processes", "2", "--process", &process.to_string()])
            .args(["--hosts", hosts.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let out = root.path().join("out");
    let a = member(env!("CARGO_BIN_EXE_file_wordcount"), 0, &[]);
    let cp = root.path().join("cp");
    let b =
        member(env!("CARGO_BIN_EXE_cluster_check"), 1, &[out.to_str().unwrap(), "--checkpoint", cp.to_str().unwrap()]);
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    for output in &outputs {
        assert!(!output.status.success());
    }
    let text: String = outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
    let refusal =
        text.lines().find(|l| l.contains("refusing to run different jobs")).unwrap_or_else(|| panic!("{text}"));
    assert!(refusal.contains("file_wordcount") && refusal.contains("cluster_check"), "{refusal}");
}

#[test]
fn a_cluster_s_checkpoints_are_refused_by_one_process() {
    let root = tempfile::tempdir().unwrap();
    let (input, out, cp) = (root.path().join("in"), root.path().join("out"), root.path().join("cp"));
    std::fs::create_dir_all(&input).unwrap();
    for process in 0..3 {
        std::fs::create_dir_all(cp.join(format!("process-{process}-of-3"))).unwrap();
    }
    let output = Command::new(env!("CARGO_BIN_EXE_cluster_check"))
        .args([input.to_str().unwrap(), out.to_str().unwrap(), "--checkpoint", cp.to_str().unwrap()])
        .args(["--ui", "off"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("written by a cluster of 3 processes") && stderr.contains("restart it as a cluster"),
        "{stderr}"
    );
}

/// The Streaming page's address, once the job's standard error (`log`) says it.
fn page_address(log: impl Fn() -> String) -> String {
    let mut addr = String::new();
    wait_until("the page's address", Duration::from_secs(60), || {
        let text = log();
        let Some((_, rest)) = text.split_once("Streaming UI at http://") else { return false };
        addr = rest.split_whitespace().next().unwrap_or("").to_string();
        true
    });
    addr
}

/// `GET path` from the Streaming page at `addr`, as JSON.
fn get_json(addr: &str, path: &str) -> serde_json::Value {
    serde_json::from_str(&get(addr, path)).unwrap_or_default()
}

/// The body of `path` on the page at `addr` (empty when it does not answer).
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut http) = std::net::TcpStream::connect(addr) else { return String::new() };
    let _ = http.write_all(format!("GET {path} HTTP/1.1\r\nHost: job\r\n\r\n").as_bytes());
    let mut answer = String::new();
    let _ = http.read_to_string(&mut answer);
    answer.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// In a cluster the page is served by process 0 and covers every process: each process's
/// report (records read, state keys and bytes) arrives, the records read add up to the lines
/// written, the keys of each stateful operation add up to the distinct words, and a window
/// holds the batch that read the file.
#[test]
fn the_drivers_page_covers_every_process() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    let mut child = start_cluster_check(root.path(), 2, &["--ui", "127.0.0.1:0"]);
    let log = || std::fs::read_to_string(root.path().join("stderr")).unwrap_or_default();
    let addr = page_address(log);
    let (texts, _) = common::corpus(11, 1);
    let text = &texts[0];
    std::fs::write(root.path().join("f.txt"), text).unwrap();
    std::fs::rename(root.path().join("f.txt"), input.join("f.txt")).unwrap();
    let lines = text.lines().count() as u64;
    let words = word_counts(text).len() as u64;
    let mut last = serde_json::Value::Null;
    wait_until("every process's report of the file", Duration::from_secs(60), || {
        last = get_json(&addr, "/api/v1/streaming/processes");
        let reported = last["rows"].as_array().is_some_and(|rows| rows.iter().all(|r| r["batchId"].is_i64()));
        reported && last["totals"]["recordsReadTotal"] == lines
    });
    assert_eq!(last["processes"], 2, "{last}");
    let rows = last["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{last}");
    for (p, row) in rows.iter().enumerate() {
        assert_eq!(row["process"], p, "{last}");
        assert!(row["batchId"].is_i64() && row["processingTimeMicros"].is_u64(), "{last}");
        assert!(row["stateBytes"].as_u64().unwrap() > 0, "{last}");
    }
    let mut state = serde_json::Value::Null;
    wait_until("the state of every process", Duration::from_secs(60), || {
        state = get_json(&addr, "/api/v1/streaming/state");
        state.as_array().is_some_and(|ops| {
            ops.iter().filter(|op| op["operation"] == "update_state_by_key").all(|op| op["keys"] == words)
        })
    });
    let ops = state.as_array().unwrap();
    let update = ops.iter().find(|op| op["operation"] == "update_state_by_key").unwrap();
    let by_process = update["processes"].as_array().unwrap();
    assert_eq!(by_process.len(), 2, "{state}");
    let keys: u64 = by_process.iter().map(|p| p["keys"].as_u64().unwrap()).sum();
    assert_eq!(keys, words, "{state}");
    let bytes: u64 = by_process.iter().map(|p| p["bytes"].as_u64().unwrap()).sum();
    assert_eq!(update["bytes"], bytes, "{state}");
    let window =
        ops.iter().find(|op| op["operation"].as_str().unwrap().starts_with("reduce_by_key_and_window(")).unwrap();
    assert_eq!(window["keys"], words, "{state}");
    let held: u64 = window["window"]["batches"].as_array().unwrap().iter().filter_map(|b| b["keys"].as_u64()).sum();
    assert_eq!(held, words, "the batch that read the file, its partials on both processes: {state}");
    // The batch that read the file: each process's share of it (the driver's plan, by size:
    // one file, one reader) and the records each said it read, which add up to its lines.
    let mut batches = serde_json::Value::Null;
    wait_until("every process's report of the batches with files", Duration::from_secs(60), || {
        batches = get_json(&addr, "/api/v1/streaming/batches");
        let Some(batches) = batches.as_array() else { return false };
        let with_files: Vec<&serde_json::Value> =
            batches.iter().filter(|b| b["inputs"][0]["files"].as_array().is_some_and(|f| !f.is_empty())).collect();
        let shares = with_files.iter().flat_map(|b| b["inputs"][0]["processes"].as_array().unwrap());
        let read: Option<u64> = shares.map(|s| s["recordsRead"].as_u64()).sum();
        read == Some(lines)
    });
    for b in
        batches.as_array().unwrap().iter().filter(|b| b["inputs"][0]["files"].as_array().is_some_and(|f| !f.is_empty()))
    {
        let files = b["inputs"][0]["files"].as_array().unwrap();
        let shares = b["inputs"][0]["processes"].as_array().unwrap();
        assert_eq!(shares.len(), 2, "{b}");
        let shared: usize = shares.iter().map(|s| s["files"].as_array().unwrap().len()).sum();
        assert_eq!(shared, files.len(), "every file in one share: {b}");
        for s in shares {
            assert_eq!(s["files"].as_array().unwrap().is_empty(), s["recordsRead"] == 0, "{b}");
        }
    }
    // Every process's time of each fused stage reaches the driver's page.
    let stages = get_json(&addr, "/api/v1/streaming/stages");
    let fused: Vec<&serde_json::Value> =
        stages.as_array().unwrap().iter().filter(|s| s["stage"].as_str().unwrap().starts_with("stage ")).collect();
    assert!(!fused.is_empty(), "{stages}");
    for s in fused {
        let processes = s["processes"].as_array().unwrap();
        assert_eq!(processes.len(), 2, "{stages}");
        assert!(processes.iter().all(|p| p["lastMicros"].is_u64()), "{stages}");
    }
    let metrics = get(&addr, "/metrics");
    assert!(
        metrics.contains("sluice_stage_seconds_count{stage=\"1\"") && metrics.contains(",process=\"1\"}"),
        "{metrics}"
    );
    common::sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60));
    assert!(status.success(), "{status}\n{}", log());
}

/// The `(word,n)` lines `print` wrote to `stdout`, summed over its batches.
fn printed_counts(stdout: &str) -> Counts {
    let mut out = Counts::new();
    for line in stdout.lines() {
        let Some(inner) = line.strip_prefix('(').and_then(|l| l.strip_suffix(')')) else { continue };
        let (word, n) = inner.rsplit_once(',').expect("word,count");
        *out.entry(word.to_string()).or_default() += n.parse::<u64>().expect("a count");
    }
    out
}

/// A socket receiver runs on process 0 (with its write-ahead log) and its lines are dealt over
/// the processes: `network_wordcount` on two real processes, fed by a real TCP server, gives
/// every process a share of the lines (the driver's page counts each process's share), the
/// shares add up to the lines sent, and the printed counts (a vocabulary small enough for
/// `print` to show every word of a batch) add up to the oracle's exactly once.
#[test]
fn a_socket_streams_lines_are_spread_over_the_processes_and_counted_once() {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};

    const LINES: usize = 3_000;
    let vocabulary = ["to", "be", "or", "not", "that", "is", "the", "question"];
    let text: String = (0..LINES)
        .map(|i| (0..1 + i % 4).map(|j| vocabulary[(i * 7 + j * 3) % vocabulary.len()]).collect::<Vec<_>>().join(" "))
        .map(|line| line + "\n")
        .collect();
    let oracle = word_counts(&text);

    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let root = tempfile::tempdir().unwrap();
    let stderr = std::fs::File::create(root.path().join("stderr")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_network_wordcount"))
        .args(["127.0.0.1", &port.to_string(), "--batch", "500ms", "--threads", "1"])
        .args(["--ui", "127.0.0.1:0", "--local-cluster", "2"])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(root.path().join("stderr")).unwrap_or_default();
    let stdout = Arc::new(Mutex::new(String::new()));
    let reader = {
        let (stdout, mut pipe) = (Arc::clone(&stdout), child.stdout.take().unwrap());
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                stdout.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        })
    };
    let addr = page_address(log);
    // The receiver (on process 0 only) connects; the lines go out in two halves, so that
    // more than one batch holds some.
    server.set_nonblocking(false).unwrap();
    let (mut conn, _) = server.accept().unwrap();
    let half = text.len() / 2 + text[text.len() / 2..].find('\n').unwrap() + 1;
    conn.write_all(&text.as_bytes()[..half]).unwrap();
    wait_until("the first half counted", Duration::from_secs(60), || {
        total(&printed_counts(&stdout.lock().unwrap())) > 0
    });
    conn.write_all(&text.as_bytes()[half..]).unwrap();
    let expected = total(&oracle);
    wait_until("every word printed", Duration::from_secs(60), || {
        total(&printed_counts(&stdout.lock().unwrap())) >= expected
    });
    let mut page = serde_json::Value::Null;
    wait_until("every process's share on the page", Duration::from_secs(60), || {
        page = get_json(&addr, "/api/v1/streaming/processes");
        let rows = page["rows"].as_array().cloned().unwrap_or_default();
        rows.iter().map(|r| r["recordsHereTotal"].as_u64().unwrap_or(0)).sum::<u64>() == LINES as u64
    });
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{page}");
    for row in rows {
        let share = row["recordsHereTotal"].as_u64().unwrap();
        assert!(share > 0, "process {} got no lines: {page}", row["process"]);
    }
    // Only the driver reads the socket.
    assert_eq!(rows[0]["recordsReadTotal"], LINES as u64, "{page}");
    assert_eq!(rows[1]["recordsReadTotal"], 0, "{page}");
    common::sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(60));
    drop(conn);
    reader.join().unwrap();
    assert!(status.success(), "{status}\n{}", log());
    assert_eq!(printed_counts(&stdout.lock().unwrap()), oracle, "{}", log());
}
