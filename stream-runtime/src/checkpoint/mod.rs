//! Checkpoints and recovery: what a job writes so that a restarted job continues where the
//! stopped one was, and [`StreamingContext::get_or_create`] which reads it back.
//!
//! A checkpoint (every checkpoint interval, plus one at start and one at a graceful stop)
//! holds the fingerprint of the job's plan, its zero time, the time of the last batch it
//! covers, the position of every input and the state of every stateful operation, framed,
//! checksummed and renamed into place. Between checkpoints, the batch log records what every batch holds
//! before it runs. Recovery restores the newest whole checkpoint, then re-runs every logged
//! batch after it with the same data; outputs commit idempotently, so the re-run batches
//! leave each output once.

mod checkpointer;
pub(crate) mod codec;
pub(crate) mod fingerprint;
pub(crate) mod frames;
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) mod layout;
mod lock;
pub(crate) mod store;
pub(crate) mod wal;
mod writer;

use serde::{Deserialize, Serialize};

pub(crate) use checkpointer::{hold_back_failed, restore, snapshot, Checkpointer};
pub use codec::CodecError;
pub(crate) use fingerprint::Fingerprint;
pub use frames::{Damage, FrameError};
pub(crate) use store::CheckpointStore;
pub use wal::WriteAheadLog;
pub(crate) use writer::{Writer, Written};

use crate::context::StreamingContext;
use crate::error::StreamingError;
use crate::fs::FsError;
use crate::time::Time;

/// Why a checkpoint could not be written or recovered.
///
/// Each variant keeps its cause as its [`source`](std::error::Error::source), so the chain
/// leads to the filesystem's error, the damage found or the decoder's error:
///
/// ```
/// use std::error::Error;
/// use stream_runtime::checkpoint::CheckpointError;
/// use stream_runtime::fs::FsError;
/// use stream_runtime::StreamingError;
///
/// // A file where the checkpoint directory should be.
/// let file = tempfile::NamedTempFile::new().unwrap();
/// let dir = file.path().join("ckpt").to_string_lossy().into_owned();
/// let err = StreamingContext::get_or_create(&dir, || StreamingContext::new(Duration::seconds(1))).unwrap_err();
/// let StreamingError::Checkpoint(CheckpointError::Io { source, .. }) = &err else { panic!("{err}") };
/// assert!(matches!(source, FsError::Io { .. }));
/// // Walking the chain from the top reaches the operating system's error.
/// let mut cause: &dyn Error = &err;
/// while let Some(next) = cause.source() {
///     cause = next;
/// }
/// assert!(cause.downcast_ref::<std::io::Error>().is_some(), "{cause:?}");
/// # use stream_runtime::prelude::*;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The checkpoint directory could not be read or written.
    #[error("checkpoint directory {dir}: {source}")]
    Io {
        /// The directory.
        dir: String,
        /// The filesystem's error.
        #[source]
        source: FsError,
    },
    /// The batch log entry of a batch could not be encoded.
    #[error("checkpoint directory {dir}: cannot encode the batch log entry: {source}")]
    LogEntry {
        /// The directory.
        dir: String,
        /// The encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// Another job runs on the checkpoint directory (or did, on another host, and left its
    /// lock file).
    #[error("checkpoint directory {dir} is in use by {owner}; two jobs on one directory would corrupt each other's outputs. Stop that job first (if it is gone, delete {lock})")]
    Locked {
        /// The directory.
        dir: String,
        /// Who holds it: its process and host.
        owner: String,
        /// The lock file.
        lock: String,
    },
    /// The checkpoint directory's files disagree: a checkpoint named for one time holds
    /// another, or a batch log that must be there is missing. Recovering would run batches
    /// again with other data than they had, and write their outputs twice.
    #[error("checkpoint directory {dir} is inconsistent: {why}; recovering would run batches again with other data than they had. Put the missing or renamed files back, or start with a fresh directory")]
    Inconsistent {
        /// The directory.
        dir: String,
        /// What disagrees.
        why: String,
    },
    /// A checkpoint file is damaged (truncated, flipped bytes, not a checkpoint).
    #[error("checkpoint {path} is damaged: {why}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        #[source]
        why: Damage,
    },
    /// Every checkpoint in the directory is damaged (Spark's "Failed to read checkpoint").
    #[error("Failed to read checkpoint from directory {dir}: {cause}")]
    NoValidCheckpoint {
        /// The directory.
        dir: String,
        /// The problem with the oldest one.
        #[source]
        cause: Box<CheckpointError>,
    },
    /// The checkpoint was written by a job with a different plan.
    #[error("checkpoint in {dir} was written by a different job; recovering it would run old state through new code. Changes: {}. Start with a fresh checkpoint directory, or run the job as it was", .changes.join("; "))]
    PlanChanged {
        /// The directory.
        dir: String,
        /// What changed, one entry per change.
        changes: Vec<String>,
    },
    /// A receiver's write-ahead log file could not be encoded or decoded.
    #[error("write-ahead log {path}: {source}")]
    Records {
        /// The file.
        path: String,
        /// The codec's error.
        #[source]
        source: CodecError,
    },
    /// A stateful operation or input could not take back its checkpointed state.
    #[error("checkpoint in {dir}: cannot restore {what}: {cause}")]
    Restore {
        /// The directory.
        dir: String,
        /// The operation or input.
        what: String,
        /// Why.
        #[source]
        cause: RestoreError,
    },
}

/// Why a stateful operation or an input could not take back what a checkpoint or the batch
/// log holds for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// A stateful operation's state could not be decoded.
    #[error(transparent)]
    State(#[from] CodecError),
    /// An input's position or a batch's logged data (JSON) does not have the expected shape.
    #[error("{what}: not readable: {source}")]
    Json {
        /// What was read, e.g. "the checkpointed offsets".
        what: &'static str,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// A receiver's write-ahead log could not be read.
    #[error("write-ahead log: {0}")]
    WriteAheadLog(#[source] Box<CheckpointError>),
}

impl RestoreError {
    /// `value` read as a `T`, or [`RestoreError::Json`] naming `what`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(
        what: &'static str,
        value: &serde_json::Value,
    ) -> Result<T, RestoreError> {
        T::deserialize(value).map_err(|source| RestoreError::Json { what, source })
    }
}

/// The job-level part of a checkpoint (the first frame, JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    /// Named `plan` in the file (checkpoints written before the rename still read).
    #[serde(rename = "plan")]
    pub(crate) fingerprint: Fingerprint,
    /// The time before the first batch: the recovered job keeps the same batch grid.
    pub(crate) zero: Time,
    /// The last batch whose effects the state holds.
    pub(crate) time: Time,
    /// The position of every input, in registration order.
    pub(crate) positions: Vec<Option<serde_json::Value>>,
    /// Which stateful operations saved a state frame (the frames follow in order).
    pub(crate) saved: Vec<bool>,
    /// Whether this process logs the batches it runs: the driver does; the other processes
    /// of a cluster take each batch from the driver and keep no log (recovery re-runs the
    /// driver's), so their checkpoints need none.
    #[serde(default = "logs_batches_by_default")]
    pub(crate) logs_batches: bool,
}

fn logs_batches_by_default() -> bool {
    true
}

/// A checkpoint read back, with the batches logged after it; its states owned (`Vec<u8>`)
/// or borrowed from the file read (`&[u8]`, no copy).
#[derive(Debug)]
pub(crate) struct Recovery<S = Vec<u8>> {
    pub(crate) meta: Meta,
    pub(crate) states: Vec<Option<S>>,
    pub(crate) batches: Vec<(Time, serde_json::Value)>,
    /// After a restart with another number of processes: how many the old run had, and the
    /// states that the old processes whose keys this process may own now saved
    /// (`(old process, [operation])`), which replace `states`.
    pub(crate) spread: Option<(usize, Vec<(usize, States)>)>,
}

/// The saved state of each stateful operation of a checkpoint, in registration order (`None`
/// for one that saved none).
pub(crate) type States = Vec<Option<Vec<u8>>>;

/// What one stateful operation restores.
#[derive(Debug, Clone)]
pub(crate) enum Saved<'a> {
    /// The state this process saved (the only process's, or this process's in a cluster
    /// that restarts with the same number of processes).
    Own(&'a [u8]),
    /// After a restart with another number of processes (`before` in the old run), the states
    /// saved by the old processes that owned key groups this process owns now
    /// (`shuffle::overlapping`), with their index: a keyed operation reads the frames of its
    /// groups ([`Saved::frames`]) and keeps their keys; any other takes [`Saved::unkeyed`]'s
    /// share.
    Spread {
        /// The old run's number of processes.
        before: usize,
        /// `(old process, its state)`.
        states: Vec<(usize, &'a [u8])>,
    },
}

impl<'a> Saved<'a> {
    /// The saved states an operation whose state is not keyed takes: its own, or after a
    /// restart with another number of processes those of the old processes `j` with
    /// `j * processes / before == process` (each old state goes to exactly one new process,
    /// one whose key range overlaps the old one's).
    pub(crate) fn unkeyed(&self, env: &crate::node::Env) -> Vec<&'a [u8]> {
        match self {
            Saved::Own(b) => vec![*b],
            Saved::Spread { before, states } => {
                let (me, n) = env.peers.as_ref().map_or((0, 1), |p| (p.process(), p.processes().max(1)));
                states.iter().filter(|(j, _)| j * n / before.max(&1) == me).map(|(_, b)| *b).collect()
            }
        }
    }

    /// The frames a keyed operation restores from, whose saved state is `heads` frames (the
    /// same in every process: times), then one frame per local partition. Its own state: every
    /// frame. After a restart with another number of processes: of each old process's state,
    /// the partition frames holding key groups that `place` owns now (a partition of a cluster
    /// holds a contiguous range of whole groups, see `Placement::global_of`), or every frame
    /// when `grouped` is false (a user's partitioner places keys within a process, not by
    /// group).
    pub(crate) fn frames(
        self,
        place: crate::shuffle::Placement,
        grouped: bool,
        heads: usize,
    ) -> Result<SavedFrames<'a>, CodecError> {
        let (blobs, before, own) = match self {
            Saved::Own(b) => (vec![(0, b)], 1, true),
            Saved::Spread { before, states } => (states, before, false),
        };
        let mine = place.groups();
        let mut out = SavedFrames { heads: Vec::new(), parts: Vec::new(), own };
        for (j, b) in blobs {
            let frames = frames::decode_frames(b)?;
            if frames.len() < heads {
                return Err(CodecError::FrameCount { what: "a keyed state", found: frames.len() });
            }
            let (head, parts) = frames.split_at(heads);
            out.heads.push(head.to_vec());
            let local = parts.len();
            out.parts.extend(parts.iter().enumerate().filter_map(|(l, f)| {
                let held = if own || !grouped { None } else { crate::shuffle::groups_of_part(j, before, local, l) };
                held.is_none_or(|g| g.start < mine.end && mine.start < g.end).then_some(*f)
            }));
        }
        Ok(out)
    }
}

/// What [`Saved::frames`] keeps of the saved states of a keyed operation.
#[derive(Debug)]
pub(crate) struct SavedFrames<'a> {
    /// The leading frames of each state read.
    pub(crate) heads: Vec<Vec<&'a [u8]>>,
    /// The partition frames to restore from.
    pub(crate) parts: Vec<&'a [u8]>,
    /// Whether they are this process's own (same number of processes).
    pub(crate) own: bool,
}

/// Encodes a checkpoint: the metadata frame, then one frame per saved state.
pub(crate) fn encode(meta: &Meta, states: Vec<frames::Framed>) -> frames::SealedFile {
    let meta = frames::Framed::Bytes(serde_json::to_vec(meta).unwrap_or_default());
    frames::seal_frames(std::iter::once(meta).chain(states).collect())
}

fn decode<'p, S>(
    dir: &str,
    payload: &'p [u8],
    keep: impl Fn(&'p [u8]) -> S,
) -> Result<(Meta, Vec<Option<S>>), CheckpointError> {
    let corrupt = |why: Damage| CheckpointError::Corrupt { path: dir.to_string(), why };
    let frames = frames::decode_frames(payload).map_err(|e| corrupt(e.into()))?;
    let (first, rest) = frames.split_first().ok_or_else(|| corrupt(Damage::NoMetadata))?;
    let meta: Meta = serde_json::from_slice(first).map_err(|e| corrupt(Damage::Metadata(e)))?;
    let mut rest = rest.iter();
    let states = meta.saved.iter().map(|&saved| if saved { rest.next().map(|s| keep(s)) } else { None }).collect();
    Ok((meta, states))
}

/// The saved states of a checkpoint's payload (read from `dir`), one per stateful operation.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn states_of(dir: &str, payload: &[u8]) -> Result<States, CheckpointError> {
    decode(dir, payload, <[u8]>::to_vec).map(|(_, states)| states)
}

/// A whole checkpoint file read back (no batch log), its states borrowed from `file`.
pub(crate) fn read<'f>(path: &str, file: &'f [u8]) -> Result<Recovery<&'f [u8]>, CheckpointError> {
    let payload = frames::open(path, file)?;
    let (meta, states) = decode(path, payload, |s| s)?;
    Ok(Recovery { meta, states, batches: Vec::new(), spread: None })
}

impl StreamingContext {
    /// Spark's `StreamingContext.getOrCreate`: builds the job with `create` (which makes the
    /// context and registers its streams and outputs), sets `dir` as its checkpoint
    /// directory, and, when `dir` holds a checkpoint, makes the job continue from it:
    /// `start` then restores the state of every stateful operation and every input's
    /// position, re-runs the batches that were planned but not finished with the same data,
    /// and goes on with new batches.
    ///
    /// Unlike Spark, `create` runs every time: Rust closures are not serialized, so the
    /// graph comes from the code and only its data from the checkpoint. A checkpoint written
    /// by a job with another plan (batch interval, inputs, stateful operations or outputs)
    /// is refused with [`CheckpointError::PlanChanged`], which lists what changed. A damaged
    /// newest checkpoint is skipped with a warning in favour of the previous one.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// let dir = tempfile::tempdir().unwrap();
    /// let ckpt = dir.path().join("ckpt").to_string_lossy().into_owned();
    /// let build = |batch_ms| {
    ///     move || {
    ///         let ssc = StreamingContext::new(Duration::millis(batch_ms));
    ///         let queue = BatchQueue::new();
    ///         queue.push(vec![(Str::from("a"), 1)]);
    ///         ssc.queue_stream(queue, true, None).running_reduce_by_key(|a, b| a + b).print_state(10);
    ///         ssc
    ///     }
    /// };
    /// let ssc = StreamingContext::get_or_create(&ckpt, build(50)).unwrap();
    /// let running = ssc.start().unwrap();
    /// running.await_termination_or_timeout(Duration::millis(200)).unwrap();
    /// running.stop(true);
    /// // Started again, it recovers; a job with another batch interval is refused.
    /// assert!(StreamingContext::get_or_create(&ckpt, build(50)).is_ok());
    /// let changed = StreamingContext::get_or_create(&ckpt, build(100)).unwrap_err();
    /// assert!(changed.to_string().contains("batch interval 50 ms -> 100 ms"), "{changed}");
    /// ```
    pub fn get_or_create(
        dir: &str,
        create: impl FnOnce() -> StreamingContext,
    ) -> Result<StreamingContext, StreamingError> {
        let mut ssc = create();
        ssc.checkpoint(dir);
        let store = CheckpointStore::open(dir)?;
        let Some((named, payload)) = store.read_newest()? else {
            return Ok(ssc);
        };
        ssc.recovery = Some(recovery_at(&store, dir, named, &payload, &ssc.fingerprint())?);
        Ok(ssc)
    }
}

/// The recovery from the checkpoint named after batch `named` (`payload`, read from `store` at
/// `dir`) of a job whose plan is `fingerprint`: refused if the plan changed or the checkpoint
/// and its batch log disagree.
pub(crate) fn recovery_at(
    store: &CheckpointStore,
    dir: &str,
    named: Time,
    payload: &[u8],
    fingerprint: &Fingerprint,
) -> Result<Recovery, StreamingError> {
    let (meta, states) = decode(dir, payload, <[u8]>::to_vec)?;
    let changes = meta.fingerprint.changes(fingerprint);
    if !changes.is_empty() {
        return Err(CheckpointError::PlanChanged { dir: dir.to_string(), changes }.into());
    }
    let inconsistent = |why: String| CheckpointError::Inconsistent { dir: dir.to_string(), why };
    if named != meta.time {
        return Err(inconsistent(format!(
            "checkpoint-{} holds the state after batch {}, not {named}",
            named.as_millis(),
            meta.time
        ))
        .into());
    }
    let batches = store.logged_batches(meta.time)?;
    store.check_batch_log(&meta, &batches).map_err(inconsistent)?;
    tracing::info!(dir, time = %meta.time, replayed = batches.len(), "recovering from checkpoint");
    Ok(Recovery { meta, states, batches, spread: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shuffle::{groups_of_part, Placement};

    /// The saved state of old process `j`: a head frame, then `local` partition frames, each
    /// naming the groups it holds.
    fn state(j: usize, before: usize, local: usize) -> Vec<u8> {
        let mut frames = vec![b"head".to_vec()];
        frames.extend((0..local).map(|l| format!("{:?}", groups_of_part(j, before, local, l).unwrap()).into_bytes()));
        frames::encode_frames(&frames)
    }

    #[test]
    fn a_restarted_process_reads_the_frames_of_its_key_groups_only() {
        // 3 processes x 2 partitions: old process 1 holds groups 86..128 and 128..171. The new
        // process 0 of 2 (groups 0..128) takes all of old process 0's and the first of 1's.
        let (s0, s1) = (state(0, 3, 2), state(1, 3, 2));
        let saved = || Saved::Spread { before: 3, states: vec![(0, &s0[..]), (1, &s1[..])] };
        let place = Placement { process: 0, processes: 2, local: 4 };
        let got = saved().frames(place, true, 1).unwrap();
        let parts: Vec<&[u8]> = got.parts.clone();
        assert_eq!(parts, [&b"0..43"[..], b"43..86", b"86..128"]);
        assert_eq!(got.heads, [[&b"head"[..]], [&b"head"[..]]]);
        assert!(!got.own);
        // Under a user's partitioner (keys not placed by group within a process): every frame.
        assert_eq!(saved().frames(place, false, 1).unwrap().parts.len(), 4);
        // Its own state: every frame; a state without its head frames is refused.
        let own = Saved::Own(&s1).frames(Placement { process: 1, processes: 3, local: 2 }, true, 1).unwrap();
        assert_eq!((own.parts.len(), own.own), (2, true));
        assert!(Saved::Own(&frames::encode_frames(&[])).frames(place, true, 1).is_err());
    }
}
