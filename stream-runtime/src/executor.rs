//! The executor: the one per-batch step every way of running a job shares.
//!
//! A batch at time `t` is always the same four things: cut the data of `t` from every input
//! ([`Executor::allocate`]), advance every stateful operation and run every output in
//! registration order, then collect the inputs' failures ([`Executor::run`]). Only the driver
//! that chooses the times differs:
//!
//! - the real-time loop ([`RunningContext`](crate::RunningContext)): a generator thread waits
//!   for the clock, allocates and logs each batch, and a processor thread runs it, checkpoints
//!   and reports it;
//! - the stepped driver ([`Stepped`]): batch after batch at `k * batch` on a manual clock, for
//!   the test kit ([`Harness`](crate::testing::Harness), [`Stepper`](crate::testing::Stepper))
//!   and for [`Simulation`](crate::Simulation).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::clock::ManualClock;
use crate::context::{Driver, Graph, StreamingContext};
use crate::error::{BatchError, StreamingError};
use crate::metrics::OutputOpInfo;
use crate::node::Env;
use crate::time::{Duration, Time};

/// A validated graph, its environment and its worker threads.
pub(crate) struct Executor {
    graph: Graph,
    env: Env,
    pool: Arc<rayon::ThreadPool>,
    /// The output operations' names, made once: each batch's [`OutputOpInfo`] shares them.
    output_names: Vec<Arc<str>>,
}

/// What running one batch gave: its errors, and each output operation's time and error.
#[derive(Debug, Default)]
pub(crate) struct Ran {
    pub(crate) errors: Vec<StreamingError>,
    pub(crate) outputs: Vec<OutputOpInfo>,
    /// How long each stateful operation took, in registration order (those that ran).
    pub(crate) stages: Vec<std::time::Duration>,
    /// How long each fused stage took (`None`: it did not run); empty when nobody watches.
    pub(crate) fused: Vec<Option<std::time::Duration>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").field("env", &self.env).finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor of `graph` in `env`, with `env.parallelism` worker threads.
    pub(crate) fn new(graph: Graph, env: Env) -> Result<Executor, StreamingError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(env.parallelism.max(1))
            .thread_name(|i| format!("sluice-worker-{i}"))
            .build()
            .map_err(|e| StreamingError::refused("cannot start the worker threads", e))?;
        let output_names = graph.outputs.iter().map(|o| Arc::from(o.name())).collect();
        Ok(Executor { graph, env, pool: Arc::new(pool), output_names })
    }

    /// The graph it runs.
    pub(crate) fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The environment batches run in.
    pub(crate) fn env(&self) -> &Env {
        &self.env
    }

    /// Runs `f` on a worker thread of the pool, so the parallel work of the batches `f` runs
    /// needs no hand-off; called from a worker already, it runs `f` in place.
    pub(crate) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// Generates the inputs of batch `t`: fixes the data of `t` in every input; returns the
    /// records each input allocated (in registration order), where the inputs know it.
    pub(crate) fn allocate(&self, t: Time) -> Vec<u64> {
        self.graph.inputs.iter().map(|i| i.allocate(t)).collect()
    }

    /// Runs batch `t` (allocated before): advances the stateful operations, then runs every
    /// output in registration order, then collects what the inputs could not deliver. User
    /// panics and output failures are caught and returned; they never stop the job.
    pub(crate) fn run(&self, t: Time) -> Ran {
        self.install(|| run_batch(&self.graph, &self.output_names, t, &self.env))
    }

    /// [`allocate`](Self::allocate) and [`run`](Self::run) batch `t`; returns its errors.
    pub(crate) fn step(&self, t: Time) -> Vec<StreamingError> {
        self.install(|| {
            self.allocate(t);
            run_batch(&self.graph, &self.output_names, t, &self.env).errors
        })
    }
}

/// Runs batch `t`: one clock reading per stateful and output operation, and while someone
/// watches two per fused stage (see [`crate::stage`]), none per record.
fn run_batch(graph: &Graph, names: &[Arc<str>], t: Time, env: &Env) -> Ran {
    let mut ran = run_operations(graph, names, t, env);
    ran.fused = graph.stages.take();
    ran
}

/// Runs the operations of batch `t`.
fn run_operations(graph: &Graph, names: &[Arc<str>], t: Time, env: &Env) -> Ran {
    let mut errors = Vec::new();
    let mut outputs = Vec::with_capacity(graph.outputs.len());
    let mut stages = Vec::with_capacity(graph.ticks.len());
    // In a cluster a failure is fail-stop: the failed operation may have skipped exchanges
    // the other processes wait in, so this process makes no more exchanges in the batch.
    let stop_on_error = env.peers.is_some();
    let mut began = std::time::Instant::now();
    for tick in &graph.ticks {
        let result = catch_unwind(AssertUnwindSafe(|| tick.tick(t, env)));
        let ended = std::time::Instant::now();
        stages.push(ended.duration_since(began));
        began = ended;
        let cause = match result {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(p) => panicked(&p),
        };
        errors.push(StreamingError::BatchFailed { time: t, output: "state".into(), cause });
        if stop_on_error {
            return Ran { errors, outputs, stages, fused: Vec::new() };
        }
    }
    for (out, name) in graph.outputs.iter().zip(names) {
        let result = catch_unwind(AssertUnwindSafe(|| out.run(t, env)));
        let ended = std::time::Instant::now();
        let duration = ended.duration_since(began);
        began = ended;
        let cause = match result {
            Ok(Ok(())) => {
                outputs.push(OutputOpInfo { name: Arc::clone(name), duration, error: None });
                continue;
            }
            Ok(Err(e)) => e,
            Err(p) => panicked(&p),
        };
        tracing::error!(time = %t, output = %name, "batch failed: {cause}");
        outputs.push(OutputOpInfo { name: Arc::clone(name), duration, error: Some(cause.to_string()) });
        errors.push(StreamingError::BatchFailed { time: t, output: name.to_string(), cause });
        if stop_on_error {
            return Ran { errors, outputs, stages, fused: Vec::new() };
        }
    }
    for input in &graph.inputs {
        if let Some(cause) = input.failure(t) {
            errors.push(StreamingError::InputFailed { input: input.name(), time: t, cause });
        }
    }
    Ran { errors, outputs, stages, fused: Vec::new() }
}

/// A panic of a function the job gave an operator, as the batch's error.
fn panicked(p: &Box<dyn std::any::Any + Send>) -> BatchError {
    let message = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
    BatchError::Panicked { message }
}

/// The stepped driver: runs batches one after the other at `zero + k * batch` (zero time 0),
/// as fast as they compute, with no clock, receivers or checkpoints. Validated with
/// [`Driver::Stepped`], so a stateful graph needs no checkpoint directory.
#[derive(Debug)]
pub(crate) struct Stepped {
    executor: Arc<Executor>,
    time: Time,
}

impl Stepped {
    /// A context for stepping: batch interval `batch`, `threads` worker threads, and a manual
    /// clock at the zero time (sources that read the clock see the batches' times).
    pub(crate) fn context(batch: Duration, threads: usize) -> StreamingContext {
        StreamingContext::new(batch).with_threads(threads).with_clock(Arc::new(ManualClock::new(Time::from_millis(0))))
    }

    /// Validates `ssc` for stepping and takes its graph.
    pub(crate) fn new(ssc: StreamingContext) -> Result<Stepped, StreamingError> {
        Stepped::with_peers(ssc, None)
    }

    /// As [`new`](Self::new), as one process of a cluster when `peers` is given: every
    /// process steps the same graph through the same batches.
    pub(crate) fn with_peers(
        ssc: StreamingContext,
        peers: Option<Arc<dyn crate::cluster::Peers>>,
    ) -> Result<Stepped, StreamingError> {
        ssc.validate(Driver::Stepped)?;
        let zero = Time::from_millis(0);
        let env = Env { zero, batch: ssc.conf.batch, parallelism: ssc.conf.threads.max(1), peers };
        let executor = Executor::new(ssc.graph.into_inner(), env)?;
        Ok(Stepped { executor: Arc::new(executor), time: zero })
    }

    /// The executor.
    pub(crate) fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    /// The time of the last batch run (the zero time before the first).
    pub(crate) fn time(&self) -> Time {
        self.time
    }

    /// Continues after batch `t` (a recovered checkpoint's).
    pub(crate) fn resume_after(&mut self, t: Time) {
        self.time = t;
    }

    /// Runs the next batch; returns its errors.
    pub(crate) fn next_batch(&mut self) -> Vec<StreamingError> {
        self.time = self.time + self.executor.env.batch;
        self.executor.step(self.time)
    }

    /// Runs the next batch through the real-time driver's step (no clock: no delay, no
    /// checkpoint), reporting it to `monitor`; returns its [`BatchInfo`] and errors.
    pub(crate) fn next_batch_reported(
        &mut self,
        monitor: Option<&crate::running::Monitor>,
    ) -> (crate::metrics::BatchInfo, Vec<StreamingError>) {
        self.time = self.time + self.executor.env.batch;
        let t = self.time;
        let allocated = crate::running::Allocated::new(self.executor.allocate(t));
        let zero = std::time::Duration::ZERO;
        crate::running::process_batch(&self.executor, monitor, t, allocated, zero, &|| 0, |_| {}, || zero)
    }

    /// Runs the next `n` batches; returns their errors, in order.
    pub(crate) fn run(&mut self, n: usize) -> Vec<StreamingError> {
        self.on_pool(|s| (0..n).flat_map(|_| s.next_batch()).collect())
    }

    /// Runs `f` on a worker thread of the pool (the batches it steps need no hand-off).
    pub(crate) fn on_pool<R: Send>(&mut self, f: impl FnOnce(&mut Stepped) -> R + Send) -> R {
        let pool = Arc::clone(&self.executor.pool);
        pool.install(|| f(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{MemoryPeers, PeerError, Peers};
    use crate::error::BatchError;

    /// A process whose peer is gone fails the batch with the exchange's typed error, and the
    /// batch stops there (fail-stop) instead of waiting forever.
    #[test]
    fn an_exchange_with_a_gone_process_fails_the_batch_with_a_peer_error() {
        let peers = MemoryPeers::cluster(2);
        peers[1].leave();
        let ssc = Stepped::context(Duration::seconds(1), 1);
        let queue = crate::sources::BatchQueue::new();
        queue.push(vec![(1u32, 1u64), (2, 2)]);
        let s = ssc.queue_stream(queue, true, None);
        s.clone().reduce_by_key(|a, b| a + b).foreach_batch(|_, _| {});
        s.count().foreach_batch(|_, _| {});
        let p0: Arc<dyn Peers> = peers[0].clone();
        let mut stepped = Stepped::with_peers(ssc, Some(p0)).unwrap();
        let errors = stepped.run(1);
        assert_eq!(errors.len(), 1, "the batch stops at the first failure: {errors:?}");
        let StreamingError::BatchFailed { cause: BatchError::Exchange { tag, source }, .. } = &errors[0] else {
            panic!("{errors:?}");
        };
        assert_eq!((tag.op, tag.round, tag.time), (0, 0, Time::from_millis(1000)));
        assert!(matches!(source, PeerError::Gone { process: 1, processes: 2 }), "{source:?}");
        let text = errors[0].to_string();
        assert!(text.contains("process 1 of 2 is gone"), "{text}");
    }
}
