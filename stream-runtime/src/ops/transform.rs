use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::{BatchError, StreamingError};
use crate::time::Time;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Applies an arbitrary batch-to-batch function, given the batch time (Spark's
    /// `transform`).
    ///
    /// In a cluster, `f` runs on every process with that process's partitions of the batch,
    /// not the whole batch: a function that needs the whole batch (a sort, a global top-k)
    /// sees only its share. Nothing crosses processes here.
    ///
    /// ```
    /// use stream_runtime::Batch;
    /// let out = stream_runtime::testing::run(vec![vec![3, 1, 2]], 1, |s| {
    ///     s.transform(|batch, time| {
    ///         let mut v = batch.into_vec();
    ///         v.sort();
    ///         Batch::from(v.into_iter().map(|x| (x, time.as_millis())).collect::<Vec<_>>())
    ///     })
    /// });
    /// assert_eq!(out, vec![vec![(1, 1000), (2, 1000), (3, 1000)]]);
    /// ```
    pub fn transform<U: Data, F>(self, f: F) -> DStream<'a, U>
    where
        F: Fn(Batch<T>, Time) -> Batch<U> + Send + Sync + 'static,
    {
        let ctx = self.ctx;
        ctx.nary(vec![self.into_node("transform")], "transform", move |mut b, t| {
            Ok(Some(f(b.pop().unwrap_or_default(), t)))
        })
    }

    /// Applies a function to the batches of this stream and `other` at the same time (Spark's
    /// `transformWith`). In a cluster, on each process's partitions (see
    /// [`transform`](Self::transform)).
    ///
    /// ```
    /// let out = stream_runtime::testing::run2(vec![vec![1, 2]], vec![vec![10]], 1, |a, b| {
    ///     a.transform_with(b, |x, y, _time| x.union(y))
    /// });
    /// assert_eq!(out, vec![vec![1, 2, 10]]);
    /// ```
    pub fn transform_with<U: Data, V: Data, C2: Chain<Out = U>, F>(
        self,
        other: DStream<'a, U, C2>,
        f: F,
    ) -> DStream<'a, V>
    where
        F: Fn(Batch<T>, Batch<U>, Time) -> Batch<V> + Send + Sync + 'static,
    {
        self.binary("transform_with", other, move |a, b, t, env| {
            let missing = || BatchError::MissingParentBatch { what: "transform", time: t };
            let a = a.collect(t, env)?.ok_or_else(missing)?;
            let b = b.collect(t, env)?.ok_or_else(missing)?;
            Ok(Some(f(a, b, t)))
        })
    }
}

impl StreamingContext {
    /// Applies a function to the batches of several streams at the same time (Spark's
    /// `ssc.transform`). In a cluster, on each process's partitions (see
    /// [`DStream::transform`]). Streams built in different ways go in one `Vec` once
    /// [erased](DStream::erased), which costs no pass.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1]], 1, |s| {
    ///     let ctx = s.context();
    ///     let doubled = s.clone().map(|x| x * 2).erased();
    ///     ctx.transform(vec![s.erased(), doubled], |batches, _t| batches.into_iter().rev().reduce(|a, b| a.union(b)).unwrap_or_default())
    /// });
    /// assert_eq!(out, vec![vec![2, 1]]);
    /// ```
    pub fn transform<'a, T: Data, U: Data, C: Chain<Out = T>, F>(
        &'a self,
        streams: Vec<DStream<'a, T, C>>,
        f: F,
    ) -> DStream<'a, U>
    where
        F: Fn(Vec<Batch<T>>, Time) -> Batch<U> + Send + Sync + 'static,
    {
        if streams.is_empty() {
            self.record_error(StreamingError::EmptyStreamList("transform"));
        }
        let nodes = streams.into_iter().map(|s| s.into_node("transform")).collect();
        self.nary(nodes, "transform", move |batches, t| Ok(Some(f(batches, t))))
    }
}
