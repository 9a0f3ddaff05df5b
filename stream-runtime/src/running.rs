//! [`RunningContext`]: a started job, its batch generator and its batch processor.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

use crate::clock::Clock;
use crate::context::{Graph, StreamingContext};
use crate::error::StreamingError;
use crate::metrics::{BatchInfo, SourceStats};
use crate::node::Env;
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
/// assert_eq!(running.await_termination_or_timeout(Duration::millis(120)), Ok(false));
/// running.stop(false);
/// ```
pub struct RunningContext {
    shared: Arc<Shared>,
    graph: Arc<Graph>,
    threads: Vec<JoinHandle<()>>,
    zero: Time,
}

impl std::fmt::Debug for RunningContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningContext").field("zero", &self.zero).finish_non_exhaustive()
    }
}

/// Runs one batch: the stateful nodes, then every output in registration order. User panics
/// and output failures are caught and returned; they never stop the job.
pub(crate) fn run_batch(graph: &Graph, t: Time, env: &Env) -> Vec<StreamingError> {
    let mut errors = Vec::new();
    for tick in &graph.ticks {
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| tick.tick(t, env))) {
            errors.push(StreamingError::JobFailed { time: t, output: "state".into(), cause: panic_text(&p) });
        }
    }
    for out in &graph.outputs {
        let cause = match catch_unwind(AssertUnwindSafe(|| out.run(t, env))) {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(p) => panic_text(&p),
        };
        tracing::error!(time = %t, output = %out.name(), "batch failed: {cause}");
        errors.push(StreamingError::JobFailed { time: t, output: out.name(), cause });
    }
    errors
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("user function panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("user function panicked: {s}")
    } else {
        "user function panicked".to_string()
    }
}

impl RunningContext {
    pub(crate) fn start(ctx: StreamingContext) -> Result<RunningContext, StreamingError> {
        let StreamingContext { conf, clock, graph } = ctx;
        let mut graph = graph.into_inner();
        let listeners: Vec<Listener> = std::mem::take(&mut graph.listeners);
        let graph = Arc::new(graph);
        let batch = conf.batch;
        let start = clock.now().floor(batch) + batch;
        let env = Env { zero: start - batch, batch, parallelism: conf.threads.max(1) };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(conf.threads.max(1))
            .thread_name(|i| format!("sluice-worker-{i}"))
            .build()
            .map_err(|e| StreamingError::InvalidConfig(format!("cannot start worker threads: {e}")))?;
        for input in &graph.inputs {
            input.start(&env, &clock)?;
        }
        let shared =
            Arc::new(Shared { stop: AtomicU8::new(RUNNING), state: Mutex::default(), changed: Condvar::new() });
        let (tx, rx) = crossbeam_channel::unbounded::<(Time, u64)>();
        let generator = {
            let (graph, shared, clock) = (Arc::clone(&graph), Arc::clone(&shared), Arc::clone(&clock));
            std::thread::Builder::new()
                .name("sluice-generator".into())
                .spawn(move || generate(&graph, &shared, clock.as_ref(), start, batch, tx))
                .map_err(|e| StreamingError::InvalidConfig(format!("cannot spawn the generator: {e}")))?
        };
        let processor = {
            let (graph, shared, clock) = (Arc::clone(&graph), Arc::clone(&shared), Arc::clone(&clock));
            std::thread::Builder::new()
                .name("sluice-processor".into())
                // The loop runs on a worker of the pool, so parallel work needs no hand-off.
                .spawn(move || {
                    pool.install(|| {
                        for (t, records) in rx.iter() {
                            if shared.stop.load(Ordering::SeqCst) == NOW {
                                break;
                            }
                            let began = std::time::Instant::now();
                            let delay = (clock.now() - t).to_std();
                            let errors = run_batch(&graph, t, &env);
                            let info = BatchInfo {
                                batch_time: t,
                                num_records: records,
                                scheduling_delay: delay,
                                processing_time: began.elapsed(),
                                failed_outputs: errors.len(),
                            };
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
                    });
                    shared.state.lock().terminated = true;
                    shared.changed.notify_all();
                })
                .map_err(|e| StreamingError::InvalidConfig(format!("cannot spawn the processor: {e}")))?
        };
        tracing::info!(name = %conf.name, start = %start, "streaming job started");
        Ok(RunningContext { shared, graph, threads: vec![generator, processor], zero: start - batch })
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
                if let Some(e) = st.first_error.clone() {
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

    /// Number of batches processed so far.
    pub fn batches_completed(&self) -> u64 {
        self.shared.state.lock().batches
    }

    /// Bad-input counters of each source, by source name.
    pub fn source_stats(&self) -> Vec<(String, SourceStats)> {
        self.graph.inputs.iter().map(|i| (i.name(), i.stats())).collect()
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
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for input in &self.graph.inputs {
            input.stop();
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

/// Cuts batch `t` from every input; returns the records allocated.
fn allocate_all(graph: &Graph, t: Time) -> u64 {
    graph.inputs.iter().map(|i| i.allocate(t)).sum()
}

fn generate(
    graph: &Graph,
    shared: &Shared,
    clock: &dyn Clock,
    start: Time,
    batch: Duration,
    tx: crossbeam_channel::Sender<(Time, u64)>,
) {
    let tick = std::time::Duration::from_millis(20);
    let mut t = start;
    loop {
        match shared.stop.load(Ordering::SeqCst) {
            NOW => return,
            GRACEFUL => {
                for input in &graph.inputs {
                    input.stop();
                }
                let _ = tx.send((t, allocate_all(graph, t)));
                return;
            }
            _ => {}
        }
        if !clock.wait_until(t, tick) {
            continue;
        }
        if tx.send((t, allocate_all(graph, t))).is_err() {
            return;
        }
        t = t + batch;
    }
}

/// Stops the job gracefully on SIGINT or SIGTERM; a second signal exits at once with status
/// 130. Returns a flag that turns true on the first signal.
pub fn stop_on_signals() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    crate::signals::install(Arc::clone(&flag));
    flag
}
