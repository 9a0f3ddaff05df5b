//! The `kafka_wordcount` binary against a local `tansu` broker: records written while it runs
//! are counted, in Spark's output format, and it stops by itself after `--duration`; on one
//! process and on three (`--local-cluster 3`).
//!
//! Fails when the broker is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_KAFKA=1` is set.
#![forbid(unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use jobs::kafka_wordcount::LocalBroker;
use stream_runtime::{KafkaClient, KafkaOptions};

/// Runs `kafka_wordcount` with `layout` (its extra flags) for 3 s over a topic of
/// `partitions` partitions fed while it runs, and checks its standard output: Spark's blocks,
/// one per batch, whose counts add up to whole records, each counted once.
fn counts_records_written_while_it_runs(layout: &[&str], partitions: i32) {
    let Some(broker) = LocalBroker::start_for_test().unwrap() else { return };
    let client = KafkaClient::new(&broker.brokers(), &KafkaOptions::default()).unwrap();
    client.create_topic("words", partitions).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut written = 0;
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                client.produce_values("words", i % partitions, ["to be or not to be"]).unwrap();
                written += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            written
        })
    };
    let out = Command::new(env!("CARGO_BIN_EXE_kafka_wordcount"))
        .args([&broker.brokers(), "words", "--batch", "500ms", "--duration", "3", "--ui", "off"])
        .args(layout)
        .output()
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let written = feeder.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let batches = stdout.split("-------------------------------------------\nTime: ").skip(1).count();
    assert!(batches >= 4, "one block per batch: {stdout}");
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for line in stdout.lines().filter(|l| l.starts_with('(')) {
        let (w, n) = line.trim_matches(['(', ')']).rsplit_once(',').unwrap();
        *totals.entry(w).or_default() += n.parse::<u64>().unwrap();
    }
    let records = totals.get("or").copied().unwrap_or(0);
    assert!(records >= 5 && records <= written, "{records} of {written} records counted: {stdout}");
    let expected = BTreeMap::from([("be", 2 * records), ("not", records), ("or", records), ("to", 2 * records)]);
    assert_eq!(totals, expected, "whole records, each counted once");
}

#[test]
fn counts_the_words_of_records_written_while_it_runs() {
    counts_records_written_while_it_runs(&["--master", "local[2]"], 2);
}

/// On three processes (`--local-cluster 3`, one thread each) each reads the partitions it owns
/// (by a hash of topic and partition; the topic has enough that each owns one), the counts
/// cross processes, and process 0 alone prints every batch: the output is one process's.
#[test]
fn counts_the_words_of_records_written_while_it_runs_on_three_processes() {
    let partitions = common::partitions_for("words", 3);
    counts_records_written_while_it_runs(&["--threads", "1", "--local-cluster", "3"], partitions);
}

#[test]
fn unreachable_brokers_are_reported_once_and_duration_still_ends_the_job() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kafka_wordcount"));
    cmd.args([&format!("127.0.0.1:{port}"), "words", "--batch", "1s", "--duration", "4"]).env_remove("RUST_LOG");
    let started = std::time::Instant::now();
    let out = minihdfs::cli::run_with_timeout(cmd, std::time::Duration::from_secs(60)).unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < std::time::Duration::from_secs(7), "--duration 4 took {took:?}\n{stderr}");
    let warnings = stderr.lines().filter(|l| l.contains("WARN")).count();
    assert!(warnings <= 2, "{warnings} warnings:\n{stderr}");
    assert_eq!(stderr.matches("cannot reach the Kafka brokers").count(), 1, "{stderr}");
}
