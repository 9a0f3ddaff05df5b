//! Sources against real sockets and real files on the system clock.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, SystemTime};

use sluice_tests::wait_until;
use stream_runtime::prelude::*;
use stream_runtime::RunningContext;

type Seen = Arc<Mutex<Vec<String>>>;

/// Starts `build` on a context with a short batch; the output collects records as strings.
fn start_collecting(
    threads: usize,
    limit: Option<usize>,
    build: impl FnOnce(&StreamingContext, Seen),
) -> (RunningContext, Seen) {
    let mut ssc = StreamingContext::new(Duration::millis(100)).with_threads(threads);
    if let Some(l) = limit {
        ssc = ssc.with_max_line_bytes(l);
    }
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    build(&ssc, Arc::clone(&seen));
    (ssc.start().unwrap(), seen)
}

/// Waits (at most 10 s) until `n` records were seen; returns them.
fn wait_for(seen: &Seen, n: usize) -> Vec<String> {
    wait_until(StdDuration::from_secs(10), || seen.lock().unwrap().len() >= n);
    seen.lock().unwrap().clone()
}

/// Waits (at most 10 s) until `running`'s first source counted what `stat` reads.
fn wait_for_stat(running: &RunningContext, what: &str, stat: impl Fn(&stream_runtime::SourceStats) -> bool) {
    let counted = wait_until(StdDuration::from_secs(10), || stat(&running.source_stats()[0].1));
    assert!(counted, "{what} never counted: {:?}", running.source_stats());
}

fn collect_lines(ssc: &StreamingContext, seen: Seen, host: &str, port: u16) {
    ssc.socket_text_stream(host, port).foreach_batch(move |b, _| {
        seen.lock().unwrap().extend(b.into_vec().into_iter().map(String::from));
    });
}

#[test]
fn socket_lines_arrive_in_order_even_with_one_worker_thread() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (running, seen) = start_collecting(1, None, |ssc, seen| collect_lines(ssc, seen, "127.0.0.1", port));
    let (mut conn, _) = server.accept().unwrap();
    // One line a batch at least: each is written once the previous one was processed.
    for i in 1..=5 {
        writeln!(conn, "{i}").unwrap();
        wait_for(&seen, i);
    }
    let got = seen.lock().unwrap().clone();
    running.stop(true);
    assert_eq!(got, vec!["1", "2", "3", "4", "5"]);
}

#[test]
fn socket_receiver_reconnects_when_the_server_comes_late_and_after_it_closes() {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let (running, seen) = start_collecting(2, None, |ssc, seen| collect_lines(ssc, seen, "127.0.0.1", port));
    wait_for_stat(&running, "a refused connection", |s| s.errors >= 1);
    let server = TcpListener::bind(("127.0.0.1", port)).unwrap();
    {
        let (mut conn, _) = server.accept().unwrap();
        conn.write_all(b"first\nsecond\n").unwrap();
    } // closes: the receiver reconnects
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"third\n").unwrap();
    let got = wait_for(&seen, 3);
    let stats = running.source_stats();
    running.stop(true);
    assert_eq!(got, vec!["first", "second", "third"]);
    assert!(stats[0].1.errors >= 1, "the refused connections were counted: {stats:?}");
}

#[test]
fn bad_utf8_and_huge_lines_are_counted_and_the_stream_goes_on() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (running, seen) = start_collecting(2, Some(1000), |ssc, seen| collect_lines(ssc, seen, "127.0.0.1", port));
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"ok\n").unwrap();
    conn.write_all(b"caf\xc3\xa9 \xff\xfe\n").unwrap();
    conn.write_all(&vec![b'x'; 100_000]).unwrap();
    conn.write_all(b"\nafter\n").unwrap();
    let got = wait_for(&seen, 3);
    let stats = running.source_stats()[0].1;
    running.stop(true);
    assert_eq!(got, vec!["ok", "café \u{fffd}\u{fffd}", "after"]);
    assert_eq!((stats.invalid_utf8_lines, stats.oversized_lines), (1, 1));
}

#[test]
fn graceful_stop_processes_everything_received() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let ssc = StreamingContext::new(Duration::seconds(5)).with_threads(2);
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    collect_lines(&ssc, Arc::clone(&seen), "127.0.0.1", port);
    let running = ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"a\nb\nc\n").unwrap();
    wait_for_stat(&running, "three received lines", |s| s.lines == 3);
    assert_eq!(running.batches_completed(), 0);
    running.stop(true); // long before the first 5 s batch
    assert_eq!(*seen.lock().unwrap(), vec!["a", "b", "c"]);
}

fn move_in(dir: &std::path::Path, staging: &std::path::Path, name: &str, text: &str) {
    let tmp = staging.join(name);
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[test]
fn text_file_stream_counts_new_files_once_and_skips_old_hidden_and_copying_files() {
    for threads in [1, 4] {
        let root = tempfile::tempdir().unwrap();
        let (dir, staging) = (root.path().join("in"), root.path().join("staging"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(dir.join("old.txt"), "old old\n").unwrap();
        let an_hour_ago = SystemTime::now() - StdDuration::from_secs(3600);
        std::fs::File::options().write(true).open(dir.join("old.txt")).unwrap().set_modified(an_hour_ago).unwrap();
        let counts: Arc<Mutex<std::collections::BTreeMap<String, i32>>> = Arc::default();
        let sink = Arc::clone(&counts);
        let ssc = StreamingContext::new(Duration::millis(100)).with_threads(threads);
        ssc.text_file_stream(&dir.to_string_lossy())
            .flat_map(|l| l.split(' '))
            .map(|w| (w, 1))
            .reduce_by_key(|a, b| a + b)
            .foreach_batch(move |b, _| {
                let mut c = sink.lock().unwrap();
                for (w, n) in b.into_vec() {
                    *c.entry(w.to_string()).or_insert(0) += n;
                }
            });
        let running = ssc.start().unwrap();
        let counted = |pairs: &[(&str, i32)]| -> std::collections::BTreeMap<String, i32> {
            pairs.iter().map(|(w, n)| (w.to_string(), *n)).collect()
        };
        // The files arrive after the first batch, so after the stream started.
        assert!(wait_until(StdDuration::from_secs(10), || running.batches_completed() >= 1));
        move_in(&dir, &staging, "a.txt", "to be or not to be\n");
        move_in(&dir, &staging, ".hidden", "hidden\n");
        move_in(&dir, &staging, "b.txt._COPYING_", "copying\n");
        let first = counted(&[("be", 2), ("not", 1), ("or", 1), ("to", 2)]);
        let read = wait_until(StdDuration::from_secs(10), || *counts.lock().unwrap() == first);
        assert!(read, "{threads} threads: {:?}", counts.lock().unwrap());
        move_in(&dir, &staging, "c.txt", "be quick\r\nbe\n");
        // The hidden and copying files were in the directory for every scan since a.txt's.
        let expected = counted(&[("be", 4), ("not", 1), ("or", 1), ("quick", 1), ("to", 2)]);
        let read = wait_until(StdDuration::from_secs(10), || *counts.lock().unwrap() == expected);
        running.stop(true);
        assert!(read, "{threads} threads: {:?}", counts.lock().unwrap());
        assert_eq!(*counts.lock().unwrap(), expected, "{threads} threads, after the graceful stop");
    }
}

#[test]
fn text_file_stream_on_a_missing_directory_waits_for_it() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("later");
    let staging = root.path().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let (running, seen) = start_collecting(2, None, |ssc, seen| {
        ssc.text_file_stream(&dir.to_string_lossy())
            .foreach_batch(move |b, _| seen.lock().unwrap().extend(b.into_vec().into_iter().map(String::from)));
    });
    wait_for_stat(&running, "two failed listings of the missing directory", |s| s.errors >= 2);
    std::fs::create_dir_all(&dir).unwrap();
    move_in(&dir, &staging, "f.txt", "hello\nworld\n");
    let got = wait_for(&seen, 2);
    let outages = running.source_stats()[0].1.outages;
    running.stop(true);
    assert_eq!(got, vec!["hello", "world"]);
    assert_eq!(outages, 1, "one outage, however many listings failed during it");
}
