//! The `kafka_wordcount` binary against a local `tansu` broker: records written while it runs
//! are counted, in Spark's output format, and it stops by itself after `--duration`.
//!
//! Fails when the broker is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_KAFKA=1` is set.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use jobs::kafka_wordcount::LocalBroker;
use stream_runtime::{KafkaClient, KafkaOptions};

#[test]
fn counts_the_words_of_records_written_while_it_runs() {
    let Some(broker) = LocalBroker::start_for_test().unwrap() else { return };
    let client = KafkaClient::new(&broker.brokers(), &KafkaOptions::default()).unwrap();
    client.create_topic("words", 2).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut written = 0;
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                client.produce_values("words", i % 2, ["to be or not to be"]).unwrap();
                written += 1;
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            written
        })
    };
    let out = Command::new(env!("CARGO_BIN_EXE_kafka_wordcount"))
        .args([&broker.brokers(), "words", "--batch", "500ms", "--master", "local[2]", "--duration", "3"])
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
