//! A small word count on timely, the shape the engine's keyed work will take across processes:
//! count on the map side first, exchange by a well-mixed hash of the word ([`stable_hash`](crate::stable_hash)), sum, gather at the driver (worker 0).
//! Used by `cluster_wordcount_demo` and its tests.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::Rc;

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::{Capability, Exchange as _, Input, Inspect, Operator, Probe};
use timely::dataflow::{InputHandle, ProbeHandle, Stream};
use timely::worker::Worker;

use crate::hash::{mix64, stable_hash};
use crate::run::step_until_passed;

/// The plan text of the demo job (its fingerprint is what processes compare).
pub const PLAN: &str = "lines -> words -> count per worker -> exchange by key group -> sum -> gather at worker 0";

const VOCABULARY: [&str; 24] = [
    "spark",
    "stream",
    "batch",
    "window",
    "state",
    "key",
    "value",
    "count",
    "reduce",
    "map",
    "join",
    "slide",
    "a",
    "of",
    "the",
    "to",
    "in",
    "rust",
    "timely",
    "sluice",
    "checkpoint",
    "driver",
    "worker",
    "group",
];

/// One input line; the same for a given `(seed, index)` in every process.
///
/// ```
/// let line = stream_cluster::demo::line(7, 3);
/// assert_eq!(line, stream_cluster::demo::line(7, 3));
/// assert!(line.split(' ').count() >= 1);
/// ```
pub fn line(seed: u64, index: u64) -> String {
    let h = mix64(seed ^ mix64(index));
    let words = 1 + (h % 8) as usize;
    (0..words)
        .map(|w| VOCABULARY[(mix64(h.wrapping_add(w as u64)) % VOCABULARY.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct WordCount {
    /// Lines per round (spread over all workers of all processes by index).
    pub lines_per_round: u64,
    /// Rounds; `None` runs until the process is stopped.
    pub rounds: Option<u64>,
    /// Seed of the generated lines.
    pub seed: u64,
    /// Pause between rounds, in milliseconds (so an endless run does not spin).
    pub pause_ms: u64,
    /// When set, every worker writes `worker-<index>`, holding its process id, here once its
    /// first round is complete.
    pub ready_dir: Option<PathBuf>,
    /// Makes worker `.0` panic in round `.1` (to test fail-stop).
    pub panic_at: Option<(usize, u64)>,
    /// Rounds that may be incomplete at once (at least 1).
    pub in_flight: u64,
}

impl Default for WordCount {
    fn default() -> Self {
        WordCount {
            lines_per_round: 1000,
            rounds: Some(3),
            seed: 1,
            pause_ms: 0,
            ready_dir: None,
            panic_at: None,
            in_flight: 1,
        }
    }
}

type Counts = HashMap<String, u64>;

impl WordCount {
    /// Runs the word count on one worker; worker 0 returns the total count of every word, sorted
    /// by word, the others an empty list.
    ///
    /// ```
    /// use stream_cluster::demo::WordCount;
    /// let demo = WordCount { lines_per_round: 10, rounds: Some(2), ..WordCount::default() };
    /// let options = stream_cluster::RunOptions { threads: 2, ..Default::default() };
    /// let identity = stream_cluster::JobIdentity::new("wordcount", stream_cluster::demo::PLAN);
    /// let results = stream_cluster::execute(None, &identity, &options, move |worker| demo.run(worker)).unwrap();
    /// let total: u64 = results[0].iter().map(|(_, count)| count).sum();
    /// let expected: usize = (0..20).map(|i| stream_cluster::demo::line(1, i).split(' ').count()).sum();
    /// assert_eq!(total as usize, expected);
    /// assert!(results[1].is_empty());
    /// ```
    pub fn run(&self, worker: &mut Worker) -> Vec<(String, u64)> {
        let index = worker.index();
        let peers = worker.peers() as u64;
        let mut input = InputHandle::<u64, _>::new();
        let probe = ProbeHandle::new();
        let totals: Rc<RefCell<BTreeMap<String, u64>>> = Rc::default();
        let sink = Rc::clone(&totals);
        worker.dataflow::<u64, _, _>(|scope| {
            let words = combine(scope.input_from(&mut input), Pipeline, "CountPerWorker", |line: String| {
                line.split(' ').map(|word| (word.to_string(), 1)).collect::<Vec<_>>()
            });
            let route = Exchange::new(|(word, _): &(String, u64)| stable_hash(word));
            combine(words, route, "SumByKeyGroup", |pair| [pair])
                .exchange(|_| 0)
                .inspect(move |(word, count): &(String, u64)| {
                    *sink.borrow_mut().entry(word.clone()).or_default() += count
                })
                .probe_with(&probe);
        });
        let mut round = 0;
        let mut ready = false;
        while self.rounds.is_none_or(|rounds| round < rounds) {
            if self.panic_at == Some((index, round)) {
                panic!("injected panic in round {round}");
            }
            let first = round * self.lines_per_round;
            for line_index in (first..first + self.lines_per_round).filter(|i| i % peers == index as u64) {
                input.send(line(self.seed, line_index));
            }
            round += 1;
            input.advance_to(round);
            // Rounds before `round + 1 - in_flight` complete: at most `in_flight` incomplete.
            step_until_passed(worker, &probe, &(round + 1).saturating_sub(self.in_flight.max(1)));
            if !ready && !probe.less_than(&1) {
                ready = true;
                if let Some(dir) = &self.ready_dir {
                    // A missing ready file only makes a waiting test time out, which names it.
                    let _ = std::fs::write(dir.join(format!("worker-{index}")), std::process::id().to_string());
                }
            }
            if self.pause_ms > 0 {
                std::thread::sleep(std::time::Duration::from_millis(self.pause_ms));
            }
        }
        drop(input);
        while !probe.done() {
            worker.step_or_park(None);
        }
        let totals = totals.borrow();
        totals.iter().map(|(word, count)| (word.clone(), *count)).collect()
    }
}

/// Sums the counts of each word within a round, after `pact` has routed the records, and emits
/// each word once per round when the round is complete.
fn combine<'scope, D, I, P>(
    stream: Stream<'scope, u64, Vec<D>>,
    pact: P,
    name: &str,
    explode: impl Fn(D) -> I + 'static,
) -> Stream<'scope, u64, Vec<(String, u64)>>
where
    D: timely::ExchangeData,
    I: IntoIterator<Item = (String, u64)>,
    P: timely::dataflow::channels::pact::ParallelizationContract<u64, Vec<D>>,
{
    stream.unary_frontier(pact, name, move |_capability, _info| {
        // Per round: the capability to emit at and the counts so far.
        let mut pending: BTreeMap<u64, (Capability<u64>, Counts)> = BTreeMap::new();
        move |(input, frontier), output| {
            input.for_each_stamp(|stamp, data| {
                if let Some(capability) = stamp.retain_least(output.output_index()) {
                    let (_, counts) = pending.entry(*capability.time()).or_insert_with(|| (capability, Counts::new()));
                    for (word, count) in data.flat_map(|batch| batch.drain(..)).flat_map(&explode) {
                        *counts.entry(word).or_default() += count;
                    }
                }
            });
            pending.retain(|time, (capability, counts)| {
                if frontier.less_equal(time) {
                    return true;
                }
                output.session(capability).give_iterator(counts.drain());
                false
            });
        }
    })
}
