//! Kafka direct streams against a real Kafka-protocol broker: `tansu` (in memory), started on
//! a free loopback port per test and killed when the test ends ([`LocalBroker`]).
//!
//! Streams run on a [`ManualClock`]: each step moves it one batch on and waits for that
//! batch, so what was produced before a step is in a known batch. The tests fail when the
//! broker is missing (run `scripts/install-test-deps.sh`), unless `SLUICE_SKIP_KAFKA=1` is set.
//!
//! The broker keeps its log in memory, so the restart test produces the lost records again
//! after the restart, at the same offsets, as a durable broker would have kept them: what is
//! tested is that the stream waits through the outage, reports it once, resumes at the offset
//! it had reached and neither loses nor repeats a record.
//!
//! A test binary of its own (not a module of `it`): its brokers and streams would otherwise
//! run beside `it`'s timing-sensitive tests.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jobs::kafka_wordcount::LocalBroker;
use sluice_tests::wait_until;
use stream_runtime::prelude::*;
use stream_runtime::{
    KafkaClient, KafkaError, KafkaOptions, KafkaRecord, ManualClock, OffsetReset, RunningContext, StartingOffsets,
    StreamingError,
};

const BATCH_MS: i64 = 1000;

/// Starts a broker, or `None` when the test is to be skipped (`SLUICE_SKIP_KAFKA=1`).
fn broker() -> Option<LocalBroker> {
    LocalBroker::start_for_test().unwrap()
}

fn options(starting_offsets: StartingOffsets) -> KafkaOptions {
    KafkaOptions {
        starting_offsets,
        request_timeout: std::time::Duration::from_millis(1500),
        ..KafkaOptions::default()
    }
}

fn client(broker: &LocalBroker) -> KafkaClient {
    KafkaClient::new(&broker.brokers(), &options(StartingOffsets::Latest)).unwrap()
}

/// A started job on a manual clock whose output collects each batch, as `T`s.
struct Run<T> {
    clock: ManualClock,
    running: Option<RunningContext>,
    batches: Arc<Mutex<BTreeMap<Time, Vec<T>>>>,
    zero: Time,
    steps: i64,
}

impl<T: Clone + Send + 'static> Run<T> {
    fn start(threads: usize, build: impl FnOnce(&StreamingContext, Arc<Mutex<BTreeMap<Time, Vec<T>>>>)) -> Run<T> {
        Run::start_with(threads, |ssc| ssc, build)
    }

    /// As [`start`](Self::start), the context configured by `configure` first.
    fn start_with(
        threads: usize,
        configure: impl FnOnce(StreamingContext) -> StreamingContext,
        build: impl FnOnce(&StreamingContext, Arc<Mutex<BTreeMap<Time, Vec<T>>>>),
    ) -> Run<T> {
        let clock = ManualClock::new(Time::from_millis(1_000_000));
        let ssc = configure(
            StreamingContext::new(Duration::millis(BATCH_MS)).with_threads(threads).with_clock(Arc::new(clock.clone())),
        );
        let batches = Arc::new(Mutex::new(BTreeMap::new()));
        build(&ssc, Arc::clone(&batches));
        let running = ssc.start().unwrap();
        let zero = running.zero_time();
        Run { clock, running: Some(running), batches, zero, steps: 0 }
    }

    fn running(&self) -> &RunningContext {
        self.running.as_ref().unwrap()
    }

    /// Runs the next batch and returns what it output.
    fn step(&mut self) -> Vec<T> {
        self.steps += 1;
        let t = self.zero + Duration::millis(self.steps * BATCH_MS);
        self.clock.set(t);
        let ran =
            wait_until(std::time::Duration::from_secs(60), || self.running().batches_completed() as i64 >= self.steps);
        assert!(ran, "batch {t} did not run in time");
        self.batches.lock().unwrap().get(&t).cloned().unwrap_or_default()
    }

    fn errors(&self) -> u64 {
        self.running().source_stats()[0].1.errors
    }

    fn outages(&self) -> u64 {
        self.running().source_stats()[0].1.outages
    }

    /// The first batch failure reported since the last call, if any.
    fn failure(&self) -> Option<StreamingError> {
        self.running().await_termination_or_timeout(Duration::millis(1)).err()
    }
}

impl<T> Drop for Run<T> {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop(false);
        }
    }
}

/// The word count of the job, collected.
fn word_count(brokers: String, topic: &str, opts: KafkaOptions, threads: usize) -> Run<(String, i32)> {
    let topic = topic.to_string();
    Run::start(threads, move |ssc, out| {
        ssc.kafka_text_stream(&brokers, &[topic], opts)
            .flat_map(|line| line.split(' '))
            .map(|word| (word, 1))
            .reduce_by_key(|a, b| a + b)
            .foreach_batch(move |b, t| {
                let mut counts: Vec<(String, i32)> =
                    b.into_vec().into_iter().map(|(w, n)| (w.to_string(), n)).collect();
                counts.sort();
                out.lock().unwrap().insert(t, counts);
            });
    })
}

/// The records of a direct stream, collected as `(partition, offset, value)`.
fn records(brokers: String, topic: &str, opts: KafkaOptions) -> Run<(i32, i64, String)> {
    let topic = topic.to_string();
    Run::start(2, move |ssc, out| {
        ssc.kafka_direct_stream(&brokers, &[topic], opts).foreach_batch(move |b: Batch<KafkaRecord>, t| {
            let mut rs: Vec<(i32, i64, String)> =
                b.into_vec().into_iter().map(|r| (r.partition, r.offset, r.value_str())).collect();
            rs.sort();
            out.lock().unwrap().insert(t, rs);
        });
    })
}

/// Seeded lines of words from a small vocabulary.
fn lines(seed: u64, n: usize) -> Vec<String> {
    let vocabulary = ["to", "be", "or", "not", "that", "is", "the", "question", "Be", "ü"];
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    (0..n).map(|_| (0..1 + next(8)).map(|_| vocabulary[next(10) as usize]).collect::<Vec<_>>().join(" ")).collect()
}

/// Counts words from scratch.
fn oracle(lines: &[String]) -> Vec<(String, i32)> {
    let mut counts = BTreeMap::new();
    for word in lines.iter().flat_map(|l| l.split(' ')) {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// Writes `lines` round-robin over `partitions` partitions, in record batches of up to 7.
fn produce(client: &KafkaClient, topic: &str, partitions: i32, lines: &[String]) {
    for p in 0..partitions {
        let mine: Vec<&String> = lines.iter().skip(p as usize).step_by(partitions as usize).collect();
        for chunk in mine.chunks(7) {
            client.produce_values(topic, p, chunk.iter().map(|l| l.as_bytes().to_vec())).unwrap();
        }
    }
}

#[test]
fn word_count_matches_the_oracle_at_1_and_4_partitions_and_1_and_2_threads() {
    let Some(broker) = broker() else { return };
    let c = client(&broker);
    for partitions in [1, 4] {
        for threads in [1, 2] {
            let topic = format!("words-{partitions}-{threads}");
            c.create_topic(&topic, partitions).unwrap();
            let before = lines(99, 50);
            produce(&c, &topic, partitions, &before);
            let mut run = word_count(broker.brokers(), &topic, options(StartingOffsets::Earliest), threads);
            assert_eq!(run.step(), oracle(&before), "earliest: what was there before the start");
            for round in 0..3u64 {
                let batch = lines(partitions as u64 * 10 + threads as u64 + round, 40 + 30 * round as usize);
                produce(&c, &topic, partitions, &batch);
                assert_eq!(run.step(), oracle(&batch), "round {round}, {partitions} partitions, {threads} threads");
            }
            assert_eq!(run.step(), vec![], "nothing new");
            assert_eq!(run.errors(), 0);
            assert!(run.failure().is_none());
            let stats = run.running().source_stats();
            assert_eq!(stats[0].1.lines, 50 + 40 + 70 + 100);
        }
    }
}

#[test]
fn latest_and_explicit_starting_offsets() {
    let Some(broker) = broker() else { return };
    let c = client(&broker);
    c.create_topic("start", 2).unwrap();
    for p in 0..2 {
        c.produce_values("start", p, (0..10).map(|i| format!("old-{p}-{i}"))).unwrap();
    }
    let mut latest = records(broker.brokers(), "start", options(StartingOffsets::Latest));
    let explicit = StartingOffsets::Explicit(BTreeMap::from([(("start".to_string(), 1), 7)]));
    let mut from_7 = records(broker.brokers(), "start", options(explicit));
    // Where Latest starts is taken when the job starts (Spark's `start()`): what is written
    // after that and before the first batch is in the first batch.
    c.produce_values("start", 0, ["between"]).unwrap();
    assert_eq!(
        latest.step(),
        vec![(0, 10, "between".to_string())],
        "latest skips what was written before the start, not what came after it"
    );
    let first: Vec<(i32, i64)> = from_7.step().into_iter().map(|(p, o, _)| (p, o)).collect();
    let mut expected: Vec<(i32, i64)> = (0..11).map(|o| (0, o)).collect();
    expected.extend([(1, 7), (1, 8), (1, 9)]);
    assert_eq!(first, expected, "partition 1 from offset 7, partition 0 (not listed) from the earliest");
    c.produce_values("start", 1, ["new"]).unwrap();
    assert_eq!(latest.step(), vec![(1, 10, "new".to_string())]);
    assert_eq!(from_7.step(), vec![(1, 10, "new".to_string())]);
}

#[test]
fn rate_limit_caps_each_partition_per_batch_and_large_ranges_are_split() {
    let Some(broker) = broker() else { return };
    let c = client(&broker);
    c.create_topic("rate", 1).unwrap();
    c.produce_values("rate", 0, (0..25).map(|i| i.to_string())).unwrap();
    let opts = KafkaOptions { max_rate_per_partition: 10, ..options(StartingOffsets::Earliest) };
    let mut run = records(broker.brokers(), "rate", opts);
    let offsets = |batch: Vec<(i32, i64, String)>| batch.into_iter().map(|(_, o, _)| o).collect::<Vec<_>>();
    // 10 records per second and partition, 1 s batches.
    assert_eq!(offsets(run.step()), (0..10).collect::<Vec<_>>());
    assert_eq!(offsets(run.step()), (10..20).collect::<Vec<_>>());
    assert_eq!(offsets(run.step()), (20..25).collect::<Vec<_>>());
    assert_eq!(offsets(run.step()), Vec::<i64>::new());

    // One range of 25 records read as tasks of at most 4: 7 partitions of work, in order.
    let opts = KafkaOptions { max_records_per_task: 4, ..options(StartingOffsets::Earliest) };
    let (brokers, topic) = (broker.brokers(), "rate".to_string());
    let mut split = Run::start(2, move |ssc, out| {
        ssc.kafka_direct_stream(&brokers, &[topic], opts).foreach_batch(move |b, t| {
            let parts: Vec<Vec<i64>> =
                b.into_partitions().into_iter().map(|p| p.into_iter().map(|r| r.offset).collect()).collect();
            out.lock().unwrap().insert(t, parts);
        });
    });
    let parts = split.step();
    assert_eq!(parts.len(), 7);
    assert_eq!(parts.concat(), (0..25).collect::<Vec<_>>());
    assert!(parts.iter().all(|p| p.len() <= 4));
}

#[test]
fn stream_waits_through_a_broker_restart_and_loses_nothing() {
    let Some(mut broker) = broker() else { return };
    let topic = "restart";
    let c = client(&broker);
    c.create_topic(topic, 2).unwrap();
    let first = lines(1, 60);
    produce(&c, topic, 2, &first);
    let mut run = word_count(broker.brokers(), topic, options(StartingOffsets::Earliest), 2);
    assert_eq!(run.step(), oracle(&first));

    broker.stop();
    assert_eq!(run.step(), vec![], "batches stay empty while the broker is down");
    assert_eq!(run.step(), vec![]);
    assert!(run.errors() >= 2, "each failed planning is counted");
    assert!(run.failure().is_none(), "an outage does not fail batches");

    broker.restart().unwrap();
    // The restarted broker's log is empty: write what a durable broker would have kept, at the
    // same offsets, then new records.
    let c = client(&broker);
    c.create_topic(topic, 2).unwrap();
    produce(&c, topic, 2, &first);
    let second = lines(2, 80);
    produce(&c, topic, 2, &second);
    assert_eq!(run.step(), oracle(&second), "resumes at the offsets reached: nothing lost, nothing twice");
    assert_eq!(run.step(), vec![]);
    assert!(run.failure().is_none());
    assert_eq!(run.outages(), 1, "one outage, however many plannings failed during it");
}

#[test]
fn a_planned_batch_waits_for_the_broker_and_reads_its_whole_range() {
    let Some(mut broker) = broker() else { return };
    let topic = "planned";
    let c = client(&broker);
    c.create_topic(topic, 1).unwrap();
    let first = lines(3, 20);
    produce(&c, topic, 1, &first);
    // The output holds the first batch until released, so the second is planned (with the
    // broker up) before it is read (with the broker down).
    let (held, released) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (hold, gate) = (Arc::clone(&held), Arc::clone(&released));
    let (brokers, t) = (broker.brokers(), topic.to_string());
    let mut run: Run<(i32, i64, String)> = Run::start(2, move |ssc, out| {
        let stream = ssc.kafka_direct_stream(&brokers, &[t], options(StartingOffsets::Earliest));
        stream.foreach_batch(move |b: Batch<KafkaRecord>, t| {
            while out.lock().unwrap().is_empty() && !gate.load(Ordering::SeqCst) {
                hold.store(true, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            let rs = b.into_vec().into_iter().map(|r| (r.partition, r.offset, r.value_str())).collect();
            out.lock().unwrap().insert(t, rs);
        });
    });
    run.clock.set(run.zero + Duration::millis(BATCH_MS));
    assert!(wait_until(std::time::Duration::from_secs(60), || held.load(Ordering::SeqCst)), "batch 1 never ran");
    let second = lines(4, 30);
    produce(&c, topic, 1, &second);
    run.clock.set(run.zero + Duration::millis(2 * BATCH_MS));
    // The generator plans batch 2 while batch 1 is held. (Planning has no counter: this sleep
    // gives it time; were it late, batch 2 would be planned empty and the check below fail.)
    std::thread::sleep(std::time::Duration::from_millis(500));
    let errors = run.errors();
    broker.stop();
    released.store(true, Ordering::SeqCst);
    // Batch 2's reads fail and are tried again: the batch waits instead of completing.
    let retried = wait_until(std::time::Duration::from_secs(60), || run.errors() >= errors + 3);
    assert!(retried, "batch 2 never tried to read from the stopped broker: {} errors", run.errors());
    let done = run.running().batches_completed();
    assert_eq!(done, 1, "batch 2 waits for the broker: {:?} {:?}", run.batches.lock().unwrap(), run.failure());

    broker.restart().unwrap();
    let c = client(&broker);
    c.create_topic(topic, 1).unwrap();
    produce(&c, topic, 1, &first);
    produce(&c, topic, 1, &second);
    run.steps = 1;
    let got = run.step();
    let expected: Vec<(i32, i64, String)> =
        second.iter().enumerate().map(|(i, l)| (0, (first.len() + i) as i64, l.clone())).collect();
    assert_eq!(got, expected, "batch 2 holds its whole range, read after the restart");
    assert!(run.failure().is_none());
    assert_eq!(run.outages(), 1, "one outage, however many reads failed during it");
}

#[test]
fn offsets_out_of_range_follow_the_policy() {
    let Some(broker) = broker() else { return };
    let c = client(&broker);
    c.create_topic("range", 1).unwrap();
    c.produce_values("range", 0, (0..10).map(|i| format!("r{i}"))).unwrap();
    let past_end = || StartingOffsets::Explicit(BTreeMap::from([(("range".to_string(), 0), 100)]));
    let with = |policy| KafkaOptions { on_out_of_range: policy, ..options(past_end()) };

    // Fail: the batch fails with the typed error's text, and so does the next; nothing is read.
    let mut fail = records(broker.brokers(), "range", with(OffsetReset::Fail));
    assert_eq!(fail.step(), vec![]);
    let err = fail.failure().expect("the batch fails");
    assert!(
        matches!(&err, StreamingError::InputFailed { cause, .. }
            if matches!(cause.downcast_ref::<KafkaError>(), Some(KafkaError::OffsetOutOfRange { offset: 100, .. }))
                && cause.to_string() == "offset 100 of range-0 is out of range: the log holds offsets [0, 10)"),
        "{err}"
    );
    let errors = fail.errors();
    assert_eq!(fail.step(), vec![]);
    assert_eq!(fail.errors(), errors + 1, "it stays failing");

    // Earliest: from offset 0, every record once.
    let mut earliest = records(broker.brokers(), "range", with(OffsetReset::Earliest));
    let got = earliest.step();
    assert_eq!(got, (0..10).map(|i| (0, i, format!("r{i}"))).collect::<Vec<_>>());
    assert_eq!(earliest.step(), vec![]);
    assert!(earliest.failure().is_none());
    assert_eq!(earliest.errors(), 1, "the jump is counted");

    // Latest: to the end; later records are read.
    let mut latest = records(broker.brokers(), "range", with(OffsetReset::Latest));
    assert_eq!(latest.step(), vec![]);
    c.produce_values("range", 0, ["after"]).unwrap();
    assert_eq!(latest.step(), vec![(0, 10, "after".to_string())]);
    assert!(latest.failure().is_none());
    assert_eq!(latest.errors(), 1, "the jump is counted");
}

#[test]
fn a_missing_topic_is_reported_and_read_once_created() {
    let Some(broker) = broker() else { return };
    let mut run = word_count(broker.brokers(), "later", options(StartingOffsets::Earliest), 1);
    assert_eq!(run.step(), vec![]);
    assert_eq!(run.step(), vec![]);
    let c = client(&broker);
    c.create_topic("later", 1).unwrap();
    c.produce_values("later", 0, ["to be or not to be"]).unwrap();
    let expected: Vec<(String, i32)> =
        [("be", 2), ("not", 1), ("or", 1), ("to", 2)].into_iter().map(|(w, n)| (w.to_string(), n)).collect();
    assert_eq!(run.step(), expected);
    assert_eq!(run.errors(), 1, "reported once");
    assert_eq!(run.outages(), 0, "a missing topic is not an outage");
}

#[test]
fn invalid_utf8_values_are_decoded_lossily_and_counted() {
    let Some(broker) = broker() else { return };
    let c = client(&broker);
    c.create_topic("bytes", 1).unwrap();
    c.produce("bytes", 0, [(None, b"ok line".to_vec()), (Some(b"k".to_vec()), b"bad \xff\xfe\nsecond".to_vec())])
        .unwrap();
    let mut run: Run<String> = Run::start(1, |ssc, out| {
        ssc.kafka_text_stream(&broker.brokers(), &["bytes"], options(StartingOffsets::Earliest)).foreach_batch(
            move |b, t| {
                out.lock().unwrap().insert(t, b.into_vec().into_iter().map(String::from).collect());
            },
        );
    });
    assert_eq!(run.step(), vec!["ok line", "bad \u{fffd}\u{fffd}", "second"]);
    let stats = run.running().source_stats()[0].1;
    assert_eq!((stats.lines, stats.invalid_utf8_lines, stats.errors), (3, 1, 0));
}

#[test]
fn bad_options_fail_the_start() {
    let ssc = StreamingContext::new(Duration::seconds(1));
    ssc.kafka_text_stream("", &["t"], KafkaOptions::default()).print();
    let err = ssc.start().unwrap_err();
    assert!(err.to_string().contains("no bootstrap broker"), "{err}");
    let ssc = StreamingContext::new(Duration::seconds(1));
    ssc.kafka_direct_stream("localhost:9092", &[] as &[&str], KafkaOptions::default()).count().print();
    assert!(ssc.start().unwrap_err().to_string().contains("at least one topic"));
}

#[test]
fn a_stop_during_a_broker_outage_ends_within_two_seconds_and_the_outage_is_counted_once() {
    // Nothing listens on this port: every call waits out its time-out.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let brokers = format!("127.0.0.1:{port}");
    let opts = KafkaOptions { request_timeout: std::time::Duration::from_secs(3), ..KafkaOptions::default() };
    let ssc = StreamingContext::new(Duration::millis(200));
    ssc.kafka_direct_stream(&brokers, &["outage"], opts).count().foreach_batch(|_, _| {});
    let running = ssc.start().unwrap();
    let counted = wait_until(std::time::Duration::from_secs(30), || running.source_stats()[0].1.errors >= 1);
    assert!(counted, "the outage is never counted");
    // The generator is inside its next planning call now, which would wait 3 s.
    let stopping = std::time::Instant::now();
    let stats = running.source_stats()[0].1;
    running.stop(true);
    let took = stopping.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "the stop took {took:?}");
    assert_eq!(stats.outages, 1, "one outage, however many calls failed during it");
}

/// `GET path` from the Streaming page at `addr`: the status and the body.
fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(addr).unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
    let mut response = String::new();
    c.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.split(' ').nth(1).unwrap().parse().unwrap(), body.to_string())
}

#[test]
fn the_streaming_page_shows_each_partitions_range_and_lag() {
    use serde_json::Value;
    let Some(broker) = broker() else { return };
    let c = client(&broker);
    c.create_topic("watched", 2).unwrap();
    c.produce_values("watched", 0, (0..25).map(|i| i.to_string())).unwrap();
    c.produce_values("watched", 1, (0..3).map(|i| i.to_string())).unwrap();
    let opts = KafkaOptions { max_rate_per_partition: 10, ..options(StartingOffsets::Earliest) };
    let brokers = broker.brokers();
    let ui = stream_runtime::ui::UiConf::at("127.0.0.1:0".parse().unwrap());
    let mut run = Run::start_with(
        2,
        |ssc| ssc.with_ui(Some(ui)),
        move |ssc, out| {
            ssc.kafka_direct_stream(&brokers, &["watched".to_string()], opts).foreach_batch(
                move |b: Batch<KafkaRecord>, t| {
                    out.lock().unwrap().insert(t, vec![b.len()]);
                },
            );
        },
    );
    // 10 records per second and partition, 1 s batches: 15 records of partition 0 wait.
    assert_eq!(run.step(), [13]);
    let addr = run.running().ui_addr().unwrap();
    let (status, batches) = get(addr, "/api/v1/streaming/batches");
    assert_eq!(status, 200);
    let batches: Value = serde_json::from_str(&batches).unwrap();
    let ranges: Vec<(i64, i64, i64)> = batches[0]["inputs"][0]["offsetRanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (r["partition"].as_i64().unwrap(), r["fromOffset"].as_i64().unwrap(), r["untilOffset"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(ranges, [(0, 0, 10), (1, 0, 3)], "{batches}");
    let (_, inputs) = get(addr, "/api/v1/streaming/inputs");
    let inputs: Value = serde_json::from_str(&inputs).unwrap();
    let lag: Vec<(i64, i64)> = inputs[0]["lag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["partition"].as_i64().unwrap(), l["records"].as_i64().unwrap()))
        .collect();
    assert_eq!(lag, [(0, 15), (1, 0)], "{inputs}");
    let (_, metrics) = get(addr, "/metrics");
    assert!(metrics.contains("partition=\"0\"} 15\n") && metrics.contains("sluice_kafka_lag_records{"), "{metrics}");
    let id = batches[0]["batchId"].as_i64().unwrap();
    let (_, page) = get(addr, &format!("/batch/{id}"));
    assert!(page.contains("watched-0</span>: offsets 0 to 10 (10 records)"), "{page}");
    assert_eq!(run.step(), [10]);
    let (_, inputs) = get(addr, "/api/v1/streaming/inputs");
    assert!(inputs.contains("\"partition\":0,\"records\":5"), "{inputs}");
}
