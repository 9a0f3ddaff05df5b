use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::StreamingError;
use crate::node::NodeRef;
use crate::DStream;

fn union_of<'a, T: Data>(ctx: &'a StreamingContext, parents: Vec<NodeRef<T>>) -> DStream<'a, T> {
    ctx.nary(parents, "unifying", |batches, _| Ok(batches.into_iter().reduce(Batch::union)))
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
        union_of(ctx, vec![self.into_node("union"), other.into_node("union")])
    }
}

impl StreamingContext {
    /// The union of several streams of the same type and slide (Spark's `ssc.union`); an empty
    /// list is an error at `start`. Streams built in different ways go in one `Vec` once
    /// [erased](DStream::erased), which costs no pass (a window is erased already).
    ///
    /// ```
    /// use stream_runtime::Duration;
    /// let out = stream_runtime::testing::run(vec![vec![1]], 1, |s| {
    ///     let ctx = s.context();
    ///     let window = s.clone().window_of(Duration::seconds(2));
    ///     ctx.union(vec![s.clone().erased(), s.clone().map(|x| x + 4).erased(), s.filter(|x| *x > 0).map(|x| x + 8).erased(), window])
    /// });
    /// assert_eq!(out, vec![vec![1, 5, 9, 1]]);
    /// ```
    pub fn union<'a, T: Data, C: Chain<Out = T>>(&'a self, streams: Vec<DStream<'a, T, C>>) -> DStream<'a, T> {
        if streams.is_empty() {
            self.record_error(StreamingError::EmptyStreamList("union"));
        }
        union_of(self, streams.into_iter().map(|s| s.into_node("union")).collect())
    }
}
