//! Spark's `RecoverableNetworkWordCount`: a word count that survives being killed. It reads a
//! directory stream (local or `hdfs://`), a socket or a Kafka topic (a direct stream from the
//! earliest offset), keeps running totals per word, writes
//! each batch's counts and the totals after it as text files, and checkpoints; started again
//! with the same checkpoint directory it continues where it was, and every batch's output
//! is committed exactly once.
//!
//! ```scala
//! def createContext(ip, port, outputPath, checkpointDirectory) = {
//!   val ssc = new StreamingContext(sparkConf, Seconds(1))
//!   ssc.checkpoint(checkpointDirectory)
//!   val lines = ssc.socketTextStream(ip, port)
//!   val wordCounts = lines.flatMap(_.split(" ")).map((_, 1)).reduceByKey(_ + _)
//!   wordCounts.foreachRDD { (rdd, time) => ... append to outputPath ... }
//!   ssc
//! }
//! val ssc = StreamingContext.getOrCreate(checkpointDirectory, () => createContext(...))
//! ```
//!
//! Outputs: `<output>/counts-<ms>` (the batch's word counts) and `<output>/totals-<ms>`
//! (every word's total after the batch), each a directory of part files in Spark's
//! `(word,count)` format.

use stream_runtime::args::HostPort;
use stream_runtime::prelude::*;
use stream_runtime::{KafkaOptions, SocketOptions, StartingOffsets, StreamingError};

/// Where the words come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// New files in a directory (local path, `file://` or `hdfs://` URL).
    Dir(String),
    /// A TCP line server; `replayable` when it replays its stream from the start on every
    /// connection.
    Socket {
        /// The server's address.
        addr: HostPort,
        /// The server replays from the first line on every connection.
        replayable: bool,
    },
    /// A Kafka topic, read from its earliest offset.
    Kafka {
        /// The bootstrap brokers, `host:port` (comma-separated).
        brokers: String,
        /// The topic.
        topic: String,
    },
}

/// The job's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The input.
    pub input: Input,
    /// Output directory (local or `hdfs://`).
    pub output: String,
    /// Batch interval.
    pub batch: Duration,
    /// Worker threads.
    pub threads: usize,
    /// Checkpoint interval (default: Spark's, about 10 s).
    pub checkpoint_interval: Option<Duration>,
    /// Receivers keep a write-ahead log.
    pub write_ahead_log: bool,
}

/// Builds the job (the `create` function of `get_or_create`).
pub fn build(s: &Settings) -> StreamingContext {
    let mut ssc = StreamingContext::new(s.batch)
        .with_threads(s.threads)
        .with_name("recoverable_wordcount")
        .with_write_ahead_log(s.write_ahead_log);
    if let Some(i) = s.checkpoint_interval {
        ssc = ssc.with_checkpoint_interval(i);
    }
    let lines = match &s.input {
        Input::Dir(dir) => ssc.text_file_stream(dir),
        Input::Socket { addr, replayable } => {
            ssc.socket_text_stream_with(&addr.host, addr.port, SocketOptions { replayable: *replayable })
        }
        Input::Kafka { brokers, topic } => {
            let options = KafkaOptions { starting_offsets: StartingOffsets::Earliest, ..KafkaOptions::default() };
            ssc.kafka_text_stream(brokers, &[topic], options)
        }
    };
    let counts =
        lines.flat_map(|line| line.split(' ')).filter(|w| !w.is_empty()).map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b);
    counts.clone().save_as_text_files(&format!("{}/counts", s.output), "");
    counts
        .running_reduce_by_key(|a, b| a + b)
        .state_snapshots()
        .save_as_text_files(&format!("{}/totals", s.output), "");
    ssc
}

/// The job recovered from `checkpoint` when it holds a checkpoint, else built fresh.
pub fn get_or_create(checkpoint: &str, s: &Settings) -> Result<StreamingContext, StreamingError> {
    StreamingContext::get_or_create(checkpoint, || build(s))
}
