//! The greeting two processes exchange on a new connection, before timely owns it.
//!
//! The connecting process (the higher index) writes its [`Hello`] first; the accepting one reads
//! it, answers with its own, and both compare. Each side refuses a peer that runs another job, a
//! plan with another fingerprint, another Sluice version or another cluster size, with an error
//! naming both sides. The greeting is read with exact-length reads, so no byte of timely's own
//! stream is consumed.

use std::fmt;
use std::io::{Read, Write};

/// Identifies what a process runs: the job id, the fingerprint of its plan, and the plan's
/// beginning on one line (to name the plan in errors).
///
/// ```
/// use stream_cluster::JobIdentity;
/// let identity = JobIdentity::new("wordcount", "lines -> flat_map\n  -> reduce_by_key -> print");
/// assert_eq!(identity.fingerprint, stream_cluster::plan_fingerprint("lines -> flat_map\n  -> reduce_by_key -> print"));
/// assert_eq!(identity.summary, "lines -> flat_map / -> reduce_by_key -> print");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobIdentity {
    /// The job id (the job's name, or an id a deployment chooses).
    pub job: String,
    /// [`plan_fingerprint`](crate::plan_fingerprint) of the job's plan text.
    pub fingerprint: u64,
    /// The plan text on one line (lines joined by ` / `), cut after [`SUMMARY_CHARS`] characters.
    pub summary: String,
}

/// How much of the plan text a greeting carries.
pub const SUMMARY_CHARS: usize = 100;

impl JobIdentity {
    /// The identity of job `job` whose plan prints as `plan`.
    pub fn new(job: impl Into<String>, plan: &str) -> JobIdentity {
        let joined = plan.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" / ");
        let mut summary: String = joined.chars().take(SUMMARY_CHARS).collect();
        if summary.len() < joined.len() {
            summary.push_str("...");
        }
        JobIdentity { job: job.into(), fingerprint: crate::plan_fingerprint(plan), summary }
    }
}

/// The crate version every process announces; processes of different versions refuse each other.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

const MAGIC: [u8; 8] = *b"SLUICEc1";
const MAX_TEXT: u32 = 4096;

/// What one process says about itself when it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The Sluice version ([`VERSION`]).
    pub version: String,
    /// The job id.
    pub job: String,
    /// The plan fingerprint.
    pub fingerprint: u64,
    /// The beginning of the plan ([`JobIdentity::summary`]).
    pub summary: String,
    /// The cluster size it was started with.
    pub processes: u32,
    /// Its index.
    pub process: u32,
}

impl fmt::Display for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process {} of {} runs job {:?} plan {:016x} {:?} (sluice {})",
            self.process, self.processes, self.job, self.fingerprint, self.summary, self.version
        )
    }
}

/// Why a greeting failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not a Sluice greeting (another program on that port).
    #[error("it does not speak the Sluice cluster handshake")]
    NotSluice,
    /// A text field longer than the handshake allows.
    #[error("its greeting has a {length}-byte field (at most {MAX_TEXT})")]
    TooLong {
        /// The announced length.
        length: u32,
    },
    /// The two sides differ: both are named.
    #[error("refusing to run different jobs: {theirs}, but {ours}")]
    Mismatch {
        /// The peer's greeting.
        theirs: Box<Hello>,
        /// Ours.
        ours: Box<Hello>,
    },
    /// Reading or writing failed (including a timeout).
    #[error("the connection failed during the handshake")]
    Io(#[from] std::io::Error),
}

impl Hello {
    /// Our greeting for `identity`, as process `process` of `processes`.
    pub fn ours(identity: &JobIdentity, process: usize, processes: usize) -> Hello {
        Hello {
            version: VERSION.to_string(),
            job: identity.job.clone(),
            fingerprint: identity.fingerprint,
            summary: identity.summary.clone(),
            processes: processes as u32,
            process: process as u32,
        }
    }

    /// Writes the greeting.
    pub fn write_to(&self, mut writer: impl Write) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&MAGIC);
        for text in [&self.version, &self.job, &self.summary] {
            bytes.extend_from_slice(&(text.len() as u32).to_be_bytes());
            bytes.extend_from_slice(text.as_bytes());
        }
        bytes.extend_from_slice(&self.fingerprint.to_be_bytes());
        bytes.extend_from_slice(&self.processes.to_be_bytes());
        bytes.extend_from_slice(&self.process.to_be_bytes());
        writer.write_all(&bytes)?;
        writer.flush()
    }

    /// Reads a greeting, exactly its bytes and no more.
    ///
    /// ```
    /// use stream_cluster::{Hello, JobIdentity};
    /// let hello = Hello::ours(&JobIdentity::new("wc", "plan"), 1, 3);
    /// let mut bytes = Vec::new();
    /// hello.write_to(&mut bytes).unwrap();
    /// bytes.extend_from_slice(b"timely");
    /// let mut reader = &bytes[..];
    /// assert_eq!(Hello::read_from(&mut reader).unwrap(), hello);
    /// assert_eq!(reader, b"timely");
    /// ```
    pub fn read_from(mut reader: impl Read) -> Result<Hello, HandshakeError> {
        let mut magic = [0; 8];
        reader.read_exact(&mut magic)?;
        if magic != MAGIC {
            return Err(HandshakeError::NotSluice);
        }
        let mut text = || -> Result<String, HandshakeError> {
            let length = u32::from_be_bytes(read_array(&mut reader)?);
            if length > MAX_TEXT {
                return Err(HandshakeError::TooLong { length });
            }
            let mut bytes = vec![0; length as usize];
            reader.read_exact(&mut bytes)?;
            String::from_utf8(bytes).map_err(|_| HandshakeError::NotSluice)
        };
        let version = text()?;
        let job = text()?;
        let summary = text()?;
        Ok(Hello {
            version,
            job,
            fingerprint: u64::from_be_bytes(read_array(&mut reader)?),
            summary,
            processes: u32::from_be_bytes(read_array(&mut reader)?),
            process: u32::from_be_bytes(read_array(&mut reader)?),
        })
    }

    /// Refuses a peer that differs from us in anything but its index.
    ///
    /// ```
    /// use stream_cluster::{Hello, JobIdentity};
    /// let ours = Hello::ours(&JobIdentity::new("wc", "plan A"), 0, 2);
    /// let theirs = Hello::ours(&JobIdentity::new("wc", "plan B"), 1, 2);
    /// let error = ours.check(&theirs).unwrap_err().to_string();
    /// assert!(error.starts_with("refusing to run different jobs: process 1 of 2 runs job \"wc\" plan "), "{error}");
    /// assert!(error.contains(", but process 0 of 2 runs job \"wc\" plan "), "{error}");
    /// ```
    pub fn check(&self, theirs: &Hello) -> Result<(), HandshakeError> {
        let same = |a: &Hello, b: &Hello| {
            a.version == b.version && a.job == b.job && a.fingerprint == b.fingerprint && a.processes == b.processes
        };
        if same(self, theirs) {
            Ok(())
        } else {
            Err(HandshakeError::Mismatch { theirs: Box::new(theirs.clone()), ours: Box::new(self.clone()) })
        }
    }
}

fn read_array<const N: usize>(reader: &mut impl Read) -> std::io::Result<[u8; N]> {
    let mut bytes = [0; N];
    reader.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strangers_and_oversized_fields_are_refused() {
        assert!(matches!(Hello::read_from(&b"GET / HTTP/1.1\r\n"[..]), Err(HandshakeError::NotSluice)));
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(Hello::read_from(&bytes[..]), Err(HandshakeError::TooLong { .. })));
        assert!(matches!(Hello::read_from(&MAGIC[..4]), Err(HandshakeError::Io(_))));
    }

    #[test]
    fn every_field_but_the_index_must_agree() {
        let ours = Hello::ours(&JobIdentity::new("wc", "plan"), 0, 3);
        let peer = Hello { process: 2, ..ours.clone() };
        ours.check(&peer).unwrap();
        // The summary only names the plan; the fingerprint decides.
        ours.check(&Hello { summary: "abridged".into(), ..peer.clone() }).unwrap();
        let different = [
            Hello { version: "0.0.9".into(), ..peer.clone() },
            Hello { job: "other".into(), ..peer.clone() },
            Hello { fingerprint: 7, ..peer.clone() },
            Hello { processes: 4, ..peer.clone() },
        ];
        for theirs in different {
            assert!(matches!(ours.check(&theirs), Err(HandshakeError::Mismatch { .. })), "{theirs}");
        }
    }
}
