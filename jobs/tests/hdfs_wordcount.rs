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
