//! Values a job's command line and its sources name, checked before the job starts: a
//! `host:port` address, a list of Kafka brokers, and input and output directories. A value
//! that cannot work is refused with one line saying why, instead of being retried every batch.
//!
//! The options of [`JobArgs`](crate::job::JobArgs) and the sources (`socket_text_stream`,
//! `kafka_text_stream`, `text_file_stream`, `save_as_text_files`) use these checks.
//!
//! ```
//! use stream_runtime::args::{parse_output_dir, HostPort};
//! let addr: HostPort = "localhost:9999".parse().unwrap();
//! assert_eq!((addr.host.as_str(), addr.port), ("localhost", 9999));
//! assert_eq!(
//!     "localhost:abc".parse::<HostPort>().unwrap_err().to_string(),
//!     "invalid address \"localhost:abc\": the port must be a number from 1 to 65535"
//! );
//! assert!(parse_output_dir("").is_err());
//! assert!(parse_output_dir("/").is_err());
//! assert_eq!(parse_output_dir("out").unwrap(), "out");
//! ```

use std::fmt;
use std::str::FromStr;

use crate::fs::split_hdfs_url;

/// A `host:port` address (an IPv6 host in brackets: `[::1]:9999`), with a port from 1 to
/// 65535.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// The host name or address, without brackets.
    pub host: String,
    /// The port, never 0.
    pub port: u16,
}

/// Why an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {reason}")]
pub struct AddrError {
    input: String,
    reason: &'static str,
}

impl HostPort {
    /// Checks a host and a port given apart (`socket_text_stream(host, port)`).
    ///
    /// ```
    /// use stream_runtime::args::HostPort;
    /// assert!(HostPort::new("localhost", 9999).is_ok());
    /// assert!(HostPort::new("localhost", 0).is_err());
    /// assert!(HostPort::new("", 9999).is_err());
    /// ```
    pub fn new(host: &str, port: u16) -> Result<HostPort, AddrError> {
        format!("{}:{port}", bracketed(host)).parse()
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl FromStr for HostPort {
    type Err = AddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddrError { input: s.to_string(), reason };
        let (host, port) = s.rsplit_once(':').ok_or_else(|| err("expected host:port, e.g. localhost:9999"))?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        if host.is_empty() || host.chars().any(char::is_whitespace) || (host.contains(':') && !s.starts_with('[')) {
            return Err(err("expected host:port, e.g. localhost:9999 or [::1]:9999"));
        }
        match port.parse::<u16>() {
            Ok(port) if port > 0 => Ok(HostPort { host: host.to_string(), port }),
            _ => Err(err("the port must be a number from 1 to 65535")),
        }
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", bracketed(&self.host), self.port)
    }
}

/// Parses a comma-separated list of Kafka bootstrap brokers, each `host:port` (empty entries
/// are skipped; at least one broker).
///
/// ```
/// let brokers = stream_runtime::args::parse_brokers("a:9092,b:9093").unwrap();
/// assert_eq!(brokers.len(), 2);
/// assert!(stream_runtime::args::parse_brokers("localhost:notaport").is_err());
/// assert!(stream_runtime::args::parse_brokers(" , ").is_err());
/// ```
pub fn parse_brokers(s: &str) -> Result<Vec<HostPort>, AddrError> {
    let brokers: Vec<&str> = s.split(',').map(str::trim).filter(|b| !b.is_empty()).collect();
    if brokers.is_empty() {
        return Err(AddrError {
            input: s.to_string(),
            reason: "no bootstrap broker: expected host:port[,host:port...]",
        });
    }
    brokers.into_iter().map(str::parse).collect()
}

/// Why a directory is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid directory {input:?}: {reason}")]
pub struct DirError {
    input: String,
    reason: &'static str,
}

/// Checks a directory to read (`text_file_stream`, `--dir`): a local path, a `file://` URL or
/// `hdfs://host:port/path`; returns it unchanged.
///
/// ```
/// use stream_runtime::args::parse_input_dir;
/// assert!(parse_input_dir("hdfs://namenode:8020/in").is_ok());
/// assert!(parse_input_dir("hdfs:///in").is_err());
/// assert!(parse_input_dir("http://example.com/in").is_err());
/// ```
pub fn parse_input_dir(url: &str) -> Result<String, DirError> {
    dir_path(url).map(|_| url.to_string())
}

/// Checks a directory to write (outputs, checkpoints) as [`parse_input_dir`] does, and refuses
/// a filesystem's root too: `--output ""` would write `/counts-<ms>` beside `/usr`.
pub fn parse_output_dir(url: &str) -> Result<String, DirError> {
    let path = dir_path(url)?;
    if path.trim_end_matches('/').is_empty() {
        return Err(DirError { input: url.to_string(), reason: "this is the root directory; name a directory in it" });
    }
    Ok(url.to_string())
}

/// The path within its filesystem of a supported, non-empty directory URL (the one check of
/// [`fs::resolve`](crate::fs::resolve) too).
pub(crate) fn dir_path(url: &str) -> Result<&str, DirError> {
    let err = |reason| DirError { input: url.to_string(), reason };
    let path = if let Some(path) = url.strip_prefix("file://") {
        path
    } else if let Some((authority, path)) = split_hdfs_url(url) {
        if authority.is_empty() {
            return Err(err("no namenode: write hdfs://host:port/path"));
        }
        path
    } else if url.contains("://") {
        return Err(err("unsupported filesystem (use a local path, file:// or hdfs://host:port/path)"));
    } else {
        url
    };
    if path.trim().is_empty() {
        return Err(err("the path is empty"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_need_a_host_and_a_port_from_1_to_65535() {
        assert_eq!("[::1]:9".parse::<HostPort>().unwrap(), HostPort { host: "::1".into(), port: 9 });
        assert_eq!(HostPort::new("::1", 9).unwrap().to_string(), "[::1]:9");
        for bad in
            ["localhost", "localhost:", "localhost:abc", "localhost:0", "localhost:99999", ":9", "::1:9", "a b:9"]
        {
            assert!(bad.parse::<HostPort>().is_err(), "{bad}");
        }
        assert_eq!(parse_brokers("a:1, b:2,").unwrap().len(), 2);
        assert!(parse_brokers("a:1,b").is_err());
    }

    #[test]
    fn directories_must_be_supported_and_outputs_not_a_root() {
        for ok in ["out", "/tmp/out", "file:///tmp/out", "hdfs://nn:8020/out"] {
            assert_eq!(parse_output_dir(ok).as_deref(), Ok(ok));
        }
        for root in ["/", "//", "file:///", "hdfs://nn:8020", "hdfs://nn:8020/"] {
            assert!(parse_input_dir(root).is_ok(), "{root}");
            assert!(parse_output_dir(root).is_err(), "{root}");
        }
        for bad in ["", " ", "file://", "hdfs:///out", "hdfs://", "http://host/out", "s3://bucket/out"] {
            assert!(parse_input_dir(bad).is_err(), "{bad}");
        }
    }
}
