use std::net::{TcpStream, ToSocketAddrs};
use std::thread::JoinHandle;

use super::lines::{Decoder, Line, LineReader};
use super::receiver::{Receiver, Supervisor};
use crate::context::StreamingContext;
use crate::error::StreamingError;
use crate::str::Str;
use crate::DStream;

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

/// The socket receiver (Spark's `SocketReceiver`), a [`Receiver`] like any user's: each start
/// connects and reads lines on a thread of its own; a refused connection, a closed stream or a
/// read error reports and [restarts](Supervisor::restart) it, which reconnects with back-off.
struct SocketReceiver {
    addr: String,
    limit: usize,
    replayable: bool,
    thread: Option<JoinHandle<()>>,
}

impl Receiver<Str> for SocketReceiver {
    fn name(&self) -> String {
        format!("socket_text_stream({})", self.addr)
    }

    fn on_start(&mut self, receiver: &Supervisor<Str>) {
        receiver.set_connected(false);
        let (receiver, addr, limit, replayable) = (receiver.clone(), self.addr.clone(), self.limit, self.replayable);
        let spawned = std::thread::Builder::new()
            .name(format!("sluice-socket-{addr}"))
            .spawn(move || receive(&receiver, &addr, limit, replayable));
        match spawned {
            Ok(h) => self.thread = Some(h),
            Err(e) => receiver_thread_failed(&self.addr, e),
        }
    }

    fn on_stop(&mut self) {
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

fn receiver_thread_failed(addr: &str, e: std::io::Error) {
    tracing::error!(source = %format!("socket_text_stream({addr})"), "cannot start the receiver thread: {e}");
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "host resolved to no address");
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, std::time::Duration::from_secs(2)) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// One connection: connect, read lines until the server closes, an error or a stop.
fn receive(receiver: &Supervisor<Str>, addr: &str, limit: usize, replayable: bool) {
    let stream = match connect(addr) {
        Ok(s) => s,
        Err(e) => {
            receiver.report_error(format_args!("cannot connect to {addr}: {e}"));
            receiver.restart(format_args!("Error connecting to {addr}: {e}"));
            return;
        }
    };
    tracing::info!(source = %receiver.name(), "connected");
    receiver.set_connected(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let decoder = Decoder { source: receiver.name(), limit, counters: receiver.counters() };
    let mut reader = LineReader::new(stream, limit);
    // A replayed stream starts again at line 0: skip what is already here.
    let mut skip = if replayable { receiver.position() } else { 0 };
    while !receiver.is_stopped() {
        match reader.next_line(&decoder) {
            Ok(Some(_)) if skip > 0 => skip -= 1,
            Ok(Some(Line::Text(l))) => receiver.store(l),
            Ok(Some(Line::Oversized(len))) => {
                receiver.skip(1);
                decoder.oversized(reader.lines_read(), len)
            }
            Ok(None) => return receiver.restart("Socket data stream had no more data"),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => {
                receiver.report_error(format_args!("cannot receive: {e}"));
                return receiver.restart(format_args!("Error receiving data: {e}"));
            }
        }
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
        let addr = crate::args::HostPort::new(host, port).map(|a| a.to_string()).unwrap_or_else(|e| {
            self.record_error(StreamingError::refused("socket_text_stream", e));
            format!("{host}:{port}")
        });
        let limit = self.conf.max_line_bytes;
        self.receiver_stream(SocketReceiver { addr, limit, replayable: options.replayable, thread: None })
    }
}

/// A receiver's name in paths: its name with `:` and `/` replaced.
pub(crate) fn stream_id(addr: &str) -> String {
    addr.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}
