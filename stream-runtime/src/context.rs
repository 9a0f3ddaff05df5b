//! [`StreamingContext`]: the builder of a job's graph.

use std::cell::RefCell;
use std::sync::Arc;

use crate::checkpoint::{CheckpointStore, CodecError, Fingerprint, Recovery, RestoreError};
use crate::clock::{Clock, SystemClock};
use crate::error::{BatchError, StreamingError};
use crate::metrics::SourceStats;
use crate::node::Env;
use crate::running::RunningContext;
use crate::time::{Duration, Time};

/// Default largest line a text source accepts: 16 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 16 << 20;

/// Settings of a [`StreamingContext`].
#[derive(Debug, Clone)]
pub struct Conf {
    /// The batch interval.
    pub batch: Duration,
    /// Worker threads (Spark's `local[N]`). Receivers run on threads of their own.
    pub threads: usize,
    /// The job's name, shown in logs.
    pub name: String,
    /// Lines longer than this many bytes are reported and kept out of the batch.
    pub max_line_bytes: usize,
    /// The checkpoint directory, if any.
    pub checkpoint_dir: Option<String>,
    /// How often the state is checkpointed; `None`: Spark's default, the smallest multiple of
    /// the batch interval of at least 10 seconds.
    pub checkpoint_interval: Option<Duration>,
    /// Receivers log what they receive to the checkpoint directory before it goes into a
    /// batch (Spark's `spark.streaming.receiver.writeAheadLog.enable`; off by default).
    pub write_ahead_log: bool,
    /// Receivers take at most this many records per second each (Spark's
    /// `spark.streaming.receiver.maxRate`; `None`: unlimited).
    pub receiver_max_rate: Option<u64>,
    /// Adapt the receivers' rate to the processing rate (Spark's
    /// `spark.streaming.backpressure.enabled`, with its PID estimator).
    pub backpressure: bool,
    /// Records a receiver holds before it stops reading from its connection (the bounded
    /// queue that keeps memory flat under overload).
    pub receiver_buffer: usize,
    /// The Streaming page, its JSON API and `/metrics` (feature `ui`): where they listen,
    /// `None` for none. Off for a bare context; job binaries turn it on (`--ui`).
    #[cfg(feature = "ui")]
    pub ui: Option<crate::ui::UiConf>,
    /// This process's place in a cluster (feature `cluster`): every process of the hosts list
    /// runs the same job, process 0 drives; `None`: one process.
    #[cfg(feature = "cluster")]
    pub cluster: Option<stream_cluster::Topology>,
    /// In a cluster: how many batches a process may start before the first of them is done on
    /// every process (1: each batch completes everywhere before the next starts).
    pub batches_in_flight: usize,
}

impl Conf {
    /// The checkpoint interval in effect.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// for (batch, interval) in [(1000, 10_000), (3000, 12_000), (500, 10_000), (15_000, 15_000)] {
    ///     let ssc = StreamingContext::new(Duration::millis(batch));
    ///     assert_eq!(ssc.conf().checkpoint_interval(), Duration::millis(interval));
    /// }
    /// ```
    pub fn checkpoint_interval(&self) -> Duration {
        self.checkpoint_interval.unwrap_or_else(|| {
            let b = self.batch.as_millis().max(1);
            Duration::millis(b.saturating_mul(b.saturating_add(10_000 - 1) / b))
        })
    }
}

/// An input of the graph: allocates the data of each batch when the batch is generated.
pub(crate) trait Input: Send + Sync {
    fn name(&self) -> String;
    /// Starts receivers; called once by `start`.
    fn start(&self, _env: &Env, _clock: &Arc<dyn Clock>) -> Result<(), StreamingError> {
        Ok(())
    }
    /// Fixes the data of batch `t`; returns the number of records if known.
    fn allocate(&self, t: Time) -> u64;
    /// What batch `t` holds, after [`allocate`](Self::allocate): enough for
    /// [`reallocate`](Self::reallocate) to give a recovered job exactly the same data (file
    /// lists, offset ranges, write-ahead-log handles). Written to the checkpoint directory's
    /// batch log before the batch runs. `None`: this source cannot replay a batch.
    fn allocation(&self, _t: Time) -> Option<serde_json::Value> {
        None
    }
    /// Recovery, before `start`: batch `t` holds exactly what `logged` (an earlier
    /// [`allocation`](Self::allocation)) says, and the source's position moves past it, so
    /// the batches generated after recovery continue where the logged ones end. Called in time
    /// order.
    fn reallocate(&self, _t: Time, _logged: &serde_json::Value) -> Result<(), RestoreError> {
        Ok(())
    }
    /// Why batch `t` of this input is incomplete, if it is (an offset range it may not skip,
    /// data it could not read): taken once, after the batch's outputs ran, and reported as the
    /// batch's [`StreamingError::InputFailed`].
    fn failure(&self, _t: Time) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        None
    }
    /// Stops receiving. Called when the job is asked to stop, while the batch in progress may
    /// still run, and again once it stopped.
    fn stop(&self) {}
    /// Counters of bad input.
    fn stats(&self) -> SourceStats {
        SourceStats::default()
    }
    /// Where the source stands after the batches allocated so far (files seen, offsets),
    /// kept in checkpoints. `None`: nothing to keep.
    fn position(&self) -> Option<serde_json::Value> {
        None
    }
    /// Recovery, before [`reallocate`](Self::reallocate): moves back to a checkpointed
    /// [`position`](Self::position).
    fn restore_position(&self, _position: &serde_json::Value) -> Result<(), RestoreError> {
        Ok(())
    }
    /// Before `start`: the job's checkpoint directory, and whether receivers keep a
    /// write-ahead log there.
    fn attach(&self, _store: &Arc<CheckpointStore>, _write_ahead_log: bool) {}
    /// Backpressure: the rate (records per second) this input should now take.
    fn update_rate(&self, _rate: f64) {}
    /// In a cluster: whether every process reads its share of what the driver allocates (files,
    /// Kafka partitions; given by [`reallocate`](Self::reallocate) of the driver's
    /// [`allocation`](Self::allocation)), or the driver alone receives everything (receivers,
    /// queues) and the other processes see empty batches.
    fn read_by_every_process(&self) -> bool {
        false
    }
    /// Records this process's batches took from this input since the start: in a cluster its
    /// share (of files and partitions it read, of a receiver's records dealt to it), what
    /// [`stats`](Self::stats)' `lines` counts by default.
    fn records_here(&self) -> u64 {
        self.stats().lines
    }
    /// What batch `t` holds, for the Streaming page: after [`allocate`](Self::allocate),
    /// before the batch runs. Nothing by default.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn detail(&self, _t: Time) -> crate::metrics::InputDetail {
        crate::metrics::InputDetail::None
    }
    /// How the input is doing, for the Streaming page. Nothing known by default.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    fn status(&self) -> crate::metrics::InputStatus {
        crate::metrics::InputStatus::default()
    }
}

/// An output operation: runs once per batch at which its stream has a batch.
pub(crate) trait Output: Send + Sync {
    fn name(&self) -> String;
    fn run(&self, t: Time, env: &Env) -> Result<(), BatchError>;
}

/// A node that must see every batch of its parent (windows, state); run before the outputs.
pub(crate) trait Tick: Send + Sync {
    /// The operation, as the job plan names it.
    fn name(&self) -> String;
    /// Feeds the operation its parent's batch at `t`.
    fn tick(&self, t: Time, env: &Env) -> Result<(), BatchError>;
    /// The state for a checkpoint; `Ok(None)` when the operation keeps none across
    /// recoveries.
    fn save(&self) -> Result<Option<crate::checkpoint::frames::Framed>, CodecError> {
        Ok(None)
    }
    /// Takes back a state made by [`save`](Self::save) (in a cluster restarted with another
    /// number of processes, the states of every old process: see [`Saved`]).
    fn restore(&self, _saved: crate::checkpoint::Saved<'_>, _env: &Env) -> Result<(), CodecError> {
        Ok(())
    }
    /// What it holds now (this process's): keys, estimated bytes, a window's batches, for
    /// the Streaming page; `None` when the operation does not say. `operation` is left empty
    /// (the caller names it). Called when the page, its API or `/metrics` asks, on the
    /// server's thread while batches run (so it takes the operation's lock, as a batch does),
    /// and in a cluster once per batch for the process's report: it must be cheap.
    #[cfg_attr(not(any(feature = "ui", feature = "cluster")), allow(dead_code))]
    fn view(&self) -> Option<crate::metrics::StateView> {
        None
    }
}

/// What drives a graph's batches, which decides what [`StreamingContext::validate`] requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    /// [`StreamingContext::start`]: the real-time loop, which checkpoints a stateful job, so
    /// a stateful graph needs a checkpoint directory.
    RealTime,
    /// The stepped driver of the test kit and of simulations: batches on a manual clock, never
    /// checkpointed nor recovered by the driver, so no checkpoint directory is required.
    Stepped,
}

#[derive(Default)]
pub(crate) struct Graph {
    pub(crate) inputs: Vec<Arc<dyn Input>>,
    pub(crate) outputs: Vec<Box<dyn Output>>,
    pub(crate) ticks: Vec<Box<dyn Tick>>,
    pub(crate) errors: Vec<StreamingError>,
    /// The stateful operations, which need a checkpoint directory.
    pub(crate) needs_checkpoint: Vec<String>,
    /// The shortest checkpoint interval a stream asked for ([`DStream::checkpoint`]).
    ///
    /// [`DStream::checkpoint`]: crate::DStream::checkpoint
    pub(crate) stream_checkpoint: Option<Duration>,
    pub(crate) listeners: Vec<Box<dyn Fn(&crate::metrics::BatchInfo) + Send + Sync>>,
    /// Operations that exchange with other processes, numbered as the job is built.
    pub(crate) exchanging_ops: u32,
    /// The fused stages, in the order the job built them, with their clocks.
    pub(crate) stages: crate::stage::Stages,
    /// What each output reads, as the plan names it.
    pub(crate) output_from: Vec<String>,
    /// What each stateful operation reads, as the plan names it.
    pub(crate) tick_from: Vec<String>,
}

impl Graph {
    /// The fingerprint checkpoints record.
    pub(crate) fn fingerprint(&self, batch: Duration) -> Fingerprint {
        Fingerprint {
            batch,
            inputs: self.inputs.iter().map(|i| i.name()).collect(),
            stateful: self.ticks.iter().map(|t| t.name()).collect(),
            outputs: self.outputs.iter().map(|o| o.name()).collect(),
        }
    }
}

/// The job's checkpoint interval: its own (set or default), or the shortest a stream asked
/// for with [`DStream::checkpoint`](crate::DStream::checkpoint) when shorter.
fn checkpoint_interval_of(c: &Conf, graph: &Graph) -> Duration {
    let own = c.checkpoint_interval();
    graph.stream_checkpoint.map_or(own, |asked| asked.min(own))
}

/// What [`StreamingContext::explain`] says of `graph` under `c` (also the Streaming page's plan).
pub(crate) fn explain_graph(c: &Conf, graph: &Graph) -> String {
    use std::fmt::Write;
    let mut s = format!("job {} (batch {}, {} threads)\n", c.name, c.batch, c.threads);
    if let Some(dir) = &c.checkpoint_dir {
        let _ = writeln!(s, "checkpoint: {dir}, every {}", checkpoint_interval_of(c, graph));
    }
    let plan = graph.fingerprint(c.batch);
    for (i, input) in plan.inputs.iter().enumerate() {
        let _ = writeln!(s, "input {}: {input}", i + 1);
    }
    for (i, stage) in graph.stages.list().iter().enumerate() {
        let _ = writeln!(s, "stage {} {stage}", i + 1);
    }
    for (what, items, from) in
        [("stateful", &plan.stateful, &graph.tick_from), ("output", &plan.outputs, &graph.output_from)]
    {
        for (i, item) in items.iter().enumerate() {
            match from.get(i) {
                Some(from) => writeln!(s, "{what} {}: {item} <- {from}", i + 1),
                None => writeln!(s, "{what} {}: {item}", i + 1),
            }
            .unwrap_or_default();
        }
    }
    s
}

/// The entry point of a job: holds the batch interval and thread count, creates input streams,
/// and collects the graph of transformations and outputs until [`start`](Self::start).
///
/// `start` consumes the context, so no stream or output can be added to a running job, and a
/// stopped job cannot be restarted: those are compile errors, not run-time checks. Several
/// contexts may run one after another in one process.
///
/// ```
/// use stream_runtime::prelude::*;
/// let ssc = StreamingContext::new(Duration::millis(100)).with_threads(2);
/// let queue = BatchQueue::new();
/// queue.push(vec!["a b", "b"]);
/// ssc.queue_stream(queue, true, None)
///     .flat_map(|line| line.split(' ').map(String::from).collect::<Vec<_>>())
///     .map(|w| (w, 1))
///     .reduce_by_key(|a, b| a + b)
///     .print();
/// let running = ssc.start().expect("starts");
/// running.await_termination_or_timeout(Duration::millis(250)).unwrap();
/// running.stop(true);
/// ```
pub struct StreamingContext {
    pub(crate) conf: Conf,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) graph: RefCell<Graph>,
    pub(crate) recovery: Option<Recovery>,
}

impl std::fmt::Debug for StreamingContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingContext").field("conf", &self.conf).finish_non_exhaustive()
    }
}

impl StreamingContext {
    /// A context with batch interval `batch`, as many worker threads as the machine has cores,
    /// and the system clock.
    pub fn new(batch: Duration) -> Self {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        StreamingContext {
            conf: Conf {
                batch,
                threads,
                name: "sluice".to_string(),
                max_line_bytes: DEFAULT_MAX_LINE_BYTES,
                checkpoint_dir: None,
                checkpoint_interval: None,
                write_ahead_log: false,
                receiver_max_rate: None,
                backpressure: false,
                receiver_buffer: 1 << 20,
                batches_in_flight: 1,
                #[cfg(feature = "ui")]
                ui: None,
                #[cfg(feature = "cluster")]
                cluster: None,
            },
            clock: Arc::new(SystemClock),
            graph: RefCell::new(Graph::default()),
            recovery: None,
        }
    }

    /// Sets the number of worker threads (Spark's `local[N]`).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.conf.threads = threads;
        self
    }

    /// Sets the job name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.conf.name = name.into();
        self
    }

    /// Sets the clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the largest line, in bytes, text sources accept; longer lines are reported with
    /// their source and position and kept out of the batch.
    pub fn with_max_line_bytes(mut self, limit: usize) -> Self {
        self.conf.max_line_bytes = limit;
        self
    }

    /// Enables checkpointing to `dir` (a local path or an `hdfs://` URL).
    pub fn checkpoint(&mut self, dir: impl Into<String>) {
        self.conf.checkpoint_dir = Some(dir.into());
    }

    /// Sets how often the state is checkpointed (a multiple of the batch interval; Spark's
    /// `DStream.checkpoint(interval)`, here for the whole job).
    pub fn with_checkpoint_interval(mut self, interval: Duration) -> Self {
        self.conf.checkpoint_interval = Some(interval);
        self
    }

    /// Turns the receivers' write-ahead log on or off (Spark's
    /// `spark.streaming.receiver.writeAheadLog.enable`). Needs a checkpoint directory.
    pub fn with_write_ahead_log(mut self, on: bool) -> Self {
        self.conf.write_ahead_log = on;
        self
    }

    /// Caps each receiver at `records_per_second` (Spark's `spark.streaming.receiver.maxRate`).
    pub fn with_receiver_max_rate(mut self, records_per_second: u64) -> Self {
        self.conf.receiver_max_rate = Some(records_per_second);
        self
    }

    /// Turns backpressure on or off (Spark's `spark.streaming.backpressure.enabled`): after
    /// each batch a PID estimator sets the receivers' rate to what processing keeps up with.
    pub fn with_backpressure(mut self, on: bool) -> Self {
        self.conf.backpressure = on;
        self
    }

    /// Sets how many records a receiver holds before it stops reading (default 1,048,576).
    pub fn with_receiver_buffer(mut self, records: usize) -> Self {
        self.conf.receiver_buffer = records.max(1);
        self
    }

    /// Serves the Streaming page, its JSON API and Prometheus `/metrics` while the job runs
    /// (feature `ui`; see [`UiConf`](crate::ui::UiConf)); `None` turns it off.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::ui::UiConf;
    /// let ssc = StreamingContext::new(Duration::millis(100))
    ///     .with_ui(Some(UiConf::at("127.0.0.1:0".parse().unwrap())));
    /// ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count().print();
    /// let running = ssc.start().unwrap();
    /// let addr = running.ui_addr().unwrap();
    /// assert!(std::net::TcpStream::connect(addr).is_ok());
    /// running.stop(false);
    /// ```
    #[cfg(feature = "ui")]
    pub fn with_ui(mut self, ui: Option<crate::ui::UiConf>) -> Self {
        self.conf.ui = ui;
        self
    }

    /// Runs the job as process `topology.process` of a cluster (feature `cluster`): at start
    /// it connects to every other process of `topology.hosts`, which must run the same job
    /// (same plan, threads and version; a mismatch is refused with both plans named).
    /// Process 0 is the driver: it owns the clock, plans each batch and serves the Streaming
    /// page; every process reads its share of the input and keeps the keys of its partitions.
    ///
    /// ```no_run
    /// use stream_runtime::prelude::*;
    /// let hosts = vec![
    ///     stream_cluster::Host::parse("10.0.0.1:7000").unwrap(),
    ///     stream_cluster::Host::parse("10.0.0.2:7000").unwrap(),
    /// ];
    /// let topology = stream_cluster::Topology::new(0, hosts).unwrap();
    /// let ssc = StreamingContext::new(Duration::seconds(1)).with_cluster(Some(topology));
    /// ssc.text_file_stream("hdfs://namenode:8020/in").count().print();
    /// let running = ssc.start().unwrap();
    /// ```
    #[cfg(feature = "cluster")]
    pub fn with_cluster(mut self, topology: Option<stream_cluster::Topology>) -> Self {
        self.conf.cluster = topology;
        self
    }

    /// In a cluster, lets each process start up to `k` batches before the first of them is done
    /// on every process (default 1): a process that finished its part of a batch goes on with
    /// the next instead of waiting for the slowest, so unevenly loaded processes overlap. Every
    /// batch still runs on every process in order, and the exchanges of a batch wait for it
    /// everywhere; the bound keeps a fast process from running ahead without limit (timely's
    /// queues are unbounded). Part of the plan: every process must use the same `k`. No effect
    /// on one process.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::seconds(1)).with_batches_in_flight(2);
    /// assert_eq!(ssc.conf().batches_in_flight, 2);
    /// ```
    pub fn with_batches_in_flight(mut self, k: usize) -> Self {
        self.conf.batches_in_flight = k.max(1);
        self
    }

    /// The fingerprint of the job's plan that checkpoints record.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        self.graph.borrow().fingerprint(self.conf.batch)
    }

    /// What the engine will run, as text: the batch interval and threads, the checkpoint
    /// directory, every input, then the fused stages (numbered in the order the job built
    /// them: each reads an input or another operator's stream, runs its narrow operations in
    /// one loop per partition and ends in the operator named last), then every stateful
    /// operation and output in registration order with the stream it reads. `--explain`
    /// prints it, and the Streaming page shows it with each stage's time.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::seconds(1)).with_name("counts");
    /// ssc.socket_text_stream("localhost", 9999).count().print();
    /// assert_eq!(
    ///     ssc.explain(),
    ///     "job counts (batch 1000 ms, 2 threads)\ninput 1: socket_text_stream(localhost:9999)\n\
    ///      stage 1 <- input 1: count\noutput 1: print(10) <- count (stage 1)\n"
    /// );
    /// ```
    pub fn explain(&self) -> String {
        explain_graph(&self.conf, &self.graph.borrow())
    }

    /// The plan the processes of a cluster must share: [`explain`](Self::explain) without the
    /// checkpoint directory (each process has its own under the shared one).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn cluster_plan(&self) -> String {
        let mut conf = self.conf.clone();
        conf.checkpoint_dir = None;
        let mut s = explain_graph(&conf, &self.graph.borrow());
        s.push_str(&format!("checkpoint every {}\n", checkpoint_interval_of(&self.conf, &self.graph.borrow())));
        s.push_str(&format!("batches in flight {}\n", self.conf.batches_in_flight));
        s
    }

    /// The settings.
    pub fn conf(&self) -> &Conf {
        &self.conf
    }

    /// The batch interval.
    pub fn batch_duration(&self) -> Duration {
        self.conf.batch
    }

    /// Default number of partitions of shuffles.
    pub fn default_parallelism(&self) -> usize {
        self.conf.threads.max(1)
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Registers an input; returns what the plan calls it (`input 1`).
    pub(crate) fn add_input(&self, input: Arc<dyn Input>) -> String {
        let mut graph = self.graph.borrow_mut();
        graph.inputs.push(input);
        format!("input {}", graph.inputs.len())
    }

    /// Registers an output reading the stream the plan calls `from`.
    pub(crate) fn add_output(&self, output: Box<dyn Output>, from: String) {
        let mut graph = self.graph.borrow_mut();
        graph.outputs.push(output);
        graph.output_from.push(from);
    }

    /// The id of a new operation that exchanges with other processes: given in the order the
    /// job builds them, so the same operation has the same id in every process.
    pub(crate) fn next_op(&self) -> u32 {
        let mut graph = self.graph.borrow_mut();
        graph.exchanging_ops += 1;
        graph.exchanging_ops - 1
    }

    /// Registers a stateful operation reading the stream the plan calls `from`.
    pub(crate) fn add_tick(&self, tick: Box<dyn Tick>, from: String) {
        let mut graph = self.graph.borrow_mut();
        graph.ticks.push(tick);
        graph.tick_from.push(from);
    }

    /// Calls `f` after every batch with its [`BatchInfo`](crate::BatchInfo) (Spark's
    /// `StreamingListener.onBatchCompleted`), on the batch processing thread.
    pub fn on_batch_completed(&self, f: impl Fn(&crate::metrics::BatchInfo) + Send + Sync + 'static) {
        self.graph.borrow_mut().listeners.push(Box::new(f));
    }

    /// Records a validation error; `start` reports it.
    pub(crate) fn record_error(&self, e: StreamingError) {
        self.graph.borrow_mut().errors.push(e);
    }

    /// Marks the graph as holding the stateful operation `op`, which needs a checkpoint
    /// directory.
    pub(crate) fn require_checkpoint(&self, op: &str) {
        let mut graph = self.graph.borrow_mut();
        if !graph.needs_checkpoint.iter().any(|o| o == op) {
            graph.needs_checkpoint.push(op.to_string());
        }
    }

    /// Checks the graph for `driver`: first recorded validation error, missing outputs,
    /// missing checkpoint directory (for the real-time driver).
    pub(crate) fn validate(&self, driver: Driver) -> Result<(), StreamingError> {
        if self.conf.batch.as_millis() <= 0 {
            return Err(StreamingError::InvalidConfig("the batch interval must be positive".into()));
        }
        if self.conf.batch > Duration::MAX_PARSED || self.conf.checkpoint_interval() > Duration::MAX_PARSED {
            return Err(StreamingError::InvalidConfig(format!(
                "the batch and checkpoint intervals must be at most 365 days ({})",
                Duration::MAX_PARSED
            )));
        }
        if self.conf.threads == 0 {
            return Err(StreamingError::InvalidConfig("the thread count must be at least 1".into()));
        }
        let graph = self.graph.borrow();
        if !graph.errors.is_empty() {
            drop(graph);
            return Err(self.graph.borrow_mut().errors.swap_remove(0));
        }
        if graph.outputs.is_empty() {
            return Err(StreamingError::NoOutputOperations);
        }
        if !graph.needs_checkpoint.is_empty() && self.conf.checkpoint_dir.is_none() && driver == Driver::RealTime {
            return Err(StreamingError::CheckpointDirectoryNotSet);
        }
        if self.conf.write_ahead_log && self.conf.checkpoint_dir.is_none() {
            return Err(StreamingError::InvalidConfig("Cannot enable receiver write-ahead log without checkpoint directory set. Please use streamingContext.checkpoint() to set the checkpoint directory.".into()));
        }
        let interval = self.conf.checkpoint_interval();
        if !interval.is_multiple_of(self.conf.batch) || interval.as_millis() <= 0 {
            return Err(StreamingError::InvalidConfig(format!(
                "The checkpoint interval ({interval}) must be a positive multiple of the batch interval ({})",
                self.conf.batch
            )));
        }
        Ok(())
    }

    /// Validates the graph and starts generating and processing batches.
    ///
    /// Fails with a typed error, and starts nothing, when the graph has no output operation,
    /// holds an invalid window, or needs a checkpoint directory that is not set.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// let _unused = ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count();
    /// let err = ssc.start().unwrap_err();
    /// assert_eq!(err.to_string(), "No output operations registered, so nothing to execute");
    /// ```
    pub fn start(mut self) -> Result<RunningContext, StreamingError> {
        // A stream's interval asks for a checkpoint at least that often: the job's interval
        // is the shortest asked.
        self.conf.checkpoint_interval = Some(checkpoint_interval_of(&self.conf, self.graph.get_mut()));
        self.validate(Driver::RealTime)?;
        RunningContext::start(self)
    }
}
