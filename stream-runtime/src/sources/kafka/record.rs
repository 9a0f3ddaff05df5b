//! [`KafkaRecord`] and [`OffsetRange`]: what a direct stream yields and what a batch holds.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::show::Show;
use crate::str::Str;

/// One record of a Kafka partition (Spark's `ConsumerRecord`). Key and value are the bytes as
/// written; [`value_str`](Self::value_str) decodes the value. The records of one fetch share
/// one buffer of their keys and values, so a key or value kept long after its batch keeps
/// that buffer (up to [`KafkaOptions::max_fetch_bytes`](crate::KafkaOptions::max_fetch_bytes))
/// alive: keep a copy (`Bytes::copy_from_slice`) instead.
///
/// ```
/// use stream_runtime::{KafkaRecord, Show, Str};
/// let r = KafkaRecord {
///     topic: Str::from("words"),
///     partition: 1,
///     offset: 7,
///     timestamp: 1_700_000_000_000,
///     key: None,
///     value: Some("to be".into()),
/// };
/// assert_eq!(r.value_str(), "to be");
/// assert_eq!(r.show(), "ConsumerRecord(topic = words, partition = 1, offset = 7, timestamp = 1700000000000, key = null, value = to be)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KafkaRecord {
    /// The topic.
    pub topic: Str,
    /// The partition.
    pub partition: i32,
    /// The record's offset in its partition.
    pub offset: i64,
    /// The record's timestamp, in milliseconds since the epoch (as the producer or broker set
    /// it).
    pub timestamp: i64,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value (`None` for a tombstone).
    pub value: Option<Bytes>,
}

impl KafkaRecord {
    /// The value as text, invalid UTF-8 replaced by U+FFFD (empty for a tombstone).
    pub fn value_str(&self) -> String {
        self.value.as_deref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default()
    }
}

fn show_bytes(b: &Option<Bytes>) -> String {
    match b {
        Some(b) => String::from_utf8_lossy(b).into_owned(),
        None => "null".to_string(),
    }
}

impl Show for KafkaRecord {
    fn fmt_show(&self, out: &mut dyn std::fmt::Write) -> std::fmt::Result {
        write!(
            out,
            "ConsumerRecord(topic = {}, partition = {}, offset = {}, timestamp = {}, key = {}, value = {})",
            self.topic,
            self.partition,
            self.offset,
            self.timestamp,
            show_bytes(&self.key),
            show_bytes(&self.value)
        )
    }
}

/// The records `[from, until)` of one partition (Spark's `OffsetRange`): what a batch of a
/// direct stream holds, one range per partition, and what the checkpoint's batch log records.
///
/// ```
/// use stream_runtime::OffsetRange;
/// let r = OffsetRange { topic: "words".into(), partition: 0, from: 10, until: 25 };
/// assert_eq!(r.count(), 15);
/// let json = serde_json::to_value(&r).unwrap();
/// assert_eq!(json, serde_json::json!({"topic": "words", "partition": 0, "from": 10, "until": 25}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OffsetRange {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The first offset of the range.
    pub from: i64,
    /// The offset after the last one of the range.
    pub until: i64,
}

impl OffsetRange {
    /// The number of offsets in the range.
    pub fn count(&self) -> u64 {
        (self.until - self.from).max(0) as u64
    }
}
