//! Fail-stop: the first failure anywhere in a process ends it with one line and a non-zero exit.
//!
//! A cluster run has two ways to fail mid-flight: a peer goes away (its socket reaches end of file
//! before timely's clean-shutdown frame, or a read or write fails), or a thread of timely in this
//! process panics. Left alone, timely panics in its network threads, the panic cascades through
//! every worker of every process with a backtrace each, and sometimes ends in an abort or a hang.
//! Instead the first failure writes one line to standard error and exits the process at once; a
//! second failure racing with it waits silently for the exit. The processes of a cluster share
//! state through timely, so there is no partial recovery: all of them stop, and a restart of all
//! of them recovers from the last checkpoint.
//!
//! A panic on one of timely's threads ends the process even where code would catch it with
//! `catch_unwind`: the hook runs before any unwinding. Code that wants to survive a failure of
//! its own must return it as a value, not panic.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

use timely::communication::allocator::zero_copy::stream::Stream;

use crate::config::Host;

/// Exit codes of a fail-stop.
pub mod exit_code {
    /// A peer process went away.
    pub const PEER_GONE: i32 = 3;
    /// A worker or network thread of this process panicked.
    pub const WORKER_PANIC: i32 = 4;
}

/// What every fail-stop line ends with.
pub const RESTART_ADVICE: &str = "stopping; restart all processes to recover from the last checkpoint";

static STOPPING: AtomicBool = AtomicBool::new(false);
/// `(process, processes)` of the running cluster member, for the panic line.
static LOCAL: Mutex<Option<(usize, usize)>> = Mutex::new(None);

/// Writes `line` to standard error and exits with `code`; a second caller waits for that exit.
pub fn stop(line: &str, code: i32) -> ! {
    if STOPPING.swap(true, Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
    eprintln!("{line}");
    std::process::exit(code)
}

/// The line for a peer that went away.
///
/// ```
/// use stream_cluster::{failstop::peer_gone_line, Host};
/// assert_eq!(
///     peer_gone_line(2, 3, &Host::parse("10.0.0.3:7002").unwrap()),
///     "process 2 of 3 (10.0.0.3:7002) is gone; stopping; restart all processes to recover from the last checkpoint"
/// );
/// ```
pub fn peer_gone_line(peer: usize, processes: usize, host: &Host) -> String {
    format!("process {peer} of {processes} ({host}) is gone; {RESTART_ADVICE}")
}

/// Turns a panic on one of timely's threads (named `timely:...`) into [`stop`] with one line;
/// panics on other threads go to the hook that was installed before. Installed once.
pub(crate) fn install_panic_hook(process: usize, processes: usize) {
    *LOCAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((process, processes));
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let Some(name) = thread.name().filter(|name| name.starts_with("timely:")) else {
                return previous(info);
            };
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text panic".to_string());
            let location = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            let who = match *LOCAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
                Some((process, processes)) if processes > 1 => format!("process {process} of {processes}: "),
                _ => String::new(),
            };
            let line = format!("{who}thread {name} panicked{location}: {message}; {RESTART_ADVICE}");
            stop(&line, exit_code::WORKER_PANIC)
        }));
    });
}

/// Who is at the other end of a [`PeerStream`].
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) process: usize,
    pub(crate) processes: usize,
    pub(crate) host: Host,
}

/// A socket to a peer, handed to timely, that fail-stops when the peer goes away.
///
/// timely's receive loop ends a connection with a zero-length frame followed by end of file; end
/// of file without that frame, or any read or write error, means the peer is gone. The stream
/// follows timely's framing ([`MessageHeader`](timely::communication::networking::MessageHeader)) to tell the two apart.
#[derive(Debug)]
pub struct PeerStream {
    inner: TcpStream,
    peer: Arc<Peer>,
    frames: FrameTracker,
}

impl PeerStream {
    pub(crate) fn new(inner: TcpStream, peer: Peer) -> PeerStream {
        PeerStream { inner, peer: Arc::new(peer), frames: FrameTracker::default() }
    }

    fn gone(&self) -> ! {
        stop(&peer_gone_line(self.peer.process, self.peer.processes, &self.peer.host), exit_code::PEER_GONE)
    }
}

fn retry(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock)
}

impl Read for PeerStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() && !self.frames.finished => self.gone(),
            Ok(read) => {
                self.frames.observe(&buf[..read]);
                Ok(read)
            }
            Err(error) if retry(&error) => Err(error),
            Err(_) => self.gone(),
        }
    }
}

impl Write for PeerStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Err(error) if !retry(&error) => self.gone(),
            result => result,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.inner.flush() {
            Err(error) if !retry(&error) => self.gone(),
            result => result,
        }
    }
}

impl Stream for PeerStream {
    fn try_clone(&self) -> io::Result<Self> {
        Ok(PeerStream { inner: self.inner.try_clone()?, peer: Arc::clone(&self.peer), frames: FrameTracker::default() })
    }

    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

/// Follows timely's frames (a [`MessageHeader`](timely::communication::networking::MessageHeader), then `length` bytes) through a byte stream, to
/// see the zero-length frame that ends a connection cleanly.
#[derive(Debug, Default)]
struct FrameTracker {
    header: Vec<u8>,
    body: usize,
    finished: bool,
}

/// `MessageHeader` is six big-endian `u64`s; `length` is the fifth.
const HEADER_BYTES: usize = 6 * 8;
const LENGTH_AT: usize = 4 * 8;

impl FrameTracker {
    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.finished {
            if self.body > 0 {
                let skip = self.body.min(bytes.len());
                self.body -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let take = (HEADER_BYTES - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() == HEADER_BYTES {
                let length = u64::from_be_bytes(self.header[LENGTH_AT..LENGTH_AT + 8].try_into().expect("8 bytes"));
                self.header.clear();
                if length == 0 {
                    self.finished = true;
                } else {
                    self.body = length as usize;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timely::communication::networking::MessageHeader;

    fn frame(length: usize, fill: u8) -> Vec<u8> {
        let header = MessageHeader { channel: 3, source: 1, target_lower: 0, target_upper: 2, length, seqno: 9 };
        assert_eq!(header.header_bytes(), HEADER_BYTES);
        let mut bytes = Vec::new();
        header.write_to(&mut bytes).unwrap();
        // A body that looks like a terminating header, to catch a tracker that loses its place.
        bytes.extend(std::iter::repeat_n(fill, length));
        bytes
    }

    #[test]
    fn the_tracker_sees_the_end_frame_of_timelys_encoding_in_any_chunking() {
        let mut stream = Vec::new();
        for length in [1, 48, 0x30, 1000, 7] {
            stream.extend(frame(length, 0));
        }
        let end = stream.len();
        stream.extend(frame(0, 0));
        for chunk in [1, 5, 47, 48, 49, 4096] {
            let mut tracker = FrameTracker::default();
            for (at, piece) in stream.chunks(chunk).enumerate() {
                assert!(!tracker.finished, "chunk {chunk}: finished before byte {}", at * chunk);
                tracker.observe(piece);
                if (at + 1) * chunk <= end {
                    assert!(!tracker.finished, "chunk {chunk}: finished inside the data");
                }
            }
            assert!(tracker.finished, "chunk {chunk}: end frame missed");
        }
    }
}
