//! Errors of the engine.

use crate::time::{Duration, Time};

/// An error that stops a job from starting or that a running job reports to
/// [`RunningContext::await_termination`](crate::RunningContext::await_termination).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamingError {
    /// `start` was called on a context with no output operation (Spark's message).
    #[error("No output operations registered, so nothing to execute")]
    NoOutputOperations,
    /// A window or slide duration is not a multiple of the parent's slide.
    #[error("The {what} duration of windowed DStream ({duration}) must be a multiple of the slide duration of parent DStream ({parent})")]
    NotMultipleOfParentSlide {
        /// `"window"` or `"slide"`.
        what: &'static str,
        /// The offending duration.
        duration: Duration,
        /// The parent's slide duration.
        parent: Duration,
    },
    /// A window or slide duration of an invertible windowed reduction
    /// (`reduce_by_key_and_window_inv`, `count_by_window`, ...) is not a multiple of the
    /// parent's slide (Spark's `ReducedWindowedDStream` message).
    #[error("requirement failed: The {what} duration of ReducedWindowedDStream ({duration}) must be multiple of the slide duration of parent DStream ({parent})")]
    ReducedWindowNotMultipleOfParentSlide {
        /// `"window"` or `"slide"`.
        what: &'static str,
        /// The offending duration.
        duration: Duration,
        /// The parent's slide duration.
        parent: Duration,
    },
    /// Streams combined by `union`, `join`, `transform_with`... have different slide durations.
    #[error("Some of the DStreams have different slide durations ({left} and {right})")]
    DifferentSlideDurations {
        /// Slide of the first stream.
        left: Duration,
        /// Slide of the second stream.
        right: Duration,
    },
    /// `StreamingContext::union` / `transform` was given no stream.
    #[error("List of DStreams to {0} is empty")]
    EmptyStreamList(&'static str),
    /// A stateful operation needs a checkpoint directory (Spark's message).
    #[error("The checkpoint directory has not been set. Please set it by StreamingContext.checkpoint().")]
    CheckpointDirectoryNotSet,
    /// The configuration is invalid (zero batch interval, zero threads, ...).
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// An input could not start.
    #[error("input {input} failed to start: {cause}")]
    InputStart {
        /// The input's description.
        input: String,
        /// Why.
        cause: String,
    },
    /// A batch failed: a user function panicked or an output could not be written. Later
    /// batches still run.
    #[error("job for batch {time} failed in output operation {output}: {cause}")]
    BatchFailed {
        /// The batch time.
        time: Time,
        /// The output operation, e.g. `print` or `save_as_text_files(out/counts)`.
        output: String,
        /// What went wrong.
        cause: String,
    },
    /// Checkpointing or recovery failed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// An input could not give a batch all its data (a Kafka offset out of range under the
    /// `Fail` policy...). Later batches still run.
    #[error("input {input} failed in batch {time}: {cause}")]
    InputFailed {
        /// The input's description.
        input: String,
        /// The batch time.
        time: Time,
        /// What went wrong.
        cause: String,
    },
    /// The job cannot run with the settings in effect (`--batch`, `--checkpoint`).
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// A validation error with free text (used by operators added by later stages).
    #[error("{0}")]
    Invalid(String),
}
