//! Custom receivers (Spark's `Receiver`, issue 17): what a receiver stores arrives once and
//! in order, and its restarts and reported errors reach the input status the Streaming page
//! shows. The socket receiver, rewritten on the same API, is tested in `sources.rs` and
//! `recovery.rs`.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration as StdDuration;

use proptest::prelude::*;
use sluice_tests::wait_until;
use stream_runtime::prelude::*;
use stream_runtime::{Receiver, Supervisor};

/// One store call: a record, or a block.
#[derive(Debug, Clone)]
enum Store {
    One(u32),
    Block(Vec<u32>),
}

/// Stores its calls from a thread of its own, once.
struct Replay {
    calls: Vec<Store>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver<u32> for Replay {
    fn on_start(&mut self, receiver: &Supervisor<u32>) {
        let (receiver, calls) = (receiver.clone(), std::mem::take(&mut self.calls));
        self.thread = Some(std::thread::spawn(move || {
            for c in calls {
                if receiver.is_stopped() {
                    return;
                }
                match c {
                    Store::One(x) => receiver.store(x),
                    Store::Block(xs) => receiver.store_all(xs),
                }
            }
        }));
    }

    fn on_stop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn calls() -> impl Strategy<Value = Vec<Store>> {
    prop::collection::vec(
        prop_oneof![
            any::<u32>().prop_map(Store::One),
            prop::collection::vec(any::<u32>(), 0..50).prop_map(Store::Block)
        ],
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Oracle: the records stored, in store order, each once; a block is never split across
    /// batches. A small buffer makes `store` wait for the batches to drain.
    #[test]
    fn a_custom_receiver_delivers_every_stored_record_once_in_order(calls in calls(), threads in 1..=4usize, buffer in 1..200usize) {
        let want: Vec<u32> = calls.iter().flat_map(|c| match c { Store::One(x) => vec![*x], Store::Block(xs) => xs.clone() }).collect();
        let blocks: Vec<Vec<u32>> = calls.iter().filter_map(|c| match c { Store::Block(xs) if !xs.is_empty() => Some(xs.clone()), _ => None }).collect();
        let ssc = StreamingContext::new(Duration::millis(10)).with_threads(threads).with_receiver_buffer(buffer);
        let seen: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let out = Arc::clone(&seen);
        ssc.receiver_stream(Replay { calls, thread: None }).foreach_batch(move |b, _| out.lock().unwrap().push(b.into_vec()));
        let running = ssc.start().unwrap();
        let all = wait_until(StdDuration::from_secs(20), || seen.lock().unwrap().iter().map(Vec::len).sum::<usize>() >= want.len());
        running.stop(true);
        prop_assert!(all);
        let batches = seen.lock().unwrap().clone();
        prop_assert_eq!(batches.concat(), want);
        for block in blocks {
            // A block longer than the buffer still lands whole: `store_all` waits after it.
            prop_assert!(batches.iter().any(|b| b.windows(block.len()).any(|w| w == block.as_slice())), "block {:?} was split", block);
        }
    }
}

/// Fails its first start (reports an error, asks for a restart), then stores `1, 2, 3`.
struct FailsOnce {
    starts: Arc<AtomicUsize>,
    stops: Arc<AtomicUsize>,
}

impl Receiver<u32> for FailsOnce {
    fn on_start(&mut self, receiver: &Supervisor<u32>) {
        if self.starts.fetch_add(1, Ordering::SeqCst) == 0 {
            receiver.report_error("device not ready");
            receiver.restart("device not ready");
            assert!(receiver.is_stopped(), "a restarted incarnation's handle sees itself stopped");
        } else {
            receiver.store_all([1, 2, 3]);
        }
    }

    fn on_stop(&mut self) {
        self.stops.fetch_add(1, Ordering::SeqCst);
    }

    fn name(&self) -> String {
        "device".into()
    }
}

/// The JSON of `path` on the Streaming page at `addr`.
fn get(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(conn, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_restart_calls_on_stop_then_on_start_and_reported_errors_reach_the_input_status() {
    let (starts, stops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let ssc = StreamingContext::new(Duration::millis(20))
        .with_ui(Some(stream_runtime::ui::UiConf::at("127.0.0.1:0".parse().unwrap())));
    let seen: Arc<Mutex<Vec<u32>>> = Arc::default();
    let out = Arc::clone(&seen);
    let receiver = FailsOnce { starts: Arc::clone(&starts), stops: Arc::clone(&stops) };
    ssc.receiver_stream(receiver).foreach_batch(move |b, _| out.lock().unwrap().extend(b.into_vec()));
    assert!(ssc.explain().contains("input 1: device\n"), "{}", ssc.explain());
    let running = ssc.start().unwrap();
    assert!(wait_until(StdDuration::from_secs(10), || seen.lock().unwrap().len() == 3));
    assert_eq!((starts.load(Ordering::SeqCst), stops.load(Ordering::SeqCst)), (2, 1));
    let stats = running.source_stats();
    assert_eq!((stats[0].0.as_str(), stats[0].1.errors, stats[0].1.lines), ("device", 1, 3));
    let inputs = get(running.ui_addr().unwrap(), "/api/v1/streaming/inputs");
    assert_eq!(inputs[0]["streamName"], "device");
    assert_eq!(inputs[0]["lastError"], "device not ready");
    assert_eq!(inputs[0]["errors"], 1);
    assert_eq!(inputs[0]["connected"], true);
    running.stop(true);
    assert_eq!(stops.load(Ordering::SeqCst), 2, "the job's stop calls on_stop");
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3]);
}

/// Stops itself for good after one record.
struct Once;

impl Receiver<u32> for Once {
    fn on_start(&mut self, receiver: &Supervisor<u32>) {
        receiver.store(7);
        receiver.stop("one is enough");
        receiver.restart("ignored after a stop");
    }

    fn on_stop(&mut self) {}
}

#[test]
fn a_receiver_that_stops_itself_leaves_empty_batches_and_the_job_running() {
    let ssc = StreamingContext::new(Duration::millis(20));
    let seen: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
    let out = Arc::clone(&seen);
    ssc.receiver_stream(Once).foreach_batch(move |b, _| out.lock().unwrap().push(b.into_vec()));
    let running = ssc.start().unwrap();
    assert!(wait_until(StdDuration::from_secs(10), || seen.lock().unwrap().len() >= 5));
    running.stop(true);
    assert_eq!(seen.lock().unwrap().concat(), vec![7]);
}
