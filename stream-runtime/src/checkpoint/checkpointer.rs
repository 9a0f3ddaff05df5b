//! A running job's side of checkpointing: logging each batch before it runs, snapshotting
//! the state after checkpoint batches, and restoring a recovered job before it starts.

use std::sync::Arc;

use parking_lot::Mutex;

use super::{encode, CheckpointError, CheckpointStore, Fingerprint, Meta, Recovery, RestoreError, Writer};
use crate::context::Graph;
use crate::time::{Duration, Time};

/// Checkpointing of one running job.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    pub(crate) store: Arc<CheckpointStore>,
    writer: Writer,
    fingerprint: Fingerprint,
    zero: Time,
    interval: Duration,
    /// Held while a batch is allocated and logged, and while input positions are read, so a
    /// checkpoint's positions fall between two batches.
    pub(crate) allocating: Mutex<()>,
}

impl Checkpointer {
    pub(crate) fn new(
        store: Arc<CheckpointStore>,
        fingerprint: Fingerprint,
        zero: Time,
        interval: Duration,
    ) -> std::io::Result<Self> {
        let writer = Writer::start(Arc::clone(&store))?;
        Ok(Checkpointer { store, writer, fingerprint, zero, interval, allocating: Mutex::new(()) })
    }

    /// Whether batch `t` is followed by a checkpoint.
    pub(crate) fn is_checkpoint_time(&self, t: Time) -> bool {
        (t - self.zero).is_multiple_of(self.interval)
    }

    /// Logs what batch `t` holds (`records` and each input's allocation) before it runs,
    /// retrying while the filesystem fails: a batch that ran unlogged could not be re-run.
    pub(crate) fn log_batch(&self, graph: &Graph, t: Time, records: u64, stop: impl Fn() -> bool) {
        let inputs: Vec<serde_json::Value> =
            graph.inputs.iter().map(|i| i.allocation(t).unwrap_or(serde_json::Value::Null)).collect();
        let entry = serde_json::json!({ "records": records, "inputs": inputs });
        let mut reported = false;
        while let Err(e) = self.store.log_batch(t, &entry) {
            if !reported {
                tracing::warn!(time = %t, "cannot log the batch: {e}; batches wait until it can be logged");
                reported = true;
            }
            if stop() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    fn snapshot(&self, graph: &Graph, t: Time) -> Option<Vec<u8>> {
        let positions = || {
            let _between_batches = self.allocating.lock();
            graph.inputs.iter().map(|i| i.position()).collect()
        };
        snapshot_with(graph, self.fingerprint.clone(), self.zero, t, positions)
    }

    /// Checkpoints after batch `t` in the background (skipped if the writer is behind).
    pub(crate) fn checkpoint(&self, graph: &Graph, t: Time) {
        if let Some(file) = self.snapshot(graph, t) {
            self.writer.submit(t, file);
        }
    }

    /// Checkpoints after batch `t` and waits until it is written: at start and at a
    /// graceful stop.
    pub(crate) fn checkpoint_now(&self, graph: &Graph, t: Time) {
        if let Some(file) = self.snapshot(graph, t) {
            self.writer.write_now(t, file);
        }
    }
}

/// The checkpoint file after batch `t`: every stateful operation's state, then the inputs'
/// positions (read by `positions`, after the states). `None` (with a warning) if a state
/// cannot be serialized.
fn snapshot_with(
    graph: &Graph,
    fingerprint: Fingerprint,
    zero: Time,
    t: Time,
    positions: impl FnOnce() -> Vec<Option<serde_json::Value>>,
) -> Option<Vec<u8>> {
    let mut states = Vec::new();
    let mut saved = Vec::new();
    for tick in &graph.ticks {
        match tick.save() {
            Ok(Some(bytes)) => {
                states.push(bytes);
                saved.push(true);
            }
            Ok(None) => saved.push(false),
            Err(e) => {
                tracing::warn!(time = %t, "checkpoint skipped: cannot serialize {}: {e}", tick.name());
                return None;
            }
        }
    }
    let meta = Meta { fingerprint, zero, time: t, positions: positions(), saved };
    Some(encode(&meta, &states))
}

/// The checkpoint file after batch `t` of a graph that is not running.
pub(crate) fn snapshot(graph: &Graph, fingerprint: Fingerprint, zero: Time, t: Time) -> Option<Vec<u8>> {
    snapshot_with(graph, fingerprint, zero, t, || graph.inputs.iter().map(|i| i.position()).collect())
}

/// Puts a recovered job back where its checkpoint says: the state of every stateful
/// operation, the inputs' positions, then the logged batches' data. Returns the batches to
/// re-run, with their record counts.
pub(crate) fn restore(graph: &Graph, recovery: &Recovery, dir: &str) -> Result<Vec<(Time, u64)>, CheckpointError> {
    let failed = |what: String, cause: RestoreError| CheckpointError::Restore { dir: dir.to_string(), what, cause };
    for (tick, state) in graph.ticks.iter().zip(&recovery.states) {
        if let Some(state) = state {
            tick.restore(state).map_err(|c| failed(tick.name(), c.into()))?;
        }
    }
    for (input, position) in graph.inputs.iter().zip(&recovery.meta.positions) {
        if let Some(p) = position {
            input.restore_position(p).map_err(|c| failed(input.name(), c))?;
        }
    }
    let mut replay = Vec::new();
    for (t, entry) in &recovery.batches {
        let logged = entry.get("inputs").and_then(|v| v.as_array()).cloned().unwrap_or_default();
        for (input, v) in graph.inputs.iter().zip(&logged) {
            if !v.is_null() {
                input.reallocate(*t, v).map_err(|c| failed(input.name(), c))?;
            }
        }
        replay.push((*t, entry.get("records").and_then(|v| v.as_u64()).unwrap_or(0)));
    }
    Ok(replay)
}
