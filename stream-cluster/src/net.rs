//! Building the TCP mesh ourselves, quietly and with a deadline.
//!
//! timely's own set-up (`create_sockets`) prints to standard output and retries forever with one
//! second sleeps. Here process `i` listens on its hosts-file entry, connects to every process
//! below it and accepts every process above it, greets each peer ([`Hello`]) and gives up at a
//! deadline with an error that names the peer that never came up. Nothing is printed.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::config::{Host, Topology};
use crate::handshake::{HandshakeError, Hello, JobIdentity};

/// The first wait after a refused connect or an empty accept queue during set-up. Processes
/// started together find their peers within a few retries, so a cluster's start-up costs
/// well under a millisecond of waiting, not a fixed sleep.
const FIRST_RETRY: Duration = Duration::from_micros(50);
/// The longest wait between retries: the wait doubles from [`FIRST_RETRY`] up to this, so a
/// peer that comes up late costs at most this much extra, and a peer that never comes up
/// costs about `deadline / MAX_RETRY` cheap polls.
const MAX_RETRY: Duration = Duration::from_millis(2);
/// The shortest time a connect or a greeting may take (near the deadline).
const MIN_WAIT: Duration = Duration::from_millis(20);

/// Waits between retries: from [`FIRST_RETRY`], doubling, at most [`MAX_RETRY`].
#[derive(Debug, Clone, Copy)]
struct Backoff(Duration);

impl Backoff {
    fn new() -> Backoff {
        Backoff(FIRST_RETRY)
    }

    /// The next wait.
    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(MAX_RETRY);
        wait
    }

    /// Sleeps the next wait, never past `deadline`.
    fn sleep(&mut self, deadline: Instant) {
        let wait = self.next().min(deadline.saturating_duration_since(Instant::now()));
        thread::sleep(wait);
    }
}

/// Why the mesh could not be built: one clear line each (print with `{:#}` to include the cause).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// Our port is taken.
    #[error("process {process} cannot listen on {host}: the port is in use (another program, or an earlier run still holding it)")]
    PortInUse {
        /// Our index.
        process: usize,
        /// Our hosts-file entry.
        host: Host,
    },
    /// Listening failed for another reason.
    #[error("process {process} cannot listen on {host}")]
    Listen {
        /// Our index.
        process: usize,
        /// Our hosts-file entry.
        host: Host,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A hosts-file entry does not resolve.
    #[error("cannot resolve {host} (process {process})")]
    Resolve {
        /// Whose entry.
        process: usize,
        /// The entry.
        host: Host,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A lower-numbered peer never accepted our connection.
    #[error("process {peer} ({host}) did not come up within {waited:.1?}")]
    Unreachable {
        /// The peer.
        peer: usize,
        /// Its entry.
        host: Host,
        /// How long we tried.
        waited: Duration,
        /// The last connect error.
        #[source]
        source: io::Error,
    },
    /// Higher-numbered peers never connected.
    #[error("{missing} did not connect within {waited:.1?}")]
    NeverConnected {
        /// The peers, as `process 2 (host:port), process 3 (host:port)`.
        missing: String,
        /// How long we waited.
        waited: Duration,
    },
    /// A greeting failed or was refused.
    #[error("handshake with {peer} failed")]
    Handshake {
        /// `process 1 (host:port)` or `a connection from addr`.
        peer: String,
        /// Why.
        #[source]
        source: HandshakeError,
    },
    /// The process that answered at a peer's address is not that peer.
    #[error("{host} answered as process {answered}, but the hosts file lists it for process {expected}")]
    WrongPeer {
        /// The index we dialled.
        expected: usize,
        /// Its entry.
        host: Host,
        /// The index it announced.
        answered: u32,
    },
    /// A connecting process announced an index we do not accept (out of range, lower, or twice).
    #[error("a connection from {from} claims to be process {claimed}; process {process} accepts only processes {} to {} once each", process + 1, processes - 1)]
    UnexpectedPeer {
        /// Its source address.
        from: SocketAddr,
        /// Its claimed index.
        claimed: u32,
        /// Our index.
        process: usize,
        /// The cluster size.
        processes: usize,
    },
    /// A socket option or the accept queue failed.
    #[error("networking set-up of process {process} failed")]
    Io {
        /// Our index.
        process: usize,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Connected, greeted sockets to every peer, in process order (`None` at our own index): the
/// shape `timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets`
/// expects.
#[derive(Debug)]
pub struct Mesh {
    /// Where everybody listens and who we are.
    pub topology: Topology,
    /// One blocking socket per peer, no timeouts set.
    pub sockets: Vec<Option<TcpStream>>,
}

/// Connects process `topology.process` to all its peers, or fails within about `timeout`.
///
/// ```
/// use std::time::Duration;
/// use stream_cluster::{connect, Host, JobIdentity, Topology};
///
/// // One process alone is a mesh without sockets (real clusters run one process per entry).
/// let port = stream_cluster::launch::free_ports(1).unwrap()[0];
/// let topology = Topology::new(0, vec![Host::parse(&format!("127.0.0.1:{port}")).unwrap()]).unwrap();
/// let mesh = connect(&topology, &JobIdentity::new("wc", "plan"), Duration::from_secs(1)).unwrap();
/// assert!(mesh.sockets.iter().all(Option::is_none));
/// ```
pub fn connect(topology: &Topology, identity: &JobIdentity, timeout: Duration) -> Result<Mesh, NetError> {
    let started = Instant::now();
    let deadline = started + timeout;
    let me = topology.process;
    let processes = topology.processes();
    let ours = Hello::ours(identity, me, processes);
    let listener = listen(topology)?;
    let stop = Arc::new(AtomicBool::new(false));

    let acceptor = {
        let stop = Arc::clone(&stop);
        let topology = topology.clone();
        let ours = ours.clone();
        thread::Builder::new()
            .name("sluice:accept".into())
            .spawn(move || {
                let result = accept_higher(&listener, &topology, &ours, deadline, &stop);
                if result.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                result
            })
            .map_err(|source| NetError::Io { process: me, source })?
    };
    let lower = connect_lower(topology, &ours, deadline, &stop);
    if lower.is_err() {
        stop.store(true, Ordering::SeqCst);
    }
    let higher = acceptor.join().expect("the accept thread does not panic");
    // The error of the side that failed first; the other side only saw `stop`.
    let (mut sockets, higher) = match (lower, higher) {
        (Ok(lower), Ok(higher)) => (lower, higher),
        (Err(Halt::Failed(error)), _) | (_, Err(Halt::Failed(error))) => return Err(error),
        (Err(Halt::Stopped), _) | (_, Err(Halt::Stopped)) => {
            let source = io::Error::new(io::ErrorKind::Interrupted, "set-up stopped without a cause");
            return Err(NetError::Io { process: me, source });
        }
    };
    sockets.push(None);
    sockets.extend(higher.into_iter().map(Some));
    for socket in sockets.iter().flatten() {
        let clear = socket.set_read_timeout(None).and_then(|()| socket.set_write_timeout(None));
        clear.map_err(|source| NetError::Io { process: me, source })?;
    }
    Ok(Mesh { topology: topology.clone(), sockets })
}

fn listen(topology: &Topology) -> Result<TcpListener, NetError> {
    let process = topology.process;
    let host = topology.me();
    let addresses = resolve(process, host)?;
    let listener = TcpListener::bind(&addresses[..]).map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => NetError::PortInUse { process, host: host.clone() },
        _ => NetError::Listen { process, host: host.clone(), source },
    })?;
    listener.set_nonblocking(true).map_err(|source| NetError::Io { process, source })?;
    Ok(listener)
}

fn resolve(process: usize, host: &Host) -> Result<Vec<SocketAddr>, NetError> {
    let addresses: Vec<SocketAddr> = (host.host.as_str(), host.port)
        .to_socket_addrs()
        .map_err(|source| NetError::Resolve { process, host: host.clone(), source })?
        .collect();
    if addresses.is_empty() {
        let source = io::Error::new(io::ErrorKind::NotFound, "no address");
        return Err(NetError::Resolve { process, host: host.clone(), source });
    }
    Ok(addresses)
}

/// How one side of the set-up ended without its sockets.
enum Halt {
    /// The other side failed first and asked this one to stop.
    Stopped,
    /// This side failed.
    Failed(NetError),
}

impl From<NetError> for Halt {
    fn from(error: NetError) -> Halt {
        Halt::Failed(error)
    }
}

/// Connects to the first address of `addresses` that answers.
fn dial(addresses: &[SocketAddr], timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for address in addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Sockets to processes `0..me`, in order.
fn connect_lower(
    topology: &Topology,
    ours: &Hello,
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Vec<Option<TcpStream>>, Halt> {
    let started = Instant::now();
    let me = topology.process;
    let mut sockets = Vec::with_capacity(me);
    for (peer, host) in topology.hosts.iter().enumerate().take(me) {
        let addresses = resolve(peer, host)?;
        let mut backoff = Backoff::new();
        let stream = loop {
            if stop.load(Ordering::SeqCst) {
                return Err(Halt::Stopped);
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            match dial(&addresses, remaining.clamp(MIN_WAIT, Duration::from_secs(1))) {
                Ok(stream) => break stream,
                Err(source) if Instant::now() >= deadline => {
                    let waited = started.elapsed();
                    return Err(NetError::Unreachable { peer, host: host.clone(), waited, source }.into());
                }
                Err(_) => backoff.sleep(deadline),
            }
        };
        let describe = || format!("process {peer} ({host})");
        let handshake = |source| NetError::Handshake { peer: describe(), source };
        prepare(&stream, deadline).map_err(|source| handshake(source.into()))?;
        ours.write_to(&stream).map_err(|source| handshake(source.into()))?;
        let theirs = Hello::read_from(&stream).map_err(handshake)?;
        ours.check(&theirs).map_err(handshake)?;
        if theirs.process as usize != peer {
            return Err(NetError::WrongPeer { expected: peer, host: host.clone(), answered: theirs.process }.into());
        }
        sockets.push(Some(stream));
    }
    Ok(sockets)
}

/// Sockets to processes `me + 1..`, in order.
fn accept_higher(
    listener: &TcpListener,
    topology: &Topology,
    ours: &Hello,
    deadline: Instant,
    stop: &AtomicBool,
) -> Result<Vec<TcpStream>, Halt> {
    let started = Instant::now();
    let me = topology.process;
    let processes = topology.processes();
    let mut accepted: Vec<Option<TcpStream>> = (me + 1..processes).map(|_| None).collect();
    let mut backoff = Backoff::new();
    while accepted.iter().any(Option::is_none) {
        if stop.load(Ordering::SeqCst) {
            return Err(Halt::Stopped);
        }
        let (stream, from) = match listener.accept() {
            Ok(connection) => connection,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = accepted
                        .iter()
                        .enumerate()
                        .filter(|(_, socket)| socket.is_none())
                        .map(|(offset, _)| me + 1 + offset)
                        .map(|peer| format!("process {peer} ({})", topology.hosts[peer]))
                        .collect();
                    let waited = started.elapsed();
                    return Err(NetError::NeverConnected { missing: missing.join(", "), waited }.into());
                }
                backoff.sleep(deadline);
                continue;
            }
            Err(source) => return Err(NetError::Io { process: me, source }.into()),
        };
        let handshake = |source| NetError::Handshake { peer: format!("a connection from {from}"), source };
        stream.set_nonblocking(false).map_err(|source| NetError::Io { process: me, source })?;
        prepare(&stream, deadline).map_err(|source| handshake(source.into()))?;
        let theirs = Hello::read_from(&stream).map_err(handshake)?;
        // From here on the peer has a name: the entry of the index it announced.
        let peer = match topology.hosts.get(theirs.process as usize) {
            Some(host) => format!("process {} ({host})", theirs.process),
            None => format!("a connection from {from}"),
        };
        let handshake = |source| NetError::Handshake { peer: peer.clone(), source };
        ours.write_to(&stream).map_err(|source| handshake(source.into()))?;
        ours.check(&theirs).map_err(handshake)?;
        let slot = (theirs.process as usize)
            .checked_sub(me + 1)
            .and_then(|offset| accepted.get_mut(offset))
            .filter(|slot| slot.is_none());
        let Some(slot) = slot else {
            return Err(NetError::UnexpectedPeer { from, claimed: theirs.process, process: me, processes }.into());
        };
        *slot = Some(stream);
        // The next peer may be right behind this one.
        backoff = Backoff::new();
    }
    Ok(accepted.into_iter().flatten().collect())
}

/// A peer machine that vanishes without closing its sockets (power loss, a network partition)
/// sends no end of file. Keepalive probes find an idle connection dead after
/// `KEEPALIVE_IDLE + KEEPALIVE_PROBES * KEEPALIVE_INTERVAL` (10 s); `USER_TIMEOUT` ends a
/// connection whose sent data stays unacknowledged for 30 s. Either way the read or write fails
/// and the process fail-stops.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(5);
/// Time between keepalive probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(1);
/// Unanswered keepalive probes before the connection is dead.
pub const KEEPALIVE_PROBES: u32 = 5;
/// How long sent data may stay unacknowledged.
pub const USER_TIMEOUT: Duration = Duration::from_secs(30);

/// No Nagle, keepalive, a bound on unacknowledged data; the greeting bounded by the deadline.
fn prepare(stream: &TcpStream, deadline: Instant) -> io::Result<()> {
    let remaining = deadline.saturating_duration_since(Instant::now()).max(MIN_WAIT);
    stream.set_nodelay(true)?;
    let socket = socket2::SockRef::from(stream);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_PROBES);
    socket.set_tcp_keepalive(&keepalive)?;
    socket.set_tcp_user_timeout(Some(USER_TIMEOUT))?;
    stream.set_read_timeout(Some(remaining))?;
    stream.set_write_timeout(Some(remaining))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Free loopback ports outside the ephemeral range, which the test's own connects could take.
    fn hosts(n: usize) -> Vec<Host> {
        let ports = crate::launch::free_ports(n).unwrap();
        ports.into_iter().map(|port| Host { host: "127.0.0.1".into(), port }).collect()
    }

    fn run_all(hosts: &[Host], plans: &[&str], timeout: Duration) -> Vec<Result<Mesh, NetError>> {
        let handles: Vec<_> = plans
            .iter()
            .enumerate()
            .map(|(process, plan)| {
                let topology = Topology::new(process, hosts.to_vec()).unwrap();
                let identity = JobIdentity::new("wc", plan);
                thread::spawn(move || connect(&topology, &identity, timeout))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn three_processes_connect_in_order() {
        let hosts = hosts(3);
        let meshes = run_all(&hosts, &["p", "p", "p"], Duration::from_secs(10));
        for (process, mesh) in meshes.into_iter().enumerate() {
            let mesh = mesh.unwrap();
            for (peer, socket) in mesh.sockets.iter().enumerate() {
                assert_eq!(socket.is_none(), peer == process);
                if let Some(socket) = socket {
                    assert_eq!(socket.peer_addr().unwrap().ip().to_string(), "127.0.0.1");
                    if peer < process {
                        assert_eq!(socket.peer_addr().unwrap().port(), hosts[peer].port);
                    } else {
                        assert_eq!(socket.local_addr().unwrap().port(), hosts[process].port);
                    }
                }
            }
        }
    }

    #[test]
    fn mesh_sockets_detect_a_vanished_machine() {
        let hosts = hosts(2);
        for mesh in run_all(&hosts, &["p", "p"], Duration::from_secs(10)) {
            for socket in mesh.unwrap().sockets.iter().flatten() {
                let socket = socket2::SockRef::from(socket);
                assert!(socket.keepalive().unwrap());
                assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
                assert_eq!(socket.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
                assert_eq!(socket.tcp_keepalive_retries().unwrap(), KEEPALIVE_PROBES);
                assert_eq!(socket.tcp_user_timeout().unwrap(), Some(USER_TIMEOUT));
                assert!(socket.tcp_nodelay().unwrap());
            }
        }
    }

    #[test]
    fn a_different_plan_is_refused_on_both_sides() {
        let hosts = hosts(2);
        let meshes = run_all(&hosts, &["plan A", "plan B"], Duration::from_secs(10));
        for result in meshes {
            let error = result.unwrap_err();
            let NetError::Handshake { source: HandshakeError::Mismatch { theirs, ours }, .. } = &error else {
                panic!("{error:?}")
            };
            assert_ne!(theirs.fingerprint, ours.fingerprint);
            assert_ne!(theirs.process, ours.process);
        }
    }

    #[test]
    fn retries_start_short_and_are_capped() {
        let mut backoff = Backoff::new();
        let waits: Vec<Duration> = (0..12).map(|_| backoff.next()).collect();
        assert_eq!(waits[0], FIRST_RETRY);
        assert!(waits.windows(2).all(|w| w[1] >= w[0] && w[1] <= w[0] * 2), "{waits:?}");
        assert_eq!(*waits.last().unwrap(), MAX_RETRY);
        // The first ten retries together wait less than the old fixed 20 ms retry did once.
        assert!(waits[..10].iter().sum::<Duration>() < Duration::from_millis(20), "{waits:?}");
    }

    #[test]
    fn a_peer_that_never_comes_up_is_named() {
        let hosts = hosts(3);
        let timeout = Duration::from_millis(300);
        // Only process 1 runs: process 0 never listens, process 2 never connects.
        let topology = Topology::new(1, hosts.clone()).unwrap();
        let error = connect(&topology, &JobIdentity::new("wc", "p"), timeout).unwrap_err();
        let message = error.to_string();
        let expected_lower = format!("process 0 ({}) did not come up within", hosts[0]);
        let expected_higher = format!("process 2 ({}) did not connect within", hosts[2]);
        assert!(message.starts_with(&expected_lower) || message.starts_with(&expected_higher), "{message}");
    }

    #[test]
    fn a_port_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = Host::parse(&taken.local_addr().unwrap().to_string()).unwrap();
        let topology = Topology::new(0, vec![host.clone()]).unwrap();
        let error = connect(&topology, &JobIdentity::new("wc", "p"), Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("process 0 cannot listen on {host}: the port is in use (another program, or an earlier run still holding it)")
        );
    }

    #[test]
    fn a_stranger_on_the_port_is_refused() {
        let hosts = hosts(2);
        let topology = Topology::new(0, hosts.clone()).unwrap();
        let server = thread::spawn(move || connect(&topology, &JobIdentity::new("wc", "p"), Duration::from_secs(10)));
        let address = format!("127.0.0.1:{}", hosts[0].port);
        let (mut backoff, deadline) = (Backoff::new(), Instant::now() + Duration::from_secs(10));
        let mut stranger = loop {
            match TcpStream::connect(&address) {
                Ok(stream) => break stream,
                Err(_) => backoff.sleep(deadline),
            }
        };
        io::Write::write_all(&mut stranger, b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let error = server.join().unwrap().unwrap_err();
        assert!(matches!(error, NetError::Handshake { source: HandshakeError::NotSluice, .. }), "{error:?}");
    }
}
