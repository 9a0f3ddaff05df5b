//! Running command line programs with a deadline, and the Go `hdfs` client against a cluster.
//!
//! Tests drive external programs (the Go `hdfs` client from the Debian package `hdfs-cli`, the
//! workspace's own binaries) with [`run_with_timeout`], so a hung program fails the test instead of
//! hanging it; [`hdfs_command`] builds the `hdfs` invocation for a [`MiniHdfs`](crate::MiniHdfs)
//! namenode.

use std::io::{self, Read};
use std::process::{Command, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often [`run_with_timeout`] checks whether the child has exited.
const POLL: Duration = Duration::from_millis(10);

/// Runs `cmd` to completion and returns its exit status and everything it wrote, killing it once
/// it has run for longer than `timeout`.
///
/// Standard input is null; standard output and standard error are piped and read on two threads
/// while the child runs, so a child writing more than a pipe buffer's worth does not block. A read
/// error ends that stream's capture (what was read so far is kept).
///
/// If the child is still running after `timeout`, it is killed (`SIGKILL` on Unix) and reaped, and
/// the returned [`Output::status`] is the killed process's: on Unix, `status.signal()` is `Some(9)`
/// (see [`std::os::unix::process::ExitStatusExt`]). The output it wrote before that is returned too.
/// The call then still waits for both pipes to close, so it does not return while a grandchild the
/// child started keeps them open.
///
/// # Errors
///
/// Whatever [`Command::spawn`] or waiting for the child returns (for example, `NotFound` when the
/// program does not exist). If waiting fails, the child is killed first.
///
/// # Examples
///
/// ```
/// use std::process::Command;
/// use std::time::Duration;
///
/// let mut cmd = Command::new("echo");
/// cmd.arg("hello");
/// let out = minihdfs::cli::run_with_timeout(cmd, Duration::from_secs(10)).unwrap();
/// assert!(out.status.success());
/// assert_eq!(out.stdout, b"hello\n");
/// assert!(out.stderr.is_empty());
/// ```
///
/// A child that overruns its time is killed:
///
/// ```
/// # #[cfg(unix)] {
/// use std::os::unix::process::ExitStatusExt;
/// use std::process::Command;
/// use std::time::Duration;
///
/// let mut cmd = Command::new("sleep");
/// cmd.arg("30");
/// let out = minihdfs::cli::run_with_timeout(cmd, Duration::from_millis(100)).unwrap();
/// assert!(!out.status.success());
/// assert_eq!(out.status.signal(), Some(9)); // SIGKILL
/// # }
/// ```
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> io::Result<Output> {
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let stdout = read_on_thread(child.stdout.take());
    let stderr = read_on_thread(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        if started.elapsed() > timeout {
            // `kill` fails only when the child has exited meanwhile; `wait` gives the status either way.
            let _ = child.kill();
            break child.wait()?;
        }
        thread::sleep(POLL);
    };
    Ok(Output { status, stdout: join(stdout)?, stderr: join(stderr)? })
}

/// Reads `pipe` to its end on a new thread (nothing when there is no pipe).
fn read_on_thread<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

fn join(reader: JoinHandle<Vec<u8>>) -> io::Result<Vec<u8>> {
    reader.join().map_err(|_| io::Error::other("output reader thread panicked"))
}

/// Builds `hdfs ARGS...`, the Go HDFS client (Debian package `hdfs-cli`), talking to the namenode
/// at `namenode` (`host:port`, e.g. [`MiniHdfs::namenode_addr`](crate::MiniHdfs::namenode_addr)) as
/// user `sluice`.
///
/// The command sets `HADOOP_NAMENODE` and `HADOOP_USER_NAME=sluice` and removes `HADOOP_CONF_DIR`
/// and `HADOOP_HOME` from its environment, so a Hadoop configuration on the machine cannot point
/// the client elsewhere. Run it with [`run_with_timeout`] (or any other way).
///
/// # Examples
///
/// ```
/// use std::ffi::OsStr;
///
/// let cmd = minihdfs::cli::hdfs_command("127.0.0.1:8020", &["ls", "/"]);
/// assert_eq!(cmd.get_program(), "hdfs");
/// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["ls", "/"]);
/// let envs: Vec<_> = cmd.get_envs().collect();
/// assert!(envs.contains(&(OsStr::new("HADOOP_NAMENODE"), Some(OsStr::new("127.0.0.1:8020")))));
/// assert!(envs.contains(&(OsStr::new("HADOOP_USER_NAME"), Some(OsStr::new("sluice")))));
/// assert!(envs.contains(&(OsStr::new("HADOOP_CONF_DIR"), None)));
/// assert!(envs.contains(&(OsStr::new("HADOOP_HOME"), None)));
/// ```
///
/// Against a running cluster:
///
/// ```no_run
/// use std::time::Duration;
///
/// use minihdfs::{Config, MiniHdfs};
///
/// let hdfs = MiniHdfs::start(Config::new("/tmp/minihdfs-doc")).unwrap();
/// let cmd = minihdfs::cli::hdfs_command(&hdfs.namenode_addr().to_string(), &["ls", "/"]);
/// let out = minihdfs::cli::run_with_timeout(cmd, Duration::from_secs(60)).unwrap();
/// assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
/// hdfs.shutdown();
/// ```
pub fn hdfs_command(namenode: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("hdfs");
    cmd.args(args)
        .env("HADOOP_NAMENODE", namenode)
        .env("HADOOP_USER_NAME", "sluice")
        .env_remove("HADOOP_CONF_DIR")
        .env_remove("HADOOP_HOME");
    cmd
}

/// Whether tests that need the Go `hdfs` CLI should run: false when `SLUICE_SKIP_HDFS_CLI=1`;
/// panics with install instructions when the command is missing, so a machine without it
/// fails loudly instead of skipping silently.
pub fn cli_available() -> bool {
    if std::env::var("SLUICE_SKIP_HDFS_CLI").is_ok_and(|v| v == "1") {
        eprintln!("SLUICE_SKIP_HDFS_CLI=1: skipping the hdfs-cli part");
        return false;
    }
    let found = Command::new("hdfs").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(
        found,
        "the `hdfs` command (Debian package hdfs-cli) is not installed: run `scripts/install-test-deps.sh` \
         (or set SLUICE_SKIP_HDFS_CLI=1 to skip)"
    );
    true
}
