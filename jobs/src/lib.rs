//! Sluice's example jobs, each the counterpart of a Spark Streaming example. The job logic
//! lives here so tests and benchmarks can import it; `src/bin/` holds thin mains.
#![forbid(unsafe_code)]

pub mod cluster_check;
pub mod file_wordcount;
pub mod hdfs_wordcount;
pub mod kafka_wordcount;
pub mod network_wordcount;
pub mod recoverable_wordcount;
pub mod stateful_network_wordcount;
pub mod windowed_network_wordcount;
