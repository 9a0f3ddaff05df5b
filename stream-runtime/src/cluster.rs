//! The engine's view of a cluster: which process this is, and an all-to-all exchange of bytes
//! with the other processes of the same job ([`Peers`]).
//!
//! Every process of a cluster builds the same graph and runs the same batches (SPMD). Keyed
//! operations combine on the map side, then send the combiners of the reduce partitions other
//! processes own through [`Peers::exchange`], tagged with the batch and the operation, and merge
//! what they receive; outputs that need the whole batch gather at process 0. A single process
//! has no `Peers` ([`Env::peers`](crate::Env) is `None`) and never serializes anything.
//!
//! ```
//! use stream_runtime::cluster::{Peers, Tag};
//! use stream_runtime::Time;
//!
//! let tag = Tag { time: Time::from_millis(2_000), op: 3, round: 0 };
//! assert_eq!(tag.to_string(), "batch 2000 ms, operation 3, round 0");
//! ```

use std::fmt;

use crate::time::Time;

/// Identifies one exchange: every process makes the same exchanges, each once, in the batch
/// at `time`. Exchanges with different tags may run concurrently and in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    /// The batch being run (not the time a window operation reads from).
    pub time: Time,
    /// The operation: a number given in graph order when the job is built, the same in every
    /// process.
    pub op: u32,
    /// Which exchange of that operation in that batch (an operation that exchanges several
    /// times per batch counts them).
    pub round: u32,
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batch {} ms, operation {}, round {}", self.time.as_millis(), self.op, self.round)
    }
}

/// Why an exchange with the other processes failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// A process of the cluster is gone (the cluster stops: it is fail-stop).
    #[error("process {process} of {processes} is gone")]
    Gone {
        /// Its index.
        process: usize,
        /// Processes in the cluster.
        processes: usize,
    },
    /// The job is stopping; the exchange was abandoned.
    #[error("the job is stopping")]
    Stopping,
    /// A process sent bytes this one cannot decode (a bug, or a peer of another build).
    #[error("cannot decode what process {process} sent for {tag}: {reason}")]
    Decode {
        /// The sender.
        process: usize,
        /// The exchange.
        tag: Tag,
        /// What was wrong.
        reason: String,
    },
}

/// The other processes of a cluster, as the engine sees them.
///
/// Implemented over timely-dataflow by the `cluster` feature; [`MemoryPeers`] connects several
/// executors inside one process for tests.
pub trait Peers: Send + Sync + fmt::Debug {
    /// This process's index, `0..processes()`. Process 0 is the driver.
    fn process(&self) -> usize;

    /// How many processes run the job.
    fn processes(&self) -> usize;

    /// Sends `out[q]` to process `q` for every `q` (`out.len() == processes()`; the entry for
    /// this process is handed back without crossing anything) and returns what every process
    /// sent to this one for the same `tag`, in process order. Blocks until all have arrived.
    fn exchange(&self, tag: Tag, out: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, PeerError>;
}

#[cfg(feature = "cluster")]
#[path = "cluster_timely.rs"]
pub(crate) mod timely;

/// Which process reads each of `sizes.len()` input pieces, by size: the largest first, each to
/// the process with the fewest bytes so far (the lowest index on a tie). Every process computes
/// the same assignment from the same list.
///
/// ```
/// let owners = stream_runtime::cluster::share_by_size(&[10, 70, 20, 30], 2);
/// assert_eq!(owners, vec![1, 0, 1, 1]);
/// ```
pub fn share_by_size(sizes: &[u64], processes: usize) -> Vec<usize> {
    let processes = processes.max(1);
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut load = vec![0u64; processes];
    let mut owners = vec![0; sizes.len()];
    for i in order {
        let least = (0..processes).min_by_key(|&p| (load[p], p)).unwrap_or(0);
        load[least] += sizes[i].max(1);
        owners[i] = least;
    }
    owners
}

/// Which process reads a Kafka partition: a hash of `(topic, partition)`, the same in every
/// process of a cluster (they run the same build).
///
/// ```
/// let owner = stream_runtime::cluster::owner_of_partition("words", 3, 2);
/// assert!(owner < 2);
/// assert_eq!(owner, stream_runtime::cluster::owner_of_partition("words", 3, 2));
/// ```
pub fn owner_of_partition(topic: &str, partition: i32, processes: usize) -> usize {
    (crate::data::hash_of(&(topic, partition)) % processes.max(1) as u64) as usize
}

/// The mailboxes every [`MemoryPeers`] of one in-memory cluster shares.
#[derive(Debug, Default)]
struct Hub {
    state: parking_lot::Mutex<HubState>,
    arrived: parking_lot::Condvar,
}

#[derive(Debug, Default)]
struct HubState {
    /// By tag and receiver: what each sender sent (`None` until it arrives).
    mail: std::collections::HashMap<(Tag, usize), Vec<Option<Vec<u8>>>>,
    /// Processes whose endpoint was dropped or that [`MemoryPeers::leave`] left.
    gone: Vec<bool>,
}

/// Several "processes" of one cluster inside one process, for tests: each endpoint is the
/// [`Peers`] of one executor, and the endpoints exchange through shared mailboxes (a mutex
/// and a condition variable), by [`Tag`]. An endpoint that is dropped (its executor's thread
/// ended or panicked) counts as a process gone: exchanges that wait for it fail with
/// [`PeerError::Gone`] instead of hanging.
///
/// ```
/// use std::sync::Arc;
/// use stream_runtime::cluster::{MemoryPeers, Peers, Tag};
/// use stream_runtime::Time;
///
/// let peers = MemoryPeers::cluster(2);
/// let tag = Tag { time: Time::from_millis(1_000), op: 0, round: 0 };
/// let handles: Vec<_> = peers
///     .into_iter()
///     .map(|p| {
///         std::thread::spawn(move || {
///             let me = p.process() as u8;
///             // Process q sends [q, to] to every process `to`.
///             let out = (0..p.processes() as u8).map(|to| vec![me, to]).collect();
///             p.exchange(tag, out).unwrap()
///         })
///     })
///     .collect();
/// let got: Vec<Vec<Vec<u8>>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(got[0], vec![vec![0, 0], vec![1, 0]]);
/// assert_eq!(got[1], vec![vec![0, 1], vec![1, 1]]);
/// ```
#[derive(Debug)]
pub struct MemoryPeers {
    hub: std::sync::Arc<Hub>,
    process: usize,
    processes: usize,
}

impl MemoryPeers {
    /// The `processes` endpoints of a new in-memory cluster, endpoint `q` being process `q`.
    pub fn cluster(processes: usize) -> Vec<std::sync::Arc<MemoryPeers>> {
        let processes = processes.max(1);
        let hub = std::sync::Arc::new(Hub::default());
        hub.state.lock().gone = vec![false; processes];
        (0..processes)
            .map(|process| std::sync::Arc::new(MemoryPeers { hub: std::sync::Arc::clone(&hub), process, processes }))
            .collect()
    }

    /// Marks this process as gone: the others' exchanges that wait for it fail with
    /// [`PeerError::Gone`]. Dropping the endpoint does the same.
    ///
    /// ```
    /// use stream_runtime::cluster::{MemoryPeers, PeerError, Peers, Tag};
    /// let peers = MemoryPeers::cluster(2);
    /// peers[1].leave();
    /// let tag = Tag { time: stream_runtime::Time::from_millis(0), op: 0, round: 0 };
    /// let err = peers[0].exchange(tag, vec![vec![], vec![1]]).unwrap_err();
    /// assert!(matches!(err, PeerError::Gone { process: 1, processes: 2 }));
    /// ```
    pub fn leave(&self) {
        let mut state = self.hub.state.lock();
        state.gone[self.process] = true;
        self.hub.arrived.notify_all();
    }
}

impl Drop for MemoryPeers {
    fn drop(&mut self) {
        self.leave();
    }
}

impl Peers for MemoryPeers {
    fn process(&self) -> usize {
        self.process
    }

    fn processes(&self) -> usize {
        self.processes
    }

    fn exchange(&self, tag: Tag, out: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, PeerError> {
        let (me, n) = (self.process, self.processes);
        let mut own = None;
        let mut state = self.hub.state.lock();
        for (to, bytes) in out.into_iter().enumerate().take(n) {
            if to == me {
                own = Some(bytes);
                continue;
            }
            let slots = state.mail.entry((tag, to)).or_insert_with(|| vec![None; n]);
            slots[me] = Some(bytes);
        }
        self.hub.arrived.notify_all();
        loop {
            let slots = state.mail.entry((tag, me)).or_insert_with(|| vec![None; n]);
            let missing = (0..n).find(|&q| q != me && slots[q].is_none());
            match missing {
                None => {
                    let mut got: Vec<Vec<u8>> = state
                        .mail
                        .remove(&(tag, me))
                        .unwrap_or_default()
                        .into_iter()
                        .map(Option::unwrap_or_default)
                        .collect();
                    got[me] = own.unwrap_or_default();
                    return Ok(got);
                }
                Some(q) if state.gone[q] => return Err(PeerError::Gone { process: q, processes: n }),
                Some(_) => self.hub.arrived.wait(&mut state),
            }
        }
    }
}
