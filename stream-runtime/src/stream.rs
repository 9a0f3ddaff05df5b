//! [`DStream`]: a lazily built, typed discretized stream.

use std::any::Any;
use std::sync::Arc;

use rayon::prelude::*;

use crate::batch::Batch;
use crate::chain::{Chain, Erased, Id, Pending};
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, Node, NodeRef};
use crate::stage::{Stage, StageClock};
use crate::time::{Duration, Time};

/// A discretized stream: a sequence of [`Batch`]es of `T`, one per batch interval (or per slide
/// for windowed streams).
///
/// Streams are lazy: transformations only describe work, and nothing runs until an output
/// operation (`print`, `foreach_batch`, `save_as_text_files`) is registered and the context
/// started. Narrow transformations (`map`, `filter`, `flat_map`, ...) are kept in the type
/// parameter `C` and fused into the next shuffle or output: one loop per partition.
///
/// A stream borrows its [`StreamingContext`], so adding streams after `start` (which consumes
/// the context) does not compile:
///
/// ```compile_fail
/// use stream_runtime::prelude::*;
/// let ssc = StreamingContext::new(Duration::seconds(1));
/// let lines = ssc.queue_stream(BatchQueue::<String>::new(), true, None);
/// let running = ssc.start();
/// lines.print(); // error: `ssc` was moved by `start`
/// ```
///
/// and a stream left unused is a warning (`#[must_use]`), denied here:
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use stream_runtime::prelude::*;
/// let ssc = StreamingContext::new(Duration::seconds(1));
/// ssc.queue_stream(BatchQueue::<String>::new(), true, None).map(|l| l.len());
/// ```
#[must_use = "streams do nothing until an output operation is added"]
pub struct DStream<'a, T: Data, C: Chain<Out = T> = Id<T>> {
    pub(crate) ctx: &'a StreamingContext,
    pub(crate) src: NodeRef<C::In>,
    pub(crate) chain: C,
}

impl<T: Data, C: Chain<Out = T> + Clone> Clone for DStream<'_, T, C> {
    fn clone(&self) -> Self {
        DStream { ctx: self.ctx, src: self.src.clone(), chain: self.chain.clone() }
    }
}

impl<T: Data, C: Chain<Out = T>> std::fmt::Debug for DStream<'_, T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DStream").field("slide", &self.src.slide()).finish_non_exhaustive()
    }
}

impl<'a, T: Data> DStream<'a, T> {
    /// A stream reading `node` directly.
    pub(crate) fn from_node(ctx: &'a StreamingContext, node: NodeRef<T>) -> Self {
        DStream { ctx, src: node, chain: Id::default() }
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// The context this stream belongs to.
    pub fn context(&self) -> &'a StreamingContext {
        self.ctx
    }

    /// The interval at which this stream produces batches: the batch interval, or a window's
    /// slide.
    pub fn slide_duration(&self) -> Duration {
        self.src.slide()
    }

    /// Asks for this stream's state to be checkpointed at least every `interval` (Spark's
    /// `DStream.checkpoint(interval)`), which must be a multiple of the stream's slide. Sluice
    /// checkpoints every stateful operation of a job together (one consistent file), so the
    /// job's interval becomes the shortest any stream asks for, if shorter than its own (see
    /// the divergences chapter). An interval shorter than the slide, or not a multiple of it,
    /// fails the job's start with Spark's message.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let mut ssc = StreamingContext::new(Duration::seconds(1));
    /// ssc.checkpoint("/tmp/sluice-checkpoint-doc");
    /// ssc.queue_stream(BatchQueue::<(&str, i32)>::new(), true, None)
    ///     .update_state_by_key(|vs: Vec<i32>, s: Option<i32>| Some(s.unwrap_or(0) + vs.iter().sum::<i32>()))
    ///     .checkpoint(Duration::seconds(2))
    ///     .print();
    /// // Every 2 s instead of the default 10 s.
    /// assert!(ssc.explain().contains("every 2000 ms"), "{}", ssc.explain());
    ///
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// ssc.queue_stream(BatchQueue::<(&str, i32)>::new(), true, None)
    ///     .update_state_by_key(|vs: Vec<i32>, s: Option<i32>| Some(s.unwrap_or(0) + vs.iter().sum::<i32>()))
    ///     .checkpoint(Duration::millis(1500))
    ///     .print();
    /// let err = ssc.start().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "requirement failed: The checkpoint interval for DStream has been set to  1500 ms which not a multiple of its slide time (1000 ms). Please set it to a multiple of 1000 ms."
    /// );
    /// ```
    pub fn checkpoint(self, interval: Duration) -> DStream<'a, T, C> {
        let slide = self.slide_duration();
        let problem = if interval < slide {
            Some(format!(
                "requirement failed: The checkpoint interval for DStream has been set to {interval} which is lower than its slide time ({slide}). Please set it to at least {slide}."
            ))
        } else if !interval.is_multiple_of(slide) {
            Some(format!(
                "requirement failed: The checkpoint interval for DStream has been set to  {interval} which not a multiple of its slide time ({slide}). Please set it to a multiple of {slide}."
            ))
        } else {
            None
        };
        match problem {
            Some(p) => self.ctx.record_error(crate::StreamingError::Invalid(p)),
            None => {
                let mut graph = self.ctx.graph.borrow_mut();
                graph.stream_checkpoint = Some(graph.stream_checkpoint.map_or(interval, |d| d.min(interval)));
            }
        }
        self
    }

    /// Appends a narrow operation to the fused chain.
    pub(crate) fn then<C2: Chain<In = C::In>>(self, chain: impl FnOnce(C) -> C2) -> DStream<'a, C2::Out, C2> {
        DStream { ctx: self.ctx, src: self.src, chain: chain(self.chain) }
    }

    /// Splits the stream into its source node and fused chain, subscribing to the node: the
    /// pass of operator `into` over them is a stage of the plan. Returns the stage's number.
    pub(crate) fn upstream(self, into: impl Into<String>) -> (&'a StreamingContext, Upstream<C>, usize) {
        let src = self.src.subscribe();
        let mut ops = Vec::new();
        C::describe(&mut ops);
        let stage = Stage { from: src.label(), ops, into: into.into() };
        let (number, clock) = self.ctx.graph.borrow_mut().stages.register(stage);
        (self.ctx, Upstream { src, chain: self.chain, clock: Some(clock) }, number)
    }

    /// Materializes the stream into a node for operator `into`, running the fused chain once
    /// per partition (a stage of the plan). A stream with an empty chain is its node already.
    pub(crate) fn into_node(self, into: &str) -> NodeRef<T> {
        let slide = self.src.slide();
        if C::IS_IDENTITY {
            let any: Box<dyn Any> = Box::new(self.src.clone());
            if let Ok(node) = any.downcast::<NodeRef<T>>() {
                return node.subscribe();
            }
        }
        // An erased stream over a node with nothing erased: that node.
        if let Some(node) = (&self.chain as &dyn Any).downcast_ref::<Erased<T>>().and_then(|e| e.plain.as_ref()) {
            return node.subscribe();
        }
        let (_, up, stage) = self.upstream(into);
        NodeRef::new(Collect(up), slide).labelled(format!("stage {stage}"))
    }

    /// Materializes the stream as a plain `DStream<T>` (erasing the chain type). Use it to name
    /// the type of a stream, e.g. in a helper function's signature; it costs one pass per batch.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// fn words<'a>(lines: DStream<'a, String>) -> DStream<'a, String> {
    ///     lines.flat_map(|l| l.split(' ').map(String::from).collect::<Vec<_>>()).boxed()
    /// }
    /// let out = stream_runtime::testing::run(vec![vec!["a b".to_string()]], 1, |s| words(s));
    /// assert_eq!(out, vec![vec!["a".to_string(), "b".to_string()]]);
    /// ```
    pub fn boxed(self) -> DStream<'a, T> {
        let ctx = self.ctx;
        DStream::from_node(ctx, self.into_node("boxed"))
    }

    /// The stream with its type erased at no cost: every stream of `T` becomes a
    /// `DStream<'a, T, Erased<T>>`, whatever its source and narrow operations, so streams
    /// built in different ways can be held in one variable, returned from one function or put
    /// in one `Vec`. Unlike [`boxed`](Self::boxed) nothing is materialized: the erased
    /// operations run in the loop of the operation that reads the stream (one indirect call
    /// per record), and operations added after `erased` fuse into that loop as usual.
    /// [`window`](Self::window) returns an erased stream already, so a stream and its window
    /// are the two branches of one `if`:
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::chain::Erased;
    /// fn windowed<'a>(pairs: DStream<'a, (String, i32)>, w: i64) -> DStream<'a, (String, i32), Erased<(String, i32)>> {
    ///     let p = pairs.filter(|(_, n)| *n > 0);
    ///     let s = if w > 0 { p.window(Duration::seconds(w), Duration::seconds(1)) } else { p.erased() };
    ///     s
    /// }
    /// let input = vec![vec![("a".to_string(), 1), ("b".to_string(), 0)], vec![("a".to_string(), 2)]];
    /// let plain = stream_runtime::testing::run(input.clone(), 2, |s| windowed(s, 0).map(|(k, n)| (k, n * 10)));
    /// assert_eq!(plain, vec![vec![("a".to_string(), 10)], vec![("a".to_string(), 20)]]);
    /// let two = stream_runtime::testing::run(input, 2, |s| windowed(s, 2).reduce_by_key(|a, b| a + b));
    /// assert_eq!(two, vec![vec![("a".to_string(), 1)], vec![("a".to_string(), 3)]]);
    /// ```
    pub fn erased(self) -> DStream<'a, T, Erased<T>> {
        let DStream { ctx, src, chain } = self;
        // Already erased: as it is.
        if let Some(erased) = (&chain as &dyn Any).downcast_ref::<Erased<T>>() {
            let any: Box<dyn Any> = Box::new(src.clone());
            if let Ok(src) = any.downcast::<NodeRef<Pending<T>>>() {
                return DStream { ctx, src: *src, chain: erased.clone() };
            }
        }
        let plain = if C::IS_IDENTITY {
            let any: Box<dyn Any> = Box::new(src.clone());
            any.downcast::<NodeRef<T>>().ok().map(|node| *node)
        } else {
            None
        };
        let slide = src.slide();
        // No stage: the erased operations run in the pass of the stream's reader.
        let mut ops = vec![];
        C::describe(&mut ops);
        let label = ops.iter().fold(src.label(), |l, op| format!("{l} -> {op}"));
        let node = NodeRef::new(ErasedNode { src, chain: Arc::new(chain) }, slide).labelled(label);
        DStream { ctx, src: node, chain: Erased { plain } }
    }
}

/// The source of an erased stream: the parent's partitions, each wrapped with the erased
/// chain into one [`Pending`] record (no record is touched here). It subscribes to the parent
/// only when it is read itself.
struct ErasedNode<C: Chain> {
    src: NodeRef<C::In>,
    chain: Arc<C>,
}

impl<C: Chain> Node<Pending<C::Out>> for ErasedNode<C> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<Pending<C::Out>>>, BatchError> {
        let Some(batch) = self.src.get(t, env)? else {
            return Ok(None);
        };
        let parts =
            batch.into_partitions().into_iter().map(|p| vec![Pending::new(Arc::clone(&self.chain), p)]).collect();
        Ok(Some(Batch::from_partitions(parts)))
    }

    fn subscribed(&self) {
        self.src.subscribe();
    }
}

/// Batches with fewer records than this run on one thread: waking workers would cost more.
pub(crate) const SEQUENTIAL_BELOW: usize = 2048;

/// The input side of an operator: a source node plus the chain of narrow operations to run on
/// each of its partitions.
pub(crate) struct Upstream<C: Chain> {
    pub(crate) src: NodeRef<C::In>,
    pub(crate) chain: C,
    /// The clock of the stage its passes are.
    pub(crate) clock: Option<std::sync::Arc<StageClock>>,
}

impl<C: Chain> Upstream<C> {
    /// Runs `f` over every partition of the source batch at `t`, in parallel.
    pub(crate) fn pass<R: Send>(
        &self,
        t: Time,
        env: &Env,
        f: impl Fn(&C, Vec<C::In>) -> R + Sync + Send,
    ) -> Result<Option<Vec<R>>, BatchError> {
        let Some(batch) = self.src.get(t, env)? else {
            return Ok(None);
        };
        let began = self.clock.as_ref().and_then(|c| c.start());
        let parts = batch.into_partitions();
        let chain = &self.chain;
        let out = if parts.iter().map(|p| C::weight(p)).sum::<usize>() < SEQUENTIAL_BELOW {
            parts.into_iter().map(|p| f(chain, p)).collect()
        } else {
            parts.into_par_iter().map(|p| f(chain, p)).collect()
        };
        if let Some(clock) = &self.clock {
            clock.stop(began);
        }
        Ok(Some(out))
    }

    /// The stream's batch at `t`.
    pub(crate) fn collect(&self, t: Time, env: &Env) -> Result<Option<Batch<C::Out>>, BatchError> {
        Ok(self.pass(t, env, |c, p| c.run_partition(p))?.map(Batch::from_partitions))
    }

    pub(crate) fn slide(&self) -> Duration {
        self.src.slide()
    }
}

struct Collect<C: Chain>(Upstream<C>);

impl<C: Chain> Node<C::Out> for Collect<C> {
    fn compute(&self, t: Time, env: &Env) -> Result<Option<Batch<C::Out>>, BatchError> {
        self.0.collect(t, env)
    }
}
