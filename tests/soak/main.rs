//! Soak tests: long runs under load, each bounded in time (its bound is stated), in a test
//! binary of their own so that they do not run beside the timing-sensitive tests of `it`.
//! CI runs them with everything else (`scripts/test.sh`); `cargo test -p sluice-tests --test
//! soak` runs them alone. The SIGKILL soak tests of whole jobs are `jobs/tests/soak_*.rs`.
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use sluice_tests::{firehose, wait_until};
use stream_runtime::prelude::*;

#[test]
fn backpressure_keeps_scheduling_delay_bounded_when_offered_far_more_than_processing_takes() {
    // Processing takes about 100 µs a record (10,000 records/s); the server offers millions.
    let port = firehose();
    let infos = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&infos);
    let buffer = 20_000;
    let ssc = StreamingContext::new(Duration::millis(200))
        .with_threads(1)
        .with_backpressure(true)
        .with_receiver_buffer(buffer);
    ssc.on_batch_completed(move |info| sink.lock().unwrap().push(info.clone()));
    ssc.socket_text_stream("127.0.0.1", port)
        .map(|line| {
            let until = Instant::now() + StdDuration::from_micros(100);
            while Instant::now() < until {}
            line.len()
        })
        .count()
        .foreach_batch(|_, _| {});
    let running = ssc.start().unwrap();
    // 80 batches: 16 s when processing keeps up. The first batches take the whole buffer
    // (the estimator needs two finished batches), which leaves a backlog to drain first.
    // Bounded: at most 90 s.
    wait_until(StdDuration::from_secs(90), || running.batches_completed() >= 80);
    running.stop(false);
    let infos = infos.lock().unwrap().clone();
    assert!(infos.len() >= 80, "{} batches in 90 s", infos.len());
    for i in &infos {
        assert!(
            i.num_records <= buffer as u64,
            "batch {} took {} records, above the buffer",
            i.batch_time,
            i.num_records
        );
    }
    // After the estimator settles, batches are about what 200 ms of processing takes, and the
    // scheduling delay stays small instead of growing by a batch interval per batch.
    let late = &infos[infos.len() * 3 / 4..];
    let worst = late.iter().map(|i| i.scheduling_delay).max().unwrap();
    assert!(worst < StdDuration::from_secs(2), "scheduling delay reached {worst:?}: {late:#?}");
    let mut delays: Vec<_> = late.iter().map(|i| i.scheduling_delay).collect();
    delays.sort();
    assert!(delays[delays.len() / 2] < StdDuration::from_secs(1), "median delay {:?}", delays[delays.len() / 2]);
    let rate: u64 = late.iter().map(|i| i.num_records).sum::<u64>() / late.len() as u64;
    assert!(rate > 500, "the job still takes data: {rate} records per batch");
}
