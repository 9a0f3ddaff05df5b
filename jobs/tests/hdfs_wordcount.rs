//! `hdfs_wordcount` as users run it: the built binary, on its embedded cluster with the demo
//! feeding sample text, stopped by `--duration`.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::time::{Duration, Instant};

use minihdfs::cli::run_with_timeout;

/// The sample's word counts, as `split(' ')` gives them.
fn sample_counts() -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for line in jobs::hdfs_wordcount::SAMPLE.lines() {
        for word in line.split(' ') {
            *counts.entry(word.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn embedded_demo_prints_spark_format_counts_and_exits_0() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hdfs_wordcount"));
    cmd.args(["--duration", "6", "--batch", "1s", "--data-dir"]).arg(data.path()).env_remove("RUST_LOG");
    let timeout = Duration::from_secs(60);
    let started = Instant::now();
    let output = run_with_timeout(cmd, timeout).expect("run hdfs_wordcount");
    // `run_with_timeout` kills an overrunning child with SIGKILL (9).
    if started.elapsed() > timeout && output.status.signal() == Some(9) {
        panic!("hdfs_wordcount did not stop after --duration 6");
    }
    let status = output.status;
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(status.success(), "exit status {status}\nstdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("Embedded HDFS cluster at hdfs://127.0.0.1:"), "{out}");
    assert!(out.contains("hdfs put FILE /user/"), "{out}");

    // Batches in Spark's format: a dashed line, `Time: <ms> ms`, a dashed line, records.
    let rule = "-------------------------------------------";
    let lines: Vec<&str> = out.lines().collect();
    let headers: Vec<usize> = (0..lines.len().saturating_sub(2))
        .filter(|&i| lines[i] == rule && lines[i + 2] == rule && !lines[i + 1].is_empty())
        .collect();
    assert!(headers.len() >= 4, "about one batch per second for 6 s:\n{out}");
    for &i in &headers {
        let t = lines[i + 1].strip_prefix("Time: ").and_then(|r| r.strip_suffix(" ms"));
        assert!(t.is_some_and(|t| t.parse::<u64>().is_ok()), "bad header {:?}", lines[i + 1]);
    }

    // `print` shows up to 10 records per batch. Each shown count is a multiple of the word's
    // count in the sample (one batch may hold several sample files); the first file shows in
    // one of the first two batches and the demo puts one every 3 batches.
    let expected = sample_counts();
    let mut with_counts = Vec::new();
    for (b, &i) in headers.iter().enumerate() {
        let end = headers.get(b + 1).copied().unwrap_or(lines.len());
        let records: Vec<&str> = lines[i + 3..end].iter().copied().filter(|l| l.starts_with('(')).collect();
        for r in &records {
            let (word, n) = r[1..r.len() - 1].rsplit_once(',').unwrap();
            let n: u64 = n.parse().unwrap();
            let k = expected.get(word).unwrap_or_else(|| panic!("{word:?} is not in the sample"));
            assert_eq!(n % k, 0, "{word}: {n} is not a multiple of {k}");
        }
        if !records.is_empty() {
            with_counts.push(b);
        }
    }
    assert!(with_counts.first().is_some_and(|&b| b <= 1), "counts by the second batch:\n{out}");
    assert!(with_counts.len() >= 2, "a sample file every 3 batches, so at least 2 in 6 s:\n{out}");
}

/// Runs `hdfs_wordcount` with `args` until it stops by itself; its status, stdout and stderr.
fn run_hdfs_wordcount(args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hdfs_wordcount"));
    cmd.args(args).env_remove("RUST_LOG");
    let output = run_with_timeout(cmd, Duration::from_secs(60)).expect("run hdfs_wordcount");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status, text(&output.stdout), text(&output.stderr))
}

#[test]
fn with_a_checkpoint_a_file_put_while_the_job_was_down_is_counted_and_another_jobs_directory_is_refused() {
    let data = tempfile::tempdir().unwrap();
    let cluster = minihdfs::MiniHdfs::start(minihdfs::Config::new(data.path())).unwrap();
    let url = format!("{}/in", cluster.url());
    let (fs, dir) = stream_runtime::fs::resolve(&url).unwrap();
    fs.mkdirs(&dir).unwrap();
    let ckpt = data.path().join("ckpt").to_string_lossy().into_owned();
    let run = ["--batch", "500ms", "--duration", "3", "--checkpoint", &ckpt, &url];
    let (status, _, err) = run_hdfs_wordcount(&run);
    assert!(status.success(), "first run: {status}\n{err}");
    jobs::hdfs_wordcount::put_text(fs.as_ref(), &dir, "while-down.txt", "downtime downtime\n").unwrap();
    let (status, out, err) = run_hdfs_wordcount(&run);
    assert!(status.success(), "second run: {status}\n{err}");
    assert!(out.contains("(downtime,2)"), "the file put while the job was down is counted:\n{out}\n{err}");

    // Another job's checkpoint directory is refused, and left as it was.
    let other = data.path().join("other").to_string_lossy().into_owned();
    let status = Command::new(env!("CARGO_BIN_EXE_recoverable_wordcount"))
        .args(["--dir", &url, "--output", &data.path().join("out").to_string_lossy(), "--checkpoint", &other])
        .args(["--batch", "500ms", "--duration", "1"])
        .status()
        .unwrap();
    assert!(status.success());
    let listing = || {
        let mut names: Vec<String> =
            std::fs::read_dir(&other).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let before = listing();
    let (status, _, err) = run_hdfs_wordcount(&["--batch", "500ms", "--duration", "2", "--checkpoint", &other, &url]);
    assert!(!status.success() && err.contains("different job"), "another job's checkpoint: {status}\n{err}");
    assert_eq!(listing(), before);
    cluster.shutdown();
}
