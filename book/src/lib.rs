//! The Sluice book (mdBook sources in this directory), compiled so that every chapter's Rust
//! code runs as a doctest: `cargo test -p book --doc`.
#![forbid(unsafe_code)]

#[doc = include_str!("../../README.md")]
mod readme {}

#[doc = include_str!("introduction.md")]
mod introduction {}

#[doc = include_str!("engine.md")]
mod engine {}

#[doc = include_str!("testing.md")]
mod testing {}

#[doc = include_str!("stream-job.md")]
mod stream_job {}

#[doc = include_str!("windows-and-state.md")]
mod windows_and_state {}

#[doc = include_str!("hdfs.md")]
mod hdfs {}

#[doc = include_str!("fault-tolerance.md")]
mod fault_tolerance {}

#[doc = include_str!("kafka.md")]
mod kafka {}

#[doc = include_str!("cluster.md")]
mod cluster {}

#[doc = include_str!("monitoring.md")]
mod monitoring {}

#[doc = include_str!("divergences.md")]
mod divergences {}

#[doc = include_str!("performance.md")]
mod performance {}

#[doc = include_str!("spark-comparison.md")]
mod spark_comparison {}
