//! `#[stream_job]` jobs against the settings the command line gives: `--batch` against window
//! durations and `--checkpoint` for stateful operators are checked at start and by `--explain`,
//! with errors naming the flag; a stateful job may get its checkpoint directory from
//! `--checkpoint` alone.

use std::process::ExitCode;

use stream_runtime::prelude::*;
use stream_runtime::SettingsError;

/// Counts of values over a 4-second window sliding every 2 seconds: stateful (kept with an
/// inverse function), so it needs a checkpoint directory.
#[stream_job(batch = "1s")]
fn windowed_counts(ssc: &mut StreamingContext, n: u32) {
    let queue = BatchQueue::new();
    queue.push((0..n).collect::<Vec<_>>());
    ssc.queue_stream(queue, true, None).count_by_value_and_window(Duration::seconds(4), Duration::seconds(2)).print();
}

fn window_of_helper(ssc: &StreamingContext) {
    ssc.queue_stream(BatchQueue::<u32>::new(), true, None).window(Duration::seconds(4), Duration::seconds(2)).print();
}

/// The same window inside a helper function, where the macro cannot see it.
#[stream_job(batch = "1s")]
fn hidden_window(ssc: &mut StreamingContext) {
    window_of_helper(ssc);
}

fn status(code: ExitCode) -> String {
    format!("{code:?}")
}

#[test]
fn explain_checks_the_window_against_the_batch_flag_and_names_it() {
    let explained = WINDOWED_COUNTS.explain(["windowed_counts", "--batch", "3s", "--checkpoint", "/c"]).unwrap();
    let not_a_multiple = |what, duration| SettingsError::WindowNotMultipleOfBatch {
        op: Some("count_by_value_and_window".into()),
        what,
        duration,
        batch: Duration::seconds(3),
        batch_from_flag: true,
    };
    assert_eq!(
        explained.errors,
        [not_a_multiple("window", Duration::seconds(4)), not_a_multiple("slide", Duration::seconds(2))]
    );
    assert!(explained.text.contains("settings: batch 3000 ms (--batch), 2 threads, checkpoint /c (--checkpoint)\n"));
    assert!(WINDOWED_COUNTS
        .explain(["windowed_counts", "--batch", "2s", "--checkpoint", "/c"])
        .unwrap()
        .errors
        .is_empty());
    assert_eq!(
        status(WINDOWED_COUNTS.run_from(["windowed_counts", "--batch", "3s", "--explain"])),
        status(ExitCode::FAILURE)
    );
}

#[test]
fn a_stateful_job_needs_a_checkpoint_flag_and_runs_with_one() {
    let explained = WINDOWED_COUNTS.explain(["windowed_counts"]).unwrap();
    assert_eq!(explained.errors, [SettingsError::CheckpointRequired { ops: vec!["count_by_value_and_window".into()] }]);
    // Refused at start, before anything runs.
    assert_eq!(
        status(WINDOWED_COUNTS.run_from(["windowed_counts", "3", "--duration", "0"])),
        status(ExitCode::FAILURE)
    );
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().to_str().unwrap();
    let args = ["windowed_counts", "3", "--batch", "100ms", "--duration", "0", "--checkpoint", checkpoint];
    let windowed = WINDOWED_COUNTS.run_from(["windowed_counts", "3", "--batch", "100ms", "--duration", "0"]);
    assert_eq!(status(windowed), status(ExitCode::FAILURE), "the 4 s window is fine, the checkpoint is missing");
    assert_eq!(status(WINDOWED_COUNTS.run_from(args)), status(ExitCode::SUCCESS));
}

#[test]
fn windows_the_macro_cannot_see_are_checked_at_start() {
    assert!(HIDDEN_WINDOW.explain(["hidden_window", "--batch", "3s"]).unwrap().errors.is_empty());
    assert_eq!(
        status(HIDDEN_WINDOW.run_from(["hidden_window", "--batch", "3s", "--duration", "0"])),
        status(ExitCode::FAILURE)
    );
    assert_eq!(
        status(HIDDEN_WINDOW.run_from(["hidden_window", "--batch", "2s", "--duration", "0"])),
        status(ExitCode::SUCCESS)
    );
}
