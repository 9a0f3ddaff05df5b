//! The test kit: run a pipeline over given input batches on a manual clock and get each
//! batch's output, as Spark's `TestSuiteBase` does.
//!
//! Batch `i` (0-based) of the input is the data at time `(i + 1) * batch`; each input batch is
//! split into two partitions, like Spark's test input streams; batches run synchronously, at
//! any thread count, on the same executor a started job uses (only the driver differs: here
//! batches follow each other on a manual clock, with no receivers and no checkpoints, so a
//! stateful pipeline needs no checkpoint directory).
//!
//! ```
//! use stream_runtime::testing;
//! let input = vec![vec!["a b", "b"], vec![], vec!["c"]];
//! let mut out = testing::run(input, 4, |lines| {
//!     lines.flat_map(|l| l.split(' ').map(String::from).collect::<Vec<_>>())
//!         .map(|w| (w, 1))
//!         .reduce_by_key(|a, b| a + b)
//! });
//! out.iter_mut().for_each(|b| b.sort());
//! assert_eq!(out, vec![vec![("a".into(), 1), ("b".into(), 2)], vec![], vec![("c".into(), 1)]]);
//! ```

use std::sync::Arc;

use parking_lot::Mutex;

use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::StreamingError;
use crate::executor::Stepped;
use crate::sources::{register, vec::VecSource};
use crate::time::{Duration, Time};
use crate::DStream;

/// Partitions of every test input batch (Spark's `numInputPartitions`).
pub const INPUT_PARTITIONS: usize = 2;

/// A configurable test run. [`run`] and [`run2`] cover the common cases.
#[derive(Debug, Clone)]
pub struct Harness {
    threads: usize,
    batch: Duration,
    batches: Option<usize>,
}

/// The outputs of a test run, and the errors of batches that failed.
#[derive(Debug)]
pub struct Outcome<O> {
    /// One entry per batch at which the output stream had a batch, in time order.
    pub outputs: Vec<Vec<O>>,
    /// The errors, in the order they happened.
    pub errors: Vec<StreamingError>,
}

impl Harness {
    /// A harness with `threads` worker threads and one-second batches.
    pub fn new(threads: usize) -> Self {
        Harness { threads, batch: Duration::seconds(1), batches: None }
    }

    /// Sets the batch interval.
    pub fn batch(mut self, batch: Duration) -> Self {
        self.batch = batch;
        self
    }

    /// Runs this many batches (default: as many as there are input batches).
    pub fn batches(mut self, n: usize) -> Self {
        self.batches = Some(n);
        self
    }

    fn context(&self) -> StreamingContext {
        Stepped::context(self.batch, self.threads)
    }

    /// Builds a graph with `build` over one input and runs `n` batches; `build` registers its
    /// own outputs. Returns the errors of failed batches.
    pub fn run<I: Data>(&self, input: Vec<Vec<I>>, build: impl for<'a> FnOnce(DStream<'a, I>)) -> Vec<StreamingError> {
        let n = self.batches.unwrap_or(input.len());
        let ssc = self.context();
        build(register(&ssc, VecSource::new(input.into_iter().map(Some).collect(), INPUT_PARTITIONS)));
        self.execute(ssc, n)
    }

    /// Runs `build` over inputs where `None` batches mean "no batch" (Spark's `null` input)
    /// and collects the output stream.
    pub fn collect<I: Data, O: Data, C: Chain<Out = O>>(
        &self,
        input: Vec<Option<Vec<I>>>,
        build: impl for<'a> FnOnce(DStream<'a, I>) -> DStream<'a, O, C>,
    ) -> Outcome<O> {
        let n = self.batches.unwrap_or(input.len());
        let ssc = self.context();
        let sink = Arc::new(Mutex::new(Vec::new()));
        let out = build(register(&ssc, VecSource::new(input, INPUT_PARTITIONS)));
        let s = Arc::clone(&sink);
        out.foreach_batch(move |b: Batch<O>, _| s.lock().push(b.into_vec()));
        let errors = self.execute(ssc, n);
        let outputs = std::mem::take(&mut *sink.lock());
        Outcome { outputs, errors }
    }

    /// Runs `build` over two inputs and collects the output stream.
    pub fn collect2<I: Data, J: Data, O: Data, C: Chain<Out = O>>(
        &self,
        a: Vec<Vec<I>>,
        b: Vec<Vec<J>>,
        build: impl for<'a> FnOnce(DStream<'a, I>, DStream<'a, J>) -> DStream<'a, O, C>,
    ) -> Outcome<O> {
        let n = self.batches.unwrap_or(a.len().max(b.len()));
        let ssc = self.context();
        let sink = Arc::new(Mutex::new(Vec::new()));
        let sa = register(&ssc, VecSource::new(a.into_iter().map(Some).collect(), INPUT_PARTITIONS));
        let sb = register(&ssc, VecSource::new(b.into_iter().map(Some).collect(), INPUT_PARTITIONS));
        let s = Arc::clone(&sink);
        build(sa, sb).foreach_batch(move |b: Batch<O>, _| s.lock().push(b.into_vec()));
        let errors = self.execute(ssc, n);
        let outputs = std::mem::take(&mut *sink.lock());
        Outcome { outputs, errors }
    }

    /// Builds a graph over any number of inputs with any number of collected outputs (for
    /// tests of joins, unions and graphs with several outputs): `build` creates inputs with
    /// [`Scenario::input`] and collects streams with [`Scenario::output`], whose handles it
    /// returns; the run takes as many batches as the longest input (or
    /// [`batches`](Self::batches)). Returns what `build` returned and the errors of failed
    /// batches.
    ///
    /// ```
    /// use stream_runtime::testing::Harness;
    /// let ((joined, all), errors) = Harness::new(2).scenario(|t| {
    ///     let a = t.input(vec![vec![("k", 1)], vec![("k", 2)]]);
    ///     let b = t.input(vec![vec![("k", 10)], vec![]]);
    ///     let c = t.input(vec![vec![("k", "x")], vec![("k", "y")]]);
    ///     let ab = a.union(b);
    ///     (t.output(ab.clone().join(c)), t.output(ab))
    /// });
    /// assert!(errors.is_empty());
    /// let mut joined = joined.batches();
    /// joined.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(joined, vec![vec![("k", (1, "x")), ("k", (10, "x"))], vec![("k", (2, "y"))]]);
    /// assert_eq!(all.batches().len(), 2);
    /// ```
    pub fn scenario<R>(&self, build: impl for<'a> FnOnce(&mut Scenario<'a>) -> R) -> (R, Vec<StreamingError>) {
        let ssc = self.context();
        let mut scenario = Scenario { ssc: &ssc, longest: 0 };
        let r = build(&mut scenario);
        let n = self.batches.unwrap_or(scenario.longest);
        (r, self.execute(ssc, n))
    }

    fn execute(&self, ssc: StreamingContext, n: usize) -> Vec<StreamingError> {
        match Stepped::new(ssc) {
            Ok(mut stepped) => stepped.run(n),
            Err(e) => vec![e],
        }
    }
}

/// The graph of a [`Harness::scenario`]: its inputs and collected outputs.
#[derive(Debug)]
pub struct Scenario<'a> {
    ssc: &'a StreamingContext,
    longest: usize,
}

impl<'a> Scenario<'a> {
    /// A new input: batch `i` of `batches` at time `(i + 1) * batch`, an empty batch after
    /// the last.
    pub fn input<T: Data>(&mut self, batches: Vec<Vec<T>>) -> DStream<'a, T> {
        self.longest = self.longest.max(batches.len());
        register(self.ssc, VecSource::new(batches.into_iter().map(Some).collect(), INPUT_PARTITIONS))
    }

    /// Collects `stream`: an output whose batches the returned handle gives after the run.
    pub fn output<O: Data, C: Chain<Out = O>>(&mut self, stream: DStream<'a, O, C>) -> Collected<O> {
        let sink = Collected(Arc::new(Mutex::new(Vec::new())));
        let s = sink.clone();
        stream.foreach_batch(move |b: Batch<O>, _| s.0.lock().push(b.into_vec()));
        sink
    }

    /// The context, for sources and settings beyond the test inputs.
    pub fn context(&self) -> &'a StreamingContext {
        self.ssc
    }
}

/// The batches a [`Scenario::output`] collected: one entry per batch at which its stream had
/// a batch, in time order.
#[derive(Debug)]
pub struct Collected<O>(Arc<Mutex<Vec<Vec<O>>>>);

impl<O> Clone for Collected<O> {
    fn clone(&self) -> Self {
        Collected(Arc::clone(&self.0))
    }
}

impl<O: Clone> Collected<O> {
    /// The batches collected so far.
    pub fn batches(&self) -> Vec<Vec<O>> {
        self.0.lock().clone()
    }
}

/// Runs `build` over `input` with `threads` worker threads and returns the output of each
/// batch. Panics if a batch fails (use [`Harness::collect`] to see errors).
pub fn run<I: Data, O: Data, C: Chain<Out = O>>(
    input: Vec<Vec<I>>,
    threads: usize,
    build: impl for<'a> FnOnce(DStream<'a, I>) -> DStream<'a, O, C>,
) -> Vec<Vec<O>> {
    let outcome = Harness::new(threads).collect(input.into_iter().map(Some).collect(), build);
    assert!(outcome.errors.is_empty(), "test run failed: {:?}", outcome.errors);
    outcome.outputs
}

/// As [`run`], with two inputs.
pub fn run2<I: Data, J: Data, O: Data, C: Chain<Out = O>>(
    a: Vec<Vec<I>>,
    b: Vec<Vec<J>>,
    threads: usize,
    build: impl for<'a> FnOnce(DStream<'a, I>, DStream<'a, J>) -> DStream<'a, O, C>,
) -> Vec<Vec<O>> {
    let outcome = Harness::new(threads).collect2(a, b, build);
    assert!(outcome.errors.is_empty(), "test run failed: {:?}", outcome.errors);
    outcome.outputs
}

/// Runs `build` as a cluster of `processes` processes, each with `threads` worker threads,
/// inside this process: every process builds the same graph and steps the same batches,
/// connected by [`MemoryPeers`](crate::cluster::MemoryPeers). Each input batch is split into
/// [`INPUT_PARTITIONS`] partitions as [`run`] splits it, and process `q` reads the partitions
/// `i` with `i % processes == q`. Returns, per batch, the outputs of every process
/// concatenated in process order. One process runs the single-process engine (no peers).
/// Panics if a batch fails on any process.
///
/// A cluster gives what one process gives (as a multiset per batch; the order of records in
/// a batch may differ):
///
/// ```
/// use stream_runtime::{testing, DStream, Str};
/// fn count(words: DStream<'_, Str>) -> DStream<'_, (Str, u64)> {
///     words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b)
/// }
/// let input: Vec<Vec<Str>> = vec![vec!["a".into(), "b".into(), "a".into(), "c".into()], vec!["b".into()], vec![]];
/// let mut cluster = testing::run_cluster(3, 2, input.clone(), count);
/// let mut single = testing::run(input, 2, count);
/// for b in cluster.iter_mut().chain(single.iter_mut()) {
///     b.sort();
/// }
/// assert_eq!(cluster, single);
/// ```
pub fn run_cluster<I, O, C, B>(processes: usize, threads: usize, input: Vec<Vec<I>>, build: B) -> Vec<Vec<O>>
where
    I: Data,
    O: Data,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    collect_cluster(memory_peers(processes.max(1)), threads, input, build)
}

/// What every process of a cluster run outputs, per batch, concatenated in process order.
fn collect_cluster<I, O, C, B>(
    peers: Vec<Option<Arc<dyn crate::cluster::Peers>>>,
    threads: usize,
    input: Vec<Vec<I>>,
    build: B,
) -> Vec<Vec<O>>
where
    I: Data,
    O: Data,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    collect_phase(peers, threads, input, None, &build).0
}

/// [`collect_cluster`] of one phase of a run (starting from `resume`), with every process's
/// checkpoint after it when `resume` is given (none otherwise).
fn collect_phase<I, O, C, B>(
    peers: Vec<Option<Arc<dyn crate::cluster::Peers>>>,
    threads: usize,
    input: Vec<Vec<I>>,
    resume: Option<Resume<'_>>,
    build: &B,
) -> (Vec<Vec<O>>, Vec<Vec<u8>>)
where
    I: Data,
    O: Data,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    let processes = peers.len();
    let sinks: Vec<Arc<Mutex<Vec<Vec<O>>>>> = (0..processes).map(|_| Arc::default()).collect();
    let ran = run_phase(peers, threads, input, resume, &|q, s| {
        let sink = Arc::clone(&sinks[q]);
        build(s).foreach_batch(move |b: Batch<O>, _| sink.lock().push(b.into_vec()));
    });
    let (errors, files): (Vec<Vec<StreamingError>>, Vec<Vec<u8>>) = ran.into_iter().unzip();
    assert!(errors.iter().all(Vec::is_empty), "cluster run failed: {errors:?}");
    let outputs: Vec<Vec<Vec<O>>> = sinks.iter().map(|s| std::mem::take(&mut *s.lock())).collect();
    let batches = outputs[0].len();
    assert!(outputs.iter().all(|o| o.len() == batches), "processes output different batch counts");
    (concatenated(outputs, batches), files)
}

/// Per batch (the first `batches`), every process's output of it in process order: the
/// records moved, not cloned.
fn concatenated<O>(outputs: Vec<Vec<Vec<O>>>, batches: usize) -> Vec<Vec<O>> {
    let mut per: Vec<Vec<O>> = (0..batches).map(|_| Vec::new()).collect();
    for process in outputs {
        for (all, mine) in per.iter_mut().zip(process) {
            all.extend(mine);
        }
    }
    per
}

/// `processes` endpoints of an in-memory cluster; one process has none.
fn memory_peers(processes: usize) -> Vec<Option<Arc<dyn crate::cluster::Peers>>> {
    if processes == 1 {
        vec![None]
    } else {
        crate::cluster::MemoryPeers::cluster(processes)
            .into_iter()
            .map(|p| Some(p as Arc<dyn crate::cluster::Peers>))
            .collect()
    }
}

/// As [`run_cluster`], over timely-dataflow's TCP networking on loopback (feature `cluster`):
/// the processes are threads of this one, connected as a real cluster is (our handshake, then
/// timely). Returns the outputs and the bytes the processes sent each other. It connects, runs
/// and leaves; [`LoopbackCluster`] connects once for several runs.
///
/// ```
/// use stream_runtime::{testing, DStream, Str};
/// fn count(words: DStream<'_, Str>) -> DStream<'_, (Str, u64)> {
///     words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b)
/// }
/// let input: Vec<Vec<Str>> = vec![vec!["a".into(), "b".into(), "a".into(), "c".into()], vec![]];
/// let (mut over_tcp, bytes) = testing::run_cluster_tcp(2, 1, input.clone(), count);
/// let mut single = testing::run(input, 1, count);
/// for b in over_tcp.iter_mut().chain(single.iter_mut()) {
///     b.sort();
/// }
/// assert_eq!(over_tcp, single);
/// assert!(bytes > 0);
/// ```
#[cfg(feature = "cluster")]
pub fn run_cluster_tcp<I, O, C, B>(processes: usize, threads: usize, input: Vec<Vec<I>>, build: B) -> (Vec<Vec<O>>, u64)
where
    I: Data,
    O: Data,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    let cluster = LoopbackCluster::connect(processes).expect("a loopback cluster starts");
    let outputs = cluster.run(threads, input, build);
    (outputs, cluster.bytes_sent())
}

/// A cluster of processes on loopback TCP, as threads of this one, connected as a real cluster
/// is (our handshake, then timely) once, for several runs (feature `cluster`): what a running
/// job's batches cost, without connecting and leaving in each run. Dropping it leaves the
/// cluster (every process at once).
///
/// Each [`run`](LoopbackCluster::run) starts at the first batch time again with a fresh graph
/// on every process; the runs follow each other. A run that panics (a batch failed) leaves the
/// cluster's exchanges in an unknown state: connect a new one.
///
/// ```
/// use stream_runtime::{testing, DStream, Str};
/// fn count(words: DStream<'_, Str>) -> DStream<'_, (Str, u64)> {
///     words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b)
/// }
/// let input: Vec<Vec<Str>> = vec![vec!["a".into(), "b".into(), "a".into()], vec!["b".into()]];
/// let cluster = testing::LoopbackCluster::connect(2).unwrap();
/// let mut single = testing::run(input.clone(), 1, count);
/// single.iter_mut().for_each(|b| b.sort());
/// for _ in 0..3 {
///     let mut out = cluster.run(1, input.clone(), count);
///     out.iter_mut().for_each(|b| b.sort());
///     assert_eq!(out, single);
/// }
/// assert!(cluster.bytes_sent() > 0);
/// ```
#[cfg(feature = "cluster")]
pub struct LoopbackCluster {
    peers: Vec<Arc<crate::cluster::timely::TimelyPeers>>,
}

#[cfg(feature = "cluster")]
impl std::fmt::Debug for LoopbackCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopbackCluster").field("processes", &self.peers.len()).finish()
    }
}

#[cfg(feature = "cluster")]
impl LoopbackCluster {
    /// Connects `processes` processes (at least one) on free loopback ports.
    pub fn connect(processes: usize) -> Result<LoopbackCluster, StreamingError> {
        Ok(LoopbackCluster { peers: crate::cluster::timely::TimelyPeers::loopback(processes.max(1))? })
    }

    /// Runs `build` over `input` on every process, each with `threads` worker threads and its
    /// share of every batch, as [`run_cluster_tcp`] does; returns, per batch, the outputs of
    /// every process concatenated in process order. Panics if a batch fails.
    pub fn run<I, O, C, B>(&self, threads: usize, input: Vec<Vec<I>>, build: B) -> Vec<Vec<O>>
    where
        I: Data,
        O: Data,
        C: Chain<Out = O>,
        B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
    {
        let given = self.peers.iter().map(|p| Some(Arc::clone(p) as Arc<dyn crate::cluster::Peers>)).collect();
        collect_cluster(given, threads, input, build)
    }

    /// Bytes the processes have sent each other so far.
    pub fn bytes_sent(&self) -> u64 {
        self.peers.iter().map(|p| p.bytes_sent()).sum()
    }
}

#[cfg(feature = "cluster")]
impl Drop for LoopbackCluster {
    fn drop(&mut self) {
        // Every process leaves the cluster at once (each waits for the others).
        std::thread::scope(|scope| {
            for p in &self.peers {
                scope.spawn(move || p.shutdown());
            }
        });
    }
}

/// As [`run_cluster_tcp`], through the batch loop of a started job
/// ([`StreamingContext::start`]): each process is a started context with
/// [`with_cluster`](StreamingContext::with_cluster) (our handshake over loopback TCP, then
/// timely), the driver plans every batch and at most `in_flight` batches run before every
/// process waits for timely's probe to pass them everywhere
/// ([`with_batches_in_flight`](StreamingContext::with_batches_in_flight)). The processes
/// share a manual clock moved past the last batch at once, so batches follow each other as fast
/// as the processes run them. Returns, per batch, the outputs of every process concatenated in
/// process order. Panics if the cluster does not start or a batch fails.
///
/// ```
/// use stream_runtime::{testing, DStream, Str};
/// fn count(words: DStream<'_, Str>) -> DStream<'_, (Str, u64)> {
///     words.map(|w| (w, 1u64)).reduce_by_key(|a, b| a + b)
/// }
/// let input: Vec<Vec<Str>> = vec![vec!["a".into(), "b".into(), "a".into()], vec!["b".into()]];
/// let mut looped = testing::run_cluster_tcp_looped(2, 1, 2, input.clone(), count);
/// let mut single = testing::run(input, 1, count);
/// for b in looped.iter_mut().chain(single.iter_mut()) {
///     b.sort();
/// }
/// assert_eq!(looped, single);
/// ```
#[cfg(feature = "cluster")]
pub fn run_cluster_tcp_looped<I, O, C, B>(
    processes: usize,
    threads: usize,
    in_flight: usize,
    input: Vec<Vec<I>>,
    build: B,
) -> Vec<Vec<O>>
where
    I: Data,
    O: Data,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    let processes = processes.max(1);
    let ports = stream_cluster::launch::free_ports(processes).expect("free loopback ports");
    let hosts: Vec<stream_cluster::Host> =
        ports.iter().filter_map(|port| stream_cluster::Host::parse(&format!("127.0.0.1:{port}"))).collect();
    let batch = Duration::seconds(1);
    let clock = crate::clock::ManualClock::new(Time::from_millis(0));
    let batches = input.len();
    let mut shares = shares(input, processes).into_iter();
    // Per process: its outputs so far, and a signal when one arrives.
    type Sink<O> = Arc<(Mutex<Vec<Vec<O>>>, parking_lot::Condvar)>;
    let sinks: Vec<Sink<O>> = (0..processes).map(|_| Arc::default()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..processes)
            .map(|q| {
                let (hosts, clock, sink, share, build) =
                    (hosts.clone(), clock.clone(), Arc::clone(&sinks[q]), shares.next().unwrap_or_default(), &build);
                scope.spawn(move || {
                    let topology = stream_cluster::Topology::new(q, hosts).expect("a topology");
                    let ssc = StreamingContext::new(batch)
                        .with_name("looped")
                        .with_threads(threads)
                        .with_clock(Arc::new(clock))
                        .with_cluster((processes > 1).then_some(topology))
                        .with_batches_in_flight(in_flight);
                    build(ssc.queue_stream(share, true, None)).foreach_batch(move |b: Batch<O>, _| {
                        sink.0.lock().push(b.into_vec());
                        sink.1.notify_all();
                    });
                    ssc.start().expect("the process starts")
                })
            })
            .collect();
        let running: Vec<crate::RunningContext> = handles.into_iter().map(|h| h.join().expect("starts")).collect();
        clock.advance(Duration::millis(batch.as_millis() * batches as i64));
        for sink in &sinks {
            let mut done = sink.0.lock();
            while done.len() < batches {
                sink.1.wait(&mut done);
            }
        }
        // The driver stops the cluster; the others end with it.
        let mut running = running.into_iter();
        let driver = running.next();
        let followers: Vec<_> = running.collect();
        scope.spawn(move || {
            if let Some(d) = driver {
                d.stop(false)
            }
        });
        for f in followers {
            scope.spawn(move || {
                let _ = f.await_termination();
                f.stop(false);
            });
        }
    });
    let outputs: Vec<Vec<Vec<O>>> = sinks.iter().map(|s| std::mem::take(&mut *s.0.lock())).collect();
    concatenated(outputs, batches)
}

/// As [`run_cluster`], with a `print_n(num)` of the built stream: returns, per batch, the text
/// process 0 prints (what one process prints). Panics if another process prints anything or
/// a batch fails.
///
/// ```
/// use stream_runtime::testing;
/// let input = vec![(0..30).collect::<Vec<u32>>()];
/// let text = testing::run_cluster_printed(2, 1, input.clone(), 3, |s| s.map(|x| x * 2));
/// assert_eq!(text, testing::run_cluster_printed(1, 1, input, 3, |s| s.map(|x| x * 2)));
/// assert_eq!(text[0].lines().skip(3).collect::<Vec<_>>(), ["0", "2", "4", "...", ""]);
/// ```
pub fn run_cluster_printed<I, O, C, B>(
    processes: usize,
    threads: usize,
    input: Vec<Vec<I>>,
    num: usize,
    build: B,
) -> Vec<String>
where
    I: Data,
    O: Data + crate::Show,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    let processes = processes.max(1);
    let sinks: Vec<Arc<Mutex<Vec<String>>>> = (0..processes).map(|_| Arc::default()).collect();
    let errors = run_processes(memory_peers(processes), threads, input, &|q, s| {
        let sink = Arc::clone(&sinks[q]);
        let print: crate::outputs::PrintSink = Arc::new(move |text: &str| {
            sink.lock().push(text.to_string());
            Ok(())
        });
        build(s).print_to(num, print);
    });
    assert!(errors.iter().all(Vec::is_empty), "cluster run failed: {errors:?}");
    assert!(sinks[1..].iter().all(|s| s.lock().is_empty()), "a process other than 0 printed");
    let printed = std::mem::take(&mut *sinks[0].lock());
    printed
}

/// Steps `input.len()` batches on one process per entry of `peers` (threads of this one), process `q`
/// built by `build(q, its input)`; returns each process's errors.
fn run_processes<I: Data>(
    peers: Vec<Option<Arc<dyn crate::cluster::Peers>>>,
    threads: usize,
    input: Vec<Vec<I>>,
    build: &(dyn for<'a> Fn(usize, DStream<'a, I>) + Sync),
) -> Vec<Vec<StreamingError>> {
    run_phase(peers, threads, input, None, build).into_iter().map(|(errors, _)| errors).collect()
}

/// How a phase of a rescaled cluster run starts and ends.
#[derive(Clone, Copy)]
enum Resume<'r> {
    /// From the start, with every process's checkpoint after the last batch.
    Checkpoint,
    /// From the checkpoint of every process of the phase before (with its number of
    /// processes), with every process's checkpoint after the last batch.
    From(&'r [Vec<u8>]),
}

/// Runs `input` on the processes of `peers`, each starting from the state re-spread from
/// `resume`'s checkpoints if given; returns each process's errors and, with `resume`, its
/// checkpoint after the last batch.
fn run_phase<I: Data>(
    mut peers: Vec<Option<Arc<dyn crate::cluster::Peers>>>,
    threads: usize,
    input: Vec<Vec<I>>,
    resume: Option<Resume<'_>>,
    build: &(dyn for<'a> Fn(usize, DStream<'a, I>) + Sync),
) -> Vec<(Vec<StreamingError>, Vec<u8>)> {
    let processes = peers.len();
    let batches = input.len();
    let mut shares = shares(input, processes).into_iter();
    std::thread::scope(|scope| {
        let handles: Vec<_> = peers
            .drain(..)
            .enumerate()
            .map(|(q, peers)| {
                let share = shares.next().unwrap_or_default();
                scope.spawn(move || {
                    let ssc = Harness::new(threads).context();
                    build(q, ssc.queue_stream(share, true, None));
                    // A process whose batch failed stops (dropping its peers: the others'
                    // exchanges with it fail instead of waiting), as a cluster is fail-stop.
                    let mut stepped = match Stepped::with_peers(ssc, peers) {
                        Ok(stepped) => stepped,
                        Err(e) => return (vec![e], Vec::new()),
                    };
                    if let Some(Resume::From(files)) = resume {
                        if let Err(e) = respread(&mut stepped, files, q, processes) {
                            return (vec![e], Vec::new());
                        }
                    }
                    stepped.on_pool(|s| {
                        for _ in 0..batches {
                            let errors = s.next_batch();
                            if !errors.is_empty() {
                                return (errors, Vec::new());
                            }
                        }
                        if resume.is_none() {
                            return (Vec::new(), Vec::new());
                        }
                        let ex = s.executor();
                        let env = ex.env();
                        let fingerprint = ex.graph().fingerprint(env.batch);
                        let file =
                            ex.install(|| crate::checkpoint::snapshot(ex.graph(), fingerprint, env.zero, s.time()));
                        (Vec::new(), file.map(|f| f.to_vec()).unwrap_or_default())
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    })
}

/// Every process's share of `input`, a queue of its batches per process: each batch split into
/// [`INPUT_PARTITIONS`] partitions, of which process `q` reads those `i` with
/// `i % processes == q`. The records are moved, not cloned, as a real cluster's processes
/// each read their own input and never touch the others'.
fn shares<I: Data>(input: Vec<Vec<I>>, processes: usize) -> Vec<crate::sources::BatchQueue<I>> {
    let queues: Vec<crate::sources::BatchQueue<I>> =
        (0..processes).map(|_| crate::sources::BatchQueue::new()).collect();
    for mut batch in input {
        let len = batch.len();
        // The partitions, the last one first: each `split_off` moves the tail out.
        let mut parts: Vec<Vec<I>> = (0..INPUT_PARTITIONS)
            .rev()
            .map(|i| batch.split_off(crate::batch::part_range(len, INPUT_PARTITIONS, i).start))
            .collect();
        parts.reverse();
        for (q, queue) in queues.iter().enumerate() {
            let mine = parts.iter_mut().enumerate().filter(|(i, _)| i % processes == q).map(|(_, p)| std::mem::take(p));
            queue.push(Batch::from_partitions(mine.collect()));
        }
    }
    queues
}

/// Restores process `q` of `processes` from the checkpoints `files` of every process of a run
/// with another number of processes, as a cluster restarted so does: the first process's
/// positions and time, and the key groups `q` owns now, from the old processes that owned them.
fn respread(stepped: &mut Stepped, files: &[Vec<u8>], q: usize, processes: usize) -> Result<(), StreamingError> {
    let mut recovery = crate::checkpoint::read("process 0", &files[0])?;
    let spread = crate::shuffle::overlapping(q, processes, files.len())
        .map(|j| {
            let states = crate::checkpoint::read(&format!("process {j}"), &files[j])?.states;
            Ok((j, states.into_iter().map(|s| s.map(<[u8]>::to_vec)).collect()))
        })
        .collect::<Result<_, crate::checkpoint::CheckpointError>>()?;
    recovery.spread = Some((files.len(), spread));
    let ex = stepped.executor();
    ex.install(|| crate::checkpoint::restore(ex.graph(), ex.env(), &recovery, "rescaled"))?;
    stepped.resume_after(recovery.meta.time);
    Ok(())
}

/// [`run_cluster`] with a restart in the middle: the first `split` batches of `input` run on
/// `before` processes, which then checkpoint; the rest runs on `after` processes restarted
/// from those checkpoints, each taking the keys it owns now (as a cluster restarted with
/// another `--processes` does). Returns, per batch, the outputs of every process concatenated
/// in process order; panics if a batch fails.
///
/// ```
/// use stream_runtime::testing;
/// let input: Vec<Vec<(u32, u64)>> = (0..6).map(|i| (0..50).map(|k| (k, i)).collect()).collect();
/// fn running(s: stream_runtime::DStream<'_, (u32, u64)>) -> stream_runtime::DStream<'_, (u32, u64)> {
///     s.running_reduce_by_key(|a, b| a + b).mapped()
/// }
/// let mut rescaled = testing::run_cluster_rescaled(3, 2, 1, 3, input.clone(), running);
/// let mut single = testing::run(input, 1, running);
/// for b in rescaled.iter_mut().chain(single.iter_mut()) {
///     b.sort();
/// }
/// assert_eq!(rescaled, single);
/// ```
pub fn run_cluster_rescaled<I, O, C, B>(
    before: usize,
    after: usize,
    threads: usize,
    split: usize,
    input: Vec<Vec<I>>,
    build: B,
) -> Vec<Vec<O>>
where
    I: Data,
    O: Data,
    C: Chain<Out = O>,
    B: for<'a> Fn(DStream<'a, I>) -> DStream<'a, O, C> + Sync,
{
    let mut first = input;
    let rest = first.split_off(split.min(first.len()));
    let (mut outputs, files) =
        collect_phase(memory_peers(before.max(1)), threads, first, Some(Resume::Checkpoint), &build);
    let (more, _) = collect_phase(memory_peers(after.max(1)), threads, rest, Some(Resume::From(&files)), &build);
    outputs.extend(more);
    outputs
}

/// A pipeline built once and run one batch at a time, for benchmarks and step-by-step tests.
///
/// ```
/// use stream_runtime::testing::Stepper;
/// let mut step = Stepper::new(2, |s| s.map(|x: i32| (x % 2, x)).reduce_by_key(|a, b| a + b));
/// let mut first = step.step(vec![1, 2, 3]);
/// first.sort();
/// assert_eq!(first, vec![(0, 2), (1, 4)]);
/// assert_eq!(step.step(vec![]), vec![]);
/// assert_eq!(step.time(), stream_runtime::Time::from_millis(2000));
/// ```
pub struct Stepper<I, O> {
    stepped: Stepped,
    queue: crate::sources::BatchQueue<I>,
    sink: Arc<Mutex<Vec<O>>>,
    /// Set by [`reporting`](Stepper::reporting): batches go through the real-time driver's
    /// step, reported to this monitor if any.
    report: Option<Option<Arc<crate::running::Monitor>>>,
}

impl<I, O> std::fmt::Debug for Stepper<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stepper").field("time", &self.stepped.time()).finish_non_exhaustive()
    }
}

impl<I: Data, O: Data> Stepper<I, O> {
    /// Builds the pipeline over a queue input with `threads` worker threads and one-second
    /// batches.
    ///
    /// # Panics
    /// If the graph is invalid (e.g. a window duration that is not a multiple of the batch) or
    /// the worker threads cannot start.
    pub fn new<C: Chain<Out = O>>(
        threads: usize,
        build: impl for<'a> FnOnce(DStream<'a, I>) -> DStream<'a, O, C>,
    ) -> Self {
        let ssc = Harness::new(threads).context();
        let queue = crate::sources::BatchQueue::new();
        let sink = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&sink);
        build(ssc.queue_stream(queue.clone(), true, None))
            .foreach_batch(move |b: Batch<O>, _| s.lock().extend(b.into_partitions().into_iter().flatten()));
        let stepped = Stepped::new(ssc).unwrap_or_else(|e| panic!("invalid pipeline: {e}"));
        Stepper { stepped, queue, sink, report: None }
    }

    /// Runs every batch through the real-time driver's step, as a started job does: each
    /// output operation timed, a [`BatchInfo`](crate::BatchInfo) built, and with `ui` (feature
    /// `ui`) its fused stages timed and the batch reported to a Streaming page's monitor: its
    /// ring of batches and its Prometheus metrics (no server). For the bench of what the page
    /// costs a batch.
    ///
    /// ```
    /// use stream_runtime::testing::Stepper;
    /// let mut step = Stepper::new(1, |s| s.map(|x: u32| x + 1)).reporting(true);
    /// assert_eq!(step.step(vec![1, 2]), vec![2, 3]);
    /// ```
    pub fn reporting(mut self, ui: bool) -> Self {
        #[cfg(feature = "ui")]
        let monitor = ui.then(|| {
            let ex = self.stepped.executor();
            let ssc = crate::StreamingContext::new(ex.env().batch);
            // As a started job with a page: its fused stages timed.
            ex.graph().stages.set_on(true);
            let state = crate::ui::state_reader(ex);
            Arc::new(crate::ui::Monitor::new(ssc.conf(), &crate::ui::UiConf::default(), ex.graph(), state))
        });
        #[cfg(not(feature = "ui"))]
        let monitor = {
            let _ = ui;
            None
        };
        self.report = Some(monitor);
        self
    }

    /// Runs the next batch over `input` and returns its output (empty when the output stream
    /// has no batch at this time). Panics if the batch fails.
    pub fn step(&mut self, input: impl Into<Batch<I>>) -> Vec<O> {
        let mut input = Some(input.into());
        self.step_many(1, |_| input.take().unwrap_or_default());
        std::mem::take(&mut *self.sink.lock())
    }

    /// Runs `n` batches, batch `i` over `input(i)`, on a worker thread of the pool as the
    /// scheduler does (no hand-off between batches), and returns how many records they output.
    /// Panics if a batch fails.
    ///
    /// ```
    /// use stream_runtime::testing::Stepper;
    /// let mut step = Stepper::new(1, |s| s.filter(|x: &u32| x % 2 == 0));
    /// assert_eq!(step.step_many(3, |i| vec![i as u32, 2].into()), 5);
    /// ```
    pub fn step_many(&mut self, n: usize, input: impl FnMut(usize) -> Batch<I> + Send) -> usize {
        let Stepper { stepped, queue, sink, report } = self;
        let mut input = input;
        let report = report.as_ref().map(|m| m.as_deref());
        stepped.on_pool(|stepped| {
            let mut out = 0;
            for i in 0..n {
                queue.push(input(i));
                let errors = match report {
                    Some(monitor) => stepped.next_batch_reported(monitor).1,
                    None => stepped.next_batch(),
                };
                assert!(errors.is_empty(), "batch failed: {errors:?}");
                if i + 1 < n {
                    out += std::mem::take(&mut *sink.lock()).len();
                } else {
                    out += sink.lock().len();
                }
            }
            out
        })
    }

    /// The time of the last batch run.
    pub fn time(&self) -> Time {
        self.stepped.time()
    }

    /// A checkpoint of the pipeline after the last batch: the file a running job would
    /// write, with the state of every stateful operation (serialized in parallel on the
    /// stepper's threads).
    ///
    /// ```
    /// use stream_runtime::testing::Stepper;
    /// fn running_sum() -> Stepper<(u32, u64), (u32, u64)> {
    ///     Stepper::new(2, |s| s.running_reduce_by_key(|a, b| a + b).mapped())
    /// }
    /// let mut a = running_sum();
    /// a.step(vec![(1, 5), (2, 1)]);
    /// let file = a.checkpoint();
    /// let mut b = running_sum();
    /// b.recover(&file).unwrap();
    /// assert_eq!(b.step(vec![(1, 1)]), vec![(1, 6)]);
    /// ```
    pub fn checkpoint(&self) -> Vec<u8> {
        self.sealed().to_vec()
    }

    fn sealed(&self) -> crate::checkpoint::frames::SealedFile {
        let ex = self.stepped.executor();
        let env = ex.env();
        let cp = ex.install(|| {
            crate::checkpoint::snapshot(ex.graph(), ex.graph().fingerprint(env.batch), env.zero, self.stepped.time())
        });
        cp.expect("every state serializes")
    }

    /// Writes a [`checkpoint`](Self::checkpoint) into checkpoint directory `dir` (a local path
    /// or `hdfs://` URL) exactly as a running job's checkpoint writer does: serialized in
    /// parallel, written piece by piece under a temporary name, then renamed into place.
    ///
    /// ```
    /// use stream_runtime::testing::Stepper;
    /// let mut a = Stepper::new(2, |s| s.running_reduce_by_key(|x: u64, y| x + y).mapped());
    /// a.step(vec![(1u32, 5u64), (2, 1)]);
    /// let dir = tempfile::tempdir().unwrap();
    /// a.write_checkpoint(&dir.path().to_string_lossy()).unwrap();
    /// let file = std::fs::read(dir.path().join(format!("checkpoint-{}", a.time().as_millis()))).unwrap();
    /// assert_eq!(file, a.checkpoint());
    /// ```
    pub fn write_checkpoint(&self, dir: &str) -> Result<(), crate::checkpoint::CheckpointError> {
        crate::checkpoint::CheckpointStore::open(dir)?.write_checkpoint(self.time(), &self.sealed())
    }

    /// Restores a [`checkpoint`](Self::checkpoint) of the same pipeline; the next step
    /// continues after the checkpointed batch.
    pub fn recover(&mut self, file: &[u8]) -> Result<(), crate::checkpoint::CheckpointError> {
        let recovery = crate::checkpoint::read("stepper", file)?;
        let ex = self.stepped.executor();
        ex.install(|| crate::checkpoint::restore(ex.graph(), ex.env(), &recovery, "stepper"))?;
        self.stepped.resume_after(recovery.meta.time);
        Ok(())
    }
}
