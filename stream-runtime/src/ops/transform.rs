use super::union::{check_same_slide, parents_at};
use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::{BatchError, StreamingError};
use crate::node::{Env, Node, NodeRef};
use crate::time::Time;
use crate::DStream;

struct Transform<T, F>(Vec<NodeRef<T>>, F);

impl<T: Data, U: Data, F: Fn(Vec<Batch<T>>, Time) -> Batch<U> + Send + Sync> Node<U> for Transform<T, F> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<U>>, BatchError> {
        Ok(Some((self.1)(parents_at(&self.0, t, env, "transform")?, t)))
    }
}

struct TransformWith<T, U, F>(NodeRef<T>, NodeRef<U>, F);

impl<T: Data, U: Data, V: Data, F> Node<V> for TransformWith<T, U, F>
where
    F: Fn(Batch<T>, Batch<U>, Time) -> Batch<V> + Send + Sync,
{
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<V>>, BatchError> {
        let a = self.0.require(t, env, "transform")?;
        let b = self.1.require(t, env, "transform")?;
        Ok(Some((self.2)(a, b, t)))
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Applies an arbitrary batch-to-batch function, given the batch time (Spark's
    /// `transform`).
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
        let node = self.into_node();
        let slide = node.slide();
        let g = move |mut b: Vec<Batch<T>>, t| f(b.pop().unwrap_or_default(), t);
        DStream::from_node(ctx, NodeRef::new(Transform(vec![node], g), slide))
    }

    /// Applies a function to the batches of this stream and `other` at the same time (Spark's
    /// `transformWith`).
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
        let ctx = self.ctx;
        check_same_slide(ctx, [self.slide_duration(), other.slide_duration()]);
        let (a, b) = (self.into_node(), other.into_node());
        let slide = a.slide();
        DStream::from_node(ctx, NodeRef::new(TransformWith(a, b, f), slide))
    }
}

impl StreamingContext {
    /// Applies a function to the batches of several streams at the same time (Spark's
    /// `ssc.transform`).
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1]], 1, |s| {
    ///     let ctx = s.context();
    ///     let doubled = s.clone().map(|x| x * 2).boxed();
    ///     ctx.transform(vec![s, doubled], |batches, _t| batches.into_iter().rev().reduce(|a, b| a.union(b)).unwrap_or_default())
    /// });
    /// assert_eq!(out, vec![vec![2, 1]]);
    /// ```
    pub fn transform<'a, T: Data, U: Data, F>(&'a self, streams: Vec<DStream<'a, T>>, f: F) -> DStream<'a, U>
    where
        F: Fn(Vec<Batch<T>>, Time) -> Batch<U> + Send + Sync + 'static,
    {
        if streams.is_empty() {
            self.record_error(StreamingError::EmptyStreamList("transform"));
        }
        let nodes: Vec<NodeRef<T>> = streams.into_iter().map(DStream::into_node).collect();
        check_same_slide(self, nodes.iter().map(NodeRef::slide));
        let slide = nodes.first().map_or(self.batch_duration(), NodeRef::slide);
        DStream::from_node(self, NodeRef::new(Transform(nodes, f), slide))
    }
}
