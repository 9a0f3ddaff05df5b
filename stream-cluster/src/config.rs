//! Cluster configuration: `--processes N --process I --hosts FILE` and `--local-cluster N`, with
//! timely's `-n`/`-p`/`-h` meaning, validated into a [`Mode`].

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The cluster flags of a job binary, as given on the command line (not yet validated).
///
/// ```
/// use stream_cluster::{ClusterArgs, Mode};
///
/// let args = vec!["--rounds".to_string(), "3".into(), "--local-cluster=2".into()];
/// let (cluster, rest) = ClusterArgs::parse_from(args).unwrap();
/// assert_eq!(cluster.local_cluster, Some(2));
/// assert_eq!(rest, ["--rounds", "3"]);
/// assert!(matches!(cluster.validate().unwrap(), Mode::LocalCluster { processes: 2 }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterArgs {
    /// `--processes N`: how many processes run the job (default 1).
    pub processes: Option<usize>,
    /// `--process I`: which of them this one is, `0..N` (process 0 is the driver).
    pub process: Option<usize>,
    /// `--hosts FILE`: one `host:port` a line, line `i` for process `i`.
    pub hosts_file: Option<PathBuf>,
    /// `--local-cluster N`: start N processes of this binary on loopback.
    pub local_cluster: Option<usize>,
}

/// The flags [`ClusterArgs::parse_from`] takes out of an argument list.
pub const FLAGS: [&str; 4] = ["--processes", "--process", "--hosts", "--local-cluster"];

/// A refused cluster configuration: each variant is one clear line.
///
/// ```
/// use stream_cluster::ClusterArgs;
/// let (args, _) = ClusterArgs::parse_from(["--processes", "3", "--process", "3"]).unwrap();
/// assert_eq!(args.validate().unwrap_err().to_string(), "--process 3 is out of range: --processes 3 allows 0 to 2");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A cluster flag without its value.
    #[error("{flag} needs a value")]
    MissingValue {
        /// The flag.
        flag: &'static str,
    },
    /// A cluster flag given twice.
    #[error("{flag} is given twice")]
    Repeated {
        /// The flag.
        flag: &'static str,
    },
    /// A count or index that is not a number.
    #[error("{flag} {value:?} is not a number")]
    NotANumber {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
    },
    /// `--processes 0` or `--local-cluster 0`.
    #[error("{flag} must be at least 1")]
    Zero {
        /// The flag.
        flag: &'static str,
    },
    /// `--process I` with `I >= N`.
    #[error("--process {process} is out of range: --processes {processes} allows 0 to {}", processes - 1)]
    ProcessOutOfRange {
        /// The index given.
        process: usize,
        /// The number of processes.
        processes: usize,
    },
    /// `--processes N` (N > 1) without `--process` or `--hosts`.
    #[error("--processes {processes} needs {missing} as well")]
    Incomplete {
        /// The number of processes.
        processes: usize,
        /// The missing flag.
        missing: &'static str,
    },
    /// `--local-cluster` combined with `--process`/`--hosts`/a different `--processes`.
    #[error("--local-cluster {local} cannot be combined with {other}: it sets them for the processes it starts")]
    LocalClusterConflict {
        /// The `--local-cluster` count.
        local: usize,
        /// The conflicting flag.
        other: &'static str,
    },
    /// The hosts file cannot be read.
    #[error("cannot read hosts file {}", path.display())]
    HostsUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of the hosts file that is not `host:port`.
    #[error("hosts file {}, line {line}: {text:?} is not host:port (port 1 to 65535)", path.display())]
    BadHost {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The same `host:port` on two lines.
    #[error("hosts file {}, line {line}: {host} repeats line {first_line}", path.display())]
    DuplicateHost {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the repeat.
        line: usize,
        /// 1-based line number of the first occurrence.
        first_line: usize,
        /// The host.
        host: Host,
    },
    /// The same `host:port` twice in a list of hosts given directly ([`Topology::new`]).
    #[error("hosts {index} and {first} are both {host}")]
    DuplicateEntry {
        /// 0-based index of the repeat.
        index: usize,
        /// 0-based index of the first occurrence.
        first: usize,
        /// The host.
        host: Host,
    },
    /// Fewer or more entries than processes.
    #[error("hosts file {} lists {listed} hosts but --processes is {processes}: one host:port a line, one line per process", path.display())]
    HostCount {
        /// The file.
        path: PathBuf,
        /// Entries found.
        listed: usize,
        /// Processes expected.
        processes: usize,
    },
}

/// One `host:port` entry of a hosts file. The host is a name or an address (IPv6 in brackets);
/// it is resolved when connecting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Host {
    /// Name or address, without brackets.
    pub host: String,
    /// TCP port, never 0.
    pub port: u16,
}

impl Host {
    /// Parses `host:port` or `[v6]:port`; `None` if it is neither.
    ///
    /// ```
    /// use stream_cluster::Host;
    /// assert_eq!(Host::parse("[::1]:7000").unwrap().host, "::1");
    /// assert_eq!(Host::parse("node-3.local:7000").unwrap().port, 7000);
    /// assert!(Host::parse("node-3.local").is_none());
    /// assert!(Host::parse("node:0").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Host> {
        let (host, port) = text.rsplit_once(':')?;
        let port: u16 = port.parse().ok().filter(|&p| p != 0)?;
        let host = match host.strip_prefix('[') {
            Some(v6) => v6.strip_suffix(']')?,
            None if host.contains(':') => return None,
            None => host,
        };
        if host.is_empty() || host.chars().any(char::is_whitespace) {
            return None;
        }
        Some(Host { host: host.to_string(), port })
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Where every process of a cluster listens, and which one this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// This process's index in `hosts`.
    pub process: usize,
    /// One entry per process; distinct.
    pub hosts: Vec<Host>,
}

impl Topology {
    /// Checks an index and a list of hosts (no file involved): distinct entries, index in range.
    ///
    /// ```
    /// use stream_cluster::{Host, Topology};
    /// let hosts = vec![Host::parse("127.0.0.1:7000").unwrap(), Host::parse("127.0.0.1:7001").unwrap()];
    /// assert_eq!(Topology::new(1, hosts.clone()).unwrap().processes(), 2);
    /// assert!(Topology::new(2, hosts.clone()).is_err());
    /// let twice = vec![hosts[0].clone(), hosts[0].clone()];
    /// assert_eq!(Topology::new(0, twice).unwrap_err().to_string(), "hosts 1 and 0 are both 127.0.0.1:7000");
    /// ```
    pub fn new(process: usize, hosts: Vec<Host>) -> Result<Topology, ConfigError> {
        if let Some((index, first, host)) = first_repeat(hosts.iter().enumerate()) {
            return Err(ConfigError::DuplicateEntry { index, first, host: host.clone() });
        }
        if process >= hosts.len() {
            return Err(ConfigError::ProcessOutOfRange { process, processes: hosts.len() });
        }
        Ok(Topology { process, hosts })
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.hosts.len()
    }

    /// This process's own entry.
    pub fn me(&self) -> &Host {
        &self.hosts[self.process]
    }
}

/// What a validated [`ClusterArgs`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// One process, the default: no networking at all.
    Single,
    /// Start this many processes of the current binary on loopback and wait for them.
    LocalCluster {
        /// How many.
        processes: usize,
    },
    /// Be one process of a cluster.
    Member(Topology),
}

impl ClusterArgs {
    /// Takes the cluster flags (`--flag value` or `--flag=value`) out of `args` and returns them
    /// with the arguments that remain, in order. The values are checked by [`ClusterArgs::validate`].
    pub fn parse_from<I, S>(args: I) -> Result<(ClusterArgs, Vec<String>), ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut parsed = ClusterArgs::default();
        let mut rest = Vec::new();
        let mut args = args.into_iter().map(Into::into);
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            let Some(&flag) = FLAGS.iter().find(|&&f| f == name) else {
                rest.push(arg);
                continue;
            };
            let value = match inline {
                Some(value) => value,
                None => args.next().ok_or(ConfigError::MissingValue { flag })?,
            };
            match flag {
                "--processes" => set(&mut parsed.processes, flag, number(flag, &value)?)?,
                "--process" => set(&mut parsed.process, flag, number(flag, &value)?)?,
                "--local-cluster" => set(&mut parsed.local_cluster, flag, number(flag, &value)?)?,
                _ => set(&mut parsed.hosts_file, flag, PathBuf::from(value))?,
            }
        }
        Ok((parsed, rest))
    }

    /// Checks the flags and reads the hosts file.
    pub fn validate(&self) -> Result<Mode, ConfigError> {
        if let Some(local) = self.local_cluster {
            if local == 0 {
                return Err(ConfigError::Zero { flag: "--local-cluster" });
            }
            let conflict = if self.process.is_some() {
                Some("--process")
            } else if self.hosts_file.is_some() {
                Some("--hosts")
            } else if self.processes.is_some_and(|n| n != local) {
                Some("--processes")
            } else {
                None
            };
            if let Some(other) = conflict {
                return Err(ConfigError::LocalClusterConflict { local, other });
            }
            return Ok(if local == 1 { Mode::Single } else { Mode::LocalCluster { processes: local } });
        }
        let processes = self.processes.unwrap_or(1);
        if processes == 0 {
            return Err(ConfigError::Zero { flag: "--processes" });
        }
        let process = self.process.unwrap_or(0);
        if process >= processes {
            return Err(ConfigError::ProcessOutOfRange { process, processes });
        }
        if processes == 1 && self.hosts_file.is_none() {
            return Ok(Mode::Single);
        }
        if self.process.is_none() {
            return Err(ConfigError::Incomplete { processes, missing: "--process" });
        }
        let Some(path) = &self.hosts_file else {
            return Err(ConfigError::Incomplete { processes, missing: "--hosts" });
        };
        let hosts = read_hosts(path, processes)?;
        if processes == 1 {
            return Ok(Mode::Single);
        }
        Ok(Mode::Member(Topology { process, hosts }))
    }
}

/// Reads a hosts file: one `host:port` a line; blank lines and lines starting with `#` are skipped.
/// Exactly `processes` entries, all distinct.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hosts");
/// std::fs::write(&path, "# the cluster\n10.0.0.1:7000\n10.0.0.1:7000\n").unwrap();
/// let error = stream_cluster::config::read_hosts(&path, 2).unwrap_err();
/// assert!(error.to_string().ends_with("line 3: 10.0.0.1:7000 repeats line 2"), "{error}");
/// ```
pub fn read_hosts(path: &Path, processes: usize) -> Result<Vec<Host>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::HostsUnreadable { path: path.to_path_buf(), source })?;
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let host = Host::parse(trimmed).ok_or_else(|| ConfigError::BadHost {
            path: path.to_path_buf(),
            line: index + 1,
            text: trimmed.to_string(),
        })?;
        entries.push((index + 1, host));
    }
    if let Some((line, first_line, host)) = first_repeat(entries.iter().map(|(line, host)| (*line, host))) {
        let path = path.to_path_buf();
        return Err(ConfigError::DuplicateHost { path, line, first_line, host: host.clone() });
    }
    if entries.len() != processes {
        return Err(ConfigError::HostCount { path: path.to_path_buf(), listed: entries.len(), processes });
    }
    Ok(entries.into_iter().map(|(_, host)| host).collect())
}

/// The first entry whose host appeared before: `(its position, the first position, the host)`.
fn first_repeat<'a>(entries: impl Iterator<Item = (usize, &'a Host)>) -> Option<(usize, usize, &'a Host)> {
    let mut seen: HashMap<&Host, usize> = HashMap::new();
    for (position, host) in entries {
        if let Some(&first) = seen.get(host) {
            return Some((position, first, host));
        }
        seen.insert(host, position);
    }
    None
}

fn number(flag: &'static str, value: &str) -> Result<usize, ConfigError> {
    value.parse().map_err(|_| ConfigError::NotANumber { flag, value: value.to_string() })
}

fn set<T>(slot: &mut Option<T>, flag: &'static str, value: T) -> Result<(), ConfigError> {
    if slot.replace(value).is_some() {
        return Err(ConfigError::Repeated { flag });
    }
    Ok(())
}

/// The arguments a process started by `--local-cluster` gets: `args` (the launcher's own
/// arguments without the cluster flags) plus `--processes N --process I --hosts FILE`.
///
/// ```
/// use std::path::Path;
/// let args = stream_cluster::config::member_args(&["--rounds".into(), "2".into()], 3, 1, Path::new("hosts"));
/// assert_eq!(args, ["--rounds", "2", "--processes", "3", "--process", "1", "--hosts", "hosts"]);
/// ```
pub fn member_args(args: &[String], processes: usize, process: usize, hosts_file: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = args.iter().map(OsString::from).collect();
    out.extend([
        "--processes".into(),
        processes.to_string().into(),
        "--process".into(),
        process.to_string().into(),
        "--hosts".into(),
        hosts_file.as_os_str().to_os_string(),
    ]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn member(processes: usize, process: usize, path: &Path) -> Result<Mode, ConfigError> {
        ClusterArgs {
            processes: Some(processes),
            process: Some(process),
            hosts_file: Some(path.to_path_buf()),
            local_cluster: None,
        }
        .validate()
    }

    #[test]
    fn a_good_hosts_file_gives_the_topology() {
        let (_dir, path) = hosts_file("127.0.0.1:7000\n\n# comment\n[::1]:7001\nnode-2:7002\n");
        let Mode::Member(topology) = member(3, 2, &path).unwrap() else { panic!("not a member") };
        assert_eq!(topology.me(), &Host { host: "node-2".into(), port: 7002 });
        assert_eq!(topology.hosts[1].to_string(), "[::1]:7001");
    }

    #[test]
    fn each_bad_hosts_file_is_one_clear_line() {
        let cases = [
            ("127.0.0.1:7000\n", 2, "lists 1 hosts but --processes is 2"),
            ("127.0.0.1:7000\n127.0.0.1:7001\n127.0.0.1:7002\n", 2, "lists 3 hosts but --processes is 2"),
            ("127.0.0.1:7000\n127.0.0.1:7000\n", 2, "line 2: 127.0.0.1:7000 repeats line 1"),
            ("127.0.0.1:7000\n127.0.0.1\n", 2, "line 2: \"127.0.0.1\" is not host:port"),
            ("127.0.0.1:7000\nhost:99999\n", 2, "line 2: \"host:99999\" is not host:port"),
            ("127.0.0.1:7000\n::1:7001\n", 2, "line 2: \"::1:7001\" is not host:port"),
        ];
        for (text, processes, expected) in cases {
            let (_dir, path) = hosts_file(text);
            let message = member(processes, 0, &path).unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
            assert!(!message.contains('\n'), "{message:?}");
        }
    }

    #[test]
    fn flags_are_checked() {
        let (_dir, path) = hosts_file("127.0.0.1:7000\n127.0.0.1:7001\n");
        assert_eq!(
            member(2, 2, &path).unwrap_err().to_string(),
            "--process 2 is out of range: --processes 2 allows 0 to 1"
        );
        let missing = PathBuf::from("/nonexistent/hosts");
        assert!(matches!(member(2, 0, &missing), Err(ConfigError::HostsUnreadable { .. })));
        let parse = |args: &[&str]| ClusterArgs::parse_from(args.iter().copied()).and_then(|(a, _)| a.validate());
        assert_eq!(parse(&[]).unwrap(), Mode::Single);
        assert_eq!(parse(&["--local-cluster", "3"]).unwrap(), Mode::LocalCluster { processes: 3 });
        assert_eq!(parse(&["--local-cluster", "1"]).unwrap(), Mode::Single);
        let errors = [
            (&["--processes", "two"][..], "--processes \"two\" is not a number"),
            (&["--processes", "0"][..], "--processes must be at least 1"),
            (&["--processes", "2", "--hosts", "h"][..], "--processes 2 needs --process as well"),
            (&["--processes", "2", "--process", "1"][..], "--processes 2 needs --hosts as well"),
            (&["--process"][..], "--process needs a value"),
            (&["--process=1", "--process=1"][..], "--process is given twice"),
            (&["--local-cluster", "2", "--process", "1"][..], "--local-cluster 2 cannot be combined with --process"),
        ];
        for (args, expected) in errors {
            let message = parse(args).unwrap_err().to_string();
            assert!(message.starts_with(expected), "{args:?}: {message:?}");
        }
    }

    #[test]
    fn member_args_round_trip() {
        let args = member_args(&["--rounds".into(), "2".into()], 3, 1, Path::new("/tmp/h"));
        let strings: Vec<String> = args.into_iter().map(|a| a.into_string().unwrap()).collect();
        let (parsed, rest) = ClusterArgs::parse_from(strings).unwrap();
        assert_eq!(rest, ["--rounds", "2"]);
        assert_eq!((parsed.processes, parsed.process), (Some(3), Some(1)));
        assert_eq!(parsed.hosts_file.as_deref(), Some(Path::new("/tmp/h")));
    }
}
