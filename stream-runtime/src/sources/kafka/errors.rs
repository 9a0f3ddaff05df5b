//! [`KafkaError`]: what can go wrong talking to Kafka.

/// An error of the Kafka client or the direct stream.
///
/// The stream itself never stops on these: it logs them (`tracing` warnings), counts them in
/// [`SourceStats::errors`](crate::SourceStats::errors) and, where the policy says so
/// ([`OffsetReset::Fail`](super::OffsetReset::Fail)), fails the batch with the error's text.
/// [`KafkaClient`](super::KafkaClient) returns them as they are.
///
/// ```
/// use stream_runtime::KafkaError;
/// let e = KafkaError::OffsetOutOfRange { topic: "t".into(), partition: 0, offset: 50, earliest: 0, end: 10 };
/// assert_eq!(e.to_string(), "offset 50 of t-0 is out of range: the log holds offsets [0, 10)");
/// assert!(!e.is_unreachable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KafkaError {
    /// No broker answered (refused connection, time-out, connection lost): retried later.
    #[error("cannot reach the Kafka brokers {brokers}: {cause}")]
    Unreachable {
        /// The bootstrap brokers, as given.
        brokers: String,
        /// The client's description of the failure.
        cause: String,
    },
    /// The topic does not exist (topics are not created by reading them).
    #[error("topic {topic} does not exist")]
    TopicMissing {
        /// The topic.
        topic: String,
    },
    /// An offset outside the partition's log: below its start (deleted by retention) or past
    /// its end (the log was recreated, or a wrong explicit offset).
    #[error("offset {offset} of {topic}-{partition} is out of range: the log holds offsets [{earliest}, {end})")]
    OffsetOutOfRange {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset asked for.
        offset: i64,
        /// The first offset the log holds.
        earliest: i64,
        /// The offset after the last record (the high watermark).
        end: i64,
    },
    /// Options that cannot work (no broker, no topic, a negative explicit offset...).
    #[error("invalid Kafka options: {0}")]
    InvalidOptions(String),
    /// Any other failure of a request (an error code of the broker, an undecodable answer).
    #[error("Kafka {op} failed: {cause}")]
    Request {
        /// What was asked (`fetch t-0`, `create_topic t`...).
        op: String,
        /// The client's description of the failure.
        cause: String,
    },
    /// The client's I/O runtime could not start or dropped the request.
    #[error("Kafka I/O runtime: {0}")]
    Runtime(String),
    /// The job stopped while the brokers could not be reached, before a planned range was
    /// read whole.
    #[error("stopped before offsets [{from}, {until}) of {topic}-{partition} could be read: {source}")]
    Unread {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The first offset not read.
        from: i64,
        /// The end of the planned range.
        until: i64,
        /// Why it could not be read.
        #[source]
        source: Box<KafkaError>,
    },
    /// Reading a planned range failed.
    #[error("cannot read {topic}-{partition} at offset {offset}: {source}")]
    Read {
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset asked for.
        offset: i64,
        /// The failure.
        #[source]
        source: Box<KafkaError>,
    },
}

/// Why one batch of a Kafka stream is incomplete when more than one range failed: the
/// `cause` of its `StreamingError::InputFailed`, showing each failure, separated by `; `.
///
/// ```
/// use stream_runtime::{KafkaError, KafkaFailures};
/// let f = KafkaFailures(vec![KafkaError::TopicMissing { topic: "a".into() }, KafkaError::TopicMissing { topic: "b".into() }]);
/// assert_eq!(f.to_string(), "topic a does not exist; topic b does not exist");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaFailures(pub Vec<KafkaError>);

impl std::fmt::Display for KafkaFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KafkaFailures {
    /// The first failure.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.first().map(|e| e as _)
    }
}

impl KafkaError {
    /// Whether the error means the brokers could not be reached (the operation may work later).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, KafkaError::Unreachable { .. })
    }
}
