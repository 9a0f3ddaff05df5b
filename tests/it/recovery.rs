//! Checkpoints and recovery in-process: a damaged newest checkpoint falls back to the
//! previous one, a changed job is refused, open windows and state survive a restart, and a
//! receiver's rate is capped. (Backpressure under an overload is a soak test, in `soak/`; the
//! SIGKILL tests of whole processes are in `jobs/tests/soak_*.rs`.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use sluice_tests::{firehose, wait_until};
use stream_runtime::prelude::*;
use stream_runtime::{Clock, FileStreamOptions, ManualClock, RunningContext, StreamingError, SystemClock};

type Totals = Arc<Mutex<BTreeMap<String, u64>>>;

/// A file word count with running totals, checkpointed every batch; `extra` adds an output.
fn build(input: String, totals: Totals, extra: bool) -> impl FnOnce() -> StreamingContext {
    move || {
        let ssc = StreamingContext::new(Duration::millis(100))
            .with_threads(2)
            .with_checkpoint_interval(Duration::millis(100));
        let words = ssc.text_file_stream(&input).flat_map(|l| l.split(' ')).map(|w| (w, 1u64));
        if extra {
            words.clone().count().print();
        }
        words.running_reduce_by_key(|a, b| a + b).foreach_snapshot(move |snap, _| {
            *totals.lock().unwrap() = snap.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        });
        ssc
    }
}

fn wait_for(totals: &Totals, expected: &BTreeMap<String, u64>) {
    let reached = wait_until(StdDuration::from_secs(20), || &*totals.lock().unwrap() == expected);
    assert!(reached, "totals {:?}, expected {expected:?}", totals.lock().unwrap());
}

/// Waits until `n` more batches completed than when called.
fn batches_pass(running: &RunningContext, n: u64) {
    let target = running.batches_completed() + n;
    let passed = wait_until(StdDuration::from_secs(20), || running.batches_completed() >= target);
    assert!(passed, "{} batches completed, waiting for {target}", running.batches_completed());
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn put(dir: &std::path::Path, name: &str, text: &str) {
    let tmp = dir.parent().unwrap().join(name);
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// Runs the job to totals `{a:2, b:2, c:1}` over two files, stopping gracefully; returns the
/// checkpoint files, newest first.
fn first_run(root: &std::path::Path) -> (String, String, Vec<std::path::PathBuf>) {
    let input = root.join("in");
    std::fs::create_dir_all(&input).unwrap();
    let ckpt = root.join("ckpt").to_string_lossy().into_owned();
    let totals = Totals::default();
    let ssc =
        StreamingContext::get_or_create(&ckpt, build(input.to_string_lossy().into(), totals.clone(), false)).unwrap();
    let running = ssc.start().unwrap();
    batches_pass(&running, 1); // files put from now on are new to the stream
    put(&input, "1.txt", "a a b\n");
    wait_for(&totals, &counts(&[("a", 2), ("b", 1)]));
    batches_pass(&running, 3); // checkpoints of batches after the first file
    put(&input, "2.txt", "b c\n");
    wait_for(&totals, &counts(&[("a", 2), ("b", 2), ("c", 1)]));
    running.stop(true);
    let mut files: Vec<_> = std::fs::read_dir(&ckpt)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("checkpoint-"))
        .collect();
    files.sort_by_key(|p| {
        std::cmp::Reverse(
            p.file_name().unwrap().to_string_lossy().trim_start_matches("checkpoint-").parse::<u64>().unwrap(),
        )
    });
    assert!(files.len() >= 3, "a checkpoint every batch: {files:?}");
    (input.to_string_lossy().into(), ckpt, files)
}

/// Recovers and checks that the totals are whole again (the older checkpoint plus the
/// logged batches after it).
fn recovers_totals(input: String, ckpt: &str) {
    let totals = Totals::default();
    let ssc = StreamingContext::get_or_create(ckpt, build(input, totals.clone(), false)).unwrap();
    let running = ssc.start().unwrap();
    wait_for(&totals, &counts(&[("a", 2), ("b", 2), ("c", 1)]));
    running.stop(false);
}

#[test]
fn a_truncated_newest_checkpoint_is_skipped_for_the_previous_one() {
    let root = tempfile::tempdir().unwrap();
    let (input, ckpt, files) = first_run(root.path());
    let newest = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &newest[..newest.len() / 2]).unwrap();
    recovers_totals(input, &ckpt);
}

#[test]
fn a_newest_checkpoint_with_flipped_bytes_is_skipped_for_the_previous_one() {
    let root = tempfile::tempdir().unwrap();
    let (input, ckpt, files) = first_run(root.path());
    let mut newest = std::fs::read(&files[0]).unwrap();
    let mid = newest.len() / 2;
    newest[mid] ^= 0xff;
    std::fs::write(&files[0], newest).unwrap();
    recovers_totals(input, &ckpt);
}

#[test]
fn every_checkpoint_damaged_is_an_error_naming_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let (input, ckpt, files) = first_run(root.path());
    for f in &files {
        std::fs::write(f, b"garbage").unwrap();
    }
    let err = StreamingContext::get_or_create(&ckpt, build(input, Totals::default(), false)).unwrap_err();
    assert!(err.to_string().starts_with(&format!("Failed to read checkpoint from directory {ckpt}")), "{err}");
}

#[test]
fn a_changed_job_is_refused_with_what_changed() {
    let root = tempfile::tempdir().unwrap();
    let (input, ckpt, _) = first_run(root.path());
    let err = StreamingContext::get_or_create(&ckpt, build(input, Totals::default(), true)).unwrap_err();
    let StreamingError::Checkpoint(stream_runtime::checkpoint::CheckpointError::PlanChanged { changes, .. }) = &err
    else {
        panic!("expected a plan change, got {err}");
    };
    assert_eq!(
        changes,
        &vec!["output 1: foreach_snapshot -> print(10)".to_string(), "output 2 added: foreach_snapshot".to_string()],
        "{err}"
    );
    assert!(err.to_string().contains("written by a different job"), "{err}");
}

type Seen = Arc<Mutex<Vec<(&'static str, u64)>>>;

/// A file stream's words counted over a 3 s window three ways: Two-Stacks
/// (`reduce_by_key_and_window`), inverse (`count_by_value_and_window`) and raw (`window`),
/// and in a running total.
fn windowed_job(input: String, seen: Seen, threads: usize) -> impl FnOnce() -> StreamingContext {
    move || {
        let ssc = StreamingContext::new(Duration::millis(100)).with_threads(threads);
        let (w, s) = (Duration::seconds(3), Duration::millis(100));
        let words = ssc.text_file_stream(&input).flat_map(|l| l.split(' '));
        let record = |name: &'static str, seen: &Seen| {
            let seen = Arc::clone(seen);
            move |b: Batch<(Str, u64)>, _| {
                // A key in two partitions (state restored into the wrong one) shows as u64::MAX.
                let xs: Vec<u64> = b.into_vec().into_iter().filter(|(k, _)| k == "x").map(|(_, n)| n).collect();
                let n = if xs.len() > 1 { u64::MAX } else { xs.iter().sum() };
                seen.lock().unwrap().push((name, n));
            }
        };
        words
            .clone()
            .map(|w| (w, 1u64))
            .reduce_by_key_and_window(|a, b| a + b, w, s)
            .foreach_batch(record("two_stacks", &seen));
        words.clone().count_by_value_and_window(w, s).foreach_batch(record("inverse", &seen));
        words.clone().window(w, s).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b).foreach_batch(record("raw", &seen));
        words
            .map(|w| (w, 1u64))
            .running_reduce_by_key(|a, b| a + b)
            .state_snapshots()
            .foreach_batch(record("state", &seen));
        ssc
    }
}

fn wait_all(seen: &Seen, n: u64) {
    let counted = wait_until(StdDuration::from_secs(20), || {
        let s = seen.lock().unwrap();
        ["two_stacks", "inverse", "raw", "state"].iter().all(|name| s.iter().any(|(k, v)| k == name && *v == n))
    });
    let s = seen.lock().unwrap();
    assert!(counted, "windows never counted {n}: {:?}", &s[s.len().saturating_sub(9)..]);
}

#[test]
fn open_windows_and_state_survive_a_restart_with_another_thread_count() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let ckpt = root.path().join("ckpt").to_string_lossy().into_owned();
    let dir = input.to_string_lossy().into_owned();

    let seen = Seen::default();
    let running =
        StreamingContext::get_or_create(&ckpt, windowed_job(dir.clone(), seen.clone(), 2)).unwrap().start().unwrap();
    batches_pass(&running, 1);
    put(&input, "1.txt", "x x y\n");
    wait_all(&seen, 2);
    running.stop(true);

    // Within the 3 s window, the recovered job still holds the two x of the first run, in
    // three partitions instead of two.
    let seen = Seen::default();
    let running = StreamingContext::get_or_create(&ckpt, windowed_job(dir, seen.clone(), 3)).unwrap().start().unwrap();
    put(&input, "2.txt", "x\n");
    wait_all(&seen, 3);
    running.stop(false);
}

#[test]
fn batches_report_the_checkpoint_stall_exactly_at_checkpoint_times() {
    let ckpt = tempfile::tempdir().unwrap();
    let mut ssc = StreamingContext::new(Duration::millis(50)).with_checkpoint_interval(Duration::millis(100));
    ssc.checkpoint(ckpt.path().to_string_lossy());
    let infos = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&infos);
    ssc.on_batch_completed(move |i| sink.lock().unwrap().push((i.batch_time, i.checkpoint_stall)));
    let queue = BatchQueue::new();
    queue.push(vec![(Str::from("a"), 1u64)]);
    ssc.queue_stream(queue, true, None).running_reduce_by_key(|a, b| a + b).foreach_snapshot(|_, _| {});
    let running = ssc.start().unwrap();
    let zero = running.zero_time();
    batches_pass(&running, 6);
    running.stop(false);
    for (t, stall) in infos.lock().unwrap().iter() {
        let due = (*t - zero).is_multiple_of(Duration::millis(100));
        assert_eq!(!stall.is_zero(), due, "batch {t}: stall {stall:?}");
    }
}

#[test]
fn a_receiver_max_rate_caps_every_batch() {
    let port = firehose();
    let infos = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&infos);
    let ssc = StreamingContext::new(Duration::millis(200)).with_threads(1).with_receiver_max_rate(1000);
    ssc.on_batch_completed(move |info| sink.lock().unwrap().push(info.num_records));
    ssc.socket_text_stream("127.0.0.1", port).count().foreach_batch(|_, _| {});
    let running = ssc.start().unwrap();
    batches_pass(&running, 10);
    running.stop(false);
    let records = infos.lock().unwrap().clone();
    // 1,000 records/s is 200 a batch, plus a burst of at most a tenth of a second.
    assert!(records.iter().all(|&n| n <= 300), "{records:?}");
    let total: u64 = records[1..].iter().sum();
    assert!(total >= 900, "the receiver still takes about its rate: {records:?}");
}

#[test]
fn files_that_arrive_while_the_job_is_down_longer_than_the_remember_window_are_read() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let ckpt = root.path().join("ckpt").to_string_lossy().into_owned();
    let dir = input.to_string_lossy().into_owned();
    let job = |totals: Totals, clock: Option<ManualClock>| {
        let dir = dir.clone();
        move || {
            let mut ssc = StreamingContext::new(Duration::millis(100)).with_checkpoint_interval(Duration::millis(100));
            if let Some(clock) = clock {
                ssc = ssc.with_clock(Arc::new(clock));
            }
            let options = FileStreamOptions { min_remember: Duration::millis(500), ..FileStreamOptions::default() };
            ssc.text_file_stream_with(&dir, options)
                .map(|w| (w, 1u64))
                .running_reduce_by_key(|a, b| a + b)
                .foreach_snapshot(move |snap, _| {
                    *totals.lock().unwrap() = snap.iter().map(|(k, v)| (k.to_string(), *v)).collect()
                });
            ssc
        }
    };
    let totals = Totals::default();
    let running = StreamingContext::get_or_create(&ckpt, job(totals.clone(), None)).unwrap().start().unwrap();
    batches_pass(&running, 1);
    put(&input, "1.txt", "a\n");
    wait_for(&totals, &counts(&[("a", 1)]));
    running.stop(true);

    // One file arrives while the job is down (modified after its last batch), and the job
    // comes back 1.5 s later, three times the remember window: on a manual clock.
    let stopped = SystemClock.now();
    put(&input, "2.txt", "b\n");
    let modified = std::time::UNIX_EPOCH + StdDuration::from_millis((stopped.as_millis() + 100) as u64);
    std::fs::File::options().write(true).open(input.join("2.txt")).unwrap().set_modified(modified).unwrap();
    let clock = ManualClock::new(stopped + Duration::millis(1500));
    let totals = Totals::default();
    let running =
        StreamingContext::get_or_create(&ckpt, job(totals.clone(), Some(clock.clone()))).unwrap().start().unwrap();
    // Each poll moves the clock on by a fifth of a batch.
    let expected = counts(&[("a", 1), ("b", 1)]);
    let read = wait_until(StdDuration::from_secs(20), || {
        clock.advance(Duration::millis(20));
        *totals.lock().unwrap() == expected
    });
    assert!(read, "totals {:?}, expected {expected:?}", totals.lock().unwrap());
    // And the file read before the stop is not read again, in the next five batches either.
    let target = running.batches_completed() + 5;
    let passed = wait_until(StdDuration::from_secs(20), || {
        clock.advance(Duration::millis(20));
        running.batches_completed() >= target
    });
    assert!(passed, "{} batches completed, waiting for {target}", running.batches_completed());
    assert_eq!(*totals.lock().unwrap(), expected);
    running.stop(false);
}
