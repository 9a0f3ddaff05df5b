//! The kill test of `recoverable_wordcount` on a Kafka topic: the job reads a two-partition
//! topic of a local `tansu` broker through a direct stream and is killed with SIGKILL at
//! random points (10 times) while records arrive, then started again with the same checkpoint
//! directory. Each restart replays the logged batches' offset ranges and continues from the
//! offsets they end at, so the committed outputs must be those of a run without failures:
//! every batch's counts once, their sum the word counts of every record, and every batch's
//! totals the sum of the counts up to it.
//!
//! Fails when the broker is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_KAFKA=1` is set.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jobs::kafka_wordcount::LocalBroker;
use rand::{Rng, SeedableRng};
use stream_runtime::{KafkaClient, KafkaOptions};

type Counts = BTreeMap<String, u64>;

const KILLS: usize = 10;
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

/// The committed `<prefix>-<ms>` batch directories of `out` and their `(word,n)` records.
fn outputs(out: &Path, prefix: &str) -> BTreeMap<i64, Counts> {
    let mut batches = BTreeMap::new();
    for entry in std::fs::read_dir(out).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(t) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('-')).and_then(|r| r.parse().ok()) else {
            continue;
        };
        assert!(entry.path().join("_SUCCESS").exists(), "{name} is committed without _SUCCESS");
        let mut counts = Counts::new();
        for part in std::fs::read_dir(entry.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(part.path()).unwrap();
            for line in text.lines() {
                let (w, n) = line.trim_matches(['(', ')']).rsplit_once(',').unwrap();
                assert!(counts.insert(w.to_string(), n.parse().unwrap()).is_none(), "{w} twice in {name}");
            }
        }
        batches.insert(t, counts);
    }
    batches
}

fn spawn(brokers: &str, dir: &Path) -> Child {
    let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
    Command::new(env!("CARGO_BIN_EXE_recoverable_wordcount"))
        .args(["--kafka", brokers, "--topic", "words", "--output", &path("out"), "--checkpoint", &path("ckpt")])
        .args(["--batch", "100ms", "--checkpoint-interval", "300ms", "--threads", "2"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start recoverable_wordcount")
}

#[test]
fn killed_10_times_on_a_kafka_topic_counts_every_record_once() {
    let Some(broker) = LocalBroker::start_for_test().unwrap() else { return };
    let client = KafkaClient::new(&broker.brokers(), &KafkaOptions::default()).unwrap();
    client.create_topic("words", 2).unwrap();
    let (chunks, expected) = corpus(5);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);

    // Records arrive once the first run has checkpointed (a job killed before its first
    // checkpoint starts afresh).
    let mut child = spawn(&broker.brokers(), dir.path());
    let ckpt = dir.path().join("ckpt");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_dir(&ckpt)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("checkpoint-"))
    {
        assert!(Instant::now() < deadline, "no checkpoint after 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    let feeder = std::thread::spawn(move || {
        for (i, chunk) in chunks.iter().enumerate() {
            client.produce_values("words", (i % 2) as i32, chunk.iter().map(|l| l.as_bytes().to_vec())).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..700)));
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        child = spawn(&broker.brokers(), dir.path());
    }
    feeder.join().unwrap();

    let out = dir.path().join("out");
    let deadline = Instant::now() + Duration::from_secs(60);
    while outputs(&out, "totals").values().last() != Some(&expected) {
        if Instant::now() > deadline {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let o = child.wait_with_output().unwrap();
            panic!(
                "totals never reached the expected counts; last: {:?}\nstderr:\n{}",
                outputs(&out, "totals").values().last(),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "graceful stop: {}\n{}", o.status, String::from_utf8_lossy(&o.stderr));

    let counts = outputs(&out, "counts");
    let totals = outputs(&out, "totals");
    assert_eq!(counts.keys().collect::<Vec<_>>(), totals.keys().collect::<Vec<_>>(), "both outputs of every batch");
    let mut sum = Counts::new();
    for (t, batch) in &counts {
        for (w, n) in batch {
            *sum.entry(w.clone()).or_default() += n;
        }
        assert_eq!(&totals[t], &sum, "totals at {t} are the counts up to {t}");
    }
    assert_eq!(sum, expected, "every record counted once over {} batches", counts.len());
}
