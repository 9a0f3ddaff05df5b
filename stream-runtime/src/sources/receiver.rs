//! Custom receivers (Spark's `Receiver`): a user type that pushes records into a stream from
//! threads of its own, supervised by the engine. The engine gives every receiver what the
//! socket receiver has: a bounded buffer (TCP or the producer slows down when it is full), the
//! rate cap and backpressure, the write-ahead log, restarts with back-off, and its errors and
//! connection on the Streaming page's input status.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use super::{register, Allocated, Source};
use crate::batch::Batch;
use crate::checkpoint::{wal, CheckpointStore, RestoreError};
use crate::clock::Clock;
use crate::context::{Input, StreamingContext};
use crate::data::{Data, Persist};
use crate::error::{BatchError, StreamingError};
use crate::metrics::{InputDetail, InputStatus, SourceCounters, SourceStats};
use crate::node::Env;
use crate::rate::RateLimiter;
use crate::shuffle::Exchanges;
use crate::time::Time;
use crate::DStream;

/// The first delay before a restarted receiver starts again; it doubles with every restart
/// that follows without a record stored in between, up to [`MAX_RESTART_DELAY`].
const FIRST_RESTART_DELAY: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest delay before a restarted receiver starts again (Spark's
/// `spark.streaming.receiverRestartDelay`, 2 s).
const MAX_RESTART_DELAY: std::time::Duration = std::time::Duration::from_secs(2);
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// A source of records that runs on threads of its own (Spark's `Receiver`): the engine calls
/// [`on_start`](Self::on_start) when the job starts, and the receiver's threads hand what they
/// receive to the [`Supervisor`] with [`store`](Supervisor::store) or
/// [`store_all`](Supervisor::store_all) until [`is_stopped`](Supervisor::is_stopped) says
/// to end; [`on_stop`](Self::on_stop) is called when the job stops or the receiver restarts.
///
/// In a cluster a receiver runs on the driver only (process 0), which keeps its write-ahead
/// log; each batch's records are then dealt over the processes (in contiguous chunks of nearly
/// equal size), so every process works on a share of them.
///
/// ```
/// use std::thread::JoinHandle;
/// use stream_runtime::prelude::*;
/// use stream_runtime::{Receiver, Supervisor};
///
/// /// Counts from 0, one number per store, until stopped.
/// struct Counter(Option<JoinHandle<()>>);
///
/// impl Receiver<u64> for Counter {
///     fn on_start(&mut self, receiver: &Supervisor<u64>) {
///         let receiver = receiver.clone();
///         self.0 = Some(std::thread::spawn(move || {
///             let mut n = 0;
///             while !receiver.is_stopped() && n < 1000 {
///                 receiver.store(n);
///                 n += 1;
///             }
///         }));
///     }
///     fn on_stop(&mut self) {
///         if let Some(t) = self.0.take() {
///             let _ = t.join();
///         }
///     }
/// }
///
/// let ssc = StreamingContext::new(Duration::millis(20));
/// let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
/// let sum = seen.clone();
/// ssc.receiver_stream(Counter(None)).foreach_batch(move |b, _| {
///     sum.fetch_add(b.len() as u64, std::sync::atomic::Ordering::SeqCst);
/// });
/// let running = ssc.start().unwrap();
/// while seen.load(std::sync::atomic::Ordering::SeqCst) < 1000 {
///     std::thread::yield_now();
/// }
/// running.stop(true);
/// ```
pub trait Receiver<T>: Send + 'static {
    /// Starts receiving: starts the threads that call [`Supervisor::store`], and returns (it
    /// must not block). Called when the job starts, and again after each
    /// [`restart`](Supervisor::restart).
    fn on_start(&mut self, receiver: &Supervisor<T>);

    /// Stops receiving: ends what [`on_start`](Self::on_start) started (the threads see
    /// [`Supervisor::is_stopped`] already). Called when the job stops and before a restart.
    fn on_stop(&mut self);

    /// How the job's plan (and the Streaming page) names this input; by default
    /// `receiver_stream(<type name>)`.
    fn name(&self) -> String {
        format!("receiver_stream({})", std::any::type_name::<Self>().rsplit("::").next().unwrap_or("receiver"))
    }
}

/// What the engine keeps for one receiver, shared by every [`Supervisor`] handle.
struct Core<T> {
    name: String,
    /// The write-ahead log's name of this receiver's stream.
    stream_id: String,
    counters: SourceCounters,
    received: Mutex<Received<T>>,
    /// How many records the receiver holds, received or in batches not yet processed, before
    /// `store` waits.
    buffer: usize,
    /// Records in allocated batches not yet processed.
    in_flight: AtomicUsize,
    limiter: RateLimiter,
    max_rate: f64,
    /// Whether records go through the limiter at all (a rate cap or backpressure is set).
    limited: bool,
    /// The job stopped receiving (or the receiver stopped itself for good).
    stopped: AtomicBool,
    /// The receiver's incarnation: each restart starts a new one, and the handles of the old
    /// one see themselves stopped.
    generation: AtomicU64,
    /// The delay before the next restart, and restarts and errors since the last record.
    restarts: Mutex<Backoff>,
    receiver: Mutex<Running<T>>,
    restarter: Mutex<Option<JoinHandle<()>>>,
}

struct Backoff {
    delay: std::time::Duration,
    restarts: u64,
    errors: u64,
}

struct Running<T> {
    receiver: Box<dyn Receiver<T>>,
    started: bool,
}

struct Received<T> {
    records: Vec<T>,
    /// Records of the receiver's stream received so far (allocated or not), counting the
    /// ones it [skipped](Supervisor::skip).
    position: u64,
    /// Records of the receiver's stream in allocated batches.
    allocated: u64,
}

/// The engine's side of a running [`Receiver`] (Spark's `store`, `restart`, `reportError`,
/// `isStopped` and `stop`, which are methods of Spark's `Receiver`): cheap to clone, so each
/// of the receiver's threads holds one.
///
/// ```
/// use stream_runtime::prelude::*;
/// use stream_runtime::{Receiver, Supervisor};
///
/// /// Stores three blocks, then stops for good.
/// struct Blocks;
/// impl Receiver<i32> for Blocks {
///     fn on_start(&mut self, receiver: &Supervisor<i32>) {
///         for b in 0..3 {
///             receiver.store_all(vec![b, b, b]);
///         }
///         receiver.stop("done");
///     }
///     fn on_stop(&mut self) {}
/// }
/// let ssc = StreamingContext::new(Duration::millis(20));
/// ssc.receiver_stream(Blocks).count().print();
/// let running = ssc.start().unwrap();
/// running.stop(true);
/// ```
pub struct Supervisor<T> {
    core: Arc<Core<T>>,
    generation: u64,
}

impl<T> Clone for Supervisor<T> {
    fn clone(&self) -> Self {
        Supervisor { core: Arc::clone(&self.core), generation: self.generation }
    }
}

impl<T> std::fmt::Debug for Supervisor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").field("name", &self.core.name).field("generation", &self.generation).finish()
    }
}

impl<T: Data> Supervisor<T> {
    /// Hands one record to the engine: it goes into the next batch. Waits while the receiver
    /// holds as many records as its [buffer](StreamingContext::with_receiver_buffer) (so the
    /// sender slows down) and as the [rate cap](StreamingContext::with_receiver_max_rate) or
    /// backpressure says.
    pub fn store(&self, record: T) {
        self.store_all(std::iter::once(record));
    }

    /// Hands a block of records to the engine (Spark's `store(ArrayBuffer)`): they all go into
    /// the same batch. Waits as [`store`](Self::store) does.
    pub fn store_all(&self, records: impl IntoIterator<Item = T>) {
        let core = &*self.core;
        let n = {
            let mut r = core.received.lock();
            let before = r.records.len();
            r.records.extend(records);
            let n = r.records.len() - before;
            r.position += n as u64;
            n
        };
        if n == 0 {
            return;
        }
        // Counted once received: a test that saw the count can stop gracefully.
        core.counters.lines.add(n as u64);
        {
            let mut b = core.restarts.lock();
            b.delay = FIRST_RESTART_DELAY;
            b.restarts = 0;
            b.errors = 0;
        }
        if core.limited {
            let wait: std::time::Duration = (0..n).filter_map(|_| core.limiter.acquire()).max().unwrap_or_default();
            if !wait.is_zero() {
                std::thread::sleep(wait);
            }
        }
        while core.received.lock().records.len() + core.in_flight.load(Ordering::SeqCst) >= core.buffer {
            if self.is_stopped() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Counts `n` records of the receiver's stream that it did not store (too long, not
    /// decodable), so [`position`](Self::position) stays the stream's record number.
    pub fn skip(&self, n: u64) {
        self.core.received.lock().position += n;
    }

    /// Records of the receiver's stream received so far, stored or [skipped](Self::skip),
    /// including those of the batches a recovered job replays: where a receiver whose source
    /// replays its stream from the start resumes after a reconnection or a crash.
    pub fn position(&self) -> u64 {
        self.core.received.lock().position
    }

    /// Whether the receiver must stop: the job is stopping, the receiver stopped itself, or
    /// this handle belongs to an incarnation a [`restart`](Self::restart) ended.
    pub fn is_stopped(&self) -> bool {
        self.core.stopped.load(Ordering::SeqCst) || self.core.generation.load(Ordering::SeqCst) != self.generation
    }

    /// Restarts the receiver (Spark's `restart(message)`): [`on_stop`](Receiver::on_stop),
    /// a delay, then [`on_start`](Receiver::on_start) again, on a thread of the engine (so a
    /// receiver's own thread may call it and return). The delay starts at 100 ms and doubles
    /// with each restart without a record stored in between, up to 2 s. A second call from the
    /// same incarnation does nothing.
    pub fn restart(&self, reason: impl std::fmt::Display) {
        let core = &self.core;
        if core.stopped.load(Ordering::SeqCst)
            || core
                .generation
                .compare_exchange(self.generation, self.generation + 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return;
        }
        let delay = {
            let mut b = core.restarts.lock();
            b.restarts += 1;
            if b.restarts == 1 || b.restarts % 30 == 0 {
                tracing::warn!(source = %core.name, restarts = b.restarts, "restarting receiver in {:?}: {reason}", b.delay);
            }
            let d = b.delay;
            b.delay = (b.delay * 2).min(MAX_RESTART_DELAY);
            d
        };
        core.counters.connected.store(false, Ordering::SeqCst);
        let next = Supervisor { core: Arc::clone(core), generation: self.generation + 1 };
        self.spawn_on_engine(move || {
            next.core.stop_receiver();
            if next.core.nap(delay) && !next.is_stopped() {
                next.core.start_receiver(&next);
            }
        });
    }

    /// Stops the receiver for good (Spark's `stop(message)`): [`on_stop`](Receiver::on_stop)
    /// is called on a thread of the engine; the stream goes on with empty batches.
    pub fn stop(&self, reason: impl std::fmt::Display) {
        if self.core.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::info!(source = %self.core.name, "receiver stopped: {reason}");
        self.core.counters.connected.store(false, Ordering::SeqCst);
        let core = Arc::clone(&self.core);
        self.spawn_on_engine(move || core.stop_receiver());
    }

    /// Reports an error without stopping (Spark's `reportError`): counted in the input's
    /// [`SourceStats::errors`] and shown as its last error on the Streaming page
    /// ([`InputStatus::last_error`]); logged at the first and every 30th error in a row.
    pub fn report_error(&self, error: impl std::fmt::Display) {
        let core = &self.core;
        core.counters.error(&error);
        let mut b = core.restarts.lock();
        b.errors += 1;
        if b.errors == 1 || b.errors % 30 == 0 {
            tracing::warn!(source = %core.name, errors = b.errors, "receiver error: {error}");
        }
    }

    /// Says whether the receiver is connected to what it receives from, for the Streaming
    /// page's input status (a Sluice addition; Spark shows whether the receiver is active).
    /// The engine sets it when the receiver starts, restarts or stops; a receiver that
    /// connects later says so.
    pub fn set_connected(&self, connected: bool) {
        self.core.counters.connected.store(connected, Ordering::SeqCst);
        if connected {
            let mut b = self.core.restarts.lock();
            b.delay = FIRST_RESTART_DELAY;
            b.restarts = 0;
        }
    }

    /// The receiver's name, as the plan shows it.
    pub fn name(&self) -> &str {
        &self.core.name
    }

    /// Counters for the engine's own receivers (the socket's line decoder counts into them).
    pub(crate) fn counters(&self) -> &SourceCounters {
        &self.core.counters
    }

    /// Runs `f` on a thread of the engine, which the job's stop joins.
    fn spawn_on_engine(&self, f: impl FnOnce() + Send + 'static) {
        let name = format!("sluice-receiver-{}", self.core.name);
        let mut slot = self.core.restarter.lock();
        let previous = slot.take();
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            if let Some(p) = previous {
                let _ = p.join();
            }
            f();
        });
        match spawned {
            Ok(h) => *slot = Some(h),
            Err(e) => self.core.counters.error(&format_args!("cannot start a receiver thread: {e}")),
        }
    }
}

impl<T: Data> Core<T> {
    /// Sleeps up to `d`, waking early when the job stops; returns whether to go on.
    fn nap(&self, d: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            if self.stopped.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(POLL.min(until - std::time::Instant::now()));
        }
        !self.stopped.load(Ordering::SeqCst)
    }

    fn start_receiver(&self, handle: &Supervisor<T>) {
        let mut r = self.receiver.lock();
        if !r.started {
            self.counters.connected.store(true, Ordering::SeqCst);
            r.receiver.on_start(handle);
            r.started = true;
        }
    }

    fn stop_receiver(&self) {
        let mut r = self.receiver.lock();
        if r.started {
            r.receiver.on_stop();
            r.started = false;
        }
    }
}

/// The input a receiver is: it allocates what the receiver stored to batches.
struct ReceiverSource<T> {
    core: Arc<Core<T>>,
    allocated: Allocated<(Arc<Vec<T>>, u64)>,
    wal: Mutex<Option<Arc<CheckpointStore>>>,
    /// In a cluster: the exchange that spreads the driver's records.
    spread: Exchanges,
    /// Records this process's batches held (its share, in a cluster).
    here: AtomicU64,
}

/// What the batch log keeps of a receiver's batch: where its records are and the stream's
/// position after them.
#[derive(serde::Serialize, serde::Deserialize)]
struct Logged {
    wal: Option<String>,
    lines: usize,
    position: u64,
}

impl<T: Data + Persist> Input for ReceiverSource<T> {
    fn name(&self) -> String {
        self.core.name.clone()
    }

    fn start(&self, _env: &Env, _clock: &Arc<dyn Clock>) -> Result<(), StreamingError> {
        let first =
            Supervisor { core: Arc::clone(&self.core), generation: self.core.generation.load(Ordering::SeqCst) };
        self.core.start_receiver(&first);
        Ok(())
    }

    fn allocate(&self, t: Time) -> u64 {
        let (records, position) = {
            let mut r = self.core.received.lock();
            r.allocated = r.position;
            (std::mem::take(&mut r.records), r.position)
        };
        let n = records.len();
        self.core.in_flight.fetch_add(n, Ordering::SeqCst);
        self.allocated.put(t, (Arc::new(records), position));
        n as u64
    }

    /// With the write-ahead log on, the batch's records are written to the checkpoint
    /// directory first (the batch log entry that follows points at them).
    fn allocation(&self, t: Time) -> Option<serde_json::Value> {
        let (records, position) = self.allocated.get(t)?;
        let wal = self.wal.lock().clone().and_then(|store| {
            match wal::write_batch(&store, &self.core.stream_id, t, &records) {
                Ok(path) => Some(path),
                Err(e) => {
                    tracing::warn!(source = %self.name(), "write-ahead log not written: {e}; batch {t} cannot be replayed");
                    None
                }
            }
        });
        serde_json::to_value(Logged { wal, lines: records.len(), position }).ok()
    }

    fn reallocate(&self, t: Time, logged: &serde_json::Value) -> Result<(), RestoreError> {
        let logged: Logged = RestoreError::json("the batch log's received records", logged)?;
        let records = match (&logged.wal, self.wal.lock().clone()) {
            (Some(path), Some(store)) => {
                wal::read_batch(&store, path, logged.lines).map_err(|e| RestoreError::WriteAheadLog(Box::new(e)))?
            }
            _ => {
                if logged.lines > 0 {
                    tracing::warn!(source = %self.name(), "batch {t} had {} records that were not logged (write-ahead log off): lost", logged.lines);
                }
                Vec::new()
            }
        };
        let mut r = self.core.received.lock();
        r.position = logged.position;
        r.allocated = logged.position;
        drop(r);
        self.core.in_flight.fetch_add(records.len(), Ordering::SeqCst);
        self.allocated.put(t, (Arc::new(records), logged.position));
        Ok(())
    }

    fn position(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!(self.core.received.lock().allocated))
    }

    fn restore_position(&self, position: &serde_json::Value) -> Result<(), RestoreError> {
        let p: u64 = RestoreError::json("the checkpointed record count", position)?;
        let mut r = self.core.received.lock();
        r.position = p;
        r.allocated = p;
        Ok(())
    }

    fn attach(&self, store: &Arc<CheckpointStore>, write_ahead_log: bool) {
        if write_ahead_log {
            *self.wal.lock() = Some(Arc::clone(store));
        }
    }

    fn update_rate(&self, rate: f64) {
        self.core.limiter.set_rate(rate.min(self.core.max_rate));
    }

    fn stop(&self) {
        self.core.stopped.store(true, Ordering::SeqCst);
        let restarter = self.core.restarter.lock().take();
        if let Some(h) = restarter {
            let _ = h.join();
        }
        self.core.stop_receiver();
        self.core.counters.connected.store(false, Ordering::SeqCst);
    }

    fn stats(&self) -> SourceStats {
        self.core.counters.snapshot()
    }

    fn records_here(&self) -> u64 {
        self.here.load(Ordering::Relaxed)
    }

    fn detail(&self, t: Time) -> InputDetail {
        self.allocated.with(t, |(records, _)| InputDetail::Lines(records.len() as u64)).unwrap_or_default()
    }

    fn status(&self) -> InputStatus {
        let c = &self.core.counters;
        let rate = self.core.limiter.rate();
        InputStatus {
            connected: Some(c.connected.load(Ordering::SeqCst)),
            last_error: c.last_error.get(),
            rate: (self.core.limited && rate.is_finite()).then_some(rate),
            ..InputStatus::default()
        }
    }
}

impl<T: Data + Persist> Source<T> for ReceiverSource<T> {
    /// In a cluster every process takes: the driver its records, which are then spread.
    fn take(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        let records = self.allocated.take(t).map(|(r, _)| r).unwrap_or_default();
        let records = Arc::try_unwrap(records).unwrap_or_else(|shared| (*shared).clone());
        let n = records.len();
        let _ = self.core.in_flight.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| Some(f.saturating_sub(n)));
        let share = crate::shuffle::scatter(records, &self.spread, t, env)?;
        self.here.fetch_add(share.len() as u64, Ordering::Relaxed);
        Ok(Some(Batch::from_vec(share, env.parallelism)))
    }

    fn spreads(&self) -> bool {
        true
    }
}

impl StreamingContext {
    /// A stream of what a custom [`Receiver`] stores (Spark's `receiverStream`). The receiver
    /// starts with the job, on threads of its own, so even one worker thread processes data.
    /// The context's receiver settings apply: [write-ahead log](Self::with_write_ahead_log),
    /// [rate](Self::with_receiver_max_rate), [backpressure](Self::with_backpressure) and
    /// [buffer](Self::with_receiver_buffer). Records are [`Persist`] for the write-ahead log.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::{Receiver, Supervisor};
    ///
    /// /// Stores one greeting per start.
    /// struct Hello;
    /// impl Receiver<String> for Hello {
    ///     fn on_start(&mut self, receiver: &Supervisor<String>) {
    ///         receiver.store("hello".to_string());
    ///     }
    ///     fn on_stop(&mut self) {}
    /// }
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// ssc.receiver_stream(Hello).print();
    /// assert!(ssc.explain().contains("input 1: receiver_stream(Hello)"));
    /// ```
    pub fn receiver_stream<T: Data + Persist, R: Receiver<T>>(&self, receiver: R) -> DStream<'_, T> {
        let name = receiver.name();
        let index = self.graph.borrow().inputs.len();
        let stream_id = format!("{index}-{}", super::socket::stream_id(&name));
        let max_rate = self.conf.receiver_max_rate.map_or(f64::INFINITY, |r| r as f64);
        let core = Core {
            name,
            stream_id,
            counters: SourceCounters::default(),
            received: Mutex::new(Received { records: Vec::new(), position: 0, allocated: 0 }),
            buffer: self.conf.receiver_buffer,
            in_flight: AtomicUsize::new(0),
            limiter: RateLimiter::new(max_rate),
            max_rate,
            limited: max_rate.is_finite() || self.conf.backpressure,
            stopped: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            restarts: Mutex::new(Backoff { delay: FIRST_RESTART_DELAY, restarts: 0, errors: 0 }),
            receiver: Mutex::new(Running { receiver: Box::new(receiver), started: false }),
            restarter: Mutex::new(None),
        };
        let spread = Exchanges::new(self);
        let source = ReceiverSource {
            core: Arc::new(core),
            allocated: Allocated::default(),
            wal: Mutex::new(None),
            spread,
            here: AtomicU64::new(0),
        };
        register(self, source)
    }
}
