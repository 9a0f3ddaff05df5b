//! [`Exchanger`]: the engine's all-to-all exchange of bytes between the processes of a cluster,
//! carried by timely-dataflow.
//!
//! One timely worker per process runs a small dataflow: an input of messages
//! `(to, tag, from, bytes)`, timely's `Exchange` by destination, and a sink that files each
//! message in a mailbox under its tag; a probe after the sink tracks which batches are complete
//! everywhere. The engine's threads never touch timely: they hand requests to the worker
//! thread through a channel, wake it, and wait on the mailbox.
//!
//! - [`Exchanger::exchange`]: send one buffer to every process under a tag, wait until every
//!   process's buffer for that tag has arrived. Exchanges of different tags may overlap.
//! - [`Exchanger::complete`]: the batch at `time` is done here; waits until it is done on every
//!   process (timely's progress tracking: the probe passes `time`). At most one batch is in
//!   flight, the flow control timely's unbounded queues lack.
//! - [`Exchanger::shutdown`]: every process closes its input; timely ends cleanly.
//!
//! A peer that goes away ends the process (fail-stop, see [`crate::failstop`]).
//!
//! ```
//! use stream_cluster::exchange::{Exchanger, Tag};
//!
//! // One process: exchanges hand the buffer back; no networking at all.
//! let exchanger = Exchanger::start(None, 0).unwrap();
//! let tag = Tag { time: 1_000, op: 1, round: 0 };
//! assert_eq!(exchanger.exchange(tag, vec![b"mine".to_vec()]).unwrap(), vec![b"mine".to_vec()]);
//! exchanger.complete().unwrap();
//! exchanger.shutdown();
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks, WorkerGuards};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange as ExchangePact;
use timely::dataflow::operators::{Input, Operator, Probe};
use timely::dataflow::{InputHandleVec, ProbeHandle};
use timely::WorkerConfig;

use crate::failstop::install_panic_hook;
use crate::net::Mesh;

/// Identifies one exchange: the batch (in milliseconds), the operation and its round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    /// The batch time in milliseconds (or, for the driver's plans, the batch's sequence number).
    pub time: i64,
    /// The operation.
    pub op: u32,
    /// Which exchange of the operation in the batch.
    pub round: u32,
}

/// Why an exchange could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The exchanger was shut down (the job is stopping).
    #[error("the cluster's exchange is shut down")]
    Shutdown,
    /// `out` did not hold one buffer per process.
    #[error("an exchange needs one buffer per process ({processes}), got {got}")]
    Arity {
        /// Processes in the cluster.
        processes: usize,
        /// Buffers given.
        got: usize,
    },
    /// timely could not start.
    #[error("cannot start timely: {0}")]
    Start(String),
}

/// How long an exchange waits for a peer before the cluster stops: `SLUICE_PEER_TIMEOUT_MS`
/// milliseconds, 60 s by default (Spark's `spark.network.timeout` is 120 s). A batch that
/// takes longer than this on one process stops the cluster too, so keep it above the longest
/// batch.
///
/// ```
/// assert!(stream_cluster::exchange::patience() >= std::time::Duration::from_millis(1));
/// ```
pub fn patience() -> Duration {
    let ms = std::env::var("SLUICE_PEER_TIMEOUT_MS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(60_000);
    Duration::from_millis(ms.max(1))
}

/// A message between processes: destination, tag, sender, payload. Its timely time is
/// `batch << ROUND_BITS | round`, `batch` counting [`Exchanger::complete`] calls: each exchange
/// moves this process's input to the next round, which sends it (timely's exchange holds
/// records until their time closes); `complete` moves it to the next batch.
type Message = (u64, Tag, u64, Payload);

/// A message's bytes, serialized as one byte string (serde's `Vec<u8>` is a sequence of
/// single bytes, which timely's bincode writes and reads one at a time).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Payload(Vec<u8>);

impl serde::Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bytes;
        impl<'de> serde::de::Visitor<'de> for Bytes {
            type Value = Payload;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Payload, E> {
                Ok(Payload(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Payload, E> {
                Ok(Payload(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Payload, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element()? {
                    v.push(b);
                }
                Ok(Payload(v))
            }
        }
        deserializer.deserialize_byte_buf(Bytes)
    }
}

/// Bits of a timely time that count the exchanges within a batch.
const ROUND_BITS: u32 = 32;

enum Request {
    Send(Vec<Message>),
    Complete(u64),
    Shutdown,
}

#[derive(Default)]
struct Mail {
    /// Buffers received per tag, by sender.
    received: HashMap<Tag, Vec<Option<Vec<u8>>>>,
    /// Batches complete on every process: every batch index below it is done everywhere.
    frontier: u64,
    /// Batches this process has completed.
    completed: u64,
    closed: bool,
}

struct Mailbox {
    mail: Mutex<Mail>,
    changed: Condvar,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Mail> {
        self.mail.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The exchange service of one process (see the [module](self)).
pub struct Exchanger {
    process: usize,
    processes: usize,
    /// Where each process listens, for the lines that name one.
    hosts: Vec<crate::config::Host>,
    /// How long an exchange may wait for a peer before the cluster stops.
    patience: Duration,
    requests: Mutex<std::sync::mpsc::Sender<Request>>,
    worker: Thread,
    mailbox: Arc<Mailbox>,
    guards: Mutex<Option<WorkerGuards<()>>>,
}

impl std::fmt::Debug for Exchanger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchanger").field("process", &self.process).field("processes", &self.processes).finish()
    }
}

impl Exchanger {
    /// Starts the timely worker of this process over `mesh` (`None`: one process alone, timely
    /// on one thread without networking). `idle_spin_micros` is how long the worker polls before
    /// it parks (0: park at once, which leaves the cores to the engine).
    pub fn start(mesh: Option<Mesh>, idle_spin_micros: u64) -> Result<Exchanger, ExchangeError> {
        let hosts = mesh.as_ref().map(|m| m.topology.hosts.clone()).unwrap_or_default();
        let (process, processes, builders, comms): (
            usize,
            usize,
            Vec<AllocatorBuilder>,
            Box<dyn std::any::Any + Send>,
        ) = match mesh {
            Some(mesh) => {
                let (me, processes) = (mesh.topology.process, mesh.topology.processes());
                let (builders, comms) = crate::run::networked(mesh, 1).map_err(ExchangeError::Start)?;
                (me, processes, builders, comms)
            }
            None => {
                install_panic_hook(0, 1);
                let hooks = Hooks::default();
                let builders = ProcessBuilder::new_typed_vector(1, hooks.refill, hooks.spill);
                (0, 1, builders.into_iter().map(AllocatorBuilder::Process).collect(), Box::new(()))
            }
        };
        let mailbox = Arc::new(Mailbox { mail: Mutex::new(Mail::default()), changed: Condvar::new() });
        let (tx, rx) = std::sync::mpsc::channel::<Request>();
        let (thread_tx, thread_rx) = std::sync::mpsc::channel::<Thread>();
        let rx = Mutex::new(Some(rx));
        let sink = Arc::clone(&mailbox);
        let config = WorkerConfig::default().idle_spin(Duration::from_micros(idle_spin_micros));
        let guards = timely::execute::execute_from(builders, comms, config, move |worker| {
            let Some(rx) = rx.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take() else {
                return;
            };
            let _ = thread_tx.send(std::thread::current());
            serve(worker, &rx, &sink);
        })
        .map_err(ExchangeError::Start)?;
        let worker = thread_rx.recv().map_err(|_| ExchangeError::Start("the worker thread did not start".into()))?;
        Ok(Exchanger {
            process,
            processes,
            hosts,
            patience: patience(),
            requests: Mutex::new(tx),
            worker,
            mailbox,
            guards: Mutex::new(Some(guards)),
        })
    }

    /// Waits on the mailbox; after [`patience`] without the awaited message, the cluster stops
    /// with one line naming `missing` (a peer that is stopped or cut off answers nothing,
    /// though its connection may look alive). Only progress on what is awaited (fewer
    /// `missing`) starts the patience again: mail for a later exchange, from a peer that is
    /// ahead, does not, or a process blocked behind a stopped peer would keep waiting past
    /// the patience while the peers ahead of it time out first and name it instead.
    fn wait<'a>(
        &self,
        mail: MutexGuard<'a, Mail>,
        waited: &mut Duration,
        missing: impl Fn(&Mail) -> Vec<usize>,
    ) -> MutexGuard<'a, Mail> {
        let step = Duration::from_millis(250).min(self.patience);
        let before = missing(&mail).len();
        let began = Instant::now();
        let (mail, _) = self.mailbox.changed.wait_timeout(mail, step).unwrap_or_else(|poisoned| poisoned.into_inner());
        let now_missing = missing(&mail);
        if now_missing.len() < before {
            *waited = Duration::ZERO;
            return mail;
        }
        *waited += began.elapsed();
        if *waited >= self.patience {
            let names: Vec<String> = now_missing
                .into_iter()
                .map(|q| match self.hosts.get(q) {
                    Some(host) => format!("process {q} of {} ({host})", self.processes),
                    None => format!("process {q} of {}", self.processes),
                })
                .collect();
            let line = format!(
                "{} did not answer for {} s; {}",
                names.join(", "),
                self.patience.as_secs(),
                crate::failstop::RESTART_ADVICE
            );
            crate::failstop::stop(&line, crate::failstop::exit_code::PEER_GONE);
        }
        mail
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.process
    }

    /// Processes in the cluster.
    pub fn processes(&self) -> usize {
        self.processes
    }

    fn request(&self, request: Request) -> Result<(), ExchangeError> {
        let sent = self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).send(request);
        self.worker.unpark();
        sent.map_err(|_| ExchangeError::Shutdown)
    }

    /// Sends `out[q]` to process `q` under `tag` and returns what every process sent here under
    /// `tag`, in process order. Blocks until all of it has arrived.
    pub fn exchange(&self, tag: Tag, out: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, ExchangeError> {
        if out.len() != self.processes {
            return Err(ExchangeError::Arity { processes: self.processes, got: out.len() });
        }
        let me = self.process as u64;
        let messages: Vec<Message> =
            out.into_iter().enumerate().map(|(to, bytes)| (to as u64, tag, me, Payload(bytes))).collect();
        self.request(Request::Send(messages))?;
        let mut waited = Duration::ZERO;
        let mut mail = self.mailbox.lock();
        loop {
            if let Some(slots) = mail.received.get(&tag) {
                if slots.iter().all(Option::is_some) {
                    let slots = mail.received.remove(&tag).unwrap_or_default();
                    return Ok(slots.into_iter().map(Option::unwrap_or_default).collect());
                }
            }
            if mail.closed {
                return Err(ExchangeError::Shutdown);
            }
            mail = self.wait(mail, &mut waited, |mail| match mail.received.get(&tag) {
                Some(slots) => (0..slots.len()).filter(|&q| slots[q].is_none()).collect(),
                None => (0..self.processes).filter(|&q| q != self.process).collect(),
            });
        }
    }

    /// Marks the batch in progress done here and waits until it is done on every process:
    /// every message of it, everywhere, has been delivered. Every process calls it once per
    /// batch.
    pub fn complete(&self) -> Result<(), ExchangeError> {
        let batch = {
            let mut mail = self.mailbox.lock();
            mail.completed += 1;
            mail.completed - 1
        };
        self.request(Request::Complete(batch))?;
        let mut waited = Duration::ZERO;
        let mut mail = self.mailbox.lock();
        while mail.frontier <= batch {
            if mail.closed {
                return Err(ExchangeError::Shutdown);
            }
            // Progress does not say who is behind: every peer is named.
            mail = self.wait(mail, &mut waited, |_| (0..self.processes).filter(|&q| q != self.process).collect());
        }
        Ok(())
    }

    /// Closes this process's input and waits for timely to end, which it does once every
    /// process has shut down. Exchanges still waiting fail with [`ExchangeError::Shutdown`].
    pub fn shutdown(&self) {
        let _ = self.request(Request::Shutdown);
        let guards = self.guards.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(guards) = guards {
            // A worker panic has ended the process through the fail-stop hook already.
            let _ = guards.join();
        }
        self.mailbox.lock().closed = true;
        self.mailbox.changed.notify_all();
    }
}

/// Dropping an exchanger shuts it down, which waits for every process to leave the cluster:
/// exchangers of several processes in one program (tests, benchmarks) must be shut down at
/// once, each on its own thread, not dropped one after the other.
impl Drop for Exchanger {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The worker's loop: turns requests into input, steps timely, reports the frontier.
fn serve(worker: &mut timely::worker::Worker, requests: &std::sync::mpsc::Receiver<Request>, mailbox: &Arc<Mailbox>) {
    let processes = worker.peers();
    let mut input = InputHandleVec::<u64, Message>::new();
    let probe = ProbeHandle::<u64>::new();
    let sink = Arc::clone(mailbox);
    worker.dataflow::<u64, _, _>(|scope| {
        let route = ExchangePact::new(|(to, ..): &Message| *to);
        scope
            .input_from(&mut input)
            .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(route, "Mailbox", move |_, _| {
                move |input, _output| {
                    input.for_each(|_, messages| {
                        let mut mail = sink.lock();
                        for (_, tag, from, bytes) in messages.drain(..) {
                            let slots = mail.received.entry(tag).or_insert_with(|| vec![None; processes]);
                            slots[from as usize] = Some(bytes.0);
                        }
                        drop(mail);
                        sink.changed.notify_all();
                    });
                }
            })
            .probe_with(&probe);
    });
    let mut input = Some(input);
    while input.is_some() || !probe.done() {
        while let Some(open) = input.as_mut() {
            match requests.try_recv() {
                Ok(Request::Send(messages)) => {
                    for message in messages {
                        open.send(message);
                    }
                    // The exchange buffers what it is given until its epoch closes: move on
                    // to the next round of the batch, which sends it.
                    let next = *open.time() + 1;
                    open.advance_to(next);
                }
                Ok(Request::Complete(batch)) => open.advance_to((batch + 1) << ROUND_BITS),
                Ok(Request::Shutdown) | Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    input = None;
                }
                Err(std::sync::mpsc::TryRecvError::Empty) => break,
            }
        }
        worker.step_or_park(Some(Duration::from_millis(100)));
        let frontier = probe.with_frontier(|f| f.first().map_or(u64::MAX, |time| time >> ROUND_BITS));
        let mut mail = mailbox.lock();
        if mail.frontier != frontier {
            mail.frontier = frontier;
            drop(mail);
            mailbox.changed.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Host, Topology};
    use crate::handshake::JobIdentity;

    /// Three exchangers over real loopback sockets, in threads of this process.
    fn cluster(processes: usize) -> Vec<Exchanger> {
        let ports = crate::launch::free_ports(processes).unwrap();
        let hosts: Vec<Host> = ports.iter().map(|p| Host::parse(&format!("127.0.0.1:{p}")).unwrap()).collect();
        let threads: Vec<_> = (0..processes)
            .map(|process| {
                let topology = Topology::new(process, hosts.clone()).unwrap();
                std::thread::spawn(move || {
                    let identity = JobIdentity::new("exchange-test", "plan");
                    let mesh = crate::net::connect(&topology, &identity, Duration::from_secs(20)).unwrap();
                    Exchanger::start(Some(mesh), 0).unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }

    /// What `from` sends `to`: its name, then every byte value, a length that varies with the
    /// batch (empty at batch 1: an empty payload arrives as one).
    fn payload(from: usize, to: usize, batch: i64, op: u32) -> Vec<u8> {
        if batch == 1 {
            return Vec::new();
        }
        let mut bytes = format!("{from}->{to}@{batch}/{op}").into_bytes();
        bytes.extend((0..=255u8).cycle().take(batch as usize * 1000 + to));
        bytes
    }

    #[test]
    fn every_process_gets_what_every_process_sent_it_under_each_tag() {
        let exchangers = Arc::new(cluster(3));
        let threads: Vec<_> = (0..3)
            .map(|me| {
                let exchangers = Arc::clone(&exchangers);
                std::thread::spawn(move || {
                    let ex = &exchangers[me];
                    let mut seen = Vec::new();
                    for batch in 1..=5i64 {
                        for op in [1u32, 2] {
                            let out = (0..3).map(|to| payload(me, to, batch, op)).collect();
                            let got = ex.exchange(Tag { time: batch, op, round: 0 }, out).unwrap();
                            seen.push((batch, op, got));
                        }
                        ex.complete().unwrap();
                    }
                    seen
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for (me, seen) in results.into_iter().enumerate() {
            assert_eq!(seen.len(), 10);
            for (batch, op, got) in seen {
                let expected: Vec<Vec<u8>> = (0..3).map(|from| payload(from, me, batch, op)).collect();
                assert_eq!(got, expected);
            }
        }
        let exchangers = Arc::try_unwrap(exchangers).unwrap();
        let stops: Vec<_> = exchangers.into_iter().map(|ex| std::thread::spawn(move || ex.shutdown())).collect();
        for stop in stops {
            stop.join().unwrap();
        }
    }
}
