//! [`RunningContext`]: a started job, its batch generator and its batch processor: the
//! real-time driver of the [`Executor`]. The generator waits for the clock and allocates (and
//! logs) each batch; the processor runs it, checkpoints and reports it.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::checkpoint::{self, CheckpointStore, Checkpointer};
use crate::clock::Clock;
use crate::context::{Graph, StreamingContext};
use crate::error::StreamingError;
use crate::executor::{Executor, Ran};
use crate::metrics::{BatchInfo, SourceStats};
use crate::node::Env;
use crate::rate::PidEstimator;
use crate::time::{Duration, Time};

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
        let StreamingContext { conf, clock, graph, recovery } = ctx;
        let mut graph = graph.into_inner();
        let listeners: Vec<Listener> = std::mem::take(&mut graph.listeners);
        let batch = conf.batch;
        let now = clock.now().floor(batch);
        let zero = recovery.as_ref().map_or(now, |r| r.meta.zero);
        let executor =
            Arc::new(Executor::new(graph, Env { zero, batch, parallelism: conf.threads.max(1), peers: None })?);
        let graph = executor.graph();
        // The Streaming page binds its port before anything starts, so a taken port stops the
        // job before it reads anything.
        #[cfg(feature = "ui")]
        let ui = match &conf.ui {
            Some(ui) => crate::ui::Ui::start(ui, &conf, graph)?,
            None => None,
        };
        let checkpoints = match &conf.checkpoint_dir {
            Some(dir) => {
                let store = Arc::new(CheckpointStore::open(dir)?);
                for input in &graph.inputs {
                    input.attach(&store, conf.write_ahead_log);
                }
                let cp = Checkpointer::new(store, fingerprint, zero, conf.checkpoint_interval())?;
                #[cfg(feature = "ui")]
                if let Some(m) = ui.as_ref().map(crate::ui::Ui::monitor) {
                    cp.on_written(Box::new(move |w| m.checkpoint_written(w)));
                }
                Some(Arc::new(cp))
            }
            None => None,
        };
        let replay = match (&recovery, &conf.checkpoint_dir) {
            (Some(r), Some(dir)) => executor.install(|| checkpoint::restore(graph, r, dir))?,
            _ => Vec::new(),
        };
        // New batches come after every batch the checkpoint covers or the log replays.
        let covered = replay.last().map(|(t, _)| *t).or(recovery.as_ref().map(|r| r.meta.time)).unwrap_or(zero);
        let start = (now + batch).max(covered + batch);
        match (&checkpoints, &recovery) {
            (Some(cp), None) => executor.install(|| cp.checkpoint_now(graph, zero)),
            (_, Some(r)) => tracing::warn!(
                name = %conf.name,
                checkpoint = %r.meta.time,
                replayed = replay.len(),
                "recovered from the checkpoint; re-running the batches logged after it"
            ),
            _ => {}
        }
        for input in &graph.inputs {
            input.start(executor.env(), &clock)?;
        }
        let shared =
            Arc::new(Shared { stop: AtomicU8::new(RUNNING), state: Mutex::default(), changed: Condvar::new() });
        let (tx, rx) = crossbeam_channel::unbounded::<(Time, Allocated)>();
        for (t, records) in replay {
            let _ = tx.send((t, Allocated { records, per_input: Vec::new() }));
        }
        let generator = {
            let (executor, shared, clock, cp) =
                (Arc::clone(&executor), Arc::clone(&shared), Arc::clone(&clock), checkpoints.clone());
            std::thread::Builder::new()
                .name("sluice-generator".into())
                .spawn(move || generate(&executor, &shared, clock.as_ref(), cp.as_deref(), start, batch, tx))
                .map_err(|source| StreamingError::Spawn { what: "generator", source })?
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
                    executor.install(|| {
                        let mut last = None;
                        for (t, allocated) in rx.iter() {
                            if shared.stop.load(Ordering::SeqCst) == NOW {
                                break;
                            }
                            let delay = (clock.now() - t).to_std();
                            let (info, errors) = process_batch(
                                &executor,
                                monitor.as_deref(),
                                t,
                                allocated,
                                delay,
                                &|| rx.len(),
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
                                        began.elapsed()
                                    }
                                    None => std::time::Duration::ZERO,
                                },
                            );
                            last = Some(t);
                            if let Some(r) = rate.as_mut() {
                                adapt_rate(r, graph, &info, clock.now());
                            }
                            for l in &listeners {
                                l(&info);
                            }
                            let mut st = shared.state.lock();
                            st.batches += 1;
                            if st.first_error.is_none() {
                                st.first_error = errors.into_iter().next();
                            }
                            shared.changed.notify_all();
                        }
                        // A graceful stop ends with a checkpoint of everything processed.
                        if let (Some(cp), Some(t)) = (&checkpoints, last) {
                            if shared.stop.load(Ordering::SeqCst) == GRACEFUL {
                                cp.checkpoint_now(graph, t);
                            }
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
            threads: vec![generator, processor],
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
    cp.log_batch(executor.graph(), t, allocated.records, || shared.stop.load(Ordering::SeqCst) != RUNNING)
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
        // What each input holds, for the batch's page, before the batch takes it (a replayed
        // batch's inputs do not say).
        if !allocated.per_input.is_empty() {
            input_details = executor.graph().inputs.iter().map(|i| i.detail(t)).collect();
        }
    }
    let began = std::time::Instant::now();
    let Ran { errors, outputs: output_ops } = executor.run(t);
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
    };
    if let Some(m) = monitor {
        m.batch_completed(&info, waiting());
    }
    (info, errors)
}

/// What the generator hands the processor for one batch.
pub(crate) struct Allocated {
    /// Records of every input.
    records: u64,
    /// Records of each input; empty for a batch replayed from the log.
    per_input: Vec<u64>,
}

impl Allocated {
    pub(crate) fn new(per_input: Vec<u64>) -> Allocated {
        Allocated { records: per_input.iter().sum(), per_input }
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
