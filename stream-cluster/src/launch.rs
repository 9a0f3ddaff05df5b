//! `--local-cluster N`: N processes of the current binary on loopback, started, forwarded and
//! stopped together.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::config::member_args;
use crate::failstop::exit_code;

/// How long the other processes get, after one failed, to stop by themselves (fail-stop) and
/// print their line before they are killed.
pub const GRACE: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

/// Why a local cluster did not finish cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// No free loopback ports.
    #[error("cannot find {processes} free loopback ports")]
    Ports {
        /// How many were needed.
        processes: usize,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The hosts file could not be written.
    #[error("cannot write the local cluster's hosts file")]
    HostsFile(#[source] io::Error),
    /// A process could not be started.
    #[error("cannot start process {process} of the local cluster")]
    Spawn {
        /// Which.
        process: usize,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Waiting for or stopping a process failed.
    #[error("cannot wait for process {process} of the local cluster")]
    Wait {
        /// Which.
        process: usize,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A process failed; the others were stopped.
    #[error("process {process} of the local cluster failed ({status}); all {processes} processes are stopped")]
    Failed {
        /// The first process seen failing (one that did not just report a gone peer, if any).
        process: usize,
        /// The cluster size.
        processes: usize,
        /// How it ended.
        status: ExitStatus,
    },
}

impl LaunchError {
    /// The exit code a launcher should end with: the failed process's own code, `128 + signal`
    /// if a signal ended it, 1 otherwise.
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use stream_cluster::LaunchError;
    /// let killed = LaunchError::Failed { process: 2, processes: 3, status: std::process::ExitStatus::from_raw(9) };
    /// assert_eq!(killed.exit_code(), 137);
    /// ```
    pub fn exit_code(&self) -> i32 {
        let LaunchError::Failed { status, .. } = self else { return 1 };
        status.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            status.signal().map_or(1, |signal| 128 + signal)
        })
    }
}

/// Starts `processes` copies of the current executable with `args` followed by
/// `--processes N --process I --hosts FILE` (loopback ports outside the ephemeral range), forwards
/// their standard output and error line by line, and waits for all of them. When one fails, the
/// others get [`GRACE`] to stop by themselves and are then killed. If this process dies, the
/// children are killed too (Linux).
///
/// A job binary's `main` (not run here: it would start copies of the doctest itself):
///
/// ```no_run
/// use stream_cluster::{launch_local_cluster, ClusterArgs, Mode};
///
/// let (cluster, rest) = ClusterArgs::parse_from(std::env::args().skip(1)).unwrap();
/// if let Mode::LocalCluster { processes } = cluster.validate().unwrap() {
///     if let Err(error) = launch_local_cluster(processes, &rest) {
///         eprintln!("{error}");
///         std::process::exit(error.exit_code());
///     }
///     return;
/// }
/// // ... otherwise run this process's part with `stream_cluster::execute`.
/// ```
pub fn launch_local_cluster(processes: usize, args: &[String]) -> Result<(), LaunchError> {
    let exe = std::env::current_exe().map_err(|source| LaunchError::Spawn { process: 0, source })?;
    launch(exe, processes, args)
}

/// [`launch_local_cluster`] with an explicit program.
pub fn launch(program: PathBuf, processes: usize, args: &[String]) -> Result<(), LaunchError> {
    let ports = free_ports(processes).map_err(|source| LaunchError::Ports { processes, source })?;
    let mut hosts = tempfile::Builder::new().prefix("sluice-hosts-").tempfile().map_err(LaunchError::HostsFile)?;
    let text: String = ports.iter().map(|port| format!("127.0.0.1:{port}\n")).collect();
    hosts.write_all(text.as_bytes()).and_then(|()| hosts.flush()).map_err(LaunchError::HostsFile)?;

    let mut children: Vec<Child> = Vec::with_capacity(processes);
    let mut forwarders = Vec::new();
    for process in 0..processes {
        let mut command = Command::new(&program);
        command
            .args(member_args(args, processes, process, hosts.path()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        // A terminal's Ctrl-C reaches this process only; it passes one SIGTERM on (a job that
        // gets two signals stops at once instead of gracefully).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                stop_all(&mut children);
                return Err(LaunchError::Spawn { process, source });
            }
        };
        forwarders.push(forward(child.stdout.take().expect("piped"), io::stdout));
        forwarders.push(forward(child.stderr.take().expect("piped"), io::stderr));
        children.push(child);
    }

    let asked = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Without the handler a signal ends this process and, with it, the children (SIGKILL).
        let _ = signal_hook::flag::register(signal, Arc::clone(&asked));
    }
    let outcome = supervise(&mut children, &asked);
    for forwarder in forwarders {
        // A forwarder only ends with its pipe; a panic in it would be a bug in `forward`.
        forwarder.join().expect("the forwarder does not panic");
    }
    outcome
}

/// Waits for all children; after the first failure, gives the rest [`GRACE`], then kills them.
fn supervise(children: &mut [Child], asked: &AtomicBool) -> Result<(), LaunchError> {
    let processes = children.len();
    let mut forwarded = false;
    let mut status: Vec<Option<ExitStatus>> = vec![None; processes];
    let mut failed: Option<(usize, ExitStatus)> = None;
    let mut kill_at: Option<Instant> = None;
    while status.iter().any(Option::is_none) {
        let mut exited_now = Vec::new();
        for (process, child) in children.iter_mut().enumerate() {
            if status[process].is_some() {
                continue;
            }
            if let Some(exit) = child.try_wait().map_err(|source| LaunchError::Wait { process, source })? {
                status[process] = Some(exit);
                exited_now.push((process, exit));
            }
        }
        for (process, exit) in exited_now.into_iter().filter(|(_, exit)| !exit.success()) {
            // Prefer the cause over a process that only reports a gone peer, even when the
            // cause is reaped a little later (a killed process's survivors can exit first).
            let gone = |e: &ExitStatus| e.code() == Some(exit_code::PEER_GONE);
            if failed.as_ref().is_none_or(|(_, first)| gone(first) && !gone(&exit)) {
                failed = Some((process, exit));
            }
            kill_at.get_or_insert(Instant::now() + GRACE);
        }
        if kill_at.is_some_and(|at| Instant::now() >= at) {
            stop_all(children);
        }
        if !forwarded && asked.load(Ordering::SeqCst) {
            forwarded = true;
            for (process, child) in children.iter().enumerate() {
                if status[process].is_none() {
                    terminate(child);
                }
            }
        }
        thread::sleep(POLL);
    }
    match failed {
        None => Ok(()),
        Some((process, status)) => Err(LaunchError::Failed { process, processes, status }),
    }
}

fn stop_all(children: &mut [Child]) {
    for child in children.iter_mut() {
        // Already exited is fine: kill only fails for a child that is gone.
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Copies `from` to `to()` a whole line at a time, so lines of different processes never mix.
fn forward<R, W>(from: R, to: fn() -> W) -> JoinHandle<()>
where
    R: Read + Send + 'static,
    W: Write + 'static,
{
    thread::spawn(move || {
        let mut from = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match from.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let mut out = to();
                    // Our own output closed: keep draining so the child never blocks on a full pipe.
                    let _ = out.write_all(&line).and_then(|()| out.flush());
                }
            }
        }
    })
}

/// `processes` loopback ports that are free now and lie outside the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`), so that no outgoing connection of the cluster
/// itself can take one before its process listens on it. Falls back to ephemeral ports when the
/// range leaves no room.
///
/// ```
/// let ports = stream_cluster::launch::free_ports(3).unwrap();
/// assert_eq!(ports.len(), 3);
/// assert!(ports.iter().all(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()));
/// ```
pub fn free_ports(processes: usize) -> io::Result<Vec<u16>> {
    let (low, high) = ephemeral_range().unwrap_or((32768, 60999));
    let below = 10_000..low.max(10_000);
    let above = high.saturating_add(1).max(10_000)..=u16::MAX;
    let candidates: Vec<u16> = below.chain(above).collect();
    if candidates.len() < processes * 16 {
        return ephemeral_ports(processes);
    }
    // A different start per launch, so concurrent launchers rarely probe the same ports.
    let now = std::time::UNIX_EPOCH.elapsed().map_or(0, |since| since.as_nanos() as u64);
    let mut start = crate::hash::mix64(now ^ u64::from(std::process::id())) as usize;
    let mut held = Vec::with_capacity(processes);
    for _ in 0..candidates.len() {
        if held.len() == processes {
            break;
        }
        start = start.wrapping_add(1);
        let port = candidates[start % candidates.len()];
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
        }
    }
    if held.len() < processes {
        return Err(io::Error::new(io::ErrorKind::AddrInUse, "every candidate port is taken"));
    }
    held.iter().map(|listener| Ok(listener.local_addr()?.port())).collect()
}

fn ephemeral_ports(processes: usize) -> io::Result<Vec<u16>> {
    let held = (0..processes).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<io::Result<Vec<_>>>()?;
    held.iter().map(|listener| Ok(listener.local_addr()?.port())).collect()
}

fn ephemeral_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut fields = text.split_whitespace().map(str::parse::<u16>);
    Some((fields.next()?.ok()?, fields.next()?.ok()?))
}

/// Asks the kernel to kill the child when the launcher dies, so no process of a local cluster
/// outlives it.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before `exec`; it only calls `prctl`, which is
    // async-signal-safe, allocates nothing and touches no state shared with the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Asks `child` to stop gracefully (SIGTERM).
#[allow(unsafe_code)]
fn terminate(child: &Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else { return };
    // SAFETY: `kill` only sends a signal; it reads and writes no memory of this process. The
    // child has not been waited for (its status was not collected), so `pid` is still its.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_avoid_the_ephemeral_range_and_each_other() {
        let ports = free_ports(5).unwrap();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 5);
        if let Some((low, high)) = ephemeral_range() {
            assert!(ports.iter().all(|&p| p < low || p > high), "{ports:?} in {low}..={high}");
        }
        for port in ports {
            TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }
}
