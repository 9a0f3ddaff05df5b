use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::Output;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, NodeRef};
use crate::time::Time;
use crate::DStream;

/// An output running `f` on each batch the stream has (none at times it has no batch, as
/// Spark's `foreachRDD`).
pub(crate) struct ForEach<T, F> {
    pub(crate) node: NodeRef<T>,
    pub(crate) f: F,
    pub(crate) name: String,
}

impl<T: Data, F: Fn(Batch<T>, Time) -> Result<(), BatchError> + Send + Sync> Output for ForEach<T, F> {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn run(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        match self.node.get(t, env)? {
            Some(batch) => (self.f)(batch, t),
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

    /// Registers an output operation named `name`.
    pub(crate) fn output<F>(self, name: String, f: F)
    where
        F: Fn(Batch<T>, Time) -> Result<(), BatchError> + Send + Sync + 'static,
    {
        let ctx = self.ctx;
        let node = self.into_node();
        ctx.add_output(Box::new(ForEach { node, f, name }));
    }
}
