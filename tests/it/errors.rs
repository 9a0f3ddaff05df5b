//! Errors say what went wrong: a typed cause for each failure, with the chain of sources down
//! to the operating system's error.

use std::error::Error;

use stream_runtime::checkpoint::{CheckpointError, Damage};
use stream_runtime::fs::FsError;
use stream_runtime::prelude::*;
use stream_runtime::testing::Harness;
use stream_runtime::{BatchError, StreamingError};

use crate::THREADS;

/// The last error of `err`'s source chain.
fn root_cause<'e>(err: &'e (dyn Error + 'static)) -> &'e (dyn Error + 'static) {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause
}

/// The batch failure's cause, which must be the error's first source too.
fn cause_of(err: &StreamingError) -> &BatchError {
    let StreamingError::BatchFailed { cause, .. } = err else { panic!("not a batch failure: {err}") };
    let source = err.source().expect("a batch failure has a source");
    assert!(std::ptr::eq(source.downcast_ref::<BatchError>().expect("the source is the cause"), cause));
    cause
}

fn missing_at_two_seconds(cause: &BatchError, operation: &str) {
    assert!(
        matches!(cause, BatchError::MissingParentBatch { what, time } if *what == operation && time.as_millis() == 2000),
        "{cause:?}"
    );
}

#[test]
fn a_union_missing_a_parent_batch_fails_with_the_typed_error_not_a_panic() {
    for t in THREADS {
        let outcome = Harness::new(t).collect(vec![Some(vec![1]), None, Some(vec![3])], |s| s.clone().union(s));
        assert_eq!(outcome.outputs, vec![vec![1, 1], vec![3, 3]]);
        let [err] = &outcome.errors[..] else { panic!("{:?}", outcome.errors) };
        missing_at_two_seconds(cause_of(err), "unifying");
        assert!(!err.to_string().contains("panicked"), "{err}");
        assert!(err.to_string().contains("Could not generate RDD from a parent for unifying at time 2000 ms"), "{err}");
    }
}

#[test]
fn a_transform_missing_a_parent_batch_fails_with_the_typed_error() {
    for t in THREADS {
        let outcome = Harness::new(t)
            .collect(vec![Some(vec![1]), None], |s| s.clone().transform_with(s.map(|x| x * 10), |a, b, _| a.union(b)));
        assert_eq!(outcome.outputs, vec![vec![1, 10]]);
        let [err] = &outcome.errors[..] else { panic!("{:?}", outcome.errors) };
        missing_at_two_seconds(cause_of(err), "transform");
    }
}

#[test]
fn a_window_over_a_union_missing_a_parent_batch_fails_its_state_with_the_typed_error() {
    let outcome = Harness::new(2).collect(vec![Some(vec![1]), None, Some(vec![3])], |s| {
        s.clone().union(s).window(Duration::seconds(2), Duration::seconds(1))
    });
    assert!(!outcome.errors.is_empty());
    for err in &outcome.errors {
        missing_at_two_seconds(cause_of(err), "unifying");
    }
}

#[test]
fn only_a_user_function_that_panics_is_reported_as_a_panic() {
    let outcome = Harness::new(1)
        .collect(vec![Some(vec![1, 0])], |s| s.map(|x: i32| if x == 0 { panic!("zero is not welcome") } else { x }));
    let [err] = &outcome.errors[..] else { panic!("{:?}", outcome.errors) };
    let BatchError::Panicked { message } = cause_of(err) else { panic!("{err}") };
    assert_eq!(message.as_deref(), Some("zero is not welcome"));
    assert!(err.to_string().ends_with("user function panicked: zero is not welcome"), "{err}");
}

#[test]
fn a_checkpoint_directory_that_cannot_be_created_keeps_the_filesystem_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let dir = file.path().join("ckpt").to_string_lossy().into_owned();
    let err = StreamingContext::get_or_create(&dir, || StreamingContext::new(Duration::seconds(1))).unwrap_err();
    let StreamingError::Checkpoint(CheckpointError::Io { source, .. }) = &err else { panic!("{err}") };
    assert!(matches!(source, FsError::Io { .. }), "{source:?}");
    // StreamingError -> CheckpointError (transparent) -> FsError -> io::Error.
    let fs = err.source().expect("the checkpoint error's source");
    assert!(fs.downcast_ref::<FsError>().is_some(), "{fs:?}");
    let io = root_cause(&err).downcast_ref::<std::io::Error>().expect("the root cause is an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotADirectory);
}

#[test]
fn damaged_checkpoints_say_what_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");
    std::fs::create_dir(&ckpt).unwrap();
    std::fs::write(ckpt.join("checkpoint-1000"), b"not a checkpoint at all, just text").unwrap();
    let ckpt = ckpt.to_string_lossy().into_owned();
    let err = StreamingContext::get_or_create(&ckpt, || StreamingContext::new(Duration::seconds(1))).unwrap_err();
    let StreamingError::Checkpoint(CheckpointError::NoValidCheckpoint { cause, .. }) = &err else { panic!("{err}") };
    assert!(matches!(**cause, CheckpointError::Corrupt { why: Damage::BadMagic, .. }), "{cause:?}");
    assert!(root_cause(&err).downcast_ref::<Damage>().is_some());
    assert!(err.to_string().starts_with("Failed to read checkpoint from directory"), "{err}");
}

#[test]
fn an_output_that_cannot_write_keeps_the_filesystem_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let prefix = file.path().join("out").to_string_lossy().into_owned();
    let errors = Harness::new(1).run(vec![vec![1]], move |s| s.save_as_text_files(&prefix, "txt"));
    let [err] = &errors[..] else { panic!("{errors:?}") };
    assert!(matches!(cause_of(err), BatchError::Fs(FsError::Io { .. })), "{err:?}");
    assert!(root_cause(err).downcast_ref::<std::io::Error>().is_some(), "{err:?}");
}

#[test]
fn an_output_location_of_an_unknown_filesystem_is_refused_at_start_with_its_cause() {
    let errors = Harness::new(1).run(vec![vec![1]], |s| s.save_as_text_files("s3://bucket/out", "txt"));
    let [err] = &errors[..] else { panic!("{errors:?}") };
    assert!(matches!(err, StreamingError::Refused { .. }), "{err:?}");
    let cause = std::error::Error::source(err).and_then(|c| c.downcast_ref::<std::sync::Arc<FsError>>());
    assert!(matches!(cause.map(|c| &**c), Some(FsError::Unsupported(_))), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid configuration: save_as_text_files: invalid directory \"s3://bucket/out\": unsupported filesystem (use a local path, file:// or hdfs://host:port/path)"
    );
}
