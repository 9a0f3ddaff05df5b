//! Running a timely computation on one process or over a [`Mesh`].

use std::time::Duration;

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks};
use timely::dataflow::ProbeHandle;
use timely::progress::Timestamp;
use timely::worker::Worker;
use timely::WorkerConfig;

use crate::config::Topology;
use crate::failstop::{install_panic_hook, Peer, PeerStream};
use crate::handshake::JobIdentity;
use crate::net::{connect, Mesh, NetError};

/// How a process runs its part of the job.
///
/// ```
/// let options = stream_cluster::RunOptions::default();
/// assert_eq!((options.threads, options.connect_timeout.as_secs()), (1, 30));
/// ```
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// timely worker threads in this process.
    pub threads: usize,
    /// How long to wait for every peer to come up.
    pub connect_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { threads: 1, connect_timeout: Duration::from_secs(30) }
    }
}

/// Worker threads per process so that all processes on one machine use at most its cores:
/// more timely workers than cores spin against each other.
///
/// ```
/// let per_process = stream_cluster::default_threads(2);
/// assert!(per_process >= 1);
/// ```
pub fn default_threads(processes_on_this_machine: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / processes_on_this_machine.max(1)).max(1)
}

/// Why a run failed before or after the workers ran (failures while they run are fail-stop).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The mesh could not be built.
    #[error(transparent)]
    Net(#[from] NetError),
    /// timely could not start its threads.
    #[error("cannot start timely: {0}")]
    Start(String),
    /// A worker thread ended with a panic (its message, as timely reports it).
    #[error("a worker failed: {0}")]
    Worker(String),
}

/// Runs `func` on every worker of this process: alone when `topology` is `None`, otherwise
/// connected to its peers first. Returns each local worker's result, in worker order.
///
/// A peer that goes away or a panicking worker ends the process (see [`crate::failstop`]).
///
/// ```
/// use stream_cluster::{execute, JobIdentity, RunOptions};
/// let options = RunOptions { threads: 2, ..RunOptions::default() };
/// let results = execute(None, &JobIdentity::new("demo", "plan"), &options, |worker| worker.index()).unwrap();
/// assert_eq!(results, [0, 1]);
/// ```
pub fn execute<T, F>(
    topology: Option<&Topology>,
    identity: &JobIdentity,
    options: &RunOptions,
    func: F,
) -> Result<Vec<T>, RunError>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    match topology {
        Some(topology) if topology.processes() > 1 => {
            let mesh = connect(topology, identity, options.connect_timeout)?;
            execute_mesh(mesh, options.threads, func)
        }
        _ => {
            install_panic_hook(0, 1);
            let threads = options.threads.max(1);
            let guards = timely::execute(timely::Config::process(threads), func).map_err(RunError::Start)?;
            join(guards)
        }
    }
}

/// Runs `func` on `threads` workers of this process, exchanging data with the peers of `mesh`.
///
/// ```no_run
/// use std::time::Duration;
/// use stream_cluster::{connect, execute_mesh, ClusterArgs, JobIdentity, Mode};
///
/// // Started as `job --processes 2 --process I --hosts FILE`, once per process:
/// let (cluster, _rest) = ClusterArgs::parse_from(std::env::args().skip(1)).unwrap();
/// let Mode::Member(topology) = cluster.validate().unwrap() else { return };
/// let mesh = connect(&topology, &JobIdentity::new("job", "plan text"), Duration::from_secs(30)).unwrap();
/// let peers = execute_mesh(mesh, 1, |worker| worker.peers()).unwrap();
/// assert_eq!(peers, [2]);
/// ```
pub fn execute_mesh<T, F>(mesh: Mesh, threads: usize, func: F) -> Result<Vec<T>, RunError>
where
    T: Send + 'static,
    F: Fn(&mut Worker) -> T + Send + Sync + 'static,
{
    let (builders, comms) = networked(mesh, threads).map_err(RunError::Start)?;
    let guards =
        timely::execute::execute_from(builders, comms, WorkerConfig::default(), func).map_err(RunError::Start)?;
    join(guards)
}

/// timely's allocators for `threads` workers of this process over the sockets of `mesh`, each
/// wrapped to tell a peer that went away from timely's clean end (fail-stop), with the panic
/// hook installed.
pub(crate) fn networked(
    mesh: Mesh,
    threads: usize,
) -> Result<(Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>), String> {
    let Mesh { topology, sockets } = mesh;
    let me = topology.process;
    let processes = topology.processes();
    let threads = threads.max(1);
    install_panic_hook(me, processes);
    let sockets: Vec<Option<PeerStream>> = sockets
        .into_iter()
        .enumerate()
        .map(|(process, socket)| {
            let peer = Peer { process, processes, host: topology.hosts[process].clone() };
            socket.map(|socket| PeerStream::new(socket, peer))
        })
        .collect();
    let hooks = Hooks::default();
    let local = ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, comms) =
        initialize_networking_from_sockets(local, sockets, me, threads, hooks).map_err(|error| error.to_string())?;
    Ok((builders.into_iter().map(AllocatorBuilder::Tcp).collect(), Box::new(comms)))
}

/// Steps `worker` until `probe` has passed `time` (every time before it is complete here and, in
/// a cluster, on every process), parking whenever there is nothing to do: a busy loop of
/// `worker.step()` starves timely's network threads when workers outnumber cores.
///
/// ```
/// use timely::dataflow::operators::{Input, Probe};
/// use timely::dataflow::{InputHandleVec, ProbeHandle};
/// use stream_cluster::run::step_until_passed;
///
/// timely::execute_directly(|worker| {
///     let mut input = InputHandleVec::<u64, u32>::new();
///     let probe = ProbeHandle::new();
///     worker.dataflow::<u64, _, _>(|scope| {
///         scope.input_from(&mut input).probe_with(&probe);
///     });
///     input.send(7);
///     input.advance_to(1);
///     step_until_passed(worker, &probe, &1);
///     assert!(!probe.less_than(&1));
/// });
/// ```
pub fn step_until_passed<T: Timestamp>(worker: &mut Worker, probe: &ProbeHandle<T>, time: &T) {
    while probe.less_than(time) {
        worker.step_or_park(None);
    }
}

/// Joins the workers. A worker that panicked has normally ended the process through the panic
/// hook already; should one get here anyway, its panic is an error, not a second panic.
fn join<T: Send + 'static>(guards: timely::communication::WorkerGuards<T>) -> Result<Vec<T>, RunError> {
    guards.join().into_iter().map(|result| result.map_err(RunError::Worker)).collect()
}
