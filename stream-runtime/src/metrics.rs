//! Batch and source metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::time::Time;

/// What happened in one batch (Spark's `BatchInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch time.
    pub batch_time: Time,
    /// Records the inputs allocated to the batch (0 where unknown, as Spark's file streams).
    pub num_records: u64,
    /// Records of each input, in registration order; empty where unknown (the batches a
    /// recovered job replays from its batch log).
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
}

impl SourceCounters {
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
