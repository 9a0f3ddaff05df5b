//! [`KafkaOptions`]: where a direct stream starts, how much a batch may take, and what to do
//! with offsets that are out of range.

use std::collections::BTreeMap;

/// Where a direct stream starts reading the partitions it finds when it first plans a batch
/// (Spark's `auto.offset.reset` for a new consumer group, or `ConsumerStrategies.Assign` with
/// offsets).
///
/// Partitions created after the stream first saw their topic start at the earliest offset,
/// so no record written to a new partition is skipped.
///
/// ```
/// use std::collections::BTreeMap;
/// use stream_runtime::StartingOffsets;
/// let explicit = StartingOffsets::Explicit(BTreeMap::from([(("words".to_string(), 0), 42)]));
/// assert_eq!(explicit.offset_of("words", 0), Some(42));
/// assert_eq!(explicit.offset_of("words", 1), None, "unlisted partitions start at the earliest offset");
/// assert_eq!(StartingOffsets::default(), StartingOffsets::Latest);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StartingOffsets {
    /// Only records written after the stream first plans a batch (Spark's default, `latest`).
    #[default]
    Latest,
    /// Every record the log still holds (`earliest`).
    Earliest,
    /// These offsets by `(topic, partition)`; partitions not listed start at the earliest
    /// offset. An offset outside the log is handled by [`KafkaOptions::on_out_of_range`].
    Explicit(BTreeMap<(String, i32), i64>),
}

impl StartingOffsets {
    /// The explicit starting offset of `topic`-`partition`, if one is given.
    pub fn offset_of(&self, topic: &str, partition: i32) -> Option<i64> {
        match self {
            StartingOffsets::Explicit(map) => map.get(&(topic.to_string(), partition)).copied(),
            _ => None,
        }
    }
}

/// What a direct stream does when the offset it is to read next is not in the log any more
/// (retention deleted it) or not yet (past the end, e.g. after the topic was recreated).
///
/// ```
/// use stream_runtime::OffsetReset;
/// assert_eq!(OffsetReset::default(), OffsetReset::Fail);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// Fail the batch with [`KafkaError::OffsetOutOfRange`](super::KafkaError::OffsetOutOfRange)
    /// and stay at the offset, so every later batch fails too until an operator acts (Spark's
    /// executors run with `auto.offset.reset=none`). Nothing is skipped silently.
    #[default]
    Fail,
    /// Jump to the earliest offset the log holds, logging the records lost (or read again).
    Earliest,
    /// Jump to the end of the log, logging the records skipped.
    Latest,
}

/// Options of [`kafka_direct_stream`](crate::StreamingContext::kafka_direct_stream) and
/// [`kafka_text_stream`](crate::StreamingContext::kafka_text_stream).
///
/// ```
/// use stream_runtime::{KafkaOptions, OffsetReset, StartingOffsets};
/// let options = KafkaOptions {
///     starting_offsets: StartingOffsets::Earliest,
///     max_rate_per_partition: 10_000,
///     on_out_of_range: OffsetReset::Earliest,
///     ..KafkaOptions::default()
/// };
/// // At most 10 000 records per second and partition: 5 000 in a 500 ms batch.
/// assert_eq!(options.max_records_per_batch(500), Some(5_000));
/// assert_eq!(KafkaOptions::default().max_records_per_batch(500), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOptions {
    /// Where to start (default: [`StartingOffsets::Latest`]).
    pub starting_offsets: StartingOffsets,
    /// At most this many records per second and partition (Spark's
    /// `spark.streaming.kafka.maxRatePerPartition`); a batch takes at most
    /// `max(rate × batch seconds, 1)` records of each partition. 0: no limit (default). With
    /// backpressure ([`Conf::backpressure`](crate::Conf::backpressure)) the estimated rate is
    /// shared over the partitions in proportion to their lag, each share capped by this.
    pub max_rate_per_partition: u64,
    /// What to do with offsets out of range (default: [`OffsetReset::Fail`]).
    pub on_out_of_range: OffsetReset,
    /// How long one request to the brokers may take, retries included, before the brokers
    /// count as unreachable (default 10 s).
    pub request_timeout: std::time::Duration,
    /// Largest answer to one fetch request, in bytes (default 4 MiB).
    pub max_fetch_bytes: i32,
    /// A partition's range longer than this many records is read as several tasks in parallel
    /// (default 200 000). 0: one task per partition.
    pub max_records_per_task: u64,
    /// The client id the brokers see (default `sluice`).
    pub client_id: String,
}

impl Default for KafkaOptions {
    fn default() -> Self {
        KafkaOptions {
            starting_offsets: StartingOffsets::Latest,
            max_rate_per_partition: 0,
            on_out_of_range: OffsetReset::Fail,
            request_timeout: std::time::Duration::from_secs(10),
            max_fetch_bytes: 4 << 20,
            max_records_per_task: 200_000,
            client_id: "sluice".to_string(),
        }
    }
}

impl KafkaOptions {
    /// The most records one batch of `batch_ms` milliseconds takes from a partition, or `None`
    /// without a rate limit (Spark's `maxMessagesPerPartition` with
    /// `minRatePerPartition = 1`).
    pub fn max_records_per_batch(&self, batch_ms: i64) -> Option<i64> {
        if self.max_rate_per_partition == 0 {
            return None;
        }
        let n = (self.max_rate_per_partition as f64 * batch_ms.max(0) as f64 / 1000.0) as i64;
        Some(n.max(1))
    }
}
