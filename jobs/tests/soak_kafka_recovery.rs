//! Soak: the kill test of `recoverable_wordcount` on a Kafka topic (bounded in time, see
//! `common`): the job reads a two-partition
//! topic of a local `tansu` broker through a direct stream and is killed with SIGKILL at
//! random points (20 times) while records arrive, then started again with the same checkpoint
//! directory. Each restart replays the logged batches' offset ranges and continues from the
//! offsets they end at, so the committed outputs must be those of a run without failures:
//! every batch's counts once, their sum the word counts of every record, and every batch's
//! totals the sum of the counts up to it.
//!
//! Fails when the broker is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_KAFKA=1` is set.
#![forbid(unsafe_code)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{kill_and_check, Counts};
use jobs::kafka_wordcount::LocalBroker;
use rand::{Rng, SeedableRng};
use stream_runtime::{KafkaClient, KafkaOptions};

const CHUNKS: usize = 40;

/// Seeded chunks of lines (one produce call each) and the word counts of all of them.
fn corpus(seed: u64) -> (Vec<Vec<String>>, Counts) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut counts = Counts::new();
    let chunks = (0..CHUNKS)
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

#[test]
fn killed_20_times_on_a_kafka_topic_counts_every_record_once() {
    let Some(broker) = LocalBroker::start_for_test().unwrap() else { return };
    let client = KafkaClient::new(&broker.brokers(), &KafkaOptions::default()).unwrap();
    client.create_topic("words", 2).unwrap();
    let (chunks, expected) = corpus(5);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let feed = move || {
        for (i, chunk) in chunks.iter().enumerate() {
            client.produce_values("words", (i % 2) as i32, chunk.iter().map(|l| l.as_bytes().to_vec())).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let brokers = broker.brokers();
    let input = ["--kafka", brokers.as_str(), "--topic", "words"];
    kill_and_check(Arc::new(stream_runtime::fs::LocalFs), &root, &root, 5, &input, feed, &expected);
}
