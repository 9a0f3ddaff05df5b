use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;

use super::lines::{Decoder, Line, LineReader};
use super::{register, Allocated, Source};
use crate::batch::Batch;
use crate::clock::Clock;
use crate::context::{Input, StreamingContext};
use crate::error::StreamingError;
use crate::metrics::{SourceCounters, SourceStats};
use crate::node::Env;
use crate::str::Str;
use crate::time::Time;
use crate::DStream;

const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

struct Shared {
    addr: String,
    limit: usize,
    counters: SourceCounters,
    received: Mutex<Vec<Str>>,
    stop: AtomicBool,
}

struct SocketSource {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    allocated: Allocated<Vec<Str>>,
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
                    self.counters.errors.add(1);
                    if !self.nap(backoff) {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    continue;
                }
            };
            tracing::info!(source = %name, "connected");
            failures = 0;
            backoff = FIRST_BACKOFF;
            let _ = stream.set_read_timeout(Some(POLL));
            let mut reader = LineReader::new(stream, self.limit);
            loop {
                if self.stop.load(Ordering::SeqCst) {
                    return;
                }
                match reader.next_line(&decoder) {
                    Ok(Some(Line::Text(l))) => {
                        self.counters.lines.add(1);
                        self.received.lock().push(l);
                    }
                    Ok(Some(Line::Oversized(len))) => decoder.oversized(reader.lines_read(), len),
                    Ok(None) => {
                        tracing::warn!(source = %name, "Socket data stream had no more data; reconnecting");
                        break;
                    }
                    Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                    Err(e) => {
                        tracing::warn!(source = %name, "Error receiving data: {e}; reconnecting");
                        self.counters.errors.add(1);
                        break;
                    }
                }
            }
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
            .map_err(|e| StreamingError::InputStart { input: self.name(), cause: e.to_string() })?;
        *self.thread.lock() = Some(handle);
        Ok(())
    }

    fn allocate(&self, t: Time) -> u64 {
        let lines = std::mem::take(&mut *self.shared.received.lock());
        let n = lines.len() as u64;
        self.allocated.put(t, lines);
        n
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
}

impl Source<Str> for SocketSource {
    fn take(&self, t: Time, env: &Env) -> Option<Batch<Str>> {
        Some(Batch::from_vec(self.allocated.take(t).unwrap_or_default(), env.parallelism))
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
        let shared = Shared {
            addr: format!("{host}:{port}"),
            limit: self.conf.max_line_bytes,
            counters: SourceCounters::default(),
            received: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        };
        register(
            self,
            SocketSource { shared: Arc::new(shared), thread: Mutex::new(None), allocated: Allocated::default() },
        )
    }
}
