use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::{BatchError, StreamingError};
use crate::node::{Env, Node, NodeRef};
use crate::time::Time;
use crate::DStream;

/// The batches of every parent at the same time, in parent order. A parent without a batch at
/// `t` fails the batch with [`BatchError::MissingParentBatch`] (Spark's message).
pub(crate) fn parents_at<T: Data>(
    parents: &[NodeRef<T>],
    t: Time,
    env: &Env,
    what: &'static str,
) -> Result<Vec<Batch<T>>, BatchError> {
    parents.iter().map(|p| p.require(t, env, what)).collect()
}

/// Records a validation error unless all `slides` are equal.
pub(crate) fn check_same_slide(ctx: &StreamingContext, slides: impl IntoIterator<Item = crate::Duration>) {
    let mut slides = slides.into_iter();
    if let Some(first) = slides.next() {
        if let Some(other) = slides.find(|s| *s != first) {
            ctx.record_error(StreamingError::DifferentSlideDurations { left: first, right: other });
        }
    }
}

struct Union<T>(Vec<NodeRef<T>>);

impl<T: Data> Node<T> for Union<T> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        Ok(parents_at(&self.0, t, env, "unifying")?.into_iter().reduce(Batch::union))
    }
}

fn union_of<'a, T: Data>(ctx: &'a StreamingContext, parents: Vec<NodeRef<T>>) -> DStream<'a, T> {
    check_same_slide(ctx, parents.iter().map(NodeRef::slide));
    let slide = parents.first().map_or(ctx.batch_duration(), NodeRef::slide);
    DStream::from_node(ctx, NodeRef::new(Union(parents), slide))
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// The records of both streams at each batch time (this stream's partitions first).
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1, 2]], 1, |s| s.clone().union(s.map(|x| x + 4)));
    /// assert_eq!(out, vec![vec![1, 2, 5, 6]]);
    /// ```
    pub fn union<C2: Chain<Out = T>>(self, other: DStream<'a, T, C2>) -> DStream<'a, T> {
        let ctx = self.ctx;
        union_of(ctx, vec![self.into_node(), other.into_node()])
    }
}

impl StreamingContext {
    /// The union of several streams of the same type and slide (Spark's `ssc.union`); an empty
    /// list is an error at `start`.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1]], 1, |s| {
    ///     let ctx = s.context();
    ///     ctx.union(vec![s.clone(), s.clone().map(|x| x + 4).boxed(), s.map(|x| x + 8).boxed()])
    /// });
    /// assert_eq!(out, vec![vec![1, 5, 9]]);
    /// ```
    pub fn union<'a, T: Data>(&'a self, streams: Vec<DStream<'a, T>>) -> DStream<'a, T> {
        if streams.is_empty() {
            self.record_error(StreamingError::EmptyStreamList("union"));
        }
        union_of(self, streams.into_iter().map(DStream::into_node).collect())
    }
}
