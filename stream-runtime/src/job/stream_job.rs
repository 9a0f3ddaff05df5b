//! [`StreamJob`]: the entry `#[stream_job]` generates for a job function.

use super::simulation::Simulation;
use super::spec::{ArgError, Args, Build, JobSpec};
use crate::context::StreamingContext;
use crate::error::StreamingError;
use crate::time::Duration;

/// A job made by `#[stream_job]`: the job function with its command line.
///
/// `#[stream_job]` on `fn network_wordcount(ssc: &mut StreamingContext, host: String, port: u16)`
/// keeps the function and adds `const NETWORK_WORDCOUNT: StreamJob`, so a binary is one line:
///
/// ```no_run
/// # use stream_runtime::prelude::*;
/// # #[stream_job(batch = "1s")]
/// # fn network_wordcount(ssc: &mut StreamingContext, host: String, port: u16) {
/// #     ssc.socket_text_stream(&host, port).print();
/// # }
/// # #[cfg(feature = "cli")]
/// fn main() -> std::process::ExitCode {
///     NETWORK_WORDCOUNT.run()
/// }
/// # #[cfg(not(feature = "cli"))]
/// # fn main() {}
/// ```
///
/// [`run`](Self::run) parses the function's parameters as positional arguments (each with
/// `FromStr`) and the options every job has (`--batch`, `--threads`, `--master local[N]`,
/// `--duration`, `--checkpoint`, `--explain`), then builds the job and runs it until
/// `--duration` elapses or Ctrl-C / SIGTERM asks for a graceful stop.
/// [`simulate`](Self::simulate) runs the same job function on in-memory input instead:
///
/// ```
/// use stream_runtime::prelude::*;
///
/// /// Counts words in new files in `dir`.
/// #[stream_job(batch = "2s")]
/// fn word_count(ssc: &mut StreamingContext, dir: String) {
///     ssc.text_file_stream(&dir)
///         .flat_map(|line| line.split(' '))
///         .map(|word| (word, 1))
///         .reduce_by_key(|a, b| a + b)
///         .print();
/// }
///
/// assert_eq!(WORD_COUNT.name(), "word_count");
/// assert!(WORD_COUNT.plan().starts_with("job word_count (batch 2000 ms, 2 threads)\n"));
/// let out = WORD_COUNT.simulate(["/not/read"]).input(vec![vec!["to be or", "not to be"]]).run().unwrap();
/// let mut counts = out.printed[0].records.clone();
/// counts.sort();
/// assert_eq!(counts, ["(be,2)", "(not,1)", "(or,1)", "(to,2)"]);
/// assert_eq!(out.printed[0].time, Time::from_millis(2000));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct StreamJob {
    pub(crate) spec: JobSpec,
    pub(super) build: Build,
}

impl StreamJob {
    /// The entry of a job (generated code only).
    #[doc(hidden)]
    pub const fn __new(spec: JobSpec, build: Build) -> StreamJob {
        StreamJob { spec, build }
    }

    /// The entry emitted beside compile errors: never run, as the crate does not compile.
    #[doc(hidden)]
    pub const fn __fallback(name: &'static str) -> StreamJob {
        fn nothing(_: &mut StreamingContext, _: &Args) -> Result<(), ArgError> {
            Ok(())
        }
        StreamJob {
            spec: JobSpec {
                name,
                about: "",
                batch_ms: 1000,
                threads: 1,
                checkpoint: None,
                params: &[],
                plan: "",
                requires: crate::settings::Requirements { stateful: &[], windows: &[] },
            },
            build: nothing,
        }
    }

    /// The job's name (the function's, unless the attribute sets `name`).
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// The job's plan, as `--explain` prints it.
    pub fn plan(&self) -> &'static str {
        self.spec.plan
    }

    /// The default batch interval (attribute `batch`, else one second).
    pub fn batch(&self) -> Duration {
        Duration::millis(self.spec.batch_ms)
    }

    /// Builds the job on `ssc` with positional arguments `args` (the command line's, without
    /// options), for tests and for embedding the job in a larger program.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// #[stream_job]
    /// fn numbers(ssc: &mut StreamingContext, n: usize) {
    ///     let queue = BatchQueue::new();
    ///     queue.push((0..n).collect::<Vec<_>>());
    ///     ssc.queue_stream(queue, true, None).count().print();
    /// }
    /// let mut ssc = StreamingContext::new(Duration::millis(100));
    /// NUMBERS.build(&mut ssc, ["3"]).unwrap();
    /// assert!(NUMBERS.build(&mut ssc, ["three"]).is_err());
    /// ```
    pub fn build<S: AsRef<str>>(
        &self,
        ssc: &mut StreamingContext,
        args: impl IntoIterator<Item = S>,
    ) -> Result<(), StreamingError> {
        let args = self.args(args)?;
        (self.build)(ssc, &args).map_err(|e| StreamingError::InvalidConfig(e.to_string()))
    }

    /// A simulation of the job with positional arguments `args`: its text sources read
    /// in-memory batches and its prints are captured (see [`Simulation`]).
    pub fn simulate<S: AsRef<str>>(&self, args: impl IntoIterator<Item = S>) -> Simulation {
        Simulation::new(*self, args.into_iter().map(|s| s.as_ref().to_string()).collect())
    }

    pub(super) fn args<S: AsRef<str>>(&self, args: impl IntoIterator<Item = S>) -> Result<Args, StreamingError> {
        let values: Vec<String> = args.into_iter().map(|s| s.as_ref().to_string()).collect();
        if values.len() != self.spec.params.len() {
            let names: Vec<&str> = self.spec.params.iter().map(|p| p.name).collect();
            return Err(StreamingError::InvalidConfig(format!(
                "job {} takes {} argument(s) ({}), got {}",
                self.spec.name,
                names.len(),
                names.join(", "),
                values.len()
            )));
        }
        for (p, v) in self.spec.params.iter().zip(&values) {
            (p.check)(v)
                .map_err(|e| StreamingError::InvalidConfig(format!("invalid value {v:?} for {}: {e}", p.name)))?;
        }
        Ok(Args { values })
    }
}
