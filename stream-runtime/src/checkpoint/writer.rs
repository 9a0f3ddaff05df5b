//! The checkpoint writer: a thread that writes checkpoints handed to it, so batch processing
//! only pays for serializing the state, not for the filesystem.

use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};

use super::frames::SealedFile;
use super::CheckpointStore;
use crate::time::Time;

/// How long a stop waits for the writer: a filesystem that does not answer (a hung mount, an
/// HDFS namenode gone mid-write) must not keep a stopping job alive.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A checkpoint the writer wrote, or failed to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    /// The batch it follows.
    pub(crate) time: Time,
    /// Its size.
    pub(crate) bytes: usize,
    /// How long writing it took.
    pub(crate) took: std::time::Duration,
    /// Why it was not written.
    pub(crate) error: Option<String>,
}

/// Told of every checkpoint written, on the writer's thread (the Streaming page).
type OnWritten = Arc<OnceLock<Tell>>;

/// The function told of written checkpoints.
struct Tell(Box<dyn Fn(&Written) + Send + Sync>);

impl std::fmt::Debug for Tell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tell(<fn>)")
    }
}

/// A handle on the writer thread. Dropping it (or [`finish`](Self::finish)) lets the thread
/// write what is queued and end, waiting for it at most a bounded time.
#[derive(Debug)]
pub(crate) struct Writer {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    /// Disconnected when the thread ends.
    exited: crossbeam_channel::Receiver<()>,
    /// How long [`write_now`](Self::write_now) and [`finish`](Self::finish) wait.
    wait: std::time::Duration,
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    on_written: OnWritten,
}

/// What the writer thread is asked to do.
#[derive(Debug)]
enum Request {
    /// Write the checkpoint of a time.
    Write(Time, SealedFile),
    /// Answer once everything before is written.
    Flush(Sender<()>),
}

impl Writer {
    pub(crate) fn start(store: Arc<CheckpointStore>) -> std::io::Result<Writer> {
        Writer::start_waiting(store, STOP_WAIT)
    }

    /// A writer whose stop waits at most `wait`.
    fn start_waiting(store: Arc<CheckpointStore>, wait: std::time::Duration) -> std::io::Result<Writer> {
        // One checkpoint waiting besides the one being written; a newer one replaces neither
        // (it is skipped: the batch log keeps recovery exact, only longer).
        let (tx, rx) = crossbeam_channel::bounded::<Request>(1);
        let (running, exited) = crossbeam_channel::bounded::<()>(0);
        let on_written: OnWritten = Arc::default();
        let told = Arc::clone(&on_written);
        let thread = std::thread::Builder::new().name("sluice-checkpoint".into()).spawn(move || {
            let _running = running;
            for request in rx {
                let (t, file) = match request {
                    Request::Write(t, file) => (t, file),
                    Request::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let began = std::time::Instant::now();
                let error = match store.write_checkpoint(t, &file) {
                    Ok(()) => {
                        tracing::debug!(time = %t, bytes = file.len(), took = ?began.elapsed(), "checkpoint written");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(time = %t, "checkpoint not written: {e}");
                        Some(e.to_string())
                    }
                };
                if let Some(tell) = told.get() {
                    (tell.0)(&Written { time: t, bytes: file.len(), took: began.elapsed(), error });
                }
            }
        })?;
        Ok(Writer { tx: Some(tx), thread: Some(thread), exited, wait, on_written })
    }

    /// Tells `f` of every checkpoint written from now on; only the first `f` given is kept.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn on_written(&self, f: Box<dyn Fn(&Written) + Send + Sync>) {
        let _ = self.on_written.set(Tell(f));
    }

    /// Queues the checkpoint of time `t`; skipped with a warning when the writer is behind.
    pub(crate) fn submit(&self, t: Time, file: SealedFile) {
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(Request::Write(t, file)) {
                tracing::warn!(time = %t, "checkpoint skipped: the previous one is still being written");
            }
        }
    }

    /// Writes the checkpoint of time `t` and returns once it is written (with what was
    /// queued before it), or, when the filesystem does not answer, after a bounded wait
    /// (reported; the batch log still covers recovery).
    pub(crate) fn write_now(&self, t: Time, file: SealedFile) {
        let Some(tx) = &self.tx else { return };
        let deadline = std::time::Instant::now() + self.wait;
        let (done, written) = crossbeam_channel::bounded(1);
        let sent = tx.send_deadline(Request::Write(t, file), deadline).is_ok()
            && tx.send_deadline(Request::Flush(done), deadline).is_ok()
            && written.recv_deadline(deadline).is_ok();
        if !sent {
            tracing::error!(time = %t, "checkpoint not written: the checkpoint directory did not answer within {:?}", self.wait);
        }
    }

    /// Writes what is queued and ends the thread; a thread stuck in a write for longer than
    /// the bounded wait is left behind (reported).
    pub(crate) fn finish(&mut self) {
        self.tx.take();
        let Some(t) = self.thread.take() else { return };
        match self.exited.recv_timeout(self.wait) {
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) | Ok(()) => {
                let _ = t.join();
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                tracing::error!(
                    "the checkpoint writer is stuck in a write for over {:?}; stopping without it",
                    self.wait
                );
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_never_returns_holds_neither_write_now_nor_the_stop() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(CheckpointStore::open(&dir.path().to_string_lossy()).unwrap());
        // The checkpoint's temporary file is a FIFO: opening it to write blocks until a reader
        // comes, which none does (even for root).
        let fifo = dir.path().join(".checkpoint-5000.tmp");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let mut writer = Writer::start_waiting(store, std::time::Duration::from_millis(300)).unwrap();
        let began = std::time::Instant::now();
        writer.write_now(Time::from_millis(5000), SealedFile::whole(b"state".to_vec()));
        writer.finish();
        assert!(began.elapsed() < std::time::Duration::from_secs(5), "took {:?}", began.elapsed());
    }
}
