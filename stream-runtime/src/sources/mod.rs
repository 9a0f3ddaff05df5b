//! Input streams: one file each. Every source fixes the data of a batch when the batch is
//! generated (`allocate`) and hands it over when the batch is processed.

mod file;
#[cfg(feature = "kafka")]
pub(crate) mod kafka;
mod lines;
mod queue;
mod receiver;
mod records;
mod socket;
pub(crate) mod vec;

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

pub use file::FileStreamOptions;
#[cfg(feature = "kafka")]
pub use kafka::{
    KafkaClient, KafkaError, KafkaFailures, KafkaOptions, KafkaRecord, OffsetRange, OffsetReset, StartingOffsets,
};
pub use queue::BatchQueue;
pub use receiver::{Receiver, Supervisor};
pub(crate) use records::split_lines;
pub use records::RecordReader;
pub use socket::SocketOptions;

use crate::batch::Batch;
use crate::context::{Input, StreamingContext};
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, Node, NodeRef};
use crate::time::Time;
use crate::DStream;

/// A source: an [`Input`] whose allocated batches a node hands out.
pub(crate) trait Source<T>: Input {
    /// The data allocated to batch `t`, taken once. In a cluster, a source that
    /// [`spreads`](Self::spreads) exchanges here, which can fail.
    fn take(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError>;

    /// In a cluster, for a source the driver alone reads (not
    /// [`read_by_every_process`](Input::read_by_every_process)): whether its records are dealt
    /// over the processes after reading (a receiver's: every process runs
    /// [`take`](Self::take), the driver's records are [`scatter`](crate::shuffle::scatter)ed),
    /// or stay on the driver (the other processes see empty batches).
    fn spreads(&self) -> bool {
        false
    }
}

struct SourceNode<S>(Arc<S>);

impl<T: Data, S: Source<T> + 'static> Node<T> for SourceNode<S> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        // In a cluster, what the driver alone receives and does not spread is in the driver's
        // batches only.
        let received_elsewhere = env.peers.as_ref().is_some_and(|p| p.process() != 0)
            && !self.0.read_by_every_process()
            && !self.0.spreads();
        if received_elsewhere {
            return Ok(Some(Batch::empty()));
        }
        self.0.take(t, env)
    }
}

/// Registers `source` as an input of `ctx` and returns its stream.
pub(crate) fn register<T: Data, S: Source<T> + 'static>(ctx: &StreamingContext, source: S) -> DStream<'_, T> {
    let source = Arc::new(source);
    let label = ctx.add_input(source.clone());
    DStream::from_node(ctx, NodeRef::new(SourceNode(source), ctx.batch_duration()).labelled(label))
}

/// Data allocated to batches and not yet processed, by batch time.
pub(crate) struct Allocated<D> {
    by_time: Mutex<BTreeMap<Time, D>>,
}

impl<D> Default for Allocated<D> {
    fn default() -> Self {
        Allocated { by_time: Mutex::new(BTreeMap::new()) }
    }
}

impl<D> Allocated<D> {
    pub(crate) fn put(&self, t: Time, d: D) {
        self.by_time.lock().insert(t, d);
    }

    /// The data of `t`, left in place.
    pub(crate) fn get(&self, t: Time) -> Option<D>
    where
        D: Clone,
    {
        self.by_time.lock().get(&t).cloned()
    }

    /// What `f` makes of the data of `t`, left in place; `None` when there is none.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn with<R>(&self, t: Time, f: impl FnOnce(&D) -> R) -> Option<R> {
        self.by_time.lock().get(&t).map(f)
    }

    /// Takes the data of `t`, dropping older data nobody took (batches run in time order).
    pub(crate) fn take(&self, t: Time) -> Option<D> {
        let mut map = self.by_time.lock();
        let mut later = map.split_off(&t);
        let d = later.remove(&t);
        *map = later;
        d
    }
}
