//! [`Simulation`]: a job's own function run on in-memory input, its prints captured.

use std::cell::RefCell;
use std::sync::Arc;

use parking_lot::Mutex;

use super::stream_job::StreamJob;
use crate::chain::Chain;
use crate::context::StreamingContext;
use crate::data::Data;
use crate::error::StreamingError;
use crate::executor::Stepped;
use crate::show::Show;
use crate::sources::{register, vec::VecSource};
use crate::str::Str;
use crate::stream::DStream;
use crate::testing::INPUT_PARTITIONS;
use crate::time::{Duration, Time};

/// A text source of a job (`socket_text_stream`, `text_file_stream`): `real` in a job, the next
/// in-memory input in a [`Simulation`].
pub fn text_source<'a>(
    ctx: &'a StreamingContext,
    real: impl FnOnce(&'a StreamingContext) -> DStream<'a, Str>,
) -> DStream<'a, Str> {
    match current_kit() {
        None => real(ctx),
        Some(kit) => {
            let input = {
                let mut inputs = kit.inputs.lock();
                if inputs.is_empty() {
                    Vec::new()
                } else {
                    inputs.remove(0)
                }
            };
            register(ctx, VecSource::new(input.into_iter().map(Some).collect(), INPUT_PARTITIONS))
        }
    }
}

/// `print_n(num)` of a job: prints, or in a [`Simulation`] captures what would be printed.
pub fn print<T: Data + Show, C: Chain<Out = T>>(stream: DStream<'_, T, C>, num: usize) {
    match current_kit() {
        None => stream.print_n(num),
        Some(kit) => {
            let output = {
                let mut n = kit.prints.lock();
                *n += 1;
                *n - 1
            };
            let sink = Arc::clone(&kit.printed);
            stream.foreach_batch(move |batch, time| {
                let records = batch.iter().map(Show::show).collect();
                sink.lock().push(Printed { output, time, num, records });
            });
        }
    }
}

/// The inputs and captured prints of the simulation building a job on this thread.
#[derive(Default)]
struct Kit {
    inputs: Mutex<Vec<Vec<Vec<Str>>>>,
    prints: Mutex<usize>,
    printed: Arc<Mutex<Vec<Printed>>>,
}

thread_local! {
    static KIT: RefCell<Option<Arc<Kit>>> = const { RefCell::new(None) };
}

fn current_kit() -> Option<Arc<Kit>> {
    KIT.with(|k| k.borrow().clone())
}

/// Installs a kit for the current thread until dropped.
struct KitGuard;

impl KitGuard {
    fn install(kit: Arc<Kit>) -> KitGuard {
        KIT.with(|k| *k.borrow_mut() = Some(kit));
        KitGuard
    }
}

impl Drop for KitGuard {
    fn drop(&mut self) {
        KIT.with(|k| *k.borrow_mut() = None);
    }
}

/// A run of a job's own function on in-memory input, on a manual clock, one batch after the
/// other (as the test kit runs pipelines): each text source the job creates
/// (`socket_text_stream`, `text_file_stream`) reads the next [`input`](Self::input) instead,
/// and each `print` / `print_n` of a stream chain in the job's body is captured instead of
/// printed. Other sources and outputs (`queue_stream`, `foreach_batch`, ...) run as written.
#[derive(Debug, Clone)]
pub struct Simulation {
    job: StreamJob,
    args: Vec<String>,
    threads: usize,
    batch: Duration,
    inputs: Vec<Vec<Vec<Str>>>,
    batches: Option<usize>,
}

impl Simulation {
    pub(super) fn new(job: StreamJob, args: Vec<String>) -> Simulation {
        let (threads, batch) = (job.spec.threads, job.batch());
        Simulation { job, args, threads, batch, inputs: Vec::new(), batches: None }
    }

    /// Sets the worker threads (default: the job's).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// Sets the batch interval (default: the job's).
    pub fn batch(mut self, batch: Duration) -> Self {
        self.batch = batch;
        self
    }

    /// Adds the lines of the next text source the job creates, one `Vec` per batch: batch `i`
    /// (0-based) is the data at time `(i + 1) * batch`.
    pub fn input<L: Into<Str>>(mut self, batches: Vec<Vec<L>>) -> Self {
        self.inputs.push(batches.into_iter().map(|b| b.into_iter().map(Into::into).collect()).collect());
        self
    }

    /// Runs this many batches (default: as many as the longest input has).
    pub fn batches(mut self, n: usize) -> Self {
        self.batches = Some(n);
        self
    }

    /// Builds the job and runs its batches. Fails when the arguments do not parse or the job's
    /// graph is invalid; errors of single batches are in [`Simulated::errors`].
    pub fn run(self) -> Result<Simulated, StreamingError> {
        let args = self.job.args(&self.args)?;
        let n = self.batches.unwrap_or_else(|| self.inputs.iter().map(Vec::len).max().unwrap_or(0));
        let mut ssc = Stepped::context(self.batch, self.threads.max(1)).with_name(self.job.spec.name);
        let kit = Arc::new(Kit { inputs: Mutex::new(self.inputs), ..Kit::default() });
        {
            let _guard = KitGuard::install(Arc::clone(&kit));
            (self.job.build)(&mut ssc, &args).map_err(|e| StreamingError::InvalidConfig(e.to_string()))?;
        }
        let errors = Stepped::new(ssc)?.run(n);
        let printed = std::mem::take(&mut *kit.printed.lock());
        Ok(Simulated { printed, errors })
    }
}

/// What a [`Simulation`] captured.
#[derive(Debug)]
pub struct Simulated {
    /// Every batch the job's prints would have printed, in the order printed.
    pub printed: Vec<Printed>,
    /// The errors of batches that failed.
    pub errors: Vec<StreamingError>,
}

/// One batch a `print` / `print_n` would have printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printed {
    /// Which print of the job (0 for the first one registered).
    pub output: usize,
    /// The batch's time.
    pub time: Time,
    /// How many records the print shows.
    pub num: usize,
    /// All the batch's records, formatted as `print` formats them (`(word,3)`), in batch order.
    pub records: Vec<String>,
}

impl Printed {
    /// The text `print` would have written, in Spark's format.
    pub fn text(&self) -> String {
        crate::outputs::format_batch(self.time, self.records.iter(), self.num)
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::{ArgError, Args, JobSpec};
    use super::*;

    /// A stateful job without a checkpoint directory; it records the directory it sees.
    fn running_counts(ssc: &mut StreamingContext, _: &Args) -> Result<(), ArgError> {
        SEEN_DIR.with(|d| *d.borrow_mut() = Some(ssc.conf().checkpoint_dir.clone()));
        let lines = text_source(ssc, |ctx| ctx.queue_stream(crate::BatchQueue::new(), true, None));
        print(lines.map(|w| (w, 1)).running_reduce_by_key(|a, b| a + b).mapped(), 10);
        Ok(())
    }

    thread_local! {
        static SEEN_DIR: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
    }

    const SPEC: JobSpec = JobSpec {
        name: "running_counts",
        about: "",
        batch_ms: 1000,
        threads: 2,
        checkpoint: None,
        params: &[],
        plan: "",
        requires: crate::settings::Requirements { stateful: &["running_reduce_by_key"], windows: &[] },
    };

    #[test]
    fn a_stateful_simulation_needs_no_checkpoint_directory() {
        let job = StreamJob::__new(SPEC, running_counts);
        let out = job.simulate::<&str>([]).input(vec![vec!["a", "b"], vec!["a"]]).run().unwrap();
        assert_eq!(SEEN_DIR.with(|d| d.borrow().clone()), Some(None), "no directory is invented");
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let mut first = out.printed[0].records.clone();
        first.sort();
        assert_eq!(first, ["(a,1)", "(b,1)"]);
        // The state carried over: the second batch's `a` counts both.
        assert_eq!(out.printed[1].records, ["(a,2)"]);
        // Started for real, the same job is refused: the real-time driver checkpoints state.
        let mut ssc = StreamingContext::new(Duration::seconds(1));
        job.build::<&str>(&mut ssc, []).unwrap();
        assert!(matches!(ssc.start(), Err(StreamingError::CheckpointDirectoryNotSet)));
    }
}
