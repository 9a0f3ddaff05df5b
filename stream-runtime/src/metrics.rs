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
    /// From the batch time to the start of processing.
    pub scheduling_delay: std::time::Duration,
    /// Time spent processing the batch: every output operation and stateful node.
    pub processing_time: std::time::Duration,
    /// Output operations that failed in this batch.
    pub failed_outputs: usize,
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
}

/// Thread-safe counters behind [`SourceStats`].
#[derive(Debug, Default)]
pub(crate) struct SourceCounters {
    pub(crate) lines: AtomicU64,
    pub(crate) invalid_utf8_lines: AtomicU64,
    pub(crate) oversized_lines: AtomicU64,
    pub(crate) errors: AtomicU64,
}

impl SourceCounters {
    pub(crate) fn snapshot(&self) -> SourceStats {
        SourceStats {
            lines: self.lines.load(Ordering::Relaxed),
            invalid_utf8_lines: self.invalid_utf8_lines.load(Ordering::Relaxed),
            oversized_lines: self.oversized_lines.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add(&self, counter: &AtomicU64, n: u64) {
        let _ = self;
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
