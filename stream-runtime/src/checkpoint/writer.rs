//! The checkpoint writer: a thread that writes checkpoints handed to it, so batch processing
//! only pays for serializing the state, not for the filesystem.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError};

use super::CheckpointStore;
use crate::time::Time;

/// A handle on the writer thread. Dropping it (or [`finish`](Self::finish)) lets the thread
/// write what is queued and end.
#[derive(Debug)]
pub(crate) struct Writer {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

/// What the writer thread is asked to do.
#[derive(Debug)]
enum Request {
    /// Write the checkpoint of a time.
    Write(Time, Vec<u8>),
    /// Answer once everything before is written.
    Flush(Sender<()>),
}

impl Writer {
    pub(crate) fn start(store: Arc<CheckpointStore>) -> std::io::Result<Writer> {
        // One checkpoint waiting besides the one being written; a newer one replaces neither
        // (it is skipped: the batch log keeps recovery exact, only longer).
        let (tx, rx) = crossbeam_channel::bounded::<Request>(1);
        let thread = std::thread::Builder::new().name("sluice-checkpoint".into()).spawn(move || {
            for request in rx {
                let (t, file) = match request {
                    Request::Write(t, file) => (t, file),
                    Request::Flush(done) => {
                        let _ = done.send(());
                        continue;
                    }
                };
                let began = std::time::Instant::now();
                match store.write_checkpoint(t, &file) {
                    Ok(()) => {
                        tracing::debug!(time = %t, bytes = file.len(), took = ?began.elapsed(), "checkpoint written")
                    }
                    Err(e) => tracing::warn!(time = %t, "checkpoint not written: {e}"),
                }
            }
        })?;
        Ok(Writer { tx: Some(tx), thread: Some(thread) })
    }

    /// Queues the checkpoint of time `t`; skipped with a warning when the writer is behind.
    pub(crate) fn submit(&self, t: Time, file: Vec<u8>) {
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(Request::Write(t, file)) {
                tracing::warn!(time = %t, "checkpoint skipped: the previous one is still being written");
            }
        }
    }

    /// Writes the checkpoint of time `t` and returns once it is written (with what was
    /// queued before it).
    pub(crate) fn write_now(&self, t: Time, file: Vec<u8>) {
        if let Some(tx) = &self.tx {
            let (done, written) = crossbeam_channel::bounded(1);
            if tx.send(Request::Write(t, file)).is_ok() && tx.send(Request::Flush(done)).is_ok() {
                let _ = written.recv();
            }
        }
    }

    /// Writes what is queued and ends the thread.
    pub(crate) fn finish(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.finish();
    }
}
