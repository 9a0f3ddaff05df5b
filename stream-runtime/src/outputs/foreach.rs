use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::Output;
use crate::data::{Data, Persist};
use crate::error::BatchError;
use crate::node::{Env, NodeRef};
use crate::ops::gather_batch;
use crate::shuffle::Exchanges;
use crate::time::Time;
use crate::DStream;

/// An output running `f` on each batch the stream has (none at times it has no batch, as
/// Spark's `foreachRDD`).
pub(crate) struct ForEach<T, F> {
    pub(crate) node: NodeRef<T>,
    pub(crate) f: F,
    pub(crate) name: String,
}

impl<T: Data, F: Fn(Batch<T>, Time, &Env) -> Result<(), BatchError> + Send + Sync> Output for ForEach<T, F> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn run(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        match self.node.get(t, env)? {
            Some(batch) => (self.f)(batch, t, env),
            None => Ok(()),
        }
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Registers an output that hands each batch and its time to `f` (Spark's `foreachRDD`).
    /// Output operations run in registration order; batches in time order.
    ///
    /// The batch time identifies the batch across restarts, so a sink that keys its writes by
    /// it is idempotent.
    ///
    /// In a cluster, `f` runs on every process with that process's partitions of the batch
    /// (the keys it owns after a shuffle, its share of the input otherwise): nothing crosses
    /// processes, so it costs what it costs in one process, and a sink written per partition
    /// scales with the cluster. Use
    /// [`foreach_batch_gathered`](Self::foreach_batch_gathered) to see the whole batch in one
    /// place.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use stream_runtime::prelude::*;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&seen);
    /// stream_runtime::testing::Harness::new(2).run(vec![vec![1, 2], vec![3]], move |s| {
    ///     s.foreach_batch(move |batch, time| sink.lock().unwrap().push((time.as_millis(), batch.len())));
    /// });
    /// assert_eq!(*seen.lock().unwrap(), vec![(1000, 2), (2000, 1)]);
    /// ```
    pub fn foreach_batch<F>(self, f: F)
    where
        F: Fn(Batch<T>, Time) + Send + Sync + 'static,
    {
        self.output("foreach_batch".into(), move |b, t| {
            f(b, t);
            Ok(())
        })
    }

    /// Registers an output that hands each whole batch and its time to `f` on process 0 only.
    /// In one process it is [`foreach_batch`](Self::foreach_batch). In a cluster, every
    /// process sends its partitions to process 0 (so records are [`Persist`]), which runs `f`
    /// with one partition per process that had records, in process order; the other processes
    /// run nothing. It costs encoding and sending the whole batch to one process, and that
    /// process's memory for it: use it for small batches (results of aggregations), and
    /// `foreach_batch` for large ones.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let sink = Arc::clone(&seen);
    /// stream_runtime::testing::Harness::new(2).run(vec![vec![1, 2], vec![3]], move |s| {
    ///     s.foreach_batch_gathered(move |batch, _| sink.lock().unwrap().push(batch.into_vec()));
    /// });
    /// assert_eq!(*seen.lock().unwrap(), vec![vec![1, 2], vec![3]]);
    /// ```
    pub fn foreach_batch_gathered<F>(self, f: F)
    where
        T: Persist,
        F: Fn(Batch<T>, Time) + Send + Sync + 'static,
    {
        let ex = Exchanges::new(self.ctx);
        self.output_env("foreach_batch_gathered".into(), move |b, t, env| {
            if let Some(all) = gather_batch(b, &ex, t, env)? {
                f(all, t);
            }
            Ok(())
        })
    }

    /// Registers an output operation named `name`.
    pub(crate) fn output<F>(self, name: String, f: F)
    where
        F: Fn(Batch<T>, Time) -> Result<(), BatchError> + Send + Sync + 'static,
    {
        self.output_env(name, move |b, t, _| f(b, t))
    }

    /// Registers an output operation named `name` that sees the environment (to exchange).
    pub(crate) fn output_env<F>(self, name: String, f: F)
    where
        F: Fn(Batch<T>, Time, &Env) -> Result<(), BatchError> + Send + Sync + 'static,
    {
        let ctx = self.ctx;
        let node = self.into_node(&name);
        let from = node.label();
        ctx.add_output(Box::new(ForEach { node, f, name }), from);
    }
}
