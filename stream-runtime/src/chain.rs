//! Narrow transformations, composed statically into one per-record pass.
//!
//! A [`DStream`](crate::DStream) carries its pending narrow operations as a type built from
//! [`Map`], [`Filter`], [`FlatMap`] (and friends) around [`Id`]. The next shuffle or output runs the
//! whole chain in one loop per partition: every call is monomorphized and inlined, with no
//! per-record dynamic dispatch and no intermediate collection per operator.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::data::Data;
use crate::node::NodeRef;

/// A statically composed sequence of per-record operations from `In` to `Out`.
pub trait Chain: Send + Sync + 'static {
    /// The record type the chain reads.
    type In: Data;
    /// The record type the chain produces.
    type Out: Data;

    /// Whether the chain is [`Id`], so materializing it needs no pass.
    #[doc(hidden)]
    const IS_IDENTITY: bool = false;

    /// Appends the names of its operations, first to last, for the plan (the runtime's
    /// description of the job's stages).
    #[doc(hidden)]
    fn describe(_ops: &mut Vec<&'static str>) {}

    /// Runs the chain on one record, pushing its results into `sink`.
    fn push<S: FnMut(Self::Out)>(&self, x: Self::In, sink: &mut S);

    /// How many records a partition of input holds (an [`Erased`] chain's one input record
    /// stands for a whole partition): batches with few records run on one thread.
    #[doc(hidden)]
    fn weight(part: &[Self::In]) -> usize {
        part.len()
    }

    /// Runs the chain over a whole partition, pushing every result into `sink`.
    #[inline]
    fn push_all<S: FnMut(Self::Out)>(&self, part: Vec<Self::In>, sink: &mut S) {
        for x in part {
            self.push(x, sink);
        }
    }

    /// Runs the chain over a whole partition.
    fn run_partition(&self, part: Vec<Self::In>) -> Vec<Self::Out> {
        let mut out = Vec::with_capacity(part.len());
        for x in part {
            self.push(x, &mut |y| out.push(y));
        }
        out
    }
}

/// The empty chain.
#[derive(Debug)]
pub struct Id<T>(PhantomData<fn(T) -> T>);

impl<T> Default for Id<T> {
    fn default() -> Self {
        Id(PhantomData)
    }
}
impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        Id(PhantomData)
    }
}

impl<T: Data> Chain for Id<T> {
    type In = T;
    type Out = T;
    const IS_IDENTITY: bool = true;
    #[inline(always)]
    fn push<S: FnMut(T)>(&self, x: T, sink: &mut S) {
        sink(x)
    }
    fn run_partition(&self, part: Vec<T>) -> Vec<T> {
        part
    }
}

/// `map` appended to a chain.
#[derive(Debug, Clone)]
pub struct Map<C, F> {
    pub(crate) inner: C,
    pub(crate) f: F,
}

impl<C: Chain, U: Data, F: Fn(C::Out) -> U + Send + Sync + 'static> Chain for Map<C, F> {
    type In = C::In;
    type Out = U;
    fn weight(part: &[Self::In]) -> usize {
        C::weight(part)
    }
    fn describe(ops: &mut Vec<&'static str>) {
        C::describe(ops);
        ops.push("map");
    }
    #[inline(always)]
    fn push<S: FnMut(U)>(&self, x: C::In, sink: &mut S) {
        let f = &self.f;
        self.inner.push(x, &mut |y| sink(f(y)))
    }
}

/// `filter` appended to a chain.
#[derive(Debug, Clone)]
pub struct Filter<C, F> {
    pub(crate) inner: C,
    pub(crate) f: F,
}

impl<C: Chain, F: Fn(&C::Out) -> bool + Send + Sync + 'static> Chain for Filter<C, F> {
    type In = C::In;
    type Out = C::Out;
    fn weight(part: &[Self::In]) -> usize {
        C::weight(part)
    }
    fn describe(ops: &mut Vec<&'static str>) {
        C::describe(ops);
        ops.push("filter");
    }
    #[inline(always)]
    fn push<S: FnMut(C::Out)>(&self, x: C::In, sink: &mut S) {
        let f = &self.f;
        self.inner.push(x, &mut |y| {
            if f(&y) {
                sink(y)
            }
        })
    }
}

/// `flat_map` appended to a chain.
#[derive(Debug, Clone)]
pub struct FlatMap<C, F> {
    pub(crate) inner: C,
    pub(crate) f: F,
}

impl<C, I, F> Chain for FlatMap<C, F>
where
    C: Chain,
    I: IntoIterator,
    I::Item: Data,
    F: Fn(C::Out) -> I + Send + Sync + 'static,
{
    type In = C::In;
    type Out = I::Item;
    fn weight(part: &[Self::In]) -> usize {
        C::weight(part)
    }
    fn describe(ops: &mut Vec<&'static str>) {
        C::describe(ops);
        ops.push("flat_map");
    }
    #[inline(always)]
    fn push<S: FnMut(I::Item)>(&self, x: C::In, sink: &mut S) {
        let f = &self.f;
        self.inner.push(x, &mut |y| {
            for z in f(y) {
                sink(z)
            }
        })
    }
}

/// `map_values` appended to a chain.
#[derive(Debug, Clone)]
pub struct MapValues<C, F> {
    pub(crate) inner: C,
    pub(crate) f: F,
}

impl<C, K, V, U, F> Chain for MapValues<C, F>
where
    C: Chain<Out = (K, V)>,
    K: Data,
    V: Data,
    U: Data,
    F: Fn(V) -> U + Send + Sync + 'static,
{
    type In = C::In;
    type Out = (K, U);
    fn weight(part: &[Self::In]) -> usize {
        C::weight(part)
    }
    fn describe(ops: &mut Vec<&'static str>) {
        C::describe(ops);
        ops.push("map_values");
    }
    #[inline(always)]
    fn push<S: FnMut((K, U))>(&self, x: C::In, sink: &mut S) {
        let f = &self.f;
        self.inner.push(x, &mut |(k, v)| sink((k, f(v))))
    }
}

/// `flat_map_values` appended to a chain.
#[derive(Debug, Clone)]
pub struct FlatMapValues<C, F> {
    pub(crate) inner: C,
    pub(crate) f: F,
}

impl<C, K, V, I, F> Chain for FlatMapValues<C, F>
where
    C: Chain<Out = (K, V)>,
    K: Data,
    V: Data,
    I: IntoIterator,
    I::Item: Data,
    F: Fn(V) -> I + Send + Sync + 'static,
{
    type In = C::In;
    type Out = (K, I::Item);
    fn weight(part: &[Self::In]) -> usize {
        C::weight(part)
    }
    fn describe(ops: &mut Vec<&'static str>) {
        C::describe(ops);
        ops.push("flat_map_values");
    }
    #[inline(always)]
    fn push<S: FnMut((K, I::Item))>(&self, x: C::In, sink: &mut S) {
        let f = &self.f;
        self.inner.push(x, &mut |(k, v)| {
            for u in f(v) {
                sink((k.clone(), u))
            }
        })
    }
}

/// One partition of an [`Erased`] stream, not read yet: running it pushes the partition's
/// records through the chain that was erased, inside the loop of whoever reads the stream.
pub struct Pending<T>(Arc<dyn RunPart<T>>);

impl<T> Clone for Pending<T> {
    fn clone(&self) -> Self {
        Pending(Arc::clone(&self.0))
    }
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("records", &self.0.len()).finish()
    }
}

impl<T> Pending<T> {
    /// A partition of `records` to run through `chain`.
    pub(crate) fn new<C: Chain<Out = T>>(chain: Arc<C>, records: Vec<C::In>) -> Self {
        Pending(Arc::new(PartOf { chain, records }))
    }

    /// Pushes the partition's records through the chain into `sink`: moved when this is the
    /// only handle on the partition, cloned when a stream with several readers shares it.
    fn run(mut self, sink: &mut dyn FnMut(T)) {
        match Arc::get_mut(&mut self.0) {
            Some(part) => part.run_owned(sink),
            None => self.0.run_shared(sink),
        }
    }
}

/// A partition and the chain to run it through, its types erased.
trait RunPart<T>: Send + Sync {
    fn len(&self) -> usize;
    fn run_owned(&mut self, sink: &mut dyn FnMut(T));
    fn run_shared(&self, sink: &mut dyn FnMut(T));
}

struct PartOf<C: Chain> {
    chain: Arc<C>,
    records: Vec<C::In>,
}

impl<C: Chain> RunPart<C::Out> for PartOf<C> {
    fn len(&self) -> usize {
        C::weight(&self.records)
    }
    fn run_owned(&mut self, sink: &mut dyn FnMut(C::Out)) {
        self.chain.push_all(std::mem::take(&mut self.records), &mut |y| sink(y));
    }
    fn run_shared(&self, sink: &mut dyn FnMut(C::Out)) {
        for x in &self.records {
            self.chain.push(x.clone(), &mut |y| sink(y));
        }
    }
}

/// A chain whose type is erased (see [`DStream::erased`](crate::DStream::erased)): every
/// stream of `T` erases to `DStream<'_, T, Erased<T>>`, whatever its source and narrow
/// operations. The erased operations still run in the reader's loop, one partition at a time,
/// with one indirect call per record and no intermediate collection.
///
/// When nothing was erased (the stream of an operator's output, such as a window), the
/// stream's node is kept too, so an operation that needs the stream as a node (`union`,
/// `transform`, another window) reads it directly, with no pass at all.
pub struct Erased<T> {
    pub(crate) plain: Option<NodeRef<T>>,
}

impl<T> Default for Erased<T> {
    fn default() -> Self {
        Erased { plain: None }
    }
}

impl<T> Clone for Erased<T> {
    fn clone(&self) -> Self {
        Erased { plain: self.plain.clone() }
    }
}

impl<T> std::fmt::Debug for Erased<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Erased")
    }
}

impl<T: Data> Chain for Erased<T> {
    type In = Pending<T>;
    type Out = T;

    fn weight(part: &[Pending<T>]) -> usize {
        part.iter().map(|p| p.0.len()).sum()
    }

    fn describe(ops: &mut Vec<&'static str>) {
        ops.push("erased");
    }

    #[inline]
    fn push<S: FnMut(T)>(&self, x: Pending<T>, sink: &mut S) {
        x.run(&mut |y| sink(y))
    }
}
