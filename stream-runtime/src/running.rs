//! [`RunningContext`]: a started job, its batch generator and its batch processor: the
//! real-time driver of the [`Executor`]. The generator waits for the clock and allocates (and
//! logs) each batch; the processor runs it, checkpoints and reports it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::checkpoint::{self, CheckpointStore, Checkpointer};
use crate::clock::Clock;
use crate::context::{Graph, Input, StreamingContext};
use crate::error::StreamingError;
use crate::executor::{Executor, Ran};
use crate::metrics::{BatchInfo, SourceStats};
use crate::node::Env;
use crate::rate::PidEstimator;
use crate::time::{Duration, Time};

#[cfg(feature = "cluster")]
use crate::cluster::timely::{BatchPlan, TimelyPeers};

/// Without the `cluster` feature there are never peers.
#[cfg(not(feature = "cluster"))]
#[derive(Debug)]
enum TimelyPeers {}

#[cfg(not(feature = "cluster"))]
impl TimelyPeers {
    fn is_driver(&self) -> bool {
        match *self {}
    }
}

type Listener = Box<dyn Fn(&BatchInfo) + Send + Sync>;

/// How the job is being stopped.
const RUNNING: u8 = 0;
const GRACEFUL: u8 = 1;
const NOW: u8 = 2;

struct Shared {
    stop: AtomicU8,
    state: Mutex<Status>,
    changed: Condvar,
}

#[derive(Default)]
struct Status {
    terminated: bool,
    first_error: Option<StreamingError>,
    error_taken: bool,
    batches: u64,
}

/// A started job. Dropping it stops the job at once; [`stop`](Self::stop) chooses how.
///
/// ```
/// use stream_runtime::prelude::*;
/// let ssc = StreamingContext::new(Duration::millis(50));
/// ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count().print();
/// let running = ssc.start().unwrap();
/// assert!(matches!(running.await_termination_or_timeout(Duration::millis(120)), Ok(false)));
/// running.stop(false);
/// ```
pub struct RunningContext {
    shared: Arc<Shared>,
    /// The other processes, in a cluster.
    peers: Option<Arc<TimelyPeers>>,
    executor: Arc<Executor>,
    threads: Vec<JoinHandle<()>>,
    zero: Time,
    /// The Streaming page's server, stopped with the job.
    #[cfg(feature = "ui")]
    ui: Option<crate::ui::Ui>,
}

impl std::fmt::Debug for RunningContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningContext").field("zero", &self.zero).finish_non_exhaustive()
    }
}

impl RunningContext {
    pub(crate) fn start(ctx: StreamingContext) -> Result<RunningContext, StreamingError> {
        let fingerprint = ctx.fingerprint();
        #[cfg(feature = "cluster")]
        let plan_text = ctx.cluster_plan();
        let StreamingContext { conf, clock, graph, mut recovery } = ctx;
        let mut graph = graph.into_inner();
        let listeners: Vec<Listener> = std::mem::take(&mut graph.listeners);
        let batch = conf.batch;
        let now = clock.now().floor(batch);
        let zero = recovery.as_ref().map_or(now, |r| r.meta.zero);
        #[cfg(feature = "cluster")]
        let peers = match &conf.cluster {
            Some(topology) if topology.processes() > 1 => Some(TimelyPeers::connect(topology, &conf.name, &plan_text)?),
            _ => None,
        };
        #[cfg(not(feature = "cluster"))]
        let peers: Option<Arc<TimelyPeers>> = None;
        // In a cluster, batch times are the driver's, and every process must continue from
        // the same checkpoint.
        let (zero, now, recovery) = match &peers {
            Some(p) => {
                let (zero, now) = agree(p, zero, now)?;
                let recovery = common_recovery(p, conf.checkpoint_dir.as_deref(), recovery.take(), &fingerprint)?;
                // The batch grid is the recovered checkpoint's (a process that had none of
                // its own, after a change in the number of processes, proposed a new one).
                let zero = recovery.as_ref().map_or(zero, |r| r.meta.zero);
                (zero, now, recovery)
            }
            None => (zero, now, recovery.take()),
        };
        let is_driver = peers.as_ref().is_none_or(|p| p.is_driver());
        let env = Env {
            zero,
            batch,
            parallelism: conf.threads.max(1),
            #[cfg(feature = "cluster")]
            peers: peers.clone().map(|p| p as Arc<dyn crate::cluster::Peers>),
            #[cfg(not(feature = "cluster"))]
            peers: None,
        };
        let executor = Arc::new(Executor::new(graph, env)?);
        let graph = executor.graph();
        // The Streaming page binds its port before anything starts, so a taken port stops the
        // job before it reads anything. In a cluster, the driver serves it.
        #[cfg(feature = "ui")]
        let ui = match &conf.ui {
            Some(ui) if is_driver => crate::ui::Ui::start(ui, &conf, graph, crate::ui::state_reader(&executor))?,
            _ => None,
        };
        let checkpoints = match &conf.checkpoint_dir {
            Some(dir) => {
                let store = Arc::new(CheckpointStore::open(dir)?);
                for input in &graph.inputs {
                    input.attach(&store, conf.write_ahead_log);
                }
                let cp = Checkpointer::new(store, fingerprint.clone(), zero, conf.checkpoint_interval(), is_driver)?;
                #[cfg(feature = "ui")]
                if let Some(m) = ui.as_ref().map(crate::ui::Ui::monitor) {
                    cp.on_written(Box::new(move |w| m.checkpoint_written(w)));
                }
                Some(Arc::new(cp))
            }
            None => None,
        };
        let replay = match (&recovery, &conf.checkpoint_dir) {
            (Some(r), Some(dir)) => executor.install(|| checkpoint::restore(graph, executor.env(), r, dir))?,
            _ => Vec::new(),
        };
        // A cluster's driver writes the manifest of each checkpoint once every process wrote it.
        #[cfg(feature = "cluster")]
        let mut manifests = match (&peers, &checkpoints) {
            (Some(p), Some(cp)) => {
                if let Some(r) = recovery.as_ref().filter(|r| r.spread.is_some()) {
                    take_over(p, r, cp, graph, &fingerprint)?;
                }
                match checkpoint::layout::split_process_dir(cp.store.url()) {
                    Some((base, _, n)) if p.is_driver() => {
                        let layout = checkpoint::layout::Layout::open(base)?;
                        let writer = checkpoint::layout::ManifestWriter::start(layout, n, fingerprint.clone())
                            .map_err(|source| StreamingError::Spawn { what: "manifest writer", source })?;
                        Some(writer)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        #[cfg(not(feature = "cluster"))]
        let mut manifests: Option<checkpoint::layout::ManifestWriter> = None;
        // New batches come after every batch the checkpoint covers or the log replays.
        let covered = replay.last().map(|r| r.time).or(recovery.as_ref().map(|r| r.meta.time)).unwrap_or(zero);
        let start = (now + batch).max(covered + batch);
        match (&checkpoints, &recovery) {
            (Some(cp), None) => {
                executor.install(|| cp.checkpoint_now(graph, zero));
                if let Some(m) = &manifests {
                    m.expect(zero);
                }
            }
            (_, Some(r)) => tracing::warn!(
                name = %conf.name,
                checkpoint = %r.meta.time,
                replayed = replay.len(),
                "recovered from the checkpoint; re-running the batches logged after it"
            ),
            _ => {}
        }
        for input in graph.inputs.iter().filter(|i| is_driver || i.read_by_every_process()) {
            input.start(executor.env(), &clock)?;
        }
        let shared =
            Arc::new(Shared { stop: AtomicU8::new(RUNNING), state: Mutex::default(), changed: Condvar::new() });
        let (tx, rx) = crossbeam_channel::unbounded::<(Time, Allocated)>();
        for r in replay {
            let _ = tx.send((r.time, Allocated { records: r.records, per_input: r.per_input, replayed: true }));
        }
        // The driver's clock makes the batches; the other processes of a cluster follow its plans.
        let generator = if is_driver {
            let (executor, shared, clock, cp) =
                (Arc::clone(&executor), Arc::clone(&shared), Arc::clone(&clock), checkpoints.clone());
            let thread = std::thread::Builder::new()
                .name("sluice-generator".into())
                .spawn(move || generate(&executor, &shared, clock.as_ref(), cp.as_deref(), start, batch, tx))
                .map_err(|source| StreamingError::Spawn { what: "generator", source })?;
            Some(thread)
        } else {
            drop(tx);
            None
        };
        // In a cluster, the driver's page covers every process: each sends it a report of
        // every batch with the next plan.
        #[cfg(feature = "ui")]
        let watched = ui.as_ref().map(crate::ui::Ui::monitor);
        #[cfg(not(feature = "ui"))]
        let watched: Option<Arc<Monitor>> = None;
        #[cfg(all(feature = "ui", feature = "cluster"))]
        if let (Some(m), Some(p)) = (&watched, &peers) {
            m.set_processes(crate::cluster::Peers::processes(p.as_ref()));
        }
        #[cfg(feature = "ui")]
        let reporting = conf.ui.is_some();
        #[cfg(not(feature = "ui"))]
        let reporting = false;
        // The fused stages are timed only for a page: the driver's, which the others report to.
        #[cfg(feature = "ui")]
        graph.stages.set_on(ui.is_some() || (reporting && !is_driver));
        let feed = Feed {
            rx,
            peers: peers.clone(),
            seq: FIRST_PLAN,
            graceful_stop: false,
            in_flight: conf.batches_in_flight.max(1),
            unconfirmed: 0,
            watched,
            reporting,
            report: None,
        };
        let processor = {
            let (executor, shared, clock) = (Arc::clone(&executor), Arc::clone(&shared), Arc::clone(&clock));
            #[cfg(feature = "ui")]
            let monitor = ui.as_ref().map(crate::ui::Ui::monitor);
            #[cfg(not(feature = "ui"))]
            let monitor: Option<Arc<Monitor>> = None;
            let mut rate = conf.backpressure.then(|| PidEstimator::new(batch.as_millis()));
            std::thread::Builder::new()
                .name("sluice-processor".into())
                // The loop runs on a worker of the pool, so parallel work needs no hand-off.
                .spawn(move || {
                    let graph = executor.graph();
                    let mut feed = feed;
                    executor.install(|| {
                        let mut last = None;
                        while let Some((t, allocated)) = feed.next(graph, &shared) {
                            let delay = (clock.now() - t).to_std();
                            let (info, errors) = process_batch(
                                &executor,
                                monitor.as_deref(),
                                t,
                                allocated,
                                delay,
                                &|| feed.rx.len(),
                                |errors| {
                                    if let Some(cp) = &checkpoints {
                                        if crate::checkpoint::hold_back_failed(cp, t, errors) {
                                            shared.stop.store(NOW, Ordering::SeqCst);
                                        }
                                    }
                                },
                                || match checkpoints.as_ref().filter(|cp| cp.is_checkpoint_time(t)) {
                                    Some(cp) => {
                                        let began = std::time::Instant::now();
                                        cp.checkpoint(graph, t);
                                        if let Some(m) = &manifests {
                                            m.expect(t);
                                        }
                                        began.elapsed()
                                    }
                                    None => std::time::Duration::ZERO,
                                },
                            );
                            last = Some(t);
                            feed.ran(graph, &info);
                            feed.fail_stop(t, &errors);
                            if let Some(r) = rate.as_mut() {
                                adapt_rate(r, graph, &info, clock.now());
                            }
                            for l in &listeners {
                                l(&info);
                            }
                            feed.complete();
                            let mut st = shared.state.lock();
                            st.batches += 1;
                            if st.first_error.is_none() {
                                st.first_error = errors.into_iter().next();
                            }
                            shared.changed.notify_all();
                        }
                        // A graceful stop ends with a checkpoint of everything processed.
                        let graceful = feed.finish(shared.stop.load(Ordering::SeqCst) == GRACEFUL);
                        if let (Some(cp), Some(t)) = (&checkpoints, last) {
                            if graceful {
                                cp.checkpoint_now(graph, t);
                                if let Some(m) = &manifests {
                                    m.expect(t);
                                }
                            }
                        }
                        // The other processes write their last checkpoint as they leave.
                        if let Some(m) = manifests.as_mut() {
                            m.finish(std::time::Duration::from_secs(10));
                        }
                    });
                    shared.state.lock().terminated = true;
                    shared.changed.notify_all();
                })
                .map_err(|source| StreamingError::Spawn { what: "processor", source })?
        };
        tracing::info!(name = %conf.name, start = %start, "streaming job started");
        Ok(RunningContext {
            shared,
            executor,
            threads: generator.into_iter().chain([processor]).collect(),
            peers,
            zero,
            #[cfg(feature = "ui")]
            ui,
        })
    }

    /// The time before the first batch: batches fall at `zero + k * batch` for k = 1, 2, ...
    pub fn zero_time(&self) -> Time {
        self.zero
    }

    /// Blocks until the job stops (returns `Ok`) or a batch fails (returns that error; the
    /// job keeps running later batches, as Spark's does). An error is returned once.
    pub fn await_termination(&self) -> Result<(), StreamingError> {
        self.wait(None).map(|_| ())
    }

    /// As [`await_termination`](Self::await_termination), giving up after `timeout`:
    /// `Ok(true)` when the job stopped, `Ok(false)` on time-out.
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool, StreamingError> {
        self.wait(Some(std::time::Instant::now() + timeout.to_std()))
    }

    fn wait(&self, deadline: Option<std::time::Instant>) -> Result<bool, StreamingError> {
        let mut st = self.shared.state.lock();
        loop {
            if !st.error_taken {
                if let Some(e) = st.first_error.take() {
                    st.error_taken = true;
                    return Err(e);
                }
            }
            if st.terminated {
                return Ok(true);
            }
            match deadline {
                Some(d) => {
                    if self.shared.changed.wait_until(&mut st, d).timed_out() {
                        return Ok(st.terminated);
                    }
                }
                None => self.shared.changed.wait(&mut st),
            }
        }
    }

    /// Where the Streaming page listens (feature `ui`; `None` when the context had no
    /// [`with_ui`](StreamingContext::with_ui)).
    #[cfg(feature = "ui")]
    pub fn ui_addr(&self) -> Option<std::net::SocketAddr> {
        self.ui.as_ref().map(crate::ui::Ui::addr)
    }

    /// Number of batches processed so far.
    pub fn batches_completed(&self) -> u64 {
        self.shared.state.lock().batches
    }

    /// Blocks until `n` batches have been processed, the job stopped, or `timeout` passed
    /// (without polling: the processor wakes the caller when a batch ends); the number of
    /// batches processed by then.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::ManualClock;
    /// let clock = ManualClock::new(Time::from_millis(0));
    /// let ssc = StreamingContext::new(Duration::seconds(1)).with_clock(std::sync::Arc::new(clock.clone()));
    /// ssc.queue_stream(BatchQueue::<i32>::new(), true, None).count().print();
    /// let running = ssc.start().unwrap();
    /// clock.set(running.zero_time() + Duration::seconds(1));
    /// assert_eq!(running.await_batches(1, Duration::seconds(60)), 1);
    /// running.stop(false);
    /// ```
    pub fn await_batches(&self, n: u64, timeout: Duration) -> u64 {
        let deadline = std::time::Instant::now() + timeout.to_std();
        let mut st = self.shared.state.lock();
        while st.batches < n && !st.terminated {
            if self.shared.changed.wait_until(&mut st, deadline).timed_out() {
                break;
            }
        }
        st.batches
    }

    /// Bad-input counters of each source, by source name.
    pub fn source_stats(&self) -> Vec<(String, SourceStats)> {
        self.executor.graph().inputs.iter().map(|i| (i.name(), i.stats())).collect()
    }

    /// Stops the job. Graceful: stop receiving, process everything received (one last batch),
    /// then return. Otherwise: finish the batch in progress and drop the rest.
    pub fn stop(mut self, graceful: bool) {
        self.stop_inner(graceful);
    }

    fn stop_inner(&mut self, graceful: bool) {
        let mode = if graceful { GRACEFUL } else { NOW };
        let _ = self.shared.stop.compare_exchange(RUNNING, mode, Ordering::SeqCst, Ordering::SeqCst);
        if !graceful {
            self.shared.stop.store(NOW, Ordering::SeqCst);
        }
        // Sources waiting inside the batch in progress (a Kafka read while the brokers are
        // away) give up, so the threads can be joined.
        for input in &self.executor.graph().inputs {
            input.stop();
        }
        if let Some(p) = self.peers.as_ref().filter(|p| !p.is_driver()) {
            // A process that follows the driver stops when the driver stops the cluster.
            follow_stop(p, &self.threads);
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for input in &self.executor.graph().inputs {
            input.stop();
        }
        #[cfg(feature = "ui")]
        if let Some(ui) = self.ui.take() {
            ui.stop();
        }
        let mut st = self.shared.state.lock();
        st.terminated = true;
        self.shared.changed.notify_all();
    }
}

impl Drop for RunningContext {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop_inner(false);
        }
    }
}

/// Cuts batch `t` from every input and, when checkpointing, logs it before it may run;
/// returns what was allocated, or `None` when the job stops before the batch could be
/// logged (it must not run then).
fn allocate_all(executor: &Executor, cp: Option<&Checkpointer>, shared: &Shared, t: Time) -> Option<Allocated> {
    let Some(cp) = cp else {
        return Some(Allocated::new(executor.allocate(t)));
    };
    let _between_batches = cp.allocating.lock();
    let allocated = Allocated::new(executor.allocate(t));
    cp.log_batch(executor.graph(), t, &allocated.per_input, || shared.stop.load(Ordering::SeqCst) != RUNNING)
        .then_some(allocated)
}

/// What the Streaming page's monitor is told of each batch (feature `ui`).
#[cfg(feature = "ui")]
pub(crate) use crate::ui::Monitor;

/// Without the feature there is no page to tell.
#[cfg(not(feature = "ui"))]
#[derive(Debug)]
pub(crate) enum Monitor {}

#[cfg(not(feature = "ui"))]
impl Monitor {
    fn batch_started(&self, _t: Time, _waiting: usize) {
        match *self {}
    }
    fn batch_completed(&self, _info: &BatchInfo, _waiting: usize) {
        match *self {}
    }
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    fn process_reports(&self, _reports: Vec<crate::metrics::ProcessReport>) {
        match *self {}
    }
}

/// The processor's step of batch `t` (allocated before, `delay` after its time): tells the
/// page it starts and what each input holds for it, runs it, lets `ran` see its errors
/// (before the processing time is taken), `checkpoint` (returning the stall), builds its
/// [`BatchInfo`] and tells the page it completed (`waiting` batches behind it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn process_batch(
    executor: &Executor,
    monitor: Option<&Monitor>,
    t: Time,
    allocated: Allocated,
    delay: std::time::Duration,
    waiting: &dyn Fn() -> usize,
    ran: impl FnOnce(&[StreamingError]),
    checkpoint: impl FnOnce() -> std::time::Duration,
) -> (BatchInfo, Vec<StreamingError>) {
    let mut input_details = Vec::new();
    if let Some(m) = monitor {
        m.batch_started(t, waiting());
        // What each input holds, for the batch's page, before the batch takes it (a batch
        // replayed after recovery too: the inputs hold what the batch log gave them).
        input_details = details(&executor.graph().inputs, t);
    }
    let began = std::time::Instant::now();
    let Ran { errors, outputs: output_ops, stages, fused } = executor.run(t);
    ran(&errors);
    let processing_time = began.elapsed();
    let checkpoint_stall = checkpoint();
    let info = BatchInfo {
        batch_time: t,
        num_records: allocated.records,
        input_records: allocated.per_input,
        scheduling_delay: delay,
        processing_time,
        failed_outputs: errors.len(),
        first_failure: errors.first().map(ToString::to_string),
        checkpoint_stall,
        output_ops,
        input_details,
        stage_times: stages,
        fused_stage_times: fused,
        replayed: allocated.replayed,
    };
    if let Some(m) = monitor {
        m.batch_completed(&info, waiting());
    }
    (info, errors)
}

/// What each input holds for batch `t`, in registration order, up to the last input that
/// says something: nothing (no allocation) when none does, as a queue.
fn details(inputs: &[Arc<dyn Input>], t: Time) -> Vec<crate::metrics::InputDetail> {
    let mut out = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let d = input.detail(t);
        if d != crate::metrics::InputDetail::None {
            out.resize(i, crate::metrics::InputDetail::None);
            out.push(d);
        }
    }
    out
}

/// What the generator hands the processor for one batch.
pub(crate) struct Allocated {
    /// Records of every input.
    records: u64,
    /// Records of each input; empty where unknown (a batch replayed from a batch log written
    /// before they were logged, another process's batch in a cluster).
    per_input: Vec<u64>,
    /// Replayed from the batch log after a recovery.
    replayed: bool,
}

impl Allocated {
    pub(crate) fn new(per_input: Vec<u64>) -> Allocated {
        Allocated { records: per_input.iter().sum(), per_input, replayed: false }
    }
}

/// Backpressure: feeds a finished batch to the estimator and hands a new rate to the inputs.
fn adapt_rate(pid: &mut PidEstimator, graph: &Graph, info: &BatchInfo, now: Time) {
    let ms = |d: std::time::Duration| d.as_millis() as i64;
    if let Some(rate) =
        pid.compute(now.as_millis(), info.num_records, ms(info.processing_time), ms(info.scheduling_delay))
    {
        tracing::debug!(time = %info.batch_time, rate, "backpressure: new rate");
        for input in &graph.inputs {
            input.update_rate(rate);
        }
    }
}

fn generate(
    executor: &Executor,
    shared: &Shared,
    clock: &dyn Clock,
    cp: Option<&Checkpointer>,
    start: Time,
    batch: Duration,
    tx: crossbeam_channel::Sender<(Time, Allocated)>,
) {
    let tick = std::time::Duration::from_millis(20);
    let mut t = start;
    loop {
        match shared.stop.load(Ordering::SeqCst) {
            NOW => return,
            GRACEFUL => {
                tracing::info!(time = %t, "generator: the last batch");
                for input in &executor.graph().inputs {
                    input.stop();
                }
                if let Some(allocated) = allocate_all(executor, cp, shared, t) {
                    let _ = tx.send((t, allocated));
                }
                return;
            }
            _ => {}
        }
        if !clock.wait_until(t, tick) {
            continue;
        }
        let Some(allocated) = allocate_all(executor, cp, shared, t) else { return };
        if tx.send((t, allocated)).is_err() {
            return;
        }
        t = t + batch;
    }
}

/// The sequence number of the driver's first plan (0 and 1 agree on the start).
const FIRST_PLAN: u64 = 2;

/// Where the processor's batches come from: the generator, and in a cluster the driver's plans.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
struct Feed {
    rx: crossbeam_channel::Receiver<(Time, Allocated)>,
    peers: Option<Arc<TimelyPeers>>,
    seq: u64,
    /// A follower received a graceful stop.
    graceful_stop: bool,
    /// Batches a process may start before the first of them is done everywhere.
    in_flight: usize,
    /// Batches done here since the last wait for every process.
    unconfirmed: usize,
    /// The driver's page, which the other processes report to.
    watched: Option<Arc<Monitor>>,
    /// Whether the job has a page (the driver serves it; the others report to it).
    reporting: bool,
    /// A follower's report of its last batch and its reporter, sent with the next plan.
    report: Option<(crate::report::Reporter, Vec<u8>)>,
}

#[cfg(not(feature = "cluster"))]
impl Feed {
    fn next(&mut self, _graph: &Graph, shared: &Shared) -> Option<(Time, Allocated)> {
        let next = self.rx.recv().ok()?;
        (shared.stop.load(Ordering::SeqCst) != NOW).then_some(next)
    }

    fn complete(&mut self) {}

    fn ran(&mut self, _graph: &Graph, _info: &BatchInfo) {}

    fn fail_stop(&self, _: Time, _: &[StreamingError]) {}

    fn finish(&mut self, graceful: bool) -> bool {
        graceful
    }
}

#[cfg(feature = "cluster")]
impl Feed {
    /// The next batch to run, `None` when the job stops. The driver takes it from its
    /// generator and sends every process its plan; the others receive the plan and take the
    /// driver's allocation of every input they read a share of.
    fn next(&mut self, graph: &Graph, shared: &Shared) -> Option<(Time, Allocated)> {
        // Each plan the driver sends, the stop included, has the next sequence number.
        let seq = self.seq;
        match &self.peers {
            None => {
                let next = self.rx.recv().ok()?;
                (shared.stop.load(Ordering::SeqCst) != NOW).then_some(next)
            }
            Some(p) if p.is_driver() => {
                let (t, allocated) = self.rx.recv().ok()?;
                if shared.stop.load(Ordering::SeqCst) == NOW {
                    return None;
                }
                let allocations = graph.inputs.iter().map(|i| i.allocation(t)).collect();
                let plan = BatchPlan { time: t, stop: false, graceful: false, records: allocated.records, allocations };
                let (_, reports) = p.driver_value_with(seq, Some(&plan), Vec::new()).ok()?;
                self.seq += 1;
                self.reports(reports);
                Some((t, allocated))
            }
            Some(p) => {
                let report = self.report.as_mut().map(|(_, r)| std::mem::take(r)).unwrap_or_default();
                let (plan, _): (BatchPlan, _) = p.driver_value_with(seq, None, report).ok()?;
                self.seq += 1;
                if plan.stop {
                    self.graceful_stop = plan.graceful;
                    return None;
                }
                for (input, allocation) in graph.inputs.iter().zip(&plan.allocations) {
                    match (input.read_by_every_process(), allocation) {
                        (false, _) => {}
                        // The driver's allocation (files, offset ranges), of which this
                        // process reads its share.
                        (true, Some(allocation)) => {
                            if let Err(e) = input.reallocate(plan.time, allocation) {
                                tracing::error!(input = %input.name(), "cannot take the driver's plan: {e}");
                            }
                        }
                        // An input of this process's own (a queue): it cuts its batch itself.
                        (true, None) => {
                            input.allocate(plan.time);
                        }
                    }
                }
                Some((plan.time, Allocated { records: plan.records, per_input: Vec::new(), replayed: false }))
            }
        }
    }

    /// A batch ran here: a follower makes its report for the driver's page, sent with the
    /// next plan (only when the driver has a page: every process has the same options).
    fn ran(&mut self, graph: &Graph, info: &BatchInfo) {
        let Some(p) = self.peers.as_ref().filter(|p| self.reporting && !p.is_driver()) else { return };
        let (reporter, bytes) = self.report.get_or_insert_with(|| {
            (crate::report::Reporter::new(crate::cluster::Peers::process(p.as_ref())), Vec::new())
        });
        let report = reporter.report(&graph.inputs, info, crate::report::state_views(graph));
        *bytes = serde_json::to_vec(&report).unwrap_or_default();
    }

    /// On the driver: the other processes' reports, for its page.
    fn reports(&self, reports: Vec<Vec<u8>>) {
        let Some(m) = &self.watched else { return };
        let reports: Vec<crate::metrics::ProcessReport> = reports
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.is_empty())
            .filter_map(|(q, b)| {
                serde_json::from_slice(b)
                    .map_err(|e| tracing::warn!(process = q, "a report for the Streaming page cannot be read: {e}"))
                    .ok()
            })
            .collect();
        if !reports.is_empty() {
            m.process_reports(reports);
        }
    }

    /// In a cluster, a batch that failed here stopped making exchanges the others wait in:
    /// the cluster stops, with one line naming the failure.
    fn fail_stop(&self, t: Time, errors: &[StreamingError]) {
        let Some(p) = &self.peers else { return };
        let Some(failed) = errors.iter().find(|e| matches!(e, StreamingError::BatchFailed { .. })) else { return };
        let line = format!(
            "process {} of {}: batch {t} failed ({failed}); {}",
            crate::cluster::Peers::process(p.as_ref()),
            crate::cluster::Peers::processes(p.as_ref()),
            stream_cluster::failstop::RESTART_ADVICE
        );
        stream_cluster::failstop::stop(&line, stream_cluster::failstop::exit_code::WORKER_PANIC);
    }

    /// The batch is done here: every `in_flight` batches, waits until they are done on every
    /// process.
    fn complete(&mut self) {
        if let Some(p) = &self.peers {
            self.unconfirmed += 1;
            if self.unconfirmed < self.in_flight {
                return;
            }
            self.unconfirmed = 0;
            if let Err(e) = p.complete() {
                tracing::warn!("the cluster stopped during a batch: {e}");
            }
        }
    }

    /// The job stops: the driver tells every process (`graceful`: they checkpoint first) and
    /// everybody leaves the cluster. Returns whether to checkpoint.
    fn finish(&mut self, graceful: bool) -> bool {
        let Some(p) = &self.peers else { return graceful };
        let graceful = if p.is_driver() {
            let plan =
                BatchPlan { time: Time::from_millis(0), stop: true, graceful, records: 0, allocations: Vec::new() };
            if let Ok((_, reports)) = p.driver_value_with(self.seq, Some(&plan), Vec::new()) {
                self.reports(reports);
            }
            graceful
        } else {
            self.graceful_stop
        };
        p.shutdown();
        tracing::info!("left the cluster");
        graceful
    }
}

/// In a cluster: the driver's zero time and start.
#[cfg(feature = "cluster")]
fn agree(peers: &TimelyPeers, zero: Time, now: Time) -> Result<(Time, Time), StreamingError> {
    let refused = |e: crate::cluster::PeerError| StreamingError::refused("cannot agree with the other processes", e);
    peers.driver_value(0, peers.is_driver().then_some(&(zero, now))).map_err(refused)
}

/// In a cluster: every process recovers from the same checkpoint, the one process 0 finds in
/// the cluster's checkpoint directory ([`Layout::recovery_point`]: the newest manifest whose
/// files are all there) and tells the others; none when there is none. When that checkpoint
/// was written by another number of processes, every process takes the old driver's input
/// positions (and the driver its batch log), and the keys it owns now from the state of the
/// old processes whose key ranges overlap its own ([`checkpoint::Recovery::spread`]).
///
/// [`Layout::recovery_point`]: crate::checkpoint::layout::Layout::recovery_point
#[cfg(feature = "cluster")]
fn common_recovery(
    peers: &TimelyPeers,
    dir: Option<&str>,
    recovered: Option<checkpoint::Recovery>,
    fingerprint: &checkpoint::Fingerprint,
) -> Result<Option<checkpoint::Recovery>, StreamingError> {
    use crate::checkpoint::layout::{split_process_dir, Layout};
    use crate::cluster::Peers;
    let refused = |e: crate::cluster::PeerError| StreamingError::refused("cannot agree with the other processes", e);
    let Some(dir) = dir else { return Ok(recovered) };
    let n = peers.processes();
    let layout = match split_process_dir(dir) {
        Some((base, _, of)) if of == n => Layout::open(base)?,
        _ => {
            return Err(StreamingError::InvalidConfig(format!(
                "in a cluster, each process's checkpoint directory is DIR/process-I-of-{n} (JobArgs::checkpoint_dir makes it), not {dir}"
            )))
        }
    };
    let point: Result<Option<(Time, usize)>, String> =
        if peers.is_driver() { layout.recovery_point(n).map_err(|e| crate::job::report(&e)) } else { Ok(None) };
    let point = peers.driver_value(1, peers.is_driver().then_some(&point)).map_err(refused)?;
    let Some((t, before)) = point.map_err(StreamingError::InvalidConfig)? else {
        return Ok(None);
    };
    let read = |url: &str| -> Result<(CheckpointStore, Vec<u8>), StreamingError> {
        let store = CheckpointStore::open(url)?;
        let payload = store.read_at(t)?.ok_or_else(|| {
            StreamingError::InvalidConfig(format!(
                "checkpoint {t} in {url} disappeared while the processes agreed on it"
            ))
        })?;
        Ok((store, payload))
    };
    if before == n {
        if recovered.as_ref().is_some_and(|r| r.meta.time == t) {
            return Ok(recovered);
        }
        let (store, payload) = read(dir)?;
        return checkpoint::recovery_at(&store, dir, t, &payload, fingerprint).map(Some);
    }
    let driver = layout.process_url(0, before);
    tracing::warn!(
        dir = %driver,
        checkpoint = %t,
        "the checkpoint was written by {before} processes and this run has {n}: moving the key groups to this run's processes"
    );
    let (store, payload) = read(&driver)?;
    let mut recovery = checkpoint::recovery_at(&store, &driver, t, &payload, fingerprint)?;
    if !peers.is_driver() {
        recovery.batches.clear();
    }
    recovery.meta.logs_batches = peers.is_driver();
    // The old processes that owned any of this one's key groups hold all its keys now.
    let spread = crate::shuffle::overlapping(peers.process(), n, before)
        .map(|q| {
            let url = layout.process_url(q, before);
            let (_, payload) = read(&url)?;
            Ok((q, checkpoint::states_of(&url, &payload)?))
        })
        .collect::<Result<_, StreamingError>>()?;
    recovery.spread = Some((before, spread));
    Ok(Some(recovery))
}

/// In a cluster restarted with another number of processes, once the state is re-spread:
/// every process checkpoints it at the recovered batch in its new directory (with the old
/// driver's input positions), the driver takes over the old driver's batch log, and once every
/// process has written its file the driver writes the manifest. From then on the old
/// processes' directories are not read again.
#[cfg(feature = "cluster")]
fn take_over(
    peers: &TimelyPeers,
    recovery: &checkpoint::Recovery,
    cp: &Checkpointer,
    graph: &Graph,
    fingerprint: &checkpoint::Fingerprint,
) -> Result<(), StreamingError> {
    use crate::checkpoint::layout::{split_process_dir, Layout};
    let t = recovery.meta.time;
    if peers.is_driver() {
        cp.adopt_log(&recovery.batches)?;
    }
    let written = cp.checkpoint_at(graph, t, recovery.meta.positions.clone());
    let refused = |e: crate::cluster::PeerError| StreamingError::refused("cannot agree with the other processes", e);
    let everyone = peers.every_value(2, &written).map_err(refused)?;
    // Batches must not run unless every process has the re-spread state: a later restart
    // would otherwise re-spread the old processes' state again without their logs.
    if let Some(q) = everyone.iter().position(|w| !w) {
        return Err(StreamingError::InvalidConfig(format!(
            "process {q} could not write its share of the re-spread state at batch {t} (see its log); restart all processes to try again"
        )));
    }
    if peers.is_driver() {
        if let Some((base, _, n)) = split_process_dir(cp.store.url()) {
            let layout = Layout::open(base)?;
            // Only when every process's file is there (a write that failed was reported).
            if layout.recovery_point(n)? == Some((t, n)) {
                layout.write_manifest(t, n, fingerprint)?;
            }
        }
    }
    Ok(())
}

#[cfg(not(feature = "cluster"))]
fn agree(peers: &TimelyPeers, _: Time, _: Time) -> Result<(Time, Time), StreamingError> {
    match *peers {}
}

#[cfg(not(feature = "cluster"))]
fn common_recovery(
    peers: &TimelyPeers,
    _: Option<&str>,
    _: Option<checkpoint::Recovery>,
    _: &checkpoint::Fingerprint,
) -> Result<Option<checkpoint::Recovery>, StreamingError> {
    match *peers {}
}

/// A process that follows the driver, asked to stop: waits for the driver to stop the cluster,
/// at most [`follower_stop`], then ends the process with one line (the others stop too:
/// fail-stop).
#[cfg(feature = "cluster")]
fn follow_stop(peers: &TimelyPeers, threads: &[JoinHandle<()>]) {
    let deadline = std::time::Instant::now() + follower_stop();
    while threads.iter().any(|t| !t.is_finished()) {
        if std::time::Instant::now() >= deadline {
            let line = format!(
                "process {} was asked to stop but the driver (process 0) did not stop the job within {} s; {}",
                crate::cluster::Peers::process(peers),
                follower_stop().as_secs(),
                stream_cluster::failstop::RESTART_ADVICE
            );
            stream_cluster::failstop::stop(&line, stream_cluster::failstop::exit_code::PEER_GONE);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(not(feature = "cluster"))]
fn follow_stop(peers: &TimelyPeers, _: &[JoinHandle<()>]) {
    match *peers {}
}

/// How long a process that follows the driver waits for it to stop the cluster: as long as any
/// exchange waits for a peer (`SLUICE_PEER_TIMEOUT_MS`, 60 s by default), since the driver may
/// be in a batch that long.
#[cfg(feature = "cluster")]
fn follower_stop() -> std::time::Duration {
    stream_cluster::exchange::patience()
}
