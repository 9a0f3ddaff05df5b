//! [`KafkaClient`]: a blocking face on `rskafka`, which is asynchronous.
//!
//! Each client owns a small tokio runtime (two I/O threads named `sluice-kafka`, which also
//! decode the fetched record batches); every call
//! spawns its request there and waits for the answer on the calling thread, so the engine's
//! worker threads never run a reactor and calls work from any thread, including another
//! runtime's. Connections (one per partition leader, made by `rskafka`) are kept and remade
//! after a failure.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use chrono::TimeZone;
use parking_lot::Mutex;
use rskafka::client::error::{Error as RsError, ProtocolError, RequestError, ServerErrorResponse};
use rskafka::client::partition::{Compression, OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;

use super::errors::KafkaError;
use super::options::KafkaOptions;
use super::record::KafkaRecord;
use crate::str::Str;

/// A blocking Kafka client: topics, offsets, produce and fetch. The direct stream reads
/// through one; jobs and tests use it to create topics and write records.
///
/// Creating a client does not contact the brokers; each call connects if it must, retries
/// for up to [`KafkaOptions::request_timeout`] and then fails with
/// [`KafkaError::Unreachable`].
///
/// ```no_run
/// use stream_runtime::{KafkaClient, KafkaOptions};
/// let client = KafkaClient::new("localhost:9092", &KafkaOptions::default()).unwrap();
/// client.create_topic("words", 2).unwrap();
/// let offsets = client.produce_values("words", 0, ["to be", "or not"]).unwrap();
/// assert_eq!(offsets.end - offsets.start, 2);
/// let (records, end) = client.fetch("words", 0, offsets.start).unwrap();
/// assert_eq!(records[0].value_str(), "to be");
/// assert!(end >= offsets.end);
/// ```
pub struct KafkaClient {
    brokers: String,
    bootstrap: Vec<String>,
    options: KafkaOptions,
    runtime: tokio::runtime::Runtime,
    client: Mutex<Option<Arc<Client>>>,
    partitions: Mutex<HashMap<(String, i32), Arc<PartitionClient>>>,
    /// When [`stop_waiting`](Self::stop_waiting) was called, and whether a call has given up
    /// since (the brokers do not answer: later calls give up at once).
    stopping: Mutex<Option<(std::time::Instant, bool)>>,
    /// While [`connect`](Self::connect) runs: when its calls give up.
    connect_by: Mutex<Option<std::time::Instant>>,
}

/// The client's I/O threads, which send the requests and decode the answers.
pub(crate) const IO_THREADS: usize = 2;

/// How long a call may take once the client's user stops: enough for brokers that answer,
/// not for waiting through an outage.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

impl std::fmt::Debug for KafkaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaClient").field("brokers", &self.brokers).finish_non_exhaustive()
    }
}

/// Bytes asked for by a fetch that only wants the high watermark: the broker still sends the
/// first record batch whole, however large.
const PROBE_BYTES: i32 = 1;

/// How long that fetch may wait: not 0, which tansu answers with no topic at all.
const PROBE_WAIT_MS: i32 = 1;

impl KafkaClient {
    /// A client for the bootstrap brokers `brokers` (`host:port`, comma-separated), with the
    /// time-out, fetch size and client id of `options`. Fails only on an empty broker list or
    /// when the I/O thread cannot start.
    ///
    /// ```
    /// use stream_runtime::{KafkaClient, KafkaError, KafkaOptions};
    /// let client = KafkaClient::new("a:9092, b:9092", &KafkaOptions::default()).unwrap();
    /// assert_eq!(client.brokers(), "a:9092, b:9092");
    /// let err = KafkaClient::new(" , ", &KafkaOptions::default()).unwrap_err();
    /// assert!(matches!(err, KafkaError::InvalidOptions(_)));
    /// ```
    pub fn new(brokers: &str, options: &KafkaOptions) -> Result<KafkaClient, KafkaError> {
        let bootstrap: Vec<String> = crate::args::parse_brokers(brokers)
            .map_err(|e| KafkaError::InvalidOptions(e.to_string()))?
            .iter()
            .map(ToString::to_string)
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(IO_THREADS)
            .thread_name("sluice-kafka")
            .enable_all()
            .build()
            .map_err(|e| KafkaError::Runtime(format!("cannot start: {e}")))?;
        Ok(KafkaClient {
            brokers: brokers.to_string(),
            bootstrap,
            options: options.clone(),
            runtime,
            client: Mutex::new(None),
            partitions: Mutex::new(HashMap::new()),
            stopping: Mutex::new(None),
            connect_by: Mutex::new(None),
        })
    }

    /// The bootstrap brokers, as given.
    pub fn brokers(&self) -> &str {
        &self.brokers
    }

    /// Runs `fut` on the I/O thread, bounded by the request time-out, and waits for it here.
    fn block<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, KafkaError>> + Send + 'static,
    ) -> Result<T, KafkaError> {
        self.wait(self.spawn(fut))
    }

    /// Starts `fut` on the I/O threads, bounded by the request time-out; [`wait`](Self::wait)
    /// gets its answer.
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, KafkaError>> + Send + 'static,
    ) -> Pending<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let limit = self.options.request_timeout + std::time::Duration::from_secs(1);
        let brokers = self.brokers.clone();
        self.runtime.spawn(async move {
            let out = match tokio::time::timeout(limit, fut).await {
                Ok(out) => out,
                Err(_) => Err(KafkaError::Unreachable { brokers, cause: format!("no answer in {limit:?}") }),
            };
            let _ = tx.send(out);
        });
        Pending { rx, began: std::time::Instant::now() }
    }

    /// Waits here for the answer of a request started by [`spawn`](Self::spawn).
    fn wait<T>(&self, pending: Pending<T>) -> Result<T, KafkaError> {
        let Pending { rx, began } = pending;
        loop {
            if let Some(by) = *self.connect_by.lock() {
                if std::time::Instant::now() >= by {
                    return Err(KafkaError::Unreachable {
                        brokers: self.brokers.clone(),
                        cause: "no answer while connecting at start".into(),
                    });
                }
            }
            let wait = match &mut *self.stopping.lock() {
                None => std::time::Duration::from_millis(100),
                Some((_, true)) => std::time::Duration::ZERO,
                Some((at, gave_up)) => {
                    let wait = ((*at).max(began) + STOP_GRACE).saturating_duration_since(std::time::Instant::now());
                    *gave_up = wait.is_zero();
                    wait
                }
            };
            if wait.is_zero() {
                return Err(KafkaError::Unreachable {
                    brokers: self.brokers.clone(),
                    cause: format!("no answer within {STOP_GRACE:?} while stopping"),
                });
            }
            match rx.recv_timeout(wait.min(std::time::Duration::from_millis(100))) {
                Ok(out) => return out,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(KafkaError::Runtime("the request was dropped (the client panicked)".into()))
                }
            }
        }
    }

    /// From now on, a call that gets no answer within a second gives up, and every call after
    /// one gave up: the source stops, and a stop must not wait through an outage (calls to
    /// brokers that answer still complete, so the last batches are still read whole).
    pub(crate) fn stop_waiting(&self) {
        self.stopping.lock().get_or_insert_with(|| (std::time::Instant::now(), false));
    }

    /// Turns an `rskafka` error of `op` into ours; a lost connection forgets the cached
    /// clients so the next call connects afresh.
    fn error(&self, op: String, topic: &str, e: RsError) -> KafkaError {
        let unreachable = matches!(
            &e,
            RsError::Connection(_)
                | RsError::Request(RequestError::IO(_) | RequestError::Poisoned(_))
                | RsError::RetryFailed(_)
                | RsError::Timeout
        );
        if unreachable {
            self.forget();
            return KafkaError::Unreachable { brokers: self.brokers.clone(), cause: e.to_string() };
        }
        match &e {
            RsError::ServerError { protocol_error: ProtocolError::UnknownTopicOrPartition, .. } => {
                KafkaError::TopicMissing { topic: topic.to_string() }
            }
            _ => KafkaError::Request { op, cause: e.to_string() },
        }
    }

    fn forget(&self) {
        *self.client.lock() = None;
        self.partitions.lock().clear();
    }

    /// The cluster client, connected on first use.
    fn cluster(&self) -> Result<Arc<Client>, KafkaError> {
        if let Some(c) = self.client.lock().as_ref() {
            return Ok(Arc::clone(c));
        }
        let builder = ClientBuilder::new(self.bootstrap.clone())
            .client_id(self.options.client_id.as_str())
            .backoff_config(BackoffConfig {
                init_backoff: std::time::Duration::from_millis(50),
                max_backoff: std::time::Duration::from_secs(1),
                base: 2.0,
                deadline: Some(self.options.request_timeout),
            });
        let brokers = self.brokers.clone();
        let client = self.block(async move {
            builder.build().await.map_err(|e| KafkaError::Unreachable { brokers, cause: e.to_string() })
        })?;
        let client = Arc::new(client);
        *self.client.lock() = Some(Arc::clone(&client));
        Ok(client)
    }

    /// The client of one partition's leader, made on first use.
    fn partition(&self, topic: &str, partition: i32) -> Result<Arc<PartitionClient>, KafkaError> {
        let key = (topic.to_string(), partition);
        if let Some(p) = self.partitions.lock().get(&key) {
            return Ok(Arc::clone(p));
        }
        let cluster = self.cluster()?;
        let t = topic.to_string();
        let made =
            self.block(async move { Ok(cluster.partition_client(t, partition, UnknownTopicHandling::Error).await) })?;
        let p = Arc::new(made.map_err(|e| self.error(format!("connect to {topic}-{partition}"), topic, e))?);
        self.partitions.lock().insert(key, Arc::clone(&p));
        Ok(p)
    }

    /// Connects to the brokers and to the leaders of the partitions of `topics`, giving up
    /// after `wait`: a direct stream does this when the job starts, so that its first batch
    /// does not wait for the connections. What cannot be done in time (brokers down, a topic
    /// missing) is left to the first call that needs it, which connects, waits or reports as
    /// it always does.
    ///
    /// ```no_run
    /// use stream_runtime::{KafkaClient, KafkaOptions};
    /// let client = KafkaClient::new("localhost:9092", &KafkaOptions::default()).unwrap();
    /// client.connect(&["words".to_string()], std::time::Duration::from_secs(1));
    /// ```
    pub fn connect(&self, topics: &[String], wait: std::time::Duration) {
        self.within(wait, || self.connect_topics(topics));
    }

    /// What [`connect`](Self::connect) does, without its bound.
    pub(crate) fn connect_topics(&self, topics: &[String]) {
        for topic in topics {
            if let Ok(partitions) = self.partitions(topic) {
                self.prepare(topic, &partitions);
            }
        }
    }

    /// Runs `f`, whose calls give up (as unreachable) once `wait` has passed.
    pub(crate) fn within<T>(&self, wait: std::time::Duration, f: impl FnOnce() -> T) -> T {
        *self.connect_by.lock() = Some(std::time::Instant::now() + wait);
        let out = f();
        *self.connect_by.lock() = None;
        out
    }

    /// Creates `topic` with `partitions` partitions (replication factor 1).
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), KafkaError> {
        let cluster = self.cluster()?;
        let controller = cluster.controller_client().map_err(|e| self.error("controller".into(), topic, e))?;
        let (t, ms) = (topic.to_string(), self.options.request_timeout.as_millis() as i32);
        let out = self.block(async move { Ok(controller.create_topic(t, partitions, 1, ms).await) })?;
        out.map_err(|e| self.error(format!("create_topic {topic}"), topic, e))
    }

    /// The partitions of `topic`, in order ([`KafkaError::TopicMissing`] when it does not
    /// exist).
    ///
    /// ```no_run
    /// use stream_runtime::{KafkaClient, KafkaError, KafkaOptions};
    /// let client = KafkaClient::new("localhost:9092", &KafkaOptions::default()).unwrap();
    /// client.create_topic("two", 2).unwrap();
    /// assert_eq!(client.partitions("two").unwrap(), vec![0, 1]);
    /// assert!(matches!(client.partitions("none"), Err(KafkaError::TopicMissing { .. })));
    /// ```
    pub fn partitions(&self, topic: &str) -> Result<Vec<i32>, KafkaError> {
        let cluster = self.cluster()?;
        let listed = self.block(async move { Ok(cluster.list_topics().await) })?;
        let topics = listed.map_err(|e| self.error("list topics".into(), topic, e))?;
        match topics.into_iter().find(|t| t.name == topic) {
            Some(t) if !t.partitions.is_empty() => Ok(t.partitions.into_iter().collect()),
            _ => Err(KafkaError::TopicMissing { topic: topic.to_string() }),
        }
    }

    /// Writes `values` (without keys) to `topic`-`partition` as one record batch stamped with
    /// the current time; returns the offsets they got.
    pub fn produce_values<V: Into<Vec<u8>>>(
        &self,
        topic: &str,
        partition: i32,
        values: impl IntoIterator<Item = V>,
    ) -> Result<std::ops::Range<i64>, KafkaError> {
        self.produce(topic, partition, values.into_iter().map(|v| (None, v.into())))
    }

    /// Writes `records` (key, value) to `topic`-`partition` as one record batch stamped with
    /// the current time; returns the offsets they got.
    ///
    /// ```no_run
    /// use stream_runtime::{KafkaClient, KafkaOptions};
    /// let client = KafkaClient::new("localhost:9092", &KafkaOptions::default()).unwrap();
    /// let offsets = client.produce("events", 0, [(Some(b"user-1".to_vec()), b"login".to_vec())]).unwrap();
    /// let (records, _) = client.fetch("events", 0, offsets.start).unwrap();
    /// assert_eq!(records[0].key.as_deref(), Some(&b"user-1"[..]));
    /// ```
    pub fn produce(
        &self,
        topic: &str,
        partition: i32,
        records: impl IntoIterator<Item = (Option<Vec<u8>>, Vec<u8>)>,
    ) -> Result<std::ops::Range<i64>, KafkaError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let timestamp = chrono::Utc.timestamp_millis_opt(now as i64).single().unwrap_or_default();
        let records: Vec<rskafka::record::Record> = records
            .into_iter()
            .map(|(key, value)| rskafka::record::Record {
                key,
                value: Some(value),
                headers: Default::default(),
                timestamp,
            })
            .collect();
        if records.is_empty() {
            return Ok(0..0);
        }
        let p = self.partition(topic, partition)?;
        let out = self.block(async move { Ok(p.produce(records, Compression::NoCompression).await) })?;
        let offsets = out.map_err(|e| self.error(format!("produce to {topic}-{partition}"), topic, e))?;
        Ok(offsets.first().copied().unwrap_or(0)..offsets.last().map_or(0, |o| o + 1))
    }

    /// The first offset `topic`-`partition` still holds.
    pub fn earliest_offset(&self, topic: &str, partition: i32) -> Result<i64, KafkaError> {
        let p = self.partition(topic, partition)?;
        let out = self.block(async move { Ok(p.get_offset(OffsetAt::Earliest).await) })?;
        out.map_err(|e| self.error(format!("list offsets of {topic}-{partition}"), topic, e))
    }

    /// The first offsets of `partitions` of `topic`, each as
    /// [`earliest_offset`](Self::earliest_offset) gives it, asked for at once (and the
    /// partitions' clients made at once): one round trip, not one a partition.
    pub(crate) fn earliest_offsets(&self, topic: &str, partitions: &[i32]) -> Vec<Result<i64, KafkaError>> {
        self.prepare(topic, partitions);
        let pending: Vec<_> = partitions
            .iter()
            .map(|&p| -> Result<_, KafkaError> {
                let client = self.partition(topic, p)?;
                Ok(self.spawn(async move { Ok(client.get_offset(OffsetAt::Earliest).await) }))
            })
            .collect();
        pending
            .into_iter()
            .zip(partitions)
            .map(|(pending, &p)| {
                let out = self.wait(pending?)?;
                out.map_err(|e| self.error(format!("list offsets of {topic}-{p}"), topic, e))
            })
            .collect()
    }

    /// Makes the clients of those of `partitions` of `topic` that have none yet, at once. One
    /// that cannot be made now is made (or its error reported) by the next call needing it.
    fn prepare(&self, topic: &str, partitions: &[i32]) {
        let missing: Vec<i32> = {
            let known = self.partitions.lock();
            partitions.iter().copied().filter(|&p| !known.contains_key(&(topic.to_string(), p))).collect()
        };
        if missing.is_empty() {
            return;
        }
        let Ok(cluster) = self.cluster() else { return };
        let t = topic.to_string();
        let made = self.block(async move {
            let tasks: Vec<_> = missing
                .into_iter()
                .map(|p| {
                    let (cluster, t) = (Arc::clone(&cluster), t.clone());
                    (p, tokio::spawn(async move { cluster.partition_client(t, p, UnknownTopicHandling::Error).await }))
                })
                .collect();
            let mut made = Vec::new();
            for (p, task) in tasks {
                if let Ok(Ok(client)) = task.await {
                    made.push((p, client));
                }
            }
            Ok(made)
        });
        let mut known = self.partitions.lock();
        for (p, client) in made.unwrap_or_default() {
            known.entry((topic.to_string(), p)).or_insert_with(|| Arc::new(client));
        }
    }

    /// The offset after the last record of `topic`-`partition` (its high watermark).
    ///
    /// Taken from a fetch answer, not from `ListOffsets(latest)`, whose answer some brokers
    /// (tansu) get wrong for batches of several records.
    ///
    /// ```no_run
    /// use stream_runtime::{KafkaClient, KafkaOptions};
    /// let client = KafkaClient::new("localhost:9092", &KafkaOptions::default()).unwrap();
    /// let (earliest, end) = (client.earliest_offset("events", 0).unwrap(), client.end_offset("events", 0).unwrap());
    /// println!("events-0 holds {} records", end - earliest);
    /// ```
    pub fn end_offset(&self, topic: &str, partition: i32) -> Result<i64, KafkaError> {
        self.end_offset_after(topic, partition, self.earliest_offset(topic, partition)?)
    }

    /// [`end_offset`](Self::end_offset), the partition's first offset being `earliest`.
    pub(crate) fn end_offset_after(&self, topic: &str, partition: i32, earliest: i64) -> Result<i64, KafkaError> {
        match self.end_from(topic, partition, earliest) {
            Err(KafkaError::OffsetOutOfRange { end, .. }) => Ok(end),
            other => other,
        }
    }

    /// The high watermark, asked for with a fetch at `offset` that wants almost no data;
    /// [`KafkaError::OffsetOutOfRange`] when `offset` is outside the log.
    ///
    /// ```no_run
    /// use stream_runtime::{KafkaClient, KafkaError, KafkaOptions};
    /// let client = KafkaClient::new("localhost:9092", &KafkaOptions::default()).unwrap();
    /// match client.end_from("events", 0, 1_000_000) {
    ///     Ok(end) => println!("{} records after offset 1000000", end - 1_000_000),
    ///     Err(KafkaError::OffsetOutOfRange { earliest, end, .. }) => println!("the log holds [{earliest}, {end})"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// ```
    pub fn end_from(&self, topic: &str, partition: i32, offset: i64) -> Result<i64, KafkaError> {
        self.finish_end_from(self.start_end_from(topic, partition, offset))
    }

    /// Starts what [`end_from`](Self::end_from) asks; [`finish_end_from`](Self::finish_end_from)
    /// waits for the answer.
    pub(crate) fn start_end_from(&self, topic: &str, partition: i32, offset: i64) -> PendingFetch {
        self.start_fetch_bytes(topic, partition, offset, PROBE_BYTES, PROBE_WAIT_MS, None)
    }

    /// Starts what [`end_from`](Self::end_from) asks, keeping the records the broker sends
    /// with the answer (the first record batch at `offset`, whole):
    /// [`finish_fetch_into`](Self::finish_fetch_into) gives them and the high watermark. The
    /// direct stream's planning asks each partition's end so, and the records are the start
    /// of the range it plans, not fetched again when the batch is read.
    pub(crate) fn start_probe(&self, topic: &str, partition: i32, offset: i64) -> PendingFetch {
        self.start_fetch_bytes(topic, partition, offset, PROBE_BYTES, PROBE_WAIT_MS, Some(Vec::new()))
    }

    /// The answer of a probe started by [`start_end_from`](Self::start_end_from).
    pub(crate) fn finish_end_from(&self, probe: PendingFetch) -> Result<i64, KafkaError> {
        self.finish_fetch(probe).map(|(_, end)| end)
    }

    /// Fetches the records of `topic`-`partition` from `offset` on (at most
    /// [`KafkaOptions::max_fetch_bytes`], waiting up to 100 ms for the first one); returns them
    /// with the high watermark. [`KafkaError::OffsetOutOfRange`] when `offset` is outside the
    /// log.
    pub fn fetch(&self, topic: &str, partition: i32, offset: i64) -> Result<(Vec<KafkaRecord>, i64), KafkaError> {
        self.finish_fetch(self.start_fetch(topic, partition, offset, Vec::new()))
    }

    /// Starts the fetch [`fetch`](Self::fetch) makes and returns at once: the I/O threads send
    /// the request, and decode and convert the answer, while the caller does something else
    /// (the direct stream starts every partition's fetch at once, and the next fetch of a
    /// range before it hands on the records of the last). [`finish_fetch`](Self::finish_fetch)
    /// waits for the answer. The records are added to `into` (the records read before them,
    /// which the answer gives back): one vector for a range, grown where the records are made,
    /// not a copy of them.
    pub(crate) fn start_fetch(&self, topic: &str, partition: i32, offset: i64, into: Vec<KafkaRecord>) -> PendingFetch {
        self.start_fetch_bytes(topic, partition, offset, self.options.max_fetch_bytes, 100, Some(into))
    }

    /// Starts a fetch of at most `max_bytes`, waiting up to `max_wait_ms` for the first
    /// record; its records are converted and added to `into` when there is one (a probe for
    /// the high watermark alone has no use for them).
    fn start_fetch_bytes(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: i32,
        max_wait_ms: i32,
        into: Option<Vec<KafkaRecord>>,
    ) -> PendingFetch {
        let had = into.as_ref().map_or(0, Vec::len);
        let (answer, kept) = match self.partition(topic, partition) {
            Ok(p) => {
                let bytes = 0..max_bytes.saturating_add(1);
                let name = Str::from(topic);
                let pending = self.spawn(async move {
                    let answer = p.fetch_records(offset, bytes, max_wait_ms).await;
                    Ok(match (answer, into) {
                        (Ok((records, end)), Some(into)) => (records_of(&name, partition, records, into), Ok(end)),
                        (Ok((_, end)), None) => (Vec::new(), Ok(end)),
                        (Err(e), into) => (into.unwrap_or_default(), Err(e)),
                    })
                });
                (Ok(pending), Vec::new())
            }
            Err(e) => (Err(e), into.unwrap_or_default()),
        };
        PendingFetch { topic: topic.to_string(), partition, offset, had, answer, kept }
    }

    /// Waits for the answer of a fetch started by [`start_fetch`](Self::start_fetch): as
    /// [`fetch`](Self::fetch) returns it.
    pub(crate) fn finish_fetch(&self, fetch: PendingFetch) -> Result<(Vec<KafkaRecord>, i64), KafkaError> {
        let (records, end) = self.finish_fetch_into(fetch);
        end.map(|end| (records, end))
    }

    /// Waits for the answer of a fetch: the records it was started with, its own added when
    /// it succeeded, and the high watermark or the error. The records it was started with are
    /// lost only when the request itself is (no answer in time): their offsets are then read
    /// again.
    pub(crate) fn finish_fetch_into(&self, fetch: PendingFetch) -> (Vec<KafkaRecord>, Result<i64, KafkaError>) {
        let PendingFetch { topic, partition, offset, answer, kept, .. } = fetch;
        let pending = match answer {
            Ok(pending) => pending,
            Err(e) => return (kept, Err(e)),
        };
        let (records, end) = match self.wait(pending) {
            Ok(answer) => answer,
            Err(e) => return (Vec::new(), Err(e)),
        };
        let end = match end {
            Ok(end) if offset > end => Err(self.out_of_range(&topic, partition, offset, Some(end))),
            Ok(end) => Ok(end),
            Err(e @ RsError::ServerError { protocol_error: ProtocolError::OffsetOutOfRange, .. }) => {
                Err(self.out_of_range(&topic, partition, offset, high_watermark(&e)))
            }
            Err(e) => Err(self.error(format!("fetch {topic}-{partition} at {offset}"), &topic, e)),
        };
        (records, end)
    }

    /// One fetch request; the outer error is ours (no connection), the inner one the broker's.
    fn raw_fetch(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: i32,
        max_wait_ms: i32,
    ) -> Result<Result<(Vec<rskafka::record::RecordAndOffset>, i64), RsError>, KafkaError> {
        let p = self.partition(topic, partition)?;
        let bytes = 0..max_bytes.saturating_add(1);
        self.block(async move { Ok(p.fetch_records(offset, bytes, max_wait_ms).await) })
    }

    /// The out-of-range error of `offset`, with the log's bounds (asked for when not known;
    /// `offset` itself where they cannot be had).
    fn out_of_range(&self, topic: &str, partition: i32, offset: i64, end: Option<i64>) -> KafkaError {
        let earliest = self.earliest_offset(topic, partition).unwrap_or(offset);
        let end = match end {
            Some(end) if end >= 0 => end,
            _ => match self.raw_fetch(topic, partition, earliest, PROBE_BYTES, PROBE_WAIT_MS) {
                Ok(Ok((_, end))) => end,
                Ok(Err(e)) => high_watermark(&e).unwrap_or(offset),
                Err(_) => offset,
            },
        };
        KafkaError::OffsetOutOfRange { topic: topic.to_string(), partition, offset, earliest, end }
    }
}

/// A fetch started by [`KafkaClient::start_fetch`]; dropping it forgets the answer.
pub(crate) struct PendingFetch {
    topic: String,
    partition: i32,
    offset: i64,
    /// How many records it was started with.
    had: usize,
    /// The records and the high watermark (or the broker's error).
    answer: Result<Pending<(Vec<KafkaRecord>, Result<i64, RsError>)>, KafkaError>,
    /// The records it was started with, when no request could be sent.
    kept: Vec<KafkaRecord>,
}

impl PendingFetch {
    /// The offset it fetches from.
    pub(crate) fn offset(&self) -> i64 {
        self.offset
    }

    /// How many records it was started with (read before it).
    pub(crate) fn had(&self) -> usize {
        self.had
    }
}

/// A request started on the I/O threads: its answer, and when it started.
struct Pending<T> {
    rx: std::sync::mpsc::Receiver<Result<T, KafkaError>>,
    began: std::time::Instant,
}

/// The fetched records of `topic`-`partition` as [`KafkaRecord`]s, added to `out`, converted
/// on the I/O thread that decoded them: their keys and values are copied into one buffer, which they
/// share, and `rskafka`'s vectors of them are freed here, where they were made. Dropping the
/// records (where the batch ends) then costs a reference count each, not a `free` of memory
/// made on another thread, and one copy of the fetched bytes is cheaper than either.
fn records_of(
    topic: &Str,
    partition: i32,
    records: Vec<rskafka::record::RecordAndOffset>,
    mut out: Vec<KafkaRecord>,
) -> Vec<KafkaRecord> {
    // Every large allocation first, then the copy (reading `rskafka`'s vectors), then the
    // records (freeing them): no large allocation follows the many small frees, which would
    // make the allocator sort them all at once.
    let len = |b: &Option<Vec<u8>>| b.as_ref().map_or(0, Vec::len);
    let total = records.iter().map(|r| len(&r.record.key) + len(&r.record.value)).sum();
    let mut buf = Vec::with_capacity(total);
    out.reserve(records.len());
    for r in &records {
        for b in [&r.record.key, &r.record.value].into_iter().flatten() {
            buf.extend_from_slice(b);
        }
    }
    let buf = Bytes::from(buf);
    let mut at = 0;
    let mut slice = |b: Option<Vec<u8>>| {
        b.map(|b| {
            let s = buf.slice(at..at + b.len());
            at += b.len();
            s
        })
    };
    for r in records {
        let (key, value) = (slice(r.record.key), slice(r.record.value));
        out.push(KafkaRecord {
            topic: topic.clone(),
            partition,
            offset: r.offset,
            timestamp: r.record.timestamp.timestamp_millis(),
            key,
            value,
        });
    }
    out
}

/// The high watermark a broker sent with a fetch error, if it sent one.
fn high_watermark(e: &RsError) -> Option<i64> {
    match e {
        RsError::ServerError {
            response: Some(ServerErrorResponse::PartitionFetchState { high_watermark, .. }),
            ..
        } => Some(*high_watermark),
        _ => None,
    }
}
