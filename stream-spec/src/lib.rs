//! What both `#[stream_job]` (through `stream-lang`) and the engine (`stream-runtime`) know of
//! Sluice, kept in one place so they cannot drift apart:
//!
//! - [`ops`]: the registry of every public operator of `StreamingContext`, `DStream` and
//!   `StateStream`, each with what it does to a job's plan (narrow, shuffle, window, state
//!   that needs a checkpoint, source, output) and how `--explain` describes it. The macro
//!   lowers jobs with it; a test of the workspace (`tests/it/registry.rs`) reads the engine's
//!   sources and fails when a public operator is missing from it or classed wrongly.
//! - [`duration`]: the duration syntax (`500ms`, `2s`, `1.5m`) of the attribute's `batch` and
//!   of the command line's `--batch` and `--duration`.
//! - [`COMMON_OPTIONS`]: the options of every job's command line.
//!
//! ```
//! use stream_spec::{lookup, parse_duration_ms, Receiver};
//! let op = lookup(Receiver::DStream, "update_state_by_key").unwrap();
//! assert!(op.needs_checkpoint());
//! assert_eq!(parse_duration_ms("1.5s"), Ok(1500));
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod duration;
pub mod ops;

pub use duration::{parse_duration_ms, ParseDurationError, MAX_DURATION_MS};
pub use ops::{from_spark_name, lookup, Kind, Operator, Partitioning, Receiver, Returns, OPERATORS};

/// The long options every job's command line has (`--batch`, ...): a job's own options
/// (`#[opt]` parameters) cannot take these names. A test of `stream-runtime` keeps the list
/// equal to its command line.
///
/// ```
/// assert!(stream_spec::COMMON_OPTIONS.contains(&"batch"));
/// ```
pub const COMMON_OPTIONS: &[&str] = &[
    "batch",
    "threads",
    "master",
    "duration",
    "checkpoint",
    "explain",
    "ui",
    "ui-retained-batches",
    "processes",
    "process",
    "hosts",
    "local-cluster",
    "in-flight",
    "help",
    "version",
];
