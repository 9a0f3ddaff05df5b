//! A running job's side of checkpointing: logging each batch before it runs, snapshotting
//! the state after checkpoint batches, and restoring a recovered job before it starts.

use std::sync::Arc;

use parking_lot::Mutex;

use super::frames::SealedFile;
use super::lock::DirLock;
use super::{encode, CheckpointError, CheckpointStore, Fingerprint, Meta, Recovery, RestoreError, Saved, Writer};
use crate::context::Graph;
use crate::error::StreamingError;
use crate::node::Env;
use crate::time::{Duration, Time};

/// Checkpointing of one running job.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    pub(crate) store: Arc<CheckpointStore>,
    writer: Writer,
    fingerprint: Fingerprint,
    zero: Time,
    interval: Duration,
    /// Whether this process logs its batches (not a cluster's processes other than the driver).
    logs_batches: bool,
    /// Held while a batch is allocated and logged, and while input positions are read, so a
    /// checkpoint's positions fall between two batches.
    pub(crate) allocating: Mutex<()>,
    /// Why no checkpoint may be written any more in this run: a batch whose effects a
    /// checkpoint would claim is not whole (an output failed, or its log is not written).
    held_back: Mutex<Option<String>>,
    /// The last batch this run logged: each log entry names the one before it, so a missing
    /// log is found at recovery.
    last_logged: Mutex<Option<Time>>,
    /// The directory's lock, released last, once the writer has finished.
    _lock: DirLock,
}

impl Checkpointer {
    pub(crate) fn new(
        store: Arc<CheckpointStore>,
        fingerprint: Fingerprint,
        zero: Time,
        interval: Duration,
        logs_batches: bool,
    ) -> Result<Self, CheckpointError> {
        let lock = DirLock::acquire(&store)?;
        let writer = Writer::start(Arc::clone(&store)).map_err(|e| CheckpointError::Io {
            dir: store.url().to_string(),
            source: crate::fs::FsError::io("the checkpoint writer thread", e),
        })?;
        Ok(Checkpointer {
            store,
            writer,
            fingerprint,
            zero,
            interval,
            logs_batches,
            allocating: Mutex::new(()),
            held_back: Mutex::new(None),
            last_logged: Mutex::new(None),
            _lock: lock,
        })
    }

    /// Tells `f` of every checkpoint written from now on, on the writer's thread.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn on_written(&self, f: Box<dyn Fn(&super::Written) + Send + Sync>) {
        self.writer.on_written(f);
    }

    /// Whether batch `t` is followed by a checkpoint.
    pub(crate) fn is_checkpoint_time(&self, t: Time) -> bool {
        (t - self.zero).is_multiple_of(self.interval)
    }

    /// Logs what batch `t` holds (`records` and each input's allocation) before it runs,
    /// retrying while the filesystem fails: a batch that ran unlogged could not be re-run.
    /// Gives up when `stop` turns true (the job is asked to stop): then no checkpoint is
    /// written any more (the inputs' positions are past a batch that is nowhere), and the
    /// batch must not run; returns whether it was logged.
    pub(crate) fn log_batch(&self, graph: &Graph, t: Time, per_input: &[u64], stop: impl Fn() -> bool) -> bool {
        let inputs: Vec<serde_json::Value> =
            graph.inputs.iter().map(|i| i.allocation(t).unwrap_or(serde_json::Value::Null)).collect();
        let mut last_logged = self.last_logged.lock();
        let records: u64 = per_input.iter().sum();
        let entry = serde_json::json!({
            "records": records,
            "inputRecords": per_input,
            "inputs": inputs,
            "prev": *last_logged,
        });
        let mut failures = 0u32;
        loop {
            let e = match self.store.log_batch(t, &entry) {
                Ok(()) => {
                    *last_logged = Some(t);
                    return true;
                }
                Err(e) => e,
            };
            failures += 1;
            if failures.is_power_of_two() {
                tracing::warn!(time = %t, failures, "cannot log the batch: {e}; batches wait until it can be logged");
            }
            if stop() {
                self.hold_back(t, &format!("its batch log could not be written: {e}"));
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Writes no checkpoint any more in this run: batch `t` is not whole (`why`), and a
    /// checkpoint would move past it, so the restarted job would never run it again. Its
    /// batch log stays, and the next run re-runs it from the last checkpoint.
    pub(crate) fn hold_back(&self, t: Time, why: &str) {
        let mut held = self.held_back.lock();
        if held.is_none() {
            tracing::error!(
                time = %t,
                dir = %self.store.url(),
                "batch {t} is not whole ({why}); no checkpoint moves past it: the job stops, and the next run runs it again"
            );
            *held = Some(format!("batch {t}: {why}"));
        }
    }

    fn snapshot(&self, graph: &Graph, t: Time) -> Option<SealedFile> {
        if self.held_back.lock().is_some() {
            return None;
        }
        let positions = || {
            let _between_batches = self.allocating.lock();
            graph.inputs.iter().map(|i| i.position()).collect()
        };
        snapshot_with(graph, self.fingerprint.clone(), self.zero, t, self.logs_batches, positions)
    }

    /// Takes over the batch log of another directory (`batches`, logged after its checkpoint,
    /// oldest first): a cluster restarted with another number of processes continues the old
    /// driver's log in the new driver's directory.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn adopt_log(&self, batches: &[(Time, serde_json::Value)]) -> Result<(), CheckpointError> {
        let mut last_logged = self.last_logged.lock();
        for (t, entry) in batches {
            self.store.log_batch(*t, entry)?;
            *last_logged = Some(*t);
        }
        Ok(())
    }

    /// Checkpoints after batch `t` with the inputs at `positions` (read from another
    /// checkpoint), and waits until it is written: a cluster restarted with another number of
    /// processes writes the re-spread state at once. Returns whether the checkpoint is there.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn checkpoint_at(&self, graph: &Graph, t: Time, positions: Vec<Option<serde_json::Value>>) -> bool {
        let file = snapshot_with(graph, self.fingerprint.clone(), self.zero, t, self.logs_batches, || positions);
        if let Some(file) = file {
            self.writer.write_now(t, file);
        }
        self.store.read_at(t).is_ok_and(|c| c.is_some())
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
        if let Some(why) = self.held_back.lock().as_ref() {
            tracing::error!(dir = %self.store.url(), "no last checkpoint written: {why}");
            return;
        }
        if let Some(file) = self.snapshot(graph, t) {
            self.writer.write_now(t, file);
        }
    }
}

/// Holds checkpoints back when an output of batch `t` failed (`errors` as the batch returned
/// them): the batch must run again after a restart, so the job stops without a checkpoint
/// past it. Returns whether it did. A failed input is not held back: re-running the batch
/// would read the same (missing) data.
pub(crate) fn hold_back_failed(cp: &Checkpointer, t: Time, errors: &[StreamingError]) -> bool {
    let failed: Vec<String> = errors
        .iter()
        .filter_map(|e| match e {
            StreamingError::BatchFailed { output, cause, .. } => Some(format!("{output} failed: {cause}")),
            _ => None,
        })
        .collect();
    if failed.is_empty() {
        return false;
    }
    cp.hold_back(t, &failed.join("; "));
    true
}

/// The checkpoint file after batch `t`: every stateful operation's state, then the inputs'
/// positions (read by `positions`, after the states). `None` (with a warning) if a state
/// cannot be serialized.
fn snapshot_with(
    graph: &Graph,
    fingerprint: Fingerprint,
    zero: Time,
    t: Time,
    logs_batches: bool,
    positions: impl FnOnce() -> Vec<Option<serde_json::Value>>,
) -> Option<SealedFile> {
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
    let meta = Meta { fingerprint, zero, time: t, positions: positions(), saved, logs_batches };
    Some(encode(&meta, states))
}

/// The checkpoint file after batch `t` of a graph that is not running.
pub(crate) fn snapshot(graph: &Graph, fingerprint: Fingerprint, zero: Time, t: Time) -> Option<SealedFile> {
    snapshot_with(graph, fingerprint, zero, t, true, || graph.inputs.iter().map(|i| i.position()).collect())
}

/// A batch of the batch log that a recovered job runs again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replayed {
    /// Its time.
    pub(crate) time: Time,
    /// Records of every input.
    pub(crate) records: u64,
    /// Records of each input; empty in a log written before they were logged.
    pub(crate) per_input: Vec<u64>,
}

/// Puts a recovered job back where its checkpoint says: the state of every stateful
/// operation, the inputs' positions, then the logged batches' data (so each input holds its
/// part of each logged batch, as when it was cut). Returns the batches to re-run.
pub(crate) fn restore<S: AsRef<[u8]>>(
    graph: &Graph,
    env: &Env,
    recovery: &Recovery<S>,
    dir: &str,
) -> Result<Vec<Replayed>, CheckpointError> {
    let failed = |what: String, cause: RestoreError| CheckpointError::Restore { dir: dir.to_string(), what, cause };
    for (i, tick) in graph.ticks.iter().enumerate() {
        let saved = match &recovery.spread {
            None => recovery.states.get(i).and_then(Option::as_ref).map(|s| Saved::Own(s.as_ref())),
            Some((before, old)) => {
                let states: Vec<(usize, &[u8])> =
                    old.iter().filter_map(|(j, states)| Some((*j, states.get(i)?.as_deref()?))).collect();
                (!states.is_empty()).then_some(Saved::Spread { before: *before, states })
            }
        };
        if let Some(saved) = saved {
            tick.restore(saved, env).map_err(|c| failed(tick.name(), c.into()))?;
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
        let per_input = entry
            .get("inputRecords")
            .and_then(|v| serde_json::from_value::<Vec<u64>>(v.clone()).ok())
            .filter(|n| n.len() == graph.inputs.len())
            .unwrap_or_default();
        let records = entry.get("records").and_then(|v| v.as_u64()).unwrap_or(0);
        replay.push(Replayed { time: *t, records, per_input });
    }
    Ok(replay)
}
