//! [`StreamJob`]: the entry `#[stream_job]` generates for a job function.

use super::simulation::Simulation;
use super::spec::{ArgError, Args, Build, JobSpec, ParamKind};
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
/// [`run`](Self::run) parses the function's parameters as positional arguments, or as named
/// options for those marked `#[opt]` / `#[opt(default = "..")]` (each with `FromStr`), and the
/// options every job has (`--batch`, `--threads`, `--master local[N]`,
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

    /// Builds the job on `ssc` with arguments `args`: the command line's positional arguments
    /// and the job's own named options (`--window 6s`; an absent one takes its default), but
    /// not the options every job has (`--batch`: configure `ssc` instead). For tests and for
    /// embedding the job in a larger program.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    /// #[stream_job]
    /// fn numbers(ssc: &mut StreamingContext, n: usize, #[opt(default = "1")] times: usize) {
    ///     let queue = BatchQueue::new();
    ///     queue.push((0..n * times).collect::<Vec<_>>());
    ///     ssc.queue_stream(queue, true, None).count().print();
    /// }
    /// let mut ssc = StreamingContext::new(Duration::millis(100));
    /// NUMBERS.build(&mut ssc, ["3"]).unwrap();
    /// NUMBERS.build(&mut ssc, ["3", "--times", "2"]).unwrap();
    /// assert!(NUMBERS.build(&mut ssc, ["three"]).is_err());
    /// let err = NUMBERS.build(&mut ssc, ["3", "--times=twice"]).unwrap_err();
    /// assert!(err.to_string().contains("invalid value \"twice\" for --times: "), "{err}");
    /// ```
    pub fn build<S: AsRef<str>>(
        &self,
        ssc: &mut StreamingContext,
        args: impl IntoIterator<Item = S>,
    ) -> Result<(), StreamingError> {
        let args = self.args(args)?;
        (self.build)(ssc, &args).map_err(|e| StreamingError::InvalidConfig(e.to_string()))
    }

    /// A simulation of the job with arguments `args` (positional arguments and the job's
    /// named options, as for [`build`](Self::build)): its text sources read in-memory batches
    /// and its prints are captured (see [`Simulation`]).
    pub fn simulate<S: AsRef<str>>(&self, args: impl IntoIterator<Item = S>) -> Simulation {
        Simulation::new(*self, args.into_iter().map(|s| s.as_ref().to_string()).collect())
    }

    /// The values of the job's parameters from `args`: its positional arguments in order, and
    /// its named options as `--name VALUE` or `--name=VALUE` anywhere (an absent option takes
    /// its default); each value is checked with its type's `FromStr`.
    pub(super) fn args<S: AsRef<str>>(&self, args: impl IntoIterator<Item = S>) -> Result<Args, StreamingError> {
        let (name, params) = (self.spec.name, self.spec.params);
        let invalid = StreamingError::InvalidConfig;
        let mut positional = Vec::new();
        let mut options: Vec<Option<String>> = vec![None; params.len()];
        let mut given = args.into_iter().map(|s| s.as_ref().to_string());
        while let Some(arg) = given.next() {
            if arg == "--" {
                positional.extend(given.by_ref());
                break;
            }
            let Some(flag) = arg.strip_prefix("--") else {
                positional.push(arg);
                continue;
            };
            let (long, inline) = match flag.split_once('=') {
                Some((long, value)) => (long, Some(value.to_string())),
                None => (flag, None),
            };
            let Some(i) = params.iter().position(|p| p.long() == Some(long)) else {
                let known: Vec<String> = params.iter().filter_map(|p| p.long()).map(|l| format!("--{l}")).collect();
                return Err(invalid(format!("job {name} has no option --{long} (its options: {})", known.join(", "))));
            };
            let value =
                inline.or_else(|| given.next()).ok_or_else(|| invalid(format!("option --{long} needs a value")))?;
            options[i] = Some(value);
        }
        let names: Vec<&str> = params.iter().filter(|p| p.kind == ParamKind::Positional).map(|p| p.name).collect();
        if positional.len() != names.len() {
            return Err(invalid(format!(
                "job {name} takes {} argument(s) ({}), got {}",
                names.len(),
                names.join(", "),
                positional.len()
            )));
        }
        let mut positional = positional.into_iter();
        let mut values = Vec::with_capacity(params.len());
        for (p, option) in params.iter().zip(options) {
            let (value, what) = match p.kind {
                ParamKind::Positional => (positional.next().unwrap_or_default(), p.name.to_string()),
                ParamKind::Option { long, default } => {
                    let value = option
                        .or_else(|| default.map(str::to_string))
                        .ok_or_else(|| invalid(format!("job {name} needs option --{long}")))?;
                    (value, format!("--{long}"))
                }
            };
            (p.check)(&value).map_err(|e| invalid(format!("invalid value {value:?} for {what}: {e}")))?;
            values.push(value);
        }
        Ok(Args { values })
    }
}
