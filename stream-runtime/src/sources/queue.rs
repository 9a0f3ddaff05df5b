use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use super::{register, Allocated, Source};
use crate::batch::Batch;
use crate::context::{Input, StreamingContext};
use crate::data::Data;
use crate::error::BatchError;
use crate::node::Env;
use crate::time::Time;
use crate::DStream;

/// A queue of batches feeding a [`queue_stream`](StreamingContext::queue_stream). Cloning it
/// gives another handle to the same queue, so a test or a producer thread can keep pushing
/// while the job runs.
///
/// ```
/// use stream_runtime::BatchQueue;
/// let q = BatchQueue::new();
/// q.push(vec![1, 2, 3]);
/// assert_eq!(q.len(), 1);
/// ```
#[derive(Debug)]
pub struct BatchQueue<T> {
    inner: Arc<Mutex<VecDeque<Batch<T>>>>,
}

impl<T> Clone for BatchQueue<T> {
    fn clone(&self) -> Self {
        BatchQueue { inner: Arc::clone(&self.inner) }
    }
}

impl<T> Default for BatchQueue<T> {
    fn default() -> Self {
        BatchQueue { inner: Arc::default() }
    }
}

impl<T> BatchQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a batch.
    pub fn push(&self, batch: impl Into<Batch<T>>) {
        self.inner.lock().push_back(batch.into());
    }

    /// Number of queued batches.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether no batch is queued.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().is_empty()
    }
}

struct QueueSource<T> {
    queue: BatchQueue<T>,
    one_at_a_time: bool,
    default: Option<Batch<T>>,
    allocated: Allocated<Batch<T>>,
}

impl<T: Data> Input for QueueSource<T> {
    fn name(&self) -> String {
        "queue_stream".into()
    }

    /// In a cluster each process's queue is its own share of the input (what the job pushes
    /// into it in that process).
    fn read_by_every_process(&self) -> bool {
        true
    }
    fn allocate(&self, t: Time) -> u64 {
        let taken = {
            let mut q = self.queue.inner.lock();
            if self.one_at_a_time {
                q.pop_front()
            } else {
                q.drain(..).reduce(Batch::union)
            }
        };
        let batch = taken.or_else(|| self.default.clone()).unwrap_or_default();
        let n = batch.len() as u64;
        self.allocated.put(t, batch);
        n
    }
}

impl<T: Data> Source<T> for QueueSource<T> {
    fn take(&self, t: Time, _env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        Ok(Some(self.allocated.take(t).unwrap_or_default()))
    }
}

impl StreamingContext {
    /// A stream fed from a queue of batches (Spark's `queueStream`): each batch interval takes
    /// one queued batch (`one_at_a_time`) or all of them, else `default`, else an empty batch.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::millis(20));
    /// let q = BatchQueue::new();
    /// q.push(vec![1, 2]);
    /// ssc.queue_stream(q, false, Some(vec![0])).print();
    /// ```
    pub fn queue_stream<T: Data>(
        &self,
        queue: BatchQueue<T>,
        one_at_a_time: bool,
        default: Option<Vec<T>>,
    ) -> DStream<'_, T> {
        let default = default.map(Batch::from);
        register(self, QueueSource { queue, one_at_a_time, default, allocated: Allocated::default() })
    }
}
