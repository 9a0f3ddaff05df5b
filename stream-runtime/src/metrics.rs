//! Batch and source metrics.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::time::Time;

/// What happened in one batch (Spark's `BatchInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch time.
    pub batch_time: Time,
    /// Records the inputs allocated to the batch (0 where unknown, as Spark's file streams).
    pub num_records: u64,
    /// Records of each input, in registration order; empty where unknown (a batch a
    /// recovered job replays from a batch log written before they were logged).
    pub input_records: Vec<u64>,
    /// From the batch time to the start of processing.
    pub scheduling_delay: std::time::Duration,
    /// Time spent processing the batch: every output operation and stateful node.
    pub processing_time: std::time::Duration,
    /// Output operations that failed in this batch.
    pub failed_outputs: usize,
    /// Why the batch's first failed operation failed (Spark's `firstFailureReason`).
    pub first_failure: Option<String>,
    /// Time the batch loop spent on a checkpoint after this batch (serializing the state;
    /// writing it happens on a thread of its own); zero when no checkpoint followed.
    pub checkpoint_stall: std::time::Duration,
    /// Each output operation that ran, in registration order: its name, how long it took and
    /// why it failed.
    pub output_ops: Vec<OutputOpInfo>,
    /// What each input allocated to the batch, in registration order (files, offset ranges,
    /// lines), a replayed batch's as its batch log gave them back, up to the last input that
    /// says something (the inputs after it: [`InputDetail::None`]); empty when nobody asked (no
    /// Streaming page) or no input says.
    pub input_details: Vec<InputDetail>,
    /// How long each stateful operation (window, state; in registration order) took to take
    /// the batch: the fused chain that feeds it and its own update, timed by the executor
    /// around each operation (the output operations' times are in `output_ops`).
    pub stage_times: Vec<std::time::Duration>,
    /// How long each fused stage of the plan (`stage 1`, `stage 2`... of
    /// [`StreamingContext::explain`](crate::StreamingContext::explain)) took in the batch:
    /// its pass over the partitions of its parent's batch; `None` where it did not run. Empty
    /// unless someone watches the job (the Streaming page), so that nothing is timed otherwise.
    pub fused_stage_times: Vec<Option<std::time::Duration>>,
    /// The batch ran before the job stopped and runs again after a recovery from the
    /// checkpoint before it: a batch of the checkpoint directory's batch log, with the same
    /// data (the files, offset ranges and logged records it had).
    pub replayed: bool,
}

/// What a stateful operation holds after a batch, for the Streaming page (this process's).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct StateView {
    /// The operation, as the plan names it.
    pub(crate) operation: String,
    /// Keys it holds, where it counts them.
    pub(crate) keys: Option<u64>,
    /// An estimate of the heap bytes it holds (see the `heap` module), where it makes one.
    pub(crate) bytes: Option<u64>,
    /// For a window, what it holds of each parent batch, oldest first.
    pub(crate) window: Option<Vec<WindowBatch>>,
}

/// What one process of a cluster tells the driver of a batch it ran, for the Streaming page
/// (process 0 serves it and covers every process).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ProcessReport {
    /// The process.
    pub(crate) process: usize,
    /// The batch.
    pub(crate) time: crate::time::Time,
    /// Its processing time there, in microseconds.
    pub(crate) processing_micros: u64,
    /// Each stateful operation's time there, in microseconds.
    pub(crate) stage_micros: Vec<u64>,
    /// Each output operation's time there, in microseconds.
    pub(crate) output_micros: Vec<u64>,
    /// Each fused stage's time there, in microseconds (`None`: it did not run).
    #[serde(default)]
    pub(crate) fused_micros: Vec<Option<u64>>,
    /// Output and stateful operations that failed there.
    pub(crate) failures: usize,
    /// Per input, records it read there in the batch (the input's `lines` counter, as
    /// [`SourceStats::lines`]: lines of files and sockets, Kafka records) and since the start.
    pub(crate) records_read: Vec<u64>,
    /// Per input, since the start.
    pub(crate) records_read_total: Vec<u64>,
    /// Per input, the records this process's batches held since the start (its share of
    /// a receiver's records, which the driver reads and spreads).
    #[serde(default)]
    pub(crate) records_here_total: Vec<u64>,
    /// Per input, its status there.
    pub(crate) inputs: Vec<InputStatus>,
    /// Each stateful operation's state there.
    pub(crate) state: Vec<StateView>,
}

/// What a window holds of one parent batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct WindowBatch {
    /// The parent batch's time.
    pub(crate) time: crate::time::Time,
    /// Records of it the window keeps, where it keeps records (not partial reductions).
    pub(crate) records: Option<u64>,
    /// Keys of it the window keeps (keyed windows).
    pub(crate) keys: Option<u64>,
}

/// One output operation's run in one batch (a row of Spark's "Output Op Details").
///
/// ```
/// use stream_runtime::OutputOpInfo;
/// let op = OutputOpInfo { name: "print(10)".into(), duration: std::time::Duration::from_millis(3), error: None };
/// assert!(op.error.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOpInfo {
    /// The operation, as the plan names it (`print(10)`, `foreach_batch`).
    pub name: Arc<str>,
    /// How long it ran, including the part of its chain it computed.
    pub duration: std::time::Duration,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// What one input allocated to one batch.
///
/// ```
/// use stream_runtime::InputDetail;
/// let files = InputDetail::Files(vec![("/in/a.txt".into(), 120)]);
/// assert_ne!(files, InputDetail::None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputDetail {
    /// The input does not say.
    #[default]
    None,
    /// Files the batch reads and the bytes it reads of each (the whole file unless a file is
    /// larger than a batch takes).
    Files(Vec<(String, u64)>),
    /// Kafka offset ranges, one per partition.
    Offsets(Vec<KafkaRange>),
    /// Lines a receiver received for the batch.
    Lines(u64),
}

impl InputDetail {
    /// Each of `processes` processes' share of it in a cluster, by the assignment every
    /// process computes from the driver's plan: files by size
    /// ([`share_by_size`](crate::cluster::share_by_size)), Kafka partitions by
    /// [`owner_of_partition`](crate::cluster::owner_of_partition); what a receiver received
    /// is process 0's, where receivers run.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn shares(&self, processes: usize) -> Vec<InputDetail> {
        let n = processes.max(1);
        match self {
            InputDetail::Files(files) => {
                let sizes: Vec<u64> = files.iter().map(|(_, bytes)| *bytes).collect();
                let mut out = vec![Vec::new(); n];
                for (file, owner) in files.iter().zip(crate::cluster::share_by_size(&sizes, n)) {
                    out[owner].push(file.clone());
                }
                out.into_iter().map(InputDetail::Files).collect()
            }
            InputDetail::Offsets(ranges) => {
                let mut out = vec![Vec::new(); n];
                for r in ranges {
                    out[crate::cluster::owner_of_partition(&r.topic, r.partition, n) % n].push(r.clone());
                }
                out.into_iter().map(InputDetail::Offsets).collect()
            }
            other => {
                let mut out = vec![InputDetail::None; n];
                out[0] = other.clone();
                out
            }
        }
    }
}

/// The offsets of one Kafka partition a batch reads: `from` up to (not including) `until`.
///
/// ```
/// use stream_runtime::KafkaRange;
/// let r = KafkaRange { topic: "events".into(), partition: 0, from: 10, until: 15 };
/// assert_eq!(r.until - r.from, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset.
    pub from: i64,
    /// The offset after the last.
    pub until: i64,
}

/// How an input is doing, for the Streaming page: what it knows of its connection, its last
/// error, how far behind it is and the rate backpressure gives it.
///
/// ```
/// use stream_runtime::InputStatus;
/// let status = InputStatus::default();
/// assert!(status.connected.is_none() && status.lag.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputStatus {
    /// Whether its receiver is connected; `None` for inputs without a receiver.
    pub connected: Option<bool>,
    /// The last error it met (connecting, listing, reading), if any.
    pub last_error: Option<String>,
    /// Records each Kafka partition holds past what the input planned so far (topic,
    /// partition, records), as of the last batch it planned.
    pub lag: Vec<(String, i32, i64)>,
    /// The rate (records per second) backpressure or a rate cap holds it to, if any.
    pub rate: Option<f64>,
}

/// Counters of bad input seen by one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Lines delivered.
    pub lines: u64,
    /// Lines that were not valid UTF-8 and were decoded lossily (invalid bytes became U+FFFD).
    pub invalid_utf8_lines: u64,
    /// Lines longer than the limit, reported and kept out of their batch.
    pub oversized_lines: u64,
    /// Errors reading the source (refused connections, unreadable files...).
    pub errors: u64,
    /// Files that changed after a file stream selected them (written in place instead of
    /// moved in whole): what changed is not read.
    pub changed_files: u64,
    /// Times the source became unreachable (Kafka brokers down, a directory that cannot be
    /// listed): each outage is reported once in the log, however many attempts fail during it
    /// (those count in `errors`).
    pub outages: u64,
}

/// The last error a source met, kept for its status.
#[derive(Debug, Default)]
pub(crate) struct LastError(parking_lot::Mutex<Option<String>>);

impl LastError {
    pub(crate) fn set(&self, e: &dyn std::fmt::Display) {
        *self.0.lock() = Some(e.to_string());
    }

    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().clone()
    }
}

/// One thread-safe counter.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Thread-safe counters behind [`SourceStats`].
#[derive(Debug, Default)]
pub(crate) struct SourceCounters {
    pub(crate) lines: Counter,
    pub(crate) invalid_utf8_lines: Counter,
    pub(crate) oversized_lines: Counter,
    pub(crate) errors: Counter,
    pub(crate) changed_files: Counter,
    pub(crate) outages: Counter,
    /// The last error, for the input's status.
    pub(crate) last_error: LastError,
    /// Whether the receiver is connected (receivers only).
    pub(crate) connected: std::sync::atomic::AtomicBool,
}

impl SourceCounters {
    /// Counts an error and keeps it as the last one.
    pub(crate) fn error(&self, e: &dyn std::fmt::Display) {
        self.errors.add(1);
        self.last_error.set(e);
    }

    pub(crate) fn snapshot(&self) -> SourceStats {
        SourceStats {
            lines: self.lines.get(),
            invalid_utf8_lines: self.invalid_utf8_lines.get(),
            oversized_lines: self.oversized_lines.get(),
            errors: self.errors.get(),
            changed_files: self.changed_files.get(),
            outages: self.outages.get(),
        }
    }
}
