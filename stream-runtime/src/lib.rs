//! # Sluice
//!
//! Spark Streaming's discretized-stream model (micro-batches, windows, per-key state) in Rust.
//! A job builds a graph of typed, lazy [`DStream`]s on a [`StreamingContext`], registers
//! output operations and starts it; every batch interval the engine cuts a batch from each
//! source and runs the graph over it on a pool of worker threads. Narrow transformations fuse
//! into one loop per partition; keyed reductions combine on the map side in that same loop.
//!
//! ```
//! use stream_runtime::prelude::*;
//!
//! // Word count over batches given by the test kit (two batches, two threads).
//! let out = stream_runtime::testing::run(
//!     vec![vec![Str::from("to be or not to be")], vec![]],
//!     2,
//!     |lines| {
//!         lines
//!             .flat_map(|line| line.split(' '))
//!             .map(|word| (word, 1))
//!             .reduce_by_key(|a, b| a + b)
//!             .filter(|(_, n)| *n > 1)
//!     },
//! );
//! let mut first = out[0].clone();
//! first.sort();
//! assert_eq!(first, vec![(Str::from("be"), 2), (Str::from("to"), 2)]);
//! assert!(out[1].is_empty());
//! ```
#![deny(missing_docs)]
// Unsafe code is allowed only where a function says so and a `SAFETY` comment says what it
// relies on: `Str::as_str` (str.rs), `prefetch` (shuffle.rs), `ReadBuf` (fs/buf.rs), the
// huge-page allocator `Huge` (huge.rs) and `newline_mask` (sources/lines.rs).
#![deny(unsafe_code)]

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod args;
mod batch;
mod batch_ops;
pub mod chain;
pub mod checkpoint;
mod clock;
pub mod cluster;
mod context;
mod data;
mod dataset;
mod error;
mod executor;
pub mod fs;
#[cfg_attr(not(any(feature = "ui", feature = "cluster")), allow(dead_code))]
mod heap;
mod huge;
pub mod job;
mod metrics;
mod node;
mod ops;
mod outputs;
mod rate;
#[cfg_attr(not(any(feature = "ui", feature = "cluster")), allow(dead_code))]
mod report;
mod running;
mod settings;
mod show;
mod shuffle;
#[cfg(feature = "cli")]
mod signals;
mod sources;
mod stage;
mod state;
mod str;
mod stream;
pub mod testing;
mod time;
#[cfg(feature = "ui")]
pub mod ui;
mod window;

pub use batch::Batch;
pub use batch_ops::{JoinSide, BROADCAST_BELOW};
pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{Conf, StreamingContext, DEFAULT_MAX_LINE_BYTES};
pub use data::{Data, FastHasher, FastMap, Key, Persist};
pub use dataset::{Dataset, DatasetError};
pub use error::{BatchError, StreamingError};
pub use job::{Printed, Simulated, Simulation, StreamJob};
pub use metrics::{BatchInfo, InputDetail, InputStatus, KafkaRange, OutputOpInfo, SourceStats};
pub use node::Env;
pub use ops::remember::Remembered;
pub use ops::CoGrouped;
pub use outputs::{format_batch, read_object_files, ObjectFileError, OBJECT_FILE_MAGIC};
pub use running::RunningContext;
pub use settings::{Explained, SettingsError};
pub use show::Show;
pub use shuffle::{HashPartitioner, Partitioner};
pub use sources::{BatchQueue, FileStreamOptions, Receiver, RecordReader, SocketOptions, Supervisor};
#[cfg(feature = "kafka")]
pub use sources::{
    KafkaClient, KafkaError, KafkaFailures, KafkaOptions, KafkaRecord, OffsetRange, OffsetReset, StartingOffsets,
};
pub use state::{Snapshot, State, StateError, StateSpec, StateSpecFor, StateStream};
pub use str::{Split, SplitWhitespace, Str};
pub use stream::DStream;
pub use stream_macros::stream_job;
pub use time::{Duration, ParseDurationError, Time};

/// The types a job needs: `use stream_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::{stream_job, Batch, BatchQueue, DStream, Dataset, Duration, Show, Str, StreamingContext, Time};
}
