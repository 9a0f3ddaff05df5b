//! Kafka: direct streams (Spark's `KafkaUtils.createDirectStream`), without receivers or a
//! write-ahead log.
//!
//! Each batch is planned when it is generated: for every partition of the topics, the range
//! `[from, until)` from where the previous batch ended to the end of the log at planning time
//! (capped by [`KafkaOptions::max_rate_per_partition`]). The batch's records are read when it
//! is processed, one task per range, in parallel. The ranges are what a checkpoint's batch
//! log records ([`OffsetRange`]), so a recovered job reads exactly the same records again.
//!
//! The client is `rskafka` (pure Rust, fetches from explicit offsets, no consumer groups),
//! asynchronous, run on a small runtime owned by each stream ([`KafkaClient`]). Offsets are
//! not committed back to Kafka: `rskafka` has no consumer-group API (no `OffsetCommit`).

mod client;
mod errors;
mod options;
mod record;
mod source;

pub use client::KafkaClient;
pub use errors::{KafkaError, KafkaFailures};
pub use options::{KafkaOptions, OffsetReset, StartingOffsets};
pub use record::{KafkaRecord, OffsetRange};

use source::{Direct, KafkaSource};

use super::lines::Decoder;
use super::register;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::StreamingError;
use crate::str::Str;
use crate::DStream;

impl StreamingContext {
    /// A direct stream of the records of `topics` on the Kafka cluster reached through
    /// `brokers` (`host:port`, comma-separated; Spark's `KafkaUtils.createDirectStream` with
    /// `ConsumerStrategies.Subscribe`). Partitions added to the topics are picked up.
    ///
    /// When the brokers cannot be reached, batches stay empty (a batch already planned waits
    /// until its records can be read), the outage is logged once and counted in
    /// [`SourceStats::errors`](crate::SourceStats::errors), and reading resumes where it
    /// stopped when they are back. A missing topic is reported and read once it is created.
    /// Offsets out of range are handled by [`KafkaOptions::on_out_of_range`]; a batch that
    /// fails by that policy reports [`StreamingError::InputFailed`].
    ///
    /// ```no_run
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::{KafkaOptions, StartingOffsets};
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// let options = KafkaOptions { starting_offsets: StartingOffsets::Earliest, ..KafkaOptions::default() };
    /// ssc.kafka_direct_stream("localhost:9092", &["events"], options)
    ///     .map(|r| ((r.topic, r.partition), 1))
    ///     .reduce_by_key(|a, b| a + b)
    ///     .print();
    /// let running = ssc.start().unwrap();
    /// running.await_termination().unwrap();
    /// ```
    pub fn kafka_direct_stream(
        &self,
        brokers: &str,
        topics: &[impl AsRef<str>],
        options: KafkaOptions,
    ) -> DStream<'_, KafkaRecord> {
        self.kafka_stream(brokers, topics, options, |direct, records| {
            direct.counters.lines.add(records.len() as u64);
            records
        })
    }

    /// The values of a direct stream's records as lines of text: each value split at `\n`
    /// (a value without one is one line, an empty value none), invalid UTF-8 decoded lossily
    /// and counted, lines longer than [`Conf::max_line_bytes`](crate::Conf::max_line_bytes)
    /// reported and dropped, records without a value skipped. Otherwise as
    /// [`kafka_direct_stream`](Self::kafka_direct_stream).
    ///
    /// ```no_run
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::KafkaOptions;
    /// let ssc = StreamingContext::new(Duration::seconds(2));
    /// ssc.kafka_text_stream("localhost:9092", &["words"], KafkaOptions::default())
    ///     .flat_map(|line| line.split(' '))
    ///     .map(|word| (word, 1))
    ///     .reduce_by_key(|a, b| a + b)
    ///     .print();
    /// ```
    pub fn kafka_text_stream(
        &self,
        brokers: &str,
        topics: &[impl AsRef<str>],
        options: KafkaOptions,
    ) -> DStream<'_, Str> {
        self.kafka_stream(brokers, topics, options, |direct, records| {
            // One buffer for the task's values, each ended by one `\n`, decoded at once: the
            // lines share it.
            let len = records.iter().map(|r| r.value.as_ref().map_or(0, |v| v.len() + 1)).sum();
            let mut text = Vec::with_capacity(len);
            for v in records.iter().filter_map(|r| r.value.as_deref()).filter(|v| !v.is_empty()) {
                text.extend_from_slice(v);
                if !v.ends_with(b"\n") {
                    text.push(b'\n');
                }
            }
            let decoder = Decoder { source: &direct.name, limit: direct.limit, counters: &direct.counters };
            decoder.lines(&text, 0)
        })
    }

    fn kafka_stream<T: Data>(
        &self,
        brokers: &str,
        topics: &[impl AsRef<str>],
        options: KafkaOptions,
        convert: fn(&Direct, Vec<KafkaRecord>) -> Vec<T>,
    ) -> DStream<'_, T> {
        let topics: Vec<String> = topics.iter().map(|t| t.as_ref().to_string()).collect();
        let name = format!("kafka_direct_stream({brokers}, [{}])", topics.join(", "));
        let client = validate(&topics, &options).and_then(|()| KafkaClient::new(brokers, &options));
        let client = match client {
            Ok(c) => Some(c),
            Err(e) => {
                self.record_error(StreamingError::refused(name.clone(), e));
                None
            }
        };
        let direct =
            Direct::new(name, topics, options, self.batch_duration().as_millis(), self.conf.max_line_bytes, client);
        register(self, KafkaSource { direct, convert })
    }
}

fn validate(topics: &[String], options: &KafkaOptions) -> Result<(), KafkaError> {
    if topics.is_empty() || topics.iter().any(String::is_empty) {
        return Err(KafkaError::InvalidOptions("give at least one topic, and no empty topic name".into()));
    }
    if let StartingOffsets::Explicit(map) = &options.starting_offsets {
        if let Some(((t, p), o)) = map.iter().find(|(_, &o)| o < 0) {
            return Err(KafkaError::InvalidOptions(format!("negative starting offset {o} for {t}-{p}")));
        }
    }
    if options.max_fetch_bytes <= 0 {
        return Err(KafkaError::InvalidOptions("max_fetch_bytes must be positive".into()));
    }
    Ok(())
}
