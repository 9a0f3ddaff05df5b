//! Lifecycle: start checks, waiting, stopping, contexts one after another, print format.

use std::sync::{Arc, Mutex};

use stream_runtime::prelude::*;
use stream_runtime::{format_batch, StreamingError};

#[test]
fn start_without_output_is_refused_with_sparks_message() {
    let ssc = StreamingContext::new(Duration::seconds(1));
    let _unused = ssc.queue_stream(BatchQueue::<i32>::new(), true, None).map(|x| x + 1).count();
    let err = ssc.start().unwrap_err();
    assert!(matches!(err, StreamingError::NoOutputOperations), "{err}");
    assert_eq!(err.to_string(), "No output operations registered, so nothing to execute");
}

#[test]
fn zero_threads_is_a_typed_error() {
    let ssc = StreamingContext::new(Duration::seconds(1)).with_threads(0);
    ssc.queue_stream(BatchQueue::<i32>::new(), true, None).print();
    assert!(matches!(ssc.start(), Err(StreamingError::InvalidConfig(_))));
}

#[test]
fn union_of_different_slides_is_refused_at_start() {
    let ssc = StreamingContext::new(Duration::seconds(1));
    let empty: Vec<DStream<'_, i32>> = Vec::new();
    ssc.union(empty).print();
    assert!(matches!(ssc.start().unwrap_err(), StreamingError::EmptyStreamList("union")));
}

/// Runs a queue job on the real clock for a few batches and returns what the output saw.
fn run_queue_job(threads: usize, batches: Vec<Vec<i32>>) -> Vec<(i64, Vec<i32>)> {
    let ssc = StreamingContext::new(Duration::millis(50)).with_threads(threads);
    let q = BatchQueue::new();
    for b in batches {
        q.push(b);
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    ssc.queue_stream(q.clone(), true, None)
        .map(|x| x * 2)
        .foreach_batch(move |b, t| sink.lock().unwrap().push((t.as_millis(), b.into_vec())));
    let running = ssc.start().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while running.batches_completed() < 5 && std::time::Instant::now() < deadline {
        assert!(matches!(running.await_termination_or_timeout(Duration::millis(20)), Ok(false)));
    }
    let zero = running.zero_time().as_millis();
    running.stop(true);
    let out = seen.lock().unwrap().clone();
    out.into_iter().map(|(t, v)| (t - zero, v)).collect()
}

#[test]
fn batches_run_in_time_order_at_aligned_times_and_contexts_run_one_after_another() {
    for threads in [1, 4] {
        // Two contexts in a row in one process.
        for _ in 0..2 {
            let out = run_queue_job(threads, vec![vec![1, 2], vec![3]]);
            assert!(out.len() >= 5, "{out:?}");
            let times: Vec<i64> = out.iter().map(|(t, _)| *t).collect();
            let expected: Vec<i64> = (1..=times.len() as i64).map(|i| i * 50).collect();
            assert_eq!(times, expected, "batch times are zero + k * batch, in order");
            assert_eq!(out[0].1, vec![2, 4]);
            assert_eq!(out[1].1, vec![6]);
            assert!(out[2..].iter().all(|(_, v)| v.is_empty()));
        }
    }
}

#[test]
fn await_termination_returns_a_failed_batch_and_the_job_keeps_running() {
    let ssc = StreamingContext::new(Duration::millis(30)).with_threads(2);
    let q = BatchQueue::new();
    q.push(vec![1]);
    q.push(vec![0]);
    q.push(vec![2]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    ssc.queue_stream(q, true, None)
        .map(|x: i32| 10 / x)
        .foreach_batch(move |b, _| sink.lock().unwrap().extend(b.into_vec()));
    let running = ssc.start().unwrap();
    let err = running.await_termination().unwrap_err();
    assert!(err.to_string().contains("attempt to divide by zero"), "{err}");
    sluice_tests::wait_until(std::time::Duration::from_secs(5), || seen.lock().unwrap().len() >= 2);
    running.stop(false);
    assert_eq!(*seen.lock().unwrap(), vec![10, 5]);
}

#[test]
fn print_format_matches_spark_exactly() {
    let t = Time::from_millis(1000);
    assert_eq!(
        format_batch(t, ["a", "b", "c", "d", "e"].iter(), 3),
        "-------------------------------------------\nTime: 1000 ms\n-------------------------------------------\na\nb\nc\n...\n\n"
    );
    let none: [&str; 0] = [];
    assert_eq!(
        format_batch(Time::from_millis(2000), none.iter(), 3),
        "-------------------------------------------\nTime: 2000 ms\n-------------------------------------------\n\n"
    );
    assert_eq!(format_batch(t, [("a", 1)].iter(), 10).lines().nth(3), Some("(a,1)"));
    assert_eq!(format_batch(t, ["x"; 3].iter(), 3).matches("...").count(), 0);
}

#[test]
fn save_as_text_files_writes_every_batch_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("out").to_string_lossy().into_owned();
    let p = prefix.clone();
    let errors = stream_runtime::testing::Harness::new(2)
        .run(vec![vec![("a", 1), ("b", 2)], vec![]], move |s| s.save_as_text_files(&p, ""));
    assert!(errors.is_empty(), "{errors:?}");
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, vec!["out-1000", "out-2000"], "no temporary directories are left behind");
    let mut lines = Vec::new();
    for part in ["part-00000", "part-00001"] {
        lines.extend(std::fs::read_to_string(format!("{prefix}-1000/{part}")).unwrap().lines().map(String::from));
    }
    assert_eq!(lines, vec!["(a,1)", "(b,2)"]);
    assert!(std::path::Path::new(&format!("{prefix}-2000/_SUCCESS")).exists());
}
