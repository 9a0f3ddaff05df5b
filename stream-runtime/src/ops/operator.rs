//! The one node builder of the wide operators (timely's `unary` / `binary`): an operator
//! gives the function that makes its batch at time `t` from its upstream (the parent node and
//! the fused chain of narrow operations after it), and the builder subscribes to the parents,
//! checks that several inputs share a slide, and registers the node at the parents' slide.

use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::{BatchError, StreamingError};
use crate::node::{Env, Node, NodeRef};
use crate::stream::Upstream;
use crate::time::Time;
use crate::DStream;

struct Unary<C: Chain, F> {
    up: Upstream<C>,
    compute: F,
}

impl<C: Chain, O, F> Node<O> for Unary<C, F>
where
    F: Fn(&Upstream<C>, Time, &Env) -> Result<Option<Batch<O>>, BatchError> + Send + Sync,
{
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<O>>, BatchError> {
        (self.compute)(&self.up, t, env)
    }
}

struct Binary<L: Chain, R: Chain, F> {
    left: Upstream<L>,
    right: Upstream<R>,
    compute: F,
}

impl<L: Chain, R: Chain, O, F> Node<O> for Binary<L, R, F>
where
    F: Fn(&Upstream<L>, &Upstream<R>, Time, &Env) -> Result<Option<Batch<O>>, BatchError> + Send + Sync,
{
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<O>>, BatchError> {
        (self.compute)(&self.left, &self.right, t, env)
    }
}

struct Nary<T, F> {
    parents: Vec<NodeRef<T>>,
    what: &'static str,
    compute: F,
}

impl<T: Data, O, F> Node<O> for Nary<T, F>
where
    F: Fn(Vec<Batch<T>>, Time) -> Result<Option<Batch<O>>, BatchError> + Send + Sync,
{
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<O>>, BatchError> {
        (self.compute)(parents_at(&self.parents, t, env, self.what)?, t)
    }
}

/// The batches of every parent at the same time, in parent order. A parent without a batch at
/// `t` fails the batch with [`BatchError::MissingParentBatch`] (Spark's message).
///
/// Parents are computed one after the other, never concurrently: in a cluster a parent may
/// exchange with the other processes, and every process must make its exchanges in the same
/// order without its worker threads all waiting in exchanges at once.
fn parents_at<T: Data>(
    parents: &[NodeRef<T>],
    t: Time,
    env: &Env,
    what: &'static str,
) -> Result<Vec<Batch<T>>, BatchError> {
    parents.iter().map(|p| p.require(t, env, what)).collect()
}

/// Records a validation error unless all `slides` are equal.
fn check_same_slide(ctx: &StreamingContext, slides: impl IntoIterator<Item = crate::Duration>) {
    let mut slides = slides.into_iter();
    if let Some(first) = slides.next() {
        if let Some(other) = slides.find(|s| *s != first) {
            ctx.record_error(StreamingError::DifferentSlideDurations { left: first, right: other });
        }
    }
}

impl StreamingContext {
    /// An operator over the batches of `parents` at the same time (union, transform), which
    /// must share a slide: its batch at `t` is `compute(batches, t)`. A parent without a batch
    /// at `t` fails the batch with [`BatchError::MissingParentBatch`] for `what`.
    pub(crate) fn nary<T: Data, O: Data, F>(
        &self,
        parents: Vec<NodeRef<T>>,
        what: &'static str,
        compute: F,
    ) -> DStream<'_, O>
    where
        F: Fn(Vec<Batch<T>>, Time) -> Result<Option<Batch<O>>, BatchError> + Send + Sync + 'static,
    {
        check_same_slide(self, parents.iter().map(NodeRef::slide));
        let slide = parents.first().map_or(self.batch_duration(), NodeRef::slide);
        let label = format!("{what} of {}", parents.iter().map(NodeRef::label).collect::<Vec<_>>().join(", "));
        DStream::from_node(self, NodeRef::new(Nary { parents, what, compute }, slide).labelled(label))
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// A wide operator `what` on this stream: its batch at `t` is `compute(upstream, t, env)`,
    /// at this stream's slide.
    pub(crate) fn unary<O: Data, F>(self, what: &'static str, compute: F) -> DStream<'a, O>
    where
        F: Fn(&Upstream<C>, Time, &Env) -> Result<Option<Batch<O>>, BatchError> + Send + Sync + 'static,
    {
        let (ctx, up, stage) = self.upstream(what);
        let slide = up.slide();
        DStream::from_node(ctx, NodeRef::new(Unary { up, compute }, slide).labelled(format!("{what} (stage {stage})")))
    }

    /// A wide operator `what` on this stream and `other`, which must have the same slide (else
    /// the context records Spark's error for `start` to report): its batch at `t` is
    /// `compute(left, right, t, env)`.
    pub(crate) fn binary<U: Data, C2: Chain<Out = U>, O: Data, F>(
        self,
        what: &'static str,
        other: DStream<'a, U, C2>,
        compute: F,
    ) -> DStream<'a, O>
    where
        F: Fn(&Upstream<C>, &Upstream<C2>, Time, &Env) -> Result<Option<Batch<O>>, BatchError> + Send + Sync + 'static,
    {
        check_same_slide(self.ctx, [self.slide_duration(), other.slide_duration()]);
        let (ctx, left, l) = self.upstream(what);
        let (_, right, r) = other.upstream(what);
        let slide = left.slide();
        let label = format!("{what} (stages {l}, {r})");
        DStream::from_node(ctx, NodeRef::new(Binary { left, right, compute }, slide).labelled(label))
    }
}
