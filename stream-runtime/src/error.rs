//! Errors of the engine.

use std::sync::Arc;

use crate::fs::FsError;
use crate::time::{Duration, Time};

/// An error that stops a job from starting or that a running job reports to
/// [`RunningContext::await_termination`](crate::RunningContext::await_termination).
///
/// A variant caused by another error keeps it as its
/// [`source`](std::error::Error::source) (and shows its text too), so the chain can be walked
/// down to the filesystem's or the decoder's error:
///
/// ```
/// use std::error::Error;
/// use stream_runtime::{BatchError, StreamingError};
/// let out = stream_runtime::testing::Harness::new(1).collect(vec![Some(vec![1])], |s| s.map(|x: i32| 10 / (x - 1)));
/// let err = &out.errors[0];
/// assert!(matches!(err, StreamingError::BatchFailed { cause: BatchError::Panicked { .. }, .. }));
/// assert!(err.to_string().contains("user function panicked: attempt to divide by zero"), "{err}");
/// let cause = err.source().unwrap().downcast_ref::<BatchError>().unwrap();
/// assert!(matches!(cause, BatchError::Panicked { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
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
    /// A setting was refused for a typed reason (an address that does not parse, a directory
    /// that names no filesystem, a port the Streaming UI cannot listen on), kept as the
    /// [`source`](std::error::Error::source).
    #[error("invalid configuration: {what}: {source}")]
    Refused {
        /// What was refused, e.g. `text_file_stream` or `save_as_text_files`.
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A thread of the engine (workers, generator, processor, checkpoint writer) could not be
    /// started.
    #[error("cannot start the {what}: {source}")]
    Spawn {
        /// Which thread.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An input could not start.
    #[error("input {input} failed to start: {source}")]
    InputStart {
        /// The input's description.
        input: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A batch failed: a user function panicked, a stream had no batch where one was needed,
    /// or an output could not be written. Later batches still run, unless the job has a
    /// checkpoint directory: then it stops without a checkpoint past the batch, so that a
    /// restart runs the batch again.
    #[error("job for batch {time} failed in output operation {output}: {cause}")]
    BatchFailed {
        /// The batch time.
        time: Time,
        /// The output operation, e.g. `print` or `save_as_text_files(out/counts)`.
        output: String,
        /// What went wrong.
        #[source]
        cause: BatchError,
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
        /// What went wrong (for Kafka a `KafkaError`, or `KafkaFailures` when
        /// several partitions failed).
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The job cannot run with the settings in effect (`--batch`, `--checkpoint`).
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// A validation error with free text (used by operators added by later stages).
    #[error("{0}")]
    Invalid(String),
}

impl StreamingError {
    /// [`StreamingError::Refused`]: `what` refused because of `source`.
    pub(crate) fn refused(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StreamingError {
        StreamingError::Refused { what: what.into(), source: source.into() }
    }
}

/// Why one batch of an output operation (or of a stateful operation feeding outputs) failed:
/// the `cause` of [`StreamingError::BatchFailed`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A function the job gave an operator (a closure of `map`, `transform`,
    /// `foreach_batch`, ...) panicked. Only such panics are reported this way.
    #[error("user function panicked{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Panicked {
        /// The panic's message, when it has one.
        message: Option<String>,
    },
    /// A stream combined with others (by `union`, `transform`, `transform_with`) had no batch
    /// at a time the others did (Spark's message).
    #[error("Could not generate RDD from a parent for {what} at time {time}")]
    MissingParentBatch {
        /// The operation: `"unifying"` or `"transform"`.
        what: &'static str,
        /// The batch time.
        time: Time,
    },
    /// Standard output could not be written (`print`).
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    /// A file or directory of the output could not be written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// An exchange with the other processes of a cluster failed (a process is gone, the job
    /// is stopping, or what a process sent could not be decoded): the
    /// [`PeerError`](crate::cluster::PeerError) is the source.
    #[error("exchange with the other processes failed ({tag}): {source}")]
    Exchange {
        /// The exchange.
        tag: crate::cluster::Tag,
        /// Why it failed.
        #[source]
        source: crate::cluster::PeerError,
    },
    /// Another process of the cluster failed its share of this output's batch (its error is
    /// reported by that process; here, its text).
    #[error("process {process} failed this batch: {message}")]
    OtherProcess {
        /// The process that failed.
        process: usize,
        /// Its error, as text.
        message: String,
    },
    /// A record that must cross processes could not be encoded (its `Serialize` failed).
    #[error("cannot encode the records of {tag} for the other processes: {source}")]
    Encode {
        /// The exchange.
        tag: crate::cluster::Tag,
        /// The encoder's error.
        #[source]
        source: crate::checkpoint::CodecError,
    },
    /// The output's location names no filesystem Sluice can reach (an unsupported URL, an
    /// unreachable HDFS name node). `save_as_text_files` also records such a location as a
    /// start-time error, so a validated job refuses to start instead of failing every batch.
    #[error("output location {location}: {source}")]
    Location {
        /// The location as given.
        location: String,
        /// The error of resolving it, shared by every batch that fails on it.
        #[source]
        source: Arc<FsError>,
    },
    /// A record could not be encoded for `save_as_object_files`.
    #[error("cannot encode a record for an object file: {0}")]
    ObjectEncode(#[source] crate::checkpoint::CodecError),
    /// A `map_with_state` function misused its [`State`](crate::State) (an update after a
    /// remove, an update or remove while timing out, a second remove): Spark's
    /// `IllegalArgumentException`, with its message.
    #[error(transparent)]
    State(#[from] crate::StateError),
}
