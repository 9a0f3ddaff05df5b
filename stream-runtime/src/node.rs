//! The graph's nodes: each computes an optional batch for a batch time, memoized when shared.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::batch::Batch;
use crate::data::Data;
use crate::error::BatchError;
use crate::time::{Duration, Time};

/// What a node needs to know about the running job when it computes a batch.
#[derive(Debug, Clone)]
pub struct Env {
    /// The time before the first batch (Spark's `zeroTime`).
    pub zero: Time,
    /// The batch interval.
    pub batch: Duration,
    /// Default number of partitions for shuffles (the thread count, as Spark's
    /// `defaultParallelism`).
    pub parallelism: usize,
    /// The other processes when the job runs as a cluster ([`crate::cluster`]); `None` in one
    /// process.
    pub peers: Option<std::sync::Arc<dyn crate::cluster::Peers>>,
}

impl Env {
    /// Whether a stream with slide `slide` produces a batch at `t` (Spark's `isTimeValid`).
    pub fn is_valid(&self, t: Time, slide: Duration) -> bool {
        t > self.zero && (t - self.zero).is_multiple_of(slide)
    }
}

/// A computation producing the batch of one stream at time `t`; `None` means "no batch at this
/// time" (Spark's `None` RDD), which differs from an empty batch. An error fails the batch of
/// the output (or stateful operation) that asked for it; a panic is a user function's.
pub(crate) trait Node<T>: Send + Sync {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError>;

    /// The node got its first consumer. A node that subscribes to its parent only once it is
    /// read (an erased stream's view of its parent) does it here, so that a node nothing
    /// reads leaves its parent no consumer to wait for.
    fn subscribed(&self) {}
}

struct Memo<T> {
    time: Time,
    batch: Option<Batch<T>>,
    remaining: usize,
}

struct Cell<T> {
    node: Box<dyn Node<T>>,
    slide: Duration,
    consumers: AtomicUsize,
    memo: Mutex<Option<Memo<T>>>,
    /// What the plan calls the stream (`input 1`, `reduce_by_key (stage 2)`).
    label: std::sync::OnceLock<String>,
}

/// A shared handle to a node. Consumers subscribe when they are built; a node with several
/// consumers computes each batch once and hands out copies (the last consumer gets the original).
pub(crate) struct NodeRef<T> {
    cell: Arc<Cell<T>>,
}

impl<T> Clone for NodeRef<T> {
    fn clone(&self) -> Self {
        NodeRef { cell: Arc::clone(&self.cell) }
    }
}

impl<T: Data> NodeRef<T> {
    pub(crate) fn new(node: impl Node<T> + 'static, slide: Duration) -> Self {
        NodeRef {
            cell: Arc::new(Cell {
                node: Box::new(node),
                slide,
                consumers: AtomicUsize::new(0),
                memo: Mutex::new(None),
                label: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Names the stream for the plan (the first name given stays).
    pub(crate) fn labelled(self, label: impl Into<String>) -> Self {
        let _ = self.cell.label.set(label.into());
        self
    }

    /// What the plan calls the stream.
    pub(crate) fn label(&self) -> String {
        self.cell.label.get().cloned().unwrap_or_else(|| "a stream".to_string())
    }

    /// The slide duration of the stream this node computes.
    pub(crate) fn slide(&self) -> Duration {
        self.cell.slide
    }

    /// Registers one more consumer. Every node that reads this one calls it once when built.
    pub(crate) fn subscribe(&self) -> NodeRef<T> {
        if self.cell.consumers.fetch_add(1, Ordering::Relaxed) == 0 {
            self.cell.node.subscribed();
        }
        self.clone()
    }

    /// The batch at `t`, or `None` when the stream has no batch at `t`.
    pub(crate) fn get(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        if !env.is_valid(t, self.cell.slide) {
            return Ok(None);
        }
        let consumers = self.cell.consumers.load(Ordering::Relaxed);
        if consumers <= 1 {
            return self.cell.node.compute(t, env);
        }
        let mut memo = self.cell.memo.lock();
        match memo.as_mut() {
            Some(m) if m.time == t => {
                m.remaining = m.remaining.saturating_sub(1);
                if m.remaining == 0 {
                    Ok(memo.take().and_then(|m| m.batch))
                } else {
                    Ok(m.batch.clone())
                }
            }
            _ => {
                let batch = self.cell.node.compute(t, env)?;
                *memo = Some(Memo { time: t, batch: batch.clone(), remaining: consumers - 1 });
                Ok(batch)
            }
        }
    }

    /// The batch this stream, a parent of a `what` (`"unifying"`, `"transform"`) operation,
    /// must have at `t`: [`BatchError::MissingParentBatch`] when it has none.
    pub(crate) fn require(&self, t: Time, env: &Env, what: &'static str) -> Result<Batch<T>, BatchError> {
        self.get(t, env)?.ok_or(BatchError::MissingParentBatch { what, time: t })
    }
}
