//! [`Peers`] over timely-dataflow (feature `cluster`): the [`Exchanger`] of `stream-cluster`,
//! and the driver's plan of each batch.

use std::sync::Arc;

use stream_cluster::{Exchanger, JobIdentity, Topology};

use super::{PeerError, Peers, Tag};
use crate::error::StreamingError;
use crate::time::Time;

/// The operation number of the driver's messages (engine operations count from 0 up).
const DRIVER_OP: u32 = u32::MAX;

/// What the driver tells every process about the next batch.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct BatchPlan {
    /// The batch's time; meaningless when `stop`.
    pub(crate) time: Time,
    /// The job is stopping: no batch.
    pub(crate) stop: bool,
    /// The stop is graceful: every process checkpoints what it processed.
    pub(crate) graceful: bool,
    /// Records the driver allocated, for the reports.
    pub(crate) records: u64,
    /// Per input, in registration order: what it allocated
    /// ([`Input::allocation`](crate::context::Input::allocation)).
    pub(crate) allocations: Vec<Option<serde_json::Value>>,
}

/// This process's place in the cluster and its exchange.
#[derive(Debug)]
pub(crate) struct TimelyPeers {
    exchanger: Exchanger,
    /// Bytes this process sent to the others.
    sent: std::sync::atomic::AtomicU64,
}

impl TimelyPeers {
    /// Connects to every process of `topology` (same job `name`, same `plan`, same version)
    /// and starts the exchange.
    pub(crate) fn connect(topology: &Topology, name: &str, plan: &str) -> Result<Arc<TimelyPeers>, StreamingError> {
        let identity = JobIdentity::new(name, plan);
        let timeout = std::time::Duration::from_secs(30);
        let mesh = stream_cluster::connect(topology, &identity, timeout)
            .map_err(|e| StreamingError::refused("cannot join the cluster", e))?;
        let exchanger =
            Exchanger::start(Some(mesh), 0).map_err(|e| StreamingError::refused("cannot start the cluster", e))?;
        Ok(Arc::new(TimelyPeers { exchanger, sent: Default::default() }))
    }

    /// `processes` processes of a cluster on loopback TCP, as threads of this one (timely's
    /// networking and our handshake, for tests and benchmarks).
    pub(crate) fn loopback(processes: usize) -> Result<Vec<Arc<TimelyPeers>>, StreamingError> {
        let ports = stream_cluster::launch::free_ports(processes)
            .map_err(|e| StreamingError::refused("no free loopback ports", e))?;
        let hosts: Vec<stream_cluster::Host> =
            ports.iter().filter_map(|port| stream_cluster::Host::parse(&format!("127.0.0.1:{port}"))).collect();
        let joins: Vec<_> = (0..processes)
            .map(|process| {
                let hosts = hosts.clone();
                std::thread::spawn(move || {
                    let topology = Topology::new(process, hosts)
                        .map_err(|e| StreamingError::refused("the loopback cluster", e))?;
                    TimelyPeers::connect(&topology, "loopback", "loopback")
                })
            })
            .collect();
        joins.into_iter().map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    }

    /// Bytes this process has sent to the other processes.
    pub(crate) fn bytes_sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this process is the driver.
    pub(crate) fn is_driver(&self) -> bool {
        self.exchanger.process() == 0
    }

    /// The driver's `value` at every process (the driver's own on the driver).
    pub(crate) fn driver_value<T>(&self, seq: u64, value: Option<&T>) -> Result<T, PeerError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        self.driver_value_with(seq, value, Vec::new()).map(|(v, _)| v)
    }

    /// As [`driver_value`](Self::driver_value), each process giving the driver `to_driver` on
    /// the way (no extra exchange: the driver receives it where it received nothing). Returns
    /// the value and, on the driver, what every process gave, in process order (its own
    /// empty); elsewhere nothing.
    pub(crate) fn driver_value_with<T>(
        &self,
        seq: u64,
        value: Option<&T>,
        to_driver: Vec<u8>,
    ) -> Result<(T, Vec<Vec<u8>>), PeerError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let tag = Tag { time: Time::from_millis(seq as i64), op: DRIVER_OP, round: 0 };
        let bytes = match value {
            Some(v) => serde_json::to_vec(v).map_err(|e| decode(0, tag, e))?,
            None => Vec::new(),
        };
        let mut out: Vec<Vec<u8>> = (0..self.processes()).map(|_| bytes.clone()).collect();
        if let Some(driver) = out.first_mut().filter(|_| !self.is_driver()) {
            *driver = to_driver;
        }
        let mut received = self.exchange(tag, out)?;
        let first = received.first_mut().map(std::mem::take).unwrap_or_default();
        let value = serde_json::from_slice(&first).map_err(|e| decode(0, tag, e))?;
        Ok((value, if self.is_driver() { received } else { Vec::new() }))
    }

    /// Every process's `value`, in process order.
    pub(crate) fn every_value<T>(&self, seq: u64, value: &T) -> Result<Vec<T>, PeerError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let tag = Tag { time: Time::from_millis(seq as i64), op: DRIVER_OP - 1, round: 0 };
        let bytes = serde_json::to_vec(value).map_err(|e| decode(self.process(), tag, e))?;
        let out = (0..self.processes()).map(|_| bytes.clone()).collect();
        let received = self.exchange(tag, out)?;
        received.iter().enumerate().map(|(q, b)| serde_json::from_slice(b).map_err(|e| decode(q, tag, e))).collect()
    }

    /// The batch in progress is done here; waits until it is done everywhere.
    pub(crate) fn complete(&self) -> Result<(), PeerError> {
        self.exchanger.complete().map_err(|_| PeerError::Stopping)
    }

    /// Leaves the cluster once every process leaves it.
    pub(crate) fn shutdown(&self) {
        self.exchanger.shutdown();
    }
}

fn decode(process: usize, tag: Tag, e: impl std::fmt::Display) -> PeerError {
    PeerError::Decode { process, tag, reason: e.to_string() }
}

impl Peers for TimelyPeers {
    fn process(&self) -> usize {
        self.exchanger.process()
    }

    fn processes(&self) -> usize {
        self.exchanger.processes()
    }

    fn exchange(&self, tag: Tag, out: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, PeerError> {
        let me = self.process();
        let bytes: usize = out.iter().enumerate().filter(|(q, _)| *q != me).map(|(_, b)| b.len()).sum();
        self.sent.fetch_add(bytes as u64, std::sync::atomic::Ordering::Relaxed);
        let wire = stream_cluster::Tag { time: tag.time.as_millis(), op: tag.op, round: tag.round };
        self.exchanger.exchange(wire, out).map_err(|_| PeerError::Stopping)
    }
}
