//! A job's operators checked against the settings in effect, once the command line
//! (`--batch`, `--checkpoint`) has overridden the attribute's defaults: at start and in
//! `--explain`, with errors that name the flag to change.
//!
//! `#[stream_job]` checks at compile time only what it can decide for every run (a window
//! whose literal durations are not whole batches of the attribute's own `batch`). What the
//! command line can change is handed to the runtime as [`Requirements`]: the stateful
//! operators it saw, which need a checkpoint directory, and the literal durations of windows
//! over a stream that produces a batch every batch interval, which must be multiples of it.
//! `--explain` checks those; the start checks them and then the job's built graph, which also
//! covers what the macro cannot see (operators in helper functions, durations computed at run
//! time).

use std::fmt;
#[cfg(feature = "cli")]
use std::process::ExitCode;

#[cfg(feature = "cli")]
use clap::FromArgMatches as _;

#[cfg(feature = "cli")]
use crate::__private::JobSpec;
#[cfg(feature = "cli")]
use crate::context::{Driver, StreamingContext};
#[cfg(feature = "cli")]
use crate::error::StreamingError;
#[cfg(feature = "cli")]
use crate::job::{JobArgs, StreamJob};
use crate::time::Duration;

/// What a job needs of the settings the command line can change, as `#[stream_job]` saw it
/// (generated code fills it in).
#[derive(Debug, Clone, Copy, Default)]
pub struct Requirements {
    /// The stateful operators (each needs a checkpoint directory), when the job's body does
    /// not set the directory itself.
    pub stateful: &'static [&'static str],
    /// Windows over a stream that produces a batch every batch interval.
    pub windows: &'static [BatchWindow],
}

/// A window over a stream that produces a batch every batch interval, with its literal
/// durations: each must be a multiple of the batch interval in effect.
#[derive(Debug, Clone, Copy)]
pub struct BatchWindow {
    /// The operator (`reduce_by_key_and_window`).
    pub op: &'static str,
    /// The window duration in milliseconds, when a literal.
    pub window_ms: Option<i64>,
    /// The slide duration in milliseconds, when a literal.
    pub slide_ms: Option<i64>,
}

/// The settings a job runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The batch interval.
    pub batch: Duration,
    /// Whether `--batch` set it (else it is the job's default).
    pub batch_from_flag: bool,
    /// The worker threads.
    pub threads: usize,
    /// The checkpoint directory, if any (`--checkpoint`, else the attribute's `checkpoint`).
    pub checkpoint: Option<String>,
}

#[cfg(feature = "cli")]
impl Effective {
    /// The settings of job `spec` run with options `args`.
    pub fn of(spec: &JobSpec, args: &JobArgs) -> Result<Effective, StreamingError> {
        Ok(Effective {
            batch: args.batch.unwrap_or(Duration::millis(spec.batch_ms)),
            batch_from_flag: args.batch.is_some(),
            threads: args.threads(spec.threads)?,
            checkpoint: args.checkpoint.clone().or_else(|| spec.checkpoint.map(str::to_string)),
        })
    }
}

/// A job that cannot run with the settings in effect, and the flag that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingsError {
    /// A window or slide duration is not a multiple of the batch interval.
    WindowNotMultipleOfBatch {
        /// The operator, when known (`None` for a window the macro could not see).
        op: Option<String>,
        /// `"window"` or `"slide"`.
        what: &'static str,
        /// The offending duration.
        duration: Duration,
        /// The batch interval in effect.
        batch: Duration,
        /// Whether `--batch` set the batch interval.
        batch_from_flag: bool,
    },
    /// Stateful operators without a checkpoint directory.
    CheckpointRequired {
        /// The stateful operators.
        ops: Vec<String>,
    },
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError::WindowNotMultipleOfBatch { op, what, duration, batch, batch_from_flag } => {
                let of = op.as_ref().map_or_else(|| "a window".to_string(), |op| format!("`{op}`"));
                let interval = if *batch_from_flag {
                    format!("`--batch` ({batch})")
                } else {
                    format!("the batch interval ({batch}, the job's default)")
                };
                write!(
                    f,
                    "the {what} duration of {of} ({duration}) is not a multiple of {interval}: windows are made of \
                     whole batches; pass a `--batch` that divides it"
                )
            }
            SettingsError::CheckpointRequired { ops } => {
                let ops: Vec<String> = ops.iter().map(|o| format!("`{o}`")).collect();
                write!(
                    f,
                    "{} keep{} state across batches, which needs a checkpoint directory: pass `--checkpoint DIR` \
                     (or set `checkpoint = \"DIR\"` in `#[stream_job(..)]`)",
                    ops.join(", "),
                    if ops.len() == 1 { "s" } else { "" }
                )
            }
        }
    }
}

impl std::error::Error for SettingsError {}

impl Requirements {
    /// Every problem of these requirements under `settings`.
    ///
    /// ```
    /// use stream_runtime::__private::{BatchWindow, Effective, Requirements};
    /// use stream_runtime::Duration;
    /// let requires = Requirements {
    ///     stateful: &["update_state_by_key"],
    ///     windows: &[BatchWindow { op: "window", window_ms: Some(4000), slide_ms: Some(2000) }],
    /// };
    /// let settings = Effective { batch: Duration::seconds(3), batch_from_flag: true, threads: 2, checkpoint: None };
    /// let errors: Vec<String> = requires.check(&settings).iter().map(|e| e.to_string()).collect();
    /// assert!(errors[0].starts_with("the window duration of `window` (4000 ms) is not a multiple of `--batch` (3000 ms)"));
    /// assert!(errors[2].contains("pass `--checkpoint DIR`"));
    /// ```
    pub fn check(&self, settings: &Effective) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        for w in self.windows {
            for (what, ms) in [("window", w.window_ms), ("slide", w.slide_ms)] {
                let Some(duration) = ms.map(Duration::millis) else { continue };
                if !duration.is_multiple_of(settings.batch) {
                    errors.push(SettingsError::WindowNotMultipleOfBatch {
                        op: Some(w.op.to_string()),
                        what,
                        duration,
                        batch: settings.batch,
                        batch_from_flag: settings.batch_from_flag,
                    });
                }
            }
        }
        if !self.stateful.is_empty() && settings.checkpoint.is_none() {
            errors
                .push(SettingsError::CheckpointRequired { ops: self.stateful.iter().map(|s| s.to_string()).collect() });
        }
        errors
    }
}

/// At start, before anything runs: the job's requirements, then its built graph on `ssc`,
/// checked against `settings`. Errors the command line can fix name its flag.
#[cfg(feature = "cli")]
pub(crate) fn check_start(
    requires: &Requirements,
    ssc: &StreamingContext,
    settings: &Effective,
) -> Result<(), StreamingError> {
    if let Some(e) = requires.check(settings).into_iter().next() {
        return Err(e.into());
    }
    ssc.validate(Driver::RealTime).map_err(|e| match e {
        StreamingError::NotMultipleOfParentSlide { what, duration, parent }
        | StreamingError::ReducedWindowNotMultipleOfParentSlide { what, duration, parent }
            if parent == settings.batch =>
        {
            SettingsError::WindowNotMultipleOfBatch {
                op: None,
                what,
                duration,
                batch: parent,
                batch_from_flag: settings.batch_from_flag,
            }
            .into()
        }
        StreamingError::CheckpointDirectoryNotSet => {
            SettingsError::CheckpointRequired { ops: ssc.graph.borrow().needs_checkpoint.clone() }.into()
        }
        e => e,
    })
}

/// What `--explain` prints: the plan, the settings in effect and what is wrong with the job
/// under them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The text printed: the plan, a `settings:` line, and an `error:` line per error.
    pub text: String,
    /// Why the job would not start with these settings (empty when it would).
    pub errors: Vec<SettingsError>,
}

/// What `--explain` prints for job `spec` run with options `args` when the job cannot be
/// built (its arguments left out): the plan the macro read from the source; an error when the
/// options give no settings at all (an unsupported `--master`).
#[cfg(feature = "cli")]
pub fn explain_text(spec: &JobSpec, args: &JobArgs) -> Result<Explained, StreamingError> {
    explain_plan(spec, args, None)
}

/// What `--explain` prints: `runtime`, the runtime's description of the graph the job built
/// ([`StreamingContext::explain`], the plan the Streaming page shows), or when the job could
/// not be built the macro's plan under a line saying so; then the settings and errors.
#[cfg(feature = "cli")]
pub(crate) fn explain_plan(
    spec: &JobSpec,
    args: &JobArgs,
    runtime: Option<String>,
) -> Result<Explained, StreamingError> {
    let mut text = match runtime {
        Some(plan) => plan,
        None => format!(
            "(the job's arguments are missing: its plan as read from the source; pass them for the plan the runtime runs)\n{}",
            spec.plan
        ),
    };
    let settings = Effective::of(spec, args)?;
    let batch_flag = if settings.batch_from_flag { " (--batch)" } else { "" };
    let checkpoint = match (&settings.checkpoint, args.checkpoint.is_some()) {
        (Some(dir), true) => format!("{dir} (--checkpoint)"),
        (Some(dir), false) => dir.clone(),
        (None, _) => "none".to_string(),
    };
    text.push_str(&format!(
        "settings: batch {}{batch_flag}, {} threads, checkpoint {checkpoint}\n",
        settings.batch, settings.threads
    ));
    let errors = spec.requires.check(&settings);
    for e in &errors {
        text.push_str(&format!("error: {e}\n"));
    }
    Ok(Explained { text, errors })
}

/// `--explain`: prints [`explain_plan`]; fails when the job could not start with these
/// settings.
#[cfg(feature = "cli")]
pub(crate) fn explain(spec: &JobSpec, args: &JobArgs, runtime: Option<String>) -> ExitCode {
    match explain_plan(spec, args, runtime) {
        Ok(explained) => {
            print!("{}", explained.text);
            if explained.errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--explain` of a [`StreamJob`] (feature `cli`).
#[cfg(feature = "cli")]
impl StreamJob {
    /// What `--explain` prints for command line `argv` (the program name first; positional
    /// arguments may be left out): the plan (the runtime's description of the graph the job
    /// builds, or without the arguments to build it the macro's), the settings in effect, and
    /// the errors the job would stop with at start because of them, each naming the flag that
    /// fixes it.
    ///
    /// ```
    /// use stream_runtime::prelude::*;
    ///
    /// #[stream_job(batch = "1s")]
    /// fn trending(ssc: &mut StreamingContext, dir: String) {
    ///     ssc.text_file_stream(&dir)
    ///         .map(|word| (word, 1))
    ///         .reduce_by_key_and_window(|a, b| a + b, Duration::seconds(4), Duration::seconds(2))
    ///         .update_state_by_key(|new: Vec<i32>, old: Option<i32>| Some(old.unwrap_or(0) + new.iter().sum::<i32>()))
    ///         .print();
    /// }
    ///
    /// // With its arguments, the plan is the runtime's: the graph the job builds (nothing
    /// // started), as the Streaming page shows it.
    /// let built = TRENDING.explain(["trending", "/in", "--checkpoint", "/tmp/ckpt"]).unwrap();
    /// assert!(built.text.contains("\ninput 1: text_file_stream(/in)\nstage 1 <- input 1: map -> reduce_by_key\n"), "{}", built.text);
    /// assert!(built.text.contains("\nstateful 2: update_state_by_key <- group_by_key (stage 2)\n"), "{}", built.text);
    /// // Without, the plan the macro read from the source, under a line that says so.
    /// let ok = TRENDING.explain(["trending", "--checkpoint", "/tmp/ckpt"]).unwrap();
    /// assert!(ok.text.starts_with("(the job's arguments are missing"));
    /// assert!(ok.errors.is_empty());
    /// assert!(ok.text.ends_with("settings: batch 1000 ms, 2 threads, checkpoint /tmp/ckpt (--checkpoint)\n"));
    /// let bad = TRENDING.explain(["trending", "--batch", "3s"]).unwrap();
    /// assert_eq!(bad.errors.len(), 3);
    /// assert!(bad.text.contains(
    ///     "error: the window duration of `reduce_by_key_and_window` (4000 ms) is not a multiple of `--batch` (3000 ms)"
    /// ));
    /// assert!(bad.text.ends_with("which needs a checkpoint directory: pass `--checkpoint DIR` (or set `checkpoint = \"DIR\"` in `#[stream_job(..)]`)\n"));
    /// ```
    pub fn explain<I, T>(&self, argv: I) -> Result<Explained, StreamingError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
        argv.push("--explain".into());
        let usage = |e: clap::Error| StreamingError::InvalidConfig(e.to_string());
        let matches = self.command().try_get_matches_from(argv).map_err(usage)?;
        let args = JobArgs::from_arg_matches(&matches).map_err(usage)?;
        explain_plan(&self.spec, &args, self.runtime_plan(&matches, &args))
    }
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    use super::*;

    fn settings(batch_ms: i64, checkpoint: Option<&str>) -> Effective {
        Effective {
            batch: Duration::millis(batch_ms),
            batch_from_flag: true,
            threads: 1,
            checkpoint: checkpoint.map(str::to_string),
        }
    }

    #[test]
    fn requirements_pass_with_fitting_settings() {
        let requires = Requirements {
            stateful: &["map_with_state"],
            windows: &[BatchWindow { op: "window", window_ms: Some(6000), slide_ms: None }],
        };
        assert!(requires.check(&settings(2000, Some("/c"))).is_empty());
        let errors = requires.check(&settings(4000, None));
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(
            errors[1].to_string(),
            "`map_with_state` keeps state across batches, which needs a checkpoint directory: pass `--checkpoint \
             DIR` (or set `checkpoint = \"DIR\"` in `#[stream_job(..)]`)"
        );
    }

    #[test]
    fn the_built_graph_is_checked_with_errors_naming_the_flags() {
        let ssc = StreamingContext::new(Duration::seconds(3));
        let queue = crate::BatchQueue::<(u8, i32)>::new();
        let pairs = ssc.queue_stream(queue, true, None);
        pairs.clone().window(Duration::seconds(4), Duration::seconds(3)).print();
        pairs.running_reduce_by_key(|a, b| a + b).print_state(1);
        let none = Requirements::default();
        let e = check_start(&none, &ssc, &settings(3000, None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the window duration of a window (4000 ms) is not a multiple of `--batch` (3000 ms): windows are made of \
             whole batches; pass a `--batch` that divides it"
        );
        let mut ok = StreamingContext::new(Duration::seconds(2));
        ok.checkpoint("/unused");
        let queue = crate::BatchQueue::<(u8, i32)>::new();
        ok.queue_stream(queue, true, None).running_reduce_by_key(|a, b| a + b).print_state(1);
        assert!(check_start(&none, &ok, &settings(2000, Some("/unused"))).is_ok());
        let e = check_start(&none, &StreamingContext::new(Duration::seconds(1)), &settings(1000, None)).unwrap_err();
        assert!(matches!(e, StreamingError::NoOutputOperations), "{e:?}");
    }

    #[test]
    fn a_stateful_graph_without_a_checkpoint_names_its_operators() {
        let ssc = StreamingContext::new(Duration::seconds(1));
        let queue = crate::BatchQueue::<(u8, i32)>::new();
        ssc.queue_stream(queue, true, None).running_reduce_by_key(|a, b| a + b).print_state(1);
        let e = check_start(&Requirements::default(), &ssc, &settings(1000, None)).unwrap_err();
        assert!(
            matches!(&e, StreamingError::Settings(SettingsError::CheckpointRequired { ops }) if ops == &["running_reduce_by_key"]),
            "{e:?}"
        );
    }
}
