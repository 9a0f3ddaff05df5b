use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use super::lines::{Decoder, Line, LineReader};
use super::{register, Allocated, Source};
use crate::batch::Batch;
use crate::checkpoint::{wal, CheckpointStore, RestoreError};
use crate::clock::Clock;
use crate::context::{Input, StreamingContext};
use crate::error::StreamingError;
use crate::metrics::{InputDetail, InputStatus, SourceCounters, SourceStats};
use crate::node::Env;
use crate::rate::RateLimiter;
use crate::str::Str;
use crate::time::Time;
use crate::DStream;

const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// Options of [`socket_text_stream_with`](StreamingContext::socket_text_stream_with).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// The server replays its stream from the first line on every connection (a log served
    /// over a socket). The receiver then skips, on each connection, the lines it already
    /// has, and a recovered job skips the lines its checkpointed batches hold: with the
    /// write-ahead log on, every line is counted exactly once across reconnections and
    /// crashes.
    pub replayable: bool,
}

struct Shared {
    addr: String,
    limit: usize,
    counters: SourceCounters,
    /// Lines received and not yet allocated to a batch, and the server's line number after
    /// the last of them.
    received: Mutex<Received>,
    /// How many lines the receiver holds, received or in batches not yet processed, before it
    /// stops reading (TCP then slows the server).
    buffer: usize,
    /// Lines in allocated batches not yet processed.
    in_flight: std::sync::atomic::AtomicUsize,
    limiter: RateLimiter,
    max_rate: f64,
    /// Whether records go through the limiter at all (a rate cap or backpressure is set).
    limited: bool,
    replayable: bool,
    stop: AtomicBool,
}

#[derive(Default)]
struct Received {
    lines: Vec<Str>,
    /// Lines of the server's stream received so far (allocated or not).
    position: u64,
    /// Lines of the server's stream in allocated batches.
    allocated: u64,
}

struct SocketSource {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    allocated: Allocated<(Vec<Str>, u64)>,
    wal: Mutex<Option<Arc<CheckpointStore>>>,
}

/// What the batch log keeps of a socket batch: where its lines are and the server position
/// after them.
#[derive(serde::Serialize, serde::Deserialize)]
struct Logged {
    wal: Option<String>,
    lines: usize,
    position: u64,
}

impl Shared {
    fn name(&self) -> String {
        format!("socket_text_stream({})", self.addr)
    }

    /// Sleeps up to `d`, waking early when asked to stop; returns whether to go on.
    fn nap(&self, d: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + d;
        while std::time::Instant::now() < until {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(POLL.min(until - std::time::Instant::now()));
        }
        !self.stop.load(Ordering::SeqCst)
    }

    /// Waits while the buffer is full (so TCP slows the sender); returns whether to go on.
    fn wait_for_room(&self) -> bool {
        while self.received.lock().lines.len() + self.in_flight.load(Ordering::SeqCst) >= self.buffer {
            if !self.nap(std::time::Duration::from_millis(5)) {
                return false;
            }
        }
        true
    }

    fn connect(&self) -> std::io::Result<TcpStream> {
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "host resolved to no address");
        for a in self.addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The receiver loop: connect, read lines, reconnect with back-off when the server is
    /// absent or closes (Spark's receiver restart), until stopped.
    fn receive(&self) {
        let name = self.name();
        let decoder = Decoder { source: &name, limit: self.limit, counters: &self.counters };
        let mut backoff = FIRST_BACKOFF;
        let mut failures = 0u64;
        while !self.stop.load(Ordering::SeqCst) {
            let stream = match self.connect() {
                Ok(s) => s,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures % 30 == 0 {
                        tracing::warn!(source = %name, "Error connecting to {}: {e}; retrying", self.addr);
                    }
                    self.counters.error(&format_args!("cannot connect to {}: {e}", self.addr));
                    if !self.nap(backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            tracing::info!(source = %name, "connected");
            self.counters.connected.store(true, Ordering::SeqCst);
            failures = 0;
            backoff = FIRST_BACKOFF;
            let _ = stream.set_read_timeout(Some(POLL));
            let mut reader = LineReader::new(stream, self.limit);
            // A replayed stream starts again at line 0: skip what is already here.
            let mut skip = if self.replayable { self.received.lock().position } else { 0 };
            loop {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                match reader.next_line(&decoder) {
                    Ok(Some(_)) if skip > 0 => skip -= 1,
                    Ok(Some(Line::Text(l))) => {
                        let mut r = self.received.lock();
                        r.lines.push(l);
                        r.position += 1;
                        // Counted once received: a test that saw the count can stop gracefully.
                        self.counters.lines.add(1);
                        let full = r.lines.len() + self.in_flight.load(Ordering::SeqCst) >= self.buffer;
                        drop(r);
                        if let Some(wait) = self.limited.then(|| self.limiter.acquire()).flatten() {
                            std::thread::sleep(wait);
                        }
                        if full && !self.wait_for_room() {
                            return;
                        }
                    }
                    Ok(Some(Line::Oversized(len))) => {
                        self.received.lock().position += 1;
                        decoder.oversized(reader.lines_read(), len)
                    }
                    Ok(None) => {
                        tracing::warn!(source = %name, "Socket data stream had no more data; reconnecting");
                        break;
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(e) => {
                        tracing::warn!(source = %name, "Error receiving data: {e}; reconnecting");
                        self.counters.error(&format_args!("cannot receive: {e}"));
                        break;
                    }
                }
            }
            self.counters.connected.store(false, Ordering::SeqCst);
            if !self.nap(backoff) {
                return;
            }
        }
    }
}

impl Input for SocketSource {
    fn name(&self) -> String {
        self.shared.name()
    }

    fn start(&self, _env: &Env, _clock: &Arc<dyn Clock>) -> Result<(), StreamingError> {
        let shared = Arc::clone(&self.shared);
        let handle = std::thread::Builder::new()
            .name(format!("sluice-receiver-{}", self.shared.addr))
            .spawn(move || shared.receive())
            .map_err(|source| StreamingError::InputStart { input: self.name(), source })?;
        *self.thread.lock() = Some(handle);
        Ok(())
    }

    fn allocate(&self, t: Time) -> u64 {
        let (lines, position) = {
            let mut r = self.shared.received.lock();
            r.allocated = r.position;
            (std::mem::take(&mut r.lines), r.position)
        };
        let n = lines.len();
        self.shared.in_flight.fetch_add(n, Ordering::SeqCst);
        self.allocated.put(t, (lines, position));
        n as u64
    }

    /// With the write-ahead log on, the batch's lines are written to the checkpoint
    /// directory first (the batch log entry that follows points at them).
    fn allocation(&self, t: Time) -> Option<serde_json::Value> {
        let (lines, position) = self.allocated.get(t)?;
        let wal = self.wal.lock().clone().and_then(|store| {
            match wal::write_batch(&store, &stream_id(&self.shared.addr), t, &lines) {
                Ok(path) => Some(path),
                Err(e) => {
                    tracing::warn!(source = %self.name(), "write-ahead log not written: {e}; batch {t} cannot be replayed");
                    None
                }
            }
        });
        serde_json::to_value(Logged { wal, lines: lines.len(), position }).ok()
    }

    fn reallocate(&self, t: Time, logged: &serde_json::Value) -> Result<(), RestoreError> {
        let logged: Logged = RestoreError::json("the batch log's received lines", logged)?;
        let lines = match (&logged.wal, self.wal.lock().clone()) {
            (Some(path), Some(store)) => {
                wal::read_batch(&store, path, logged.lines).map_err(|e| RestoreError::WriteAheadLog(Box::new(e)))?
            }
            _ => {
                if logged.lines > 0 {
                    tracing::warn!(source = %self.name(), "batch {t} had {} lines that were not logged (write-ahead log off): lost", logged.lines);
                }
                Vec::new()
            }
        };
        let mut r = self.shared.received.lock();
        r.position = logged.position;
        r.allocated = logged.position;
        drop(r);
        self.shared.in_flight.fetch_add(lines.len(), Ordering::SeqCst);
        self.allocated.put(t, (lines, logged.position));
        Ok(())
    }

    fn position(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!(self.shared.received.lock().allocated))
    }

    fn restore_position(&self, position: &serde_json::Value) -> Result<(), RestoreError> {
        let p: u64 = RestoreError::json("the checkpointed line count", position)?;
        let mut r = self.shared.received.lock();
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
        self.shared.limiter.set_rate(rate.min(self.shared.max_rate));
    }

    fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.thread.lock().take() {
            let _ = h.join();
        }
    }

    fn stats(&self) -> SourceStats {
        self.shared.counters.snapshot()
    }

    fn detail(&self, t: Time) -> InputDetail {
        self.allocated.with(t, |(lines, _)| InputDetail::Lines(lines.len() as u64)).unwrap_or_default()
    }

    fn status(&self) -> InputStatus {
        let c = &self.shared.counters;
        let rate = self.shared.limiter.rate();
        InputStatus {
            connected: Some(c.connected.load(Ordering::SeqCst)),
            last_error: c.last_error.get(),
            rate: (self.shared.limited && rate.is_finite()).then_some(rate),
            ..InputStatus::default()
        }
    }
}

impl Source<Str> for SocketSource {
    fn take(&self, t: Time, env: &Env) -> Option<Batch<Str>> {
        let lines = self.allocated.take(t).unwrap_or_default().0;
        let n = lines.len();
        let _ = self.shared.in_flight.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| Some(f.saturating_sub(n)));
        Some(Batch::from_vec(lines, env.parallelism))
    }
}

impl StreamingContext {
    /// A stream of the UTF-8 lines a TCP server at `host:port` sends (Spark's
    /// `socketTextStream`). The receiver runs on a thread of its own, so even one worker thread
    /// processes data; it reconnects with back-off when the server is absent or closes.
    /// Invalid UTF-8 is decoded lossily and counted; lines longer than the limit are reported
    /// and dropped.
    ///
    /// ```no_run
    /// use stream_runtime::prelude::*;
    /// let ssc = StreamingContext::new(Duration::seconds(1));
    /// ssc.socket_text_stream("localhost", 9999)
    ///     .flat_map(|line| line.split(' '))
    ///     .map(|word| (word, 1))
    ///     .reduce_by_key(|a, b| a + b)
    ///     .print();
    /// let running = ssc.start().unwrap();
    /// running.await_termination().unwrap();
    /// ```
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<'_, Str> {
        self.socket_text_stream_with(host, port, SocketOptions::default())
    }

    /// As [`socket_text_stream`](Self::socket_text_stream), with options. The context's
    /// receiver settings apply: [write-ahead log](Self::with_write_ahead_log),
    /// [rate](Self::with_receiver_max_rate), [backpressure](Self::with_backpressure) and
    /// [buffer](Self::with_receiver_buffer).
    ///
    /// ```no_run
    /// use stream_runtime::prelude::*;
    /// use stream_runtime::SocketOptions;
    /// let mut ssc = StreamingContext::new(Duration::seconds(1)).with_write_ahead_log(true);
    /// ssc.checkpoint("/tmp/sluice-ckpt");
    /// ssc.socket_text_stream_with("localhost", 9999, SocketOptions { replayable: true }).count().print();
    /// ```
    pub fn socket_text_stream_with(&self, host: &str, port: u16, options: SocketOptions) -> DStream<'_, Str> {
        let max_rate = self.conf.receiver_max_rate.map_or(f64::INFINITY, |r| r as f64);
        let addr = crate::args::HostPort::new(host, port).map(|a| a.to_string()).unwrap_or_else(|e| {
            self.record_error(StreamingError::refused("socket_text_stream", e));
            format!("{host}:{port}")
        });
        let shared = Shared {
            addr,
            limit: self.conf.max_line_bytes,
            counters: SourceCounters::default(),
            received: Mutex::new(Received::default()),
            buffer: self.conf.receiver_buffer,
            in_flight: Default::default(),
            limiter: RateLimiter::new(max_rate),
            max_rate,
            limited: max_rate.is_finite() || self.conf.backpressure,
            replayable: options.replayable,
            stop: AtomicBool::new(false),
        };
        let source = SocketSource {
            shared: Arc::new(shared),
            thread: Mutex::new(None),
            allocated: Allocated::default(),
            wal: Mutex::new(None),
        };
        register(self, source)
    }
}

/// A receiver's name in paths: its address with `:` and `/` replaced.
fn stream_id(addr: &str) -> String {
    addr.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}
