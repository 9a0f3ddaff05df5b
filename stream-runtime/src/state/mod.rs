//! Per-key state across batches: `update_state_by_key` (Spark's shape: the update function
//! sees every key every batch), `running_reduce_by_key` (incremental: only keys with new
//! data are touched) and `map_with_state` (Spark's `mapWithState`, with timeouts kept in a
//! timer so only keys with records or a due timeout are touched).
//!
//! The incremental operators return a [`StateStream`], which gives the per-batch output
//! ([`StateStream::mapped`]) and three views of the state after each batch: a copy as a stream
//! ([`StateStream::state_snapshots`], Spark's `stateSnapshots`, O(state) per batch), a
//! borrowed view handed to an output ([`StateStream::foreach_snapshot`], no copy) and
//! [`StateStream::print_state`], which formats the first records without copying the state.
//!
//! Every stateful operation needs a checkpoint directory (as in Spark); the state containers
//! are `serde`-serializable for checkpoints.

mod cell;
mod map_with_state;
mod running_reduce_by_key;
mod spec;
mod store;
mod update_state_by_key;
mod value;
mod values;

pub use cell::StateStream;
pub use spec::{StateSpec, StateSpecFor};
pub use store::Snapshot;
pub use value::{State, StateError};
