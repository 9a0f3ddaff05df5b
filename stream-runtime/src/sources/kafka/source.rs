//! The direct stream: each batch is planned, when it is generated, as one offset range per
//! partition, and read when it is processed, the ranges in parallel.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use rayon::prelude::*;

use super::client::{KafkaClient, PendingFetch};
use super::errors::{KafkaError, KafkaFailures};
use super::options::{KafkaOptions, OffsetReset, StartingOffsets};
use super::record::{KafkaRecord, OffsetRange};
use crate::batch::Batch;
use crate::checkpoint::RestoreError;
use crate::clock::Clock;
use crate::context::Input;
use crate::error::{BatchError, StreamingError};
use crate::metrics::{InputDetail, InputStatus, KafkaRange, SourceCounters, SourceStats};
use crate::node::Env;
use crate::sources::{Allocated, Source};
use crate::time::Time;

/// Empty answers in a row after which a range counts as read: its last offsets hold no data
/// record (transaction markers, or records compacted away).
const EMPTY_FETCHES: usize = 3;

/// How long the job's start waits for the connections to the brokers and partition leaders
/// (made then so that the first batch does not make them); brokers slower than this are
/// connected to by the first batch, as in an outage.
const CONNECT_AT_START: std::time::Duration = std::time::Duration::from_secs(1);

/// How long a read waits between attempts while the brokers are unreachable.
const READ_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// Where the stream is: the next offset of every partition, and what was reported.
#[derive(Default)]
struct Position {
    next: BTreeMap<(String, i32), i64>,
    /// Topics whose partitions were all given a starting offset.
    seen: BTreeSet<String>,
    /// Topics reported missing.
    missing: BTreeSet<String>,
    /// The outage the planning met, while the brokers cannot be reached.
    down: Option<Outage>,
    /// Records past the last planned batch in each partition's log, as of that planning.
    lag: BTreeMap<(String, i32), i64>,
}

/// An outage of the brokers: reported when it starts, then every [`REMIND`] with a count.
#[derive(Debug, Clone, Copy)]
struct Outage {
    since: std::time::Instant,
    failures: u64,
    reported: std::time::Instant,
}

/// How often an ongoing outage is reported again.
const REMIND: std::time::Duration = std::time::Duration::from_secs(60);

/// The planning and reading shared by the record and text streams.
pub(crate) struct Direct {
    pub(crate) name: String,
    topics: Vec<String>,
    options: KafkaOptions,
    batch_ms: i64,
    /// The longest line of the text stream.
    pub(crate) limit: usize,
    client: Option<KafkaClient>,
    position: Mutex<Position>,
    allocated: Allocated<Vec<OffsetRange>>,
    /// The records the planning's end probes brought (each the first record batch of its
    /// range), by batch time and partition: the start of those ranges when they are read.
    probed: Allocated<BTreeMap<(String, i32), Vec<KafkaRecord>>>,
    /// Why batches failed, by batch time (the [`OffsetReset::Fail`] policy, unreadable data).
    failures: Mutex<BTreeMap<Time, Vec<KafkaError>>>,
    /// Partitions reported failing, so the error is logged once.
    failing: Mutex<BTreeSet<(String, i32)>>,
    read_down: AtomicBool,
    stopped: AtomicBool,
    /// The rate backpressure asks for, records per second over all partitions.
    rate: Mutex<Option<f64>>,
    pub(crate) counters: SourceCounters,
}

impl Direct {
    pub(crate) fn new(
        name: String,
        topics: Vec<String>,
        options: KafkaOptions,
        batch_ms: i64,
        limit: usize,
        client: Option<KafkaClient>,
    ) -> Direct {
        Direct {
            name,
            topics,
            options,
            batch_ms,
            limit,
            client,
            position: Mutex::new(Position::default()),
            allocated: Allocated::default(),
            probed: Allocated::default(),
            failures: Mutex::new(BTreeMap::new()),
            failing: Mutex::new(BTreeSet::new()),
            read_down: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            rate: Mutex::new(None),
            counters: SourceCounters::default(),
        }
    }

    fn fail(&self, t: Time, key: Option<(String, i32)>, cause: KafkaError) {
        let first = key.is_none_or(|k| self.failing.lock().insert(k));
        if first {
            tracing::error!(source = %self.name, time = %t, "{cause}; the batch fails");
        }
        self.counters.last_error.set(&cause);
        self.failures.lock().entry(t).or_default().push(cause);
    }

    fn unreachable(&self, pos: &mut Position, e: &KafkaError) {
        self.counters.error(e);
        let now = std::time::Instant::now();
        match &mut pos.down {
            None => {
                pos.down = Some(Outage { since: now, failures: 1, reported: now });
                self.counters.outages.add(1);
                tracing::warn!(source = %self.name, "{e}; batches stay empty until the brokers are back");
            }
            Some(outage) => {
                outage.failures += 1;
                if now.duration_since(outage.reported) >= REMIND {
                    outage.reported = now;
                    tracing::warn!(
                        source = %self.name,
                        failures = outage.failures,
                        "the Kafka brokers are still unreachable after {:?} ({} failed attempts); batches stay empty",
                        now.duration_since(outage.since),
                        outage.failures
                    );
                }
            }
        }
    }

    /// Plans batch `t`: a range for every partition known, empty where there is nothing new
    /// (or the brokers cannot be reached), so each batch records the position of all of them.
    fn plan(&self, t: Time) -> Vec<OffsetRange> {
        let Some(client) = &self.client else { return Vec::new() };
        let mut pos = self.position.lock();
        let mut ranges: BTreeMap<(String, i32), OffsetRange> = BTreeMap::new();
        let mut probed: BTreeMap<(String, i32), Vec<KafkaRecord>> = BTreeMap::new();
        let mut reachable = true;
        'topics: for topic in &self.topics {
            // The ends of the partitions that have a position are asked for before the listing
            // answers (the listing only adds partitions): the two round trips overlap.
            let known = (topic.clone(), i32::MIN)..=(topic.clone(), i32::MAX);
            let mut early: BTreeMap<i32, (i64, PendingFetch)> = pos
                .next
                .range(known)
                .map(|((_, p), &from)| (*p, (from, client.start_probe(topic, *p, from))))
                .collect();
            let partitions = match client.partitions(topic) {
                Ok(p) => p,
                Err(e @ KafkaError::TopicMissing { .. }) => {
                    if pos.missing.insert(topic.clone()) {
                        self.counters.errors.add(1);
                        tracing::warn!(source = %self.name, "{e}; it is read once it is created");
                    }
                    continue;
                }
                Err(e) => {
                    self.unreachable(&mut pos, &e);
                    reachable = false;
                    break;
                }
            };
            if pos.missing.remove(topic) {
                tracing::info!(source = %self.name, "topic {topic} exists now");
            }
            let starts = match self.positions(client, &mut pos, topic, partitions) {
                Ok(starts) => starts,
                Err(e) => {
                    self.unreachable(&mut pos, &e);
                    reachable = false;
                    break 'topics;
                }
            };
            // Every partition's end is asked for at once: one round trip, not one a partition.
            // The records each answer brings (the first record batch at the position) are kept
            // as the start of the range.
            let probes: Vec<_> = starts
                .into_iter()
                .map(|(p, from)| match early.remove(&p) {
                    Some((at, probe)) if at == from => (p, from, probe),
                    _ => (p, from, client.start_probe(topic, p, from)),
                })
                .collect();
            for (p, from, probe) in probes {
                let (records, end) = client.finish_fetch_into(probe);
                match self.plan_partition(topic, p, from, end, t) {
                    Ok(r) => {
                        if r.from == from && !records.is_empty() {
                            probed.insert((topic.clone(), p), records);
                        }
                        ranges.insert((topic.clone(), p), r);
                    }
                    Err(e) => {
                        self.unreachable(&mut pos, &e);
                        reachable = false;
                        break 'topics;
                    }
                }
            }
            pos.seen.insert(topic.clone());
        }
        if reachable {
            if let Some(outage) = pos.down.take() {
                tracing::info!(
                    source = %self.name,
                    "the Kafka brokers are reachable again after {:?} ({} failed attempts)",
                    outage.since.elapsed(),
                    outage.failures
                );
            }
        }
        let lags: Vec<i64> = ranges.values().map(|r| r.until - r.from).collect();
        let rate = *self.rate.lock();
        let limits = partition_limits(&lags, rate, self.options.max_rate_per_partition, self.batch_ms);
        for (r, limit) in ranges.values_mut().zip(limits) {
            let end = r.until;
            if let Some(n) = limit {
                r.until = r.until.min(r.from.saturating_add(n));
            }
            pos.next.insert((r.topic.clone(), r.partition), r.until);
            pos.lag.insert((r.topic.clone(), r.partition), end - r.until);
            let key = (r.topic.clone(), r.partition);
            if let Some(records) = probed.get_mut(&key) {
                records.truncate(records.partition_point(|x| x.offset < r.until));
                if records.is_empty() {
                    probed.remove(&key);
                }
            }
        }
        self.probed.put(t, probed);
        for (key, &next) in &pos.next {
            ranges.entry(key.clone()).or_insert_with(|| OffsetRange {
                topic: key.0.clone(),
                partition: key.1,
                from: next,
                until: next,
            });
        }
        ranges.into_values().collect()
    }

    /// Where each of `partitions` of `topic` stands ([`position_of`](Self::position_of)), the
    /// first offsets of those without a position asked for at once; `Err` only when the
    /// brokers cannot be reached.
    fn positions(
        &self,
        client: &KafkaClient,
        pos: &mut Position,
        topic: &str,
        partitions: Vec<i32>,
    ) -> Result<Vec<(i32, i64)>, KafkaError> {
        let initial = !pos.seen.contains(topic);
        let explicit = |p| match &self.options.starting_offsets {
            StartingOffsets::Explicit(map) if initial => map.contains_key(&(topic.to_string(), p)),
            _ => false,
        };
        let unknown: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|&p| !pos.next.contains_key(&(topic.to_string(), p)) && !explicit(p))
            .collect();
        let mut earliest: BTreeMap<i32, Result<i64, KafkaError>> = match unknown.len() {
            0 => BTreeMap::new(),
            _ => unknown.iter().copied().zip(client.earliest_offsets(topic, &unknown)).collect(),
        };
        let mut starts = Vec::with_capacity(partitions.len());
        for p in partitions {
            if let Some(from) = self.position_of(client, pos, topic, p, initial, earliest.remove(&p))? {
                starts.push((p, from));
            }
        }
        Ok(starts)
    }

    /// Finds where the partitions of the topics start, when the job starts: as Spark's
    /// `DirectKafkaInputDStream.start` takes its consumer's positions then, so that the first
    /// batch only asks where they end. Partitions that have a position (restored from a
    /// checkpoint) keep it; a topic that cannot be listed now is left to the first planning,
    /// which also reports it.
    fn start_positions(&self, client: &KafkaClient) {
        let mut pos = self.position.lock();
        for topic in &self.topics {
            let Ok(partitions) = client.partitions(topic) else { continue };
            if self.positions(client, &mut pos, topic, partitions).is_err() {
                return;
            }
        }
    }

    /// Where `topic`-`p` stands: its position, or where it starts when it has none (found
    /// by the options); `Err` only when the brokers cannot be reached, `None` when the
    /// partition has no position (its offsets could not be had).
    fn position_of(
        &self,
        client: &KafkaClient,
        pos: &mut Position,
        topic: &str,
        p: i32,
        initial: bool,
        earliest: Option<Result<i64, KafkaError>>,
    ) -> Result<Option<i64>, KafkaError> {
        let key = (topic.to_string(), p);
        if let Some(&o) = pos.next.get(&key) {
            return Ok(Some(o));
        }
        match self.starting_offset(client, topic, p, initial, earliest) {
            Ok(o) => {
                tracing::info!(source = %self.name, "{topic}-{p} starts at offset {o}");
                pos.next.insert(key, o);
                Ok(Some(o))
            }
            Err(e) if e.is_unreachable() => Err(e),
            Err(e) => {
                self.counters.errors.add(1);
                tracing::warn!(source = %self.name, "cannot find where {topic}-{p} starts: {e}");
                Ok(None)
            }
        }
    }

    /// The range of one partition from its position `from` up to `end`, the end of its log
    /// (the caller applies the rate limits and moves the position); `Err` only when the
    /// brokers cannot be reached.
    fn plan_partition(
        &self,
        topic: &str,
        p: i32,
        from: i64,
        end: Result<i64, KafkaError>,
        t: Time,
    ) -> Result<OffsetRange, KafkaError> {
        let key = (topic.to_string(), p);
        let (from, end) = match end {
            Ok(end) => (from, end),
            Err(e @ KafkaError::OffsetOutOfRange { end, .. }) => match self.reset(t, &e) {
                Some(o) => (o, end),
                None => return Ok(OffsetRange { topic: key.0, partition: p, from, until: from }),
            },
            Err(e) if e.is_unreachable() => return Err(e),
            Err(e) => {
                self.counters.errors.add(1);
                tracing::warn!(source = %self.name, "cannot plan {topic}-{p}: {e}");
                return Ok(OffsetRange { topic: key.0, partition: p, from, until: from });
            }
        };
        if self.failing.lock().remove(&key) {
            tracing::info!(source = %self.name, "{topic}-{p} is read again from offset {from}");
        }
        Ok(OffsetRange { topic: key.0, partition: p, from, until: end.max(from) })
    }

    /// Where a partition seen for the first time starts: by the options for the partitions
    /// of a topic's first listing, at the earliest offset for partitions added later.
    /// `earliest` is the partition's first offset when it was already asked for.
    fn starting_offset(
        &self,
        client: &KafkaClient,
        topic: &str,
        p: i32,
        initial: bool,
        earliest: Option<Result<i64, KafkaError>>,
    ) -> Result<i64, KafkaError> {
        let earliest = || earliest.unwrap_or_else(|| client.earliest_offset(topic, p));
        if !initial {
            return earliest();
        }
        match &self.options.starting_offsets {
            StartingOffsets::Latest => client.end_offset_after(topic, p, earliest()?),
            StartingOffsets::Earliest => earliest(),
            StartingOffsets::Explicit(map) => match map.get(&(topic.to_string(), p)) {
                Some(&o) => Ok(o),
                None => earliest(),
            },
        }
    }

    /// Applies the out-of-range policy to `e`: the offset to go on from, or `None` (the batch
    /// fails and the partition stays where it is).
    fn reset(&self, t: Time, e: &KafkaError) -> Option<i64> {
        let KafkaError::OffsetOutOfRange { topic, partition, offset, earliest, end } = e else {
            return None;
        };
        self.counters.errors.add(1);
        let (offset, earliest, end) = (*offset, *earliest, *end);
        let deleted = offset < earliest;
        match self.options.on_out_of_range {
            OffsetReset::Fail => {
                self.fail(t, Some((topic.clone(), *partition)), e.clone());
                None
            }
            OffsetReset::Earliest if deleted => {
                tracing::warn!(source = %self.name, "{e}; {} records deleted before they were read are lost; going on from the earliest offset {earliest}", earliest - offset);
                Some(earliest)
            }
            OffsetReset::Earliest => {
                tracing::warn!(source = %self.name, "{e}; going on from the earliest offset {earliest} (records read before may be read again)");
                Some(earliest)
            }
            OffsetReset::Latest => {
                let skipped = if deleted { end - offset } else { 0 };
                tracing::warn!(source = %self.name, "{e}; jumping to the end of the log, {end}: {skipped} records skipped");
                Some(end)
            }
        }
    }

    /// Reads the records of `range` of batch `t`, after the records `held` (the first of the
    /// range, brought by the planning's probe), whose first fetch `first` was started (with
    /// `held` in it; the next fetch starts as soon as an answer comes, before its records are
    /// handed on). While the brokers cannot be reached it waits and tries again (the batch
    /// waits; nothing planned is given up), until the source stops.
    fn read(
        &self,
        t: Time,
        range: &OffsetRange,
        first: Option<PendingFetch>,
        held: Vec<KafkaRecord>,
    ) -> Vec<KafkaRecord> {
        let Some(client) = &self.client else { return held };
        // The records read. A fetch started when no other is in flight takes them and gives
        // them back with its own added (the first answer, or the first after `held`, is the
        // range's vector itself: no copy); one lost with its request is read again.
        let mut out = held;
        let (mut floor, mut empty) = (range.from, 0);
        let mut next = first;
        loop {
            let offset = match &next {
                Some(fetch) => fetch.offset(),
                None => out.last().map_or(floor, |r| r.offset + 1).max(floor),
            };
            if offset >= range.until {
                break;
            }
            let fetch = next
                .take()
                .unwrap_or_else(|| client.start_fetch(&range.topic, range.partition, offset, std::mem::take(&mut out)));
            let had = fetch.had();
            let (mut records, answer) = client.finish_fetch_into(fetch);
            records.truncate(records.partition_point(|r| r.offset < range.until));
            let new = records.len().saturating_sub(had);
            if let (Ok(_), Some(last)) = (&answer, records.last().filter(|_| new > 0)) {
                if last.offset + 1 < range.until {
                    next = Some(client.start_fetch(&range.topic, range.partition, last.offset + 1, Vec::new()));
                }
            }
            if out.is_empty() {
                out = records;
            } else {
                out.append(&mut records);
            }
            match answer {
                Ok(_) => {
                    if self.read_down.swap(false, Ordering::SeqCst) {
                        tracing::info!(source = %self.name, time = %t, "the brokers are back; reading the batch");
                    }
                    if new == 0 {
                        empty += 1;
                        if empty >= EMPTY_FETCHES {
                            tracing::debug!(source = %self.name, "no data record in offsets [{offset}, {}) of {}-{}", range.until, range.topic, range.partition);
                            break;
                        }
                        continue;
                    }
                    empty = 0;
                }
                Err(e) if e.is_unreachable() => {
                    self.counters.errors.add(1);
                    if self.stopped.load(Ordering::SeqCst) {
                        let unread = KafkaError::Unread {
                            topic: range.topic.clone(),
                            partition: range.partition,
                            from: offset,
                            until: range.until,
                            source: Box::new(e),
                        };
                        self.fail(t, None, unread);
                        break;
                    }
                    if !self.read_down.swap(true, Ordering::SeqCst) {
                        self.counters.outages.add(1);
                        tracing::warn!(source = %self.name, time = %t, "{e}; the batch waits for the brokers");
                    }
                    std::thread::sleep(READ_RETRY);
                }
                Err(e @ KafkaError::OffsetOutOfRange { .. }) => match self.reset(t, &e) {
                    Some(o) if o > offset => floor = o,
                    _ => break,
                },
                Err(e) => {
                    self.counters.errors.add(1);
                    self.fail(
                        t,
                        None,
                        KafkaError::Read {
                            topic: range.topic.clone(),
                            partition: range.partition,
                            offset,
                            source: Box::new(e),
                        },
                    );
                    break;
                }
            }
        }
        out
    }

    /// The records of batch `t`, converted by `convert`: one partition of the batch per
    /// range, or per piece of [`KafkaOptions::max_records_per_task`] records of a longer range,
    /// each read and converted by one task, in parallel. The worker threads take the tasks in
    /// order, and the first fetches run ahead of them: a window of one a worker thread and
    /// one an I/O thread, so that while a worker converts one task's records the next tasks'
    /// answers are on their way and being decoded, as the plain fetch loop has all its
    /// partitions' fetches in flight (with one worker thread, the tasks' fetches no longer
    /// wait for each other). The window bounds what is held ahead of the workers to that many
    /// fetches of [`KafkaOptions::max_fetch_bytes`].
    pub(crate) fn take<T: Send>(
        &self,
        t: Time,
        env: &Env,
        convert: impl Fn(&Direct, Vec<KafkaRecord>) -> Vec<T> + Sync,
    ) -> Vec<Vec<T>> {
        let mut ranges = self.allocated.take(t).unwrap_or_default();
        if let Some(peers) = &env.peers {
            // Every process has the driver's ranges; each reads the partitions it owns.
            ranges.retain(|r| {
                crate::cluster::owner_of_partition(&r.topic, r.partition, peers.processes()) == peers.process()
            });
        }
        let tasks = split(&ranges, self.options.max_records_per_task);
        let held = held_of(self.probed.take(t).unwrap_or_default(), &tasks);
        let workers = env.parallelism.max(1).min(tasks.len());
        let ahead = Ahead::new(self.client.as_ref(), &tasks, held, workers + super::client::IO_THREADS);
        let next = AtomicUsize::new(0);
        let done: Vec<Vec<(usize, Vec<T>)>> = (0..workers)
            .into_par_iter()
            .map(|_| {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(r) = tasks.get(i) else { return done };
                    let (first, held) = ahead.take(i);
                    done.push((i, convert(self, self.read(t, r, first, held))));
                }
            })
            .collect();
        let mut out: Vec<Option<Vec<T>>> = (0..tasks.len()).map(|_| None).collect();
        for (i, part) in done.into_iter().flatten() {
            out[i] = Some(part);
        }
        out.into_iter().flatten().collect()
    }
}

/// The first fetches of a batch's tasks, started in the tasks' order up to `window` ahead of
/// the tasks taken.
struct Ahead<'a> {
    client: Option<&'a KafkaClient>,
    tasks: &'a [OffsetRange],
    /// Each task's first fetch: whether it was claimed (started here, or by its task), its
    /// answer while no task took it, and the records the planning brought for the task (in
    /// the fetch once it started).
    slots: Vec<Mutex<(bool, Option<PendingFetch>, Vec<KafkaRecord>)>>,
    window: usize,
    /// The next task whose first fetch may start.
    started: AtomicUsize,
}

impl<'a> Ahead<'a> {
    /// Starts the first fetches of the first `window` tasks, each after its `held` records.
    fn new(
        client: Option<&'a KafkaClient>,
        tasks: &'a [OffsetRange],
        held: Vec<Vec<KafkaRecord>>,
        window: usize,
    ) -> Ahead<'a> {
        let ahead = Ahead {
            client,
            tasks,
            slots: held.into_iter().map(|h| Mutex::new((false, None, h))).collect(),
            window,
            started: AtomicUsize::new(0),
        };
        ahead.start_until(window);
        ahead
    }

    /// Starts the first fetches of the tasks before `until` not started yet.
    fn start_until(&self, until: usize) {
        let Some(client) = self.client else { return };
        let until = until.min(self.tasks.len());
        loop {
            let i = self.started.load(Ordering::Relaxed);
            if i >= until {
                return;
            }
            if self.started.compare_exchange(i, i + 1, Ordering::Relaxed, Ordering::Relaxed).is_err() {
                continue;
            }
            let mut slot = self.slots[i].lock();
            if !slot.0 {
                slot.0 = true;
                let r = &self.tasks[i];
                let from = slot.2.last().map_or(r.from, |x| x.offset + 1);
                if from < r.until {
                    let held = std::mem::take(&mut slot.2);
                    slot.1 = Some(client.start_fetch(&r.topic, r.partition, from, held));
                }
            }
        }
    }

    /// Task `i`'s first fetch, if it was started (its task then starts it itself), and its
    /// records that are in no fetch; the window moves on past it.
    fn take(&self, i: usize) -> (Option<PendingFetch>, Vec<KafkaRecord>) {
        let first = {
            let mut slot = self.slots[i].lock();
            slot.0 = true;
            (slot.1.take(), std::mem::take(&mut slot.2))
        };
        self.start_until(i + 1 + self.window);
        first
    }
}

/// The records the planning's probes brought (`probed`, by partition) given to the `tasks`
/// whose offsets they are (the first task of each range, or the first ones when the range
/// was cut).
fn held_of(mut probed: BTreeMap<(String, i32), Vec<KafkaRecord>>, tasks: &[OffsetRange]) -> Vec<Vec<KafkaRecord>> {
    tasks
        .iter()
        .map(|r| {
            let key = (r.topic.clone(), r.partition);
            let Some(mut records) = probed.remove(&key) else { return Vec::new() };
            if records.first().is_none_or(|x| x.offset < r.from) {
                return Vec::new();
            }
            let rest = records.split_off(records.partition_point(|x| x.offset < r.until));
            if !rest.is_empty() {
                probed.insert(key, rest);
            }
            records
        })
        .collect()
}

/// The most records each partition may give a batch of `batch_ms` ms, given its lag (records
/// after its position), as Spark's `maxMessagesPerPartition`: with a backpressure `rate`, that
/// rate shared in proportion to the lags, each share capped at `max_rate` (when not 0);
/// without, `max_rate`. At least one record a partition (`minRatePerPartition`); `None`: no
/// limit.
fn partition_limits(lags: &[i64], rate: Option<f64>, max_rate: u64, batch_ms: i64) -> Vec<Option<i64>> {
    let secs = batch_ms.max(0) as f64 / 1000.0;
    let total: i64 = lags.iter().sum();
    let per_second: Vec<f64> = match rate {
        Some(rate) if total > 0 => lags
            .iter()
            .map(|&lag| {
                let share = lag as f64 / total as f64 * rate;
                if max_rate > 0 {
                    share.min(max_rate as f64)
                } else {
                    share
                }
            })
            .collect(),
        _ if max_rate > 0 => vec![max_rate as f64; lags.len()],
        _ => return vec![None; lags.len()],
    };
    per_second.into_iter().map(|r| Some(((secs * r) as i64).max(1))).collect()
}

/// The non-empty ranges, longer ones cut into pieces of at most `max` records (0: no limit).
fn split(ranges: &[OffsetRange], max: u64) -> Vec<OffsetRange> {
    let mut out = Vec::new();
    for r in ranges.iter().filter(|r| r.count() > 0) {
        let step = if max == 0 { r.count() } else { max } as i64;
        let mut from = r.from;
        while from < r.until {
            let until = r.until.min(from.saturating_add(step));
            out.push(OffsetRange { topic: r.topic.clone(), partition: r.partition, from, until });
            from = until;
        }
    }
    out
}

/// A direct stream of `T`: the records converted by `convert`.
pub(crate) struct KafkaSource<T> {
    pub(crate) direct: Direct,
    pub(crate) convert: fn(&Direct, Vec<KafkaRecord>) -> Vec<T>,
}

impl<T: Send + Sync> Input for KafkaSource<T> {
    fn name(&self) -> String {
        self.direct.name.clone()
    }

    fn start(&self, env: &Env, _clock: &Arc<dyn Clock>) -> Result<(), StreamingError> {
        let Some(client) = &self.direct.client else { return Ok(()) };
        // Only the driver plans: the other processes of a cluster follow its ranges.
        let driver = env.peers.as_ref().is_none_or(|p| p.process() == 0);
        client.within(CONNECT_AT_START, || {
            client.connect_topics(&self.direct.topics);
            if driver {
                self.direct.start_positions(client);
            }
        });
        Ok(())
    }

    fn allocate(&self, t: Time) -> u64 {
        let ranges = self.direct.plan(t);
        let n = ranges.iter().map(OffsetRange::count).sum();
        if n > 0 {
            tracing::debug!(source = %self.direct.name, time = %t, records = n, "planned");
        }
        self.direct.allocated.put(t, ranges);
        n
    }

    fn allocation(&self, t: Time) -> Option<serde_json::Value> {
        let ranges = self.direct.allocated.get(t)?;
        serde_json::to_value(ranges).ok()
    }

    fn read_by_every_process(&self) -> bool {
        true
    }

    fn reallocate(&self, t: Time, logged: &serde_json::Value) -> Result<(), RestoreError> {
        let ranges: Vec<OffsetRange> = RestoreError::json("the batch log's offset ranges", logged)?;
        let mut pos = self.direct.position.lock();
        for r in &ranges {
            let next = pos.next.entry((r.topic.clone(), r.partition)).or_insert(r.until);
            *next = (*next).max(r.until);
            pos.seen.insert(r.topic.clone());
        }
        self.direct.allocated.put(t, ranges);
        Ok(())
    }

    fn position(&self) -> Option<serde_json::Value> {
        let pos = self.direct.position.lock();
        let next: Vec<OffsetRange> = pos
            .next
            .iter()
            .map(|((topic, partition), &o)| OffsetRange {
                topic: topic.clone(),
                partition: *partition,
                from: o,
                until: o,
            })
            .collect();
        Some(serde_json::json!({ "next": next, "seen": pos.seen }))
    }

    fn restore_position(&self, position: &serde_json::Value) -> Result<(), RestoreError> {
        let next: Vec<OffsetRange> = RestoreError::json("the checkpointed offsets", &position["next"])?;
        let seen: BTreeSet<String> = RestoreError::json("the checkpointed topics", &position["seen"])?;
        let mut pos = self.direct.position.lock();
        pos.next = next.into_iter().map(|r| ((r.topic, r.partition), r.until)).collect();
        pos.seen = seen;
        Ok(())
    }

    fn update_rate(&self, rate: f64) {
        *self.direct.rate.lock() = Some(rate);
    }

    fn stop(&self) {
        self.direct.stopped.store(true, Ordering::SeqCst);
        if let Some(client) = &self.direct.client {
            client.stop_waiting();
        }
    }

    fn failure(&self, t: Time) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        let mut failures = self.direct.failures.lock();
        let mut later = failures.split_off(&t);
        let mine = later.remove(&t);
        *failures = later;
        mine.map(|mut causes| -> Box<dyn std::error::Error + Send + Sync> {
            match causes.len() {
                1 => Box::new(causes.remove(0)),
                _ => Box::new(KafkaFailures(causes)),
            }
        })
    }

    fn stats(&self) -> SourceStats {
        self.direct.counters.snapshot()
    }

    fn detail(&self, t: Time) -> InputDetail {
        let ranges = |ranges: &Vec<OffsetRange>| {
            let ranges = ranges.iter().map(|r| KafkaRange {
                topic: r.topic.clone(),
                partition: r.partition,
                from: r.from,
                until: r.until,
            });
            InputDetail::Offsets(ranges.collect())
        };
        self.direct.allocated.with(t, ranges).unwrap_or_default()
    }

    fn status(&self) -> InputStatus {
        let lag = self.direct.position.lock().lag.iter().map(|((topic, p), &n)| (topic.clone(), *p, n)).collect();
        InputStatus {
            last_error: self.direct.counters.last_error.get(),
            lag,
            rate: *self.direct.rate.lock(),
            ..InputStatus::default()
        }
    }
}

impl<T: Send + Sync> Source<T> for KafkaSource<T> {
    fn take(&self, t: Time, env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        Ok(Some(Batch::from_partitions(self.direct.take(t, env, self.convert))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> KafkaSource<KafkaRecord> {
        let direct = Direct::new("test".into(), vec!["t".into()], KafkaOptions::default(), 1000, 1 << 20, None);
        KafkaSource { direct, convert: |_, records| records }
    }

    #[test]
    fn logged_ranges_are_given_back_and_move_the_position() {
        let s = source();
        let t = Time::from_millis(3000);
        let logged = serde_json::json!([
            {"topic": "t", "partition": 0, "from": 5, "until": 10},
            {"topic": "t", "partition": 1, "from": 7, "until": 7}
        ]);
        s.reallocate(
            Time::from_millis(2000),
            &serde_json::json!([{"topic": "t", "partition": 0, "from": 0, "until": 5}]),
        )
        .unwrap();
        s.reallocate(t, &logged).unwrap();
        assert_eq!(s.allocation(t), Some(logged), "the batch holds exactly the logged ranges");
        let position = s.position().unwrap();
        assert_eq!(position["next"][0]["until"], 10);
        assert_eq!(position["next"][1]["until"], 7);
        assert_eq!(position["seen"], serde_json::json!(["t"]));
        let err = s.reallocate(t, &serde_json::json!({"not": "ranges"})).unwrap_err();
        assert!(matches!(err, RestoreError::Json { what: "the batch log's offset ranges", .. }), "{err}");
        assert!(err.to_string().starts_with("the batch log's offset ranges: not readable: "), "{err}");

        let other = source();
        other.restore_position(&position).unwrap();
        assert_eq!(other.position(), Some(position));
    }

    #[test]
    fn limits_follow_spark_max_messages_per_partition() {
        // No rate limit, no backpressure: the whole lag.
        assert_eq!(partition_limits(&[5, 0], None, 0, 1000), vec![None, None]);
        // maxRatePerPartition 10 records/s, 500 ms batches: 5 a partition.
        assert_eq!(partition_limits(&[100, 0], None, 10, 500), vec![Some(5), Some(5)]);
        // Backpressure 100 records/s over lags 30 and 10: 75 and 25 per second, 1 s batches.
        assert_eq!(partition_limits(&[30, 10], Some(100.0), 0, 1000), vec![Some(75), Some(25)]);
        // ... each capped at maxRatePerPartition, and never below one record.
        assert_eq!(partition_limits(&[30, 10, 0], Some(100.0), 50, 1000), vec![Some(50), Some(25), Some(1)]);
        // Nothing to read: the backpressure rate has nothing to share.
        assert_eq!(partition_limits(&[0, 0], Some(100.0), 0, 1000), vec![None, None]);
    }

    #[test]
    fn long_ranges_are_cut_and_empty_ones_dropped() {
        let r = |p, from, until| OffsetRange { topic: "t".into(), partition: p, from, until };
        let ranges = [r(0, 0, 10), r(1, 5, 5), r(2, 3, 6)];
        assert_eq!(split(&ranges, 4), vec![r(0, 0, 4), r(0, 4, 8), r(0, 8, 10), r(2, 3, 6)]);
        assert_eq!(split(&ranges, 0), vec![r(0, 0, 10), r(2, 3, 6)]);
    }

    #[test]
    fn probed_records_start_the_tasks_whose_offsets_they_are() {
        let r = |p, from, until| OffsetRange { topic: "t".into(), partition: p, from, until };
        let rec = |p, offset| KafkaRecord {
            topic: "t".into(),
            partition: p,
            offset,
            timestamp: 0,
            key: None,
            value: Some(bytes::Bytes::from(format!("{p}-{offset}"))),
        };
        let offsets = |held: &[KafkaRecord]| held.iter().map(|x| (x.partition, x.offset)).collect::<Vec<_>>();
        let mut probed = BTreeMap::new();
        probed.insert(("t".to_string(), 0), (0..6).map(|o| rec(0, o)).collect::<Vec<_>>());
        probed.insert(("t".to_string(), 1), vec![rec(1, 8), rec(1, 9)]);
        probed.insert(("t".to_string(), 2), vec![rec(2, 1)]);
        // Partition 0 cut into tasks of 4: its probe's records go to the first two; partition
        // 1's to its task; partition 2's records lie before its task and go nowhere.
        let tasks = split(&[r(0, 0, 10), r(1, 8, 20), r(2, 5, 7)], 4);
        let held = held_of(probed, &tasks);
        assert_eq!(held.len(), tasks.len());
        assert_eq!(offsets(&held[0]), vec![(0, 0), (0, 1), (0, 2), (0, 3)]);
        assert_eq!(offsets(&held[1]), vec![(0, 4), (0, 5)]);
        assert!(held[2].is_empty());
        assert_eq!(offsets(&held[3]), vec![(1, 8), (1, 9)]);
        assert!(held[4..].iter().all(Vec::is_empty));
    }
}
