//! Running a job from a binary: common command-line options, logging, signals, exit codes
//! (feature `cli`).

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use clap::{Arg, ArgAction, Args as _, Command, FromArgMatches as _};

use super::spec::{Args, ParamKind};
use super::stream_job::StreamJob;
use crate::context::StreamingContext;
use crate::error::StreamingError;
use crate::time::Duration;

/// The options every Sluice job accepts (flatten them into the job's own `clap` parser).
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     job: stream_runtime::job::JobArgs,
/// }
/// let cli = Cli::parse_from(["job", "--batch", "2s", "--master", "local[4]", "--duration", "10"]);
/// assert_eq!(cli.job.threads(2).unwrap(), 4);
/// assert_eq!(cli.job.batch, Some(stream_runtime::Duration::seconds(2)));
/// assert_eq!(cli.job.duration, Some(stream_runtime::Duration::seconds(10)));
/// ```
// The command-line text comes from the fields' docs; `about = None` keeps these docs out of
// the jobs' `--help`. Negative numbers parse as values, so `--threads -1` is refused by the
// value's parser (with why), not by clap as an unknown option.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(version, about = None, long_about = None, allow_negative_numbers = true)]
pub struct JobArgs {
    /// Batch interval, e.g. 1s, 500ms, 2m.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub batch: Option<Duration>,
    /// Worker threads.
    #[arg(long, value_name = "N", conflicts_with = "master")]
    pub threads: Option<usize>,
    /// Spark-style master, `local`, `local[N]` or `local[*]`.
    #[arg(long, value_name = "MASTER")]
    pub master: Option<String>,
    /// Stop by itself after this long (e.g. 30 or 30s).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Checkpoint directory (local path or hdfs:// URL).
    #[arg(long, value_name = "DIR", value_parser = crate::args::parse_output_dir)]
    pub checkpoint: Option<String>,
    /// Print the job's plan and exit.
    #[arg(long)]
    pub explain: bool,
    /// The Streaming page, JSON API and /metrics: `off`, a port or an address
    /// [default: 127.0.0.1:4040, or the next free port].
    #[cfg(feature = "ui")]
    #[arg(long, value_name = "ADDR")]
    pub ui: Option<crate::ui::UiOption>,
    /// Completed batches the Streaming page keeps (Spark's
    /// `spark.streaming.ui.retainedBatches`) [default: 1000].
    #[cfg(feature = "ui")]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub ui_retained_batches: Option<u32>,
    /// Cluster mode: how many processes run this job (with --process and --hosts).
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "N", help_heading = "Cluster")]
    pub processes: Option<usize>,
    /// Cluster mode: this process's index, 0 to N-1 (process 0 drives the job).
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "I", help_heading = "Cluster")]
    pub process: Option<usize>,
    /// Cluster mode: a file of `host:port` lines, one per process, in process order.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "FILE", help_heading = "Cluster")]
    pub hosts: Option<std::path::PathBuf>,
    /// Start N processes of this job on this machine, wired together on loopback, their
    /// output forwarded, stopped together.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "N", help_heading = "Cluster")]
    pub local_cluster: Option<usize>,
    /// Cluster mode: batches a process may start before the first of them is done everywhere
    /// [default: 1].
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "K", help_heading = "Cluster", value_parser = clap::value_parser!(u16).range(1..))]
    pub in_flight: Option<u16>,
}

impl JobArgs {
    /// The thread count: `--threads`, else `--master local[N]`, else `default`.
    pub fn threads(&self, default: usize) -> Result<usize, StreamingError> {
        if let Some(n) = self.threads {
            return Ok(n);
        }
        match self.master.as_deref() {
            None => Ok(default),
            Some("local") => Ok(1),
            Some("local[*]") => Ok(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(default)),
            Some(m) => m
                .strip_prefix("local[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| {
                    StreamingError::InvalidConfig(format!("unsupported master {m:?}: use local, local[N] or local[*]"))
                }),
        }
    }

    /// A context configured from these options, with defaults for what they leave out.
    pub fn context(
        &self,
        name: &str,
        default_batch: Duration,
        default_threads: usize,
    ) -> Result<StreamingContext, StreamingError> {
        #[cfg(feature = "cluster")]
        let default_threads = self.default_threads_here(default_threads)?;
        let mut ssc = StreamingContext::new(self.batch.unwrap_or(default_batch))
            .with_threads(self.threads(default_threads)?)
            .with_name(name);
        if let Some(dir) = self.checkpoint_dir()? {
            ssc.checkpoint(dir);
        }
        #[cfg(feature = "ui")]
        let ssc =
            ssc.with_ui(self.ui.map_or_else(|| Some(crate::ui::UiConf::default()), crate::ui::UiOption::conf).map(
                |ui| crate::ui::UiConf {
                    retained_batches: self.ui_retained_batches.map_or(ui.retained_batches, |n| n as usize),
                    ..ui
                },
            ));
        #[cfg(feature = "cluster")]
        let ssc = ssc.with_cluster(self.member()?).with_batches_in_flight(self.in_flight.map_or(1, usize::from));
        Ok(ssc)
    }

    /// The checkpoint directory this process uses: `--checkpoint`, and in a cluster a directory
    /// of its own under it (`DIR/process-I-of-N`), where it keeps its state and, on process 0,
    /// the batch log; process 0 also writes the manifests under `DIR/manifests`. A directory
    /// written by another number of processes is taken over: the state is re-spread at start
    /// (see the book's cluster chapter).
    ///
    /// ```
    /// use clap::Parser;
    /// #[derive(Parser)]
    /// struct Cli {
    ///     #[command(flatten)]
    ///     job: stream_runtime::job::JobArgs,
    /// }
    /// let dir = tempfile::tempdir().unwrap();
    /// let ckpt = dir.path().join("ckpt").to_string_lossy().into_owned();
    /// let cli = Cli::parse_from(["job", "--checkpoint", &ckpt]);
    /// assert_eq!(cli.job.checkpoint_dir().unwrap(), Some(ckpt));
    /// ```
    pub fn checkpoint_dir(&self) -> Result<Option<String>, StreamingError> {
        let Some(dir) = &self.checkpoint else { return Ok(None) };
        #[cfg(feature = "cluster")]
        if let stream_cluster::Mode::Member(topology) = self.cluster_mode()? {
            return Ok(Some(crate::checkpoint::layout::process_dir(dir, topology.process, topology.processes())));
        }
        // Reads only: `--explain` must not create the directory.
        #[cfg(feature = "cluster")]
        if let Some(before) = crate::checkpoint::store::cluster_size(dir)? {
            return Err(StreamingError::InvalidConfig(format!(
                "the checkpoints in {dir} were written by a cluster of {before} processes; \
                 restart it as a cluster (--local-cluster N or --processes N, any N > 1)"
            )));
        }
        Ok(Some(dir.clone()))
    }

    /// This process's place in a cluster, when it is one process of several
    /// (`--processes/--process/--hosts`); `None` otherwise.
    #[cfg(feature = "cluster")]
    pub fn member(&self) -> Result<Option<stream_cluster::Topology>, StreamingError> {
        Ok(match self.cluster_mode()? {
            stream_cluster::Mode::Member(topology) => Some(topology),
            _ => None,
        })
    }

    /// The default thread count of this process: in a cluster whose processes all run on one
    /// machine (`--local-cluster N`, or a hosts file naming one host), cut so that processes x
    /// threads stays within the machine's cores (more busy threads than cores make timely's
    /// workers and ours spin against each other). Every process of such a cluster computes the
    /// same count, as the plan requires. `--threads` or `--master` overrides it.
    #[cfg(feature = "cluster")]
    fn default_threads_here(&self, default: usize) -> Result<usize, StreamingError> {
        let Some(topology) = self.member()? else { return Ok(default) };
        let one_machine = topology.hosts.iter().all(|h| h.host == topology.me().host);
        Ok(if one_machine { default.min(stream_cluster::default_threads(topology.processes())) } else { default })
    }

    /// The cluster flags, checked (hosts file read): one process, a local cluster to launch, or
    /// this process's place in a cluster.
    #[cfg(feature = "cluster")]
    pub fn cluster_mode(&self) -> Result<stream_cluster::Mode, StreamingError> {
        let flags = stream_cluster::ClusterArgs {
            processes: self.processes,
            process: self.process,
            hosts_file: self.hosts.clone(),
            local_cluster: self.local_cluster,
        };
        let mode = flags.validate().map_err(|e| StreamingError::refused("the cluster flags", e))?;
        if let (stream_cluster::Mode::Member(topology), Some(dir)) = (&mode, &self.checkpoint) {
            let machines: std::collections::BTreeSet<&str> = topology.hosts.iter().map(|h| h.host.as_str()).collect();
            if !dir.starts_with("hdfs://") && machines.len() > 1 {
                return Err(StreamingError::InvalidConfig(format!(
                    "the checkpoint directory {dir} is local but the processes run on {} machines; \
                     give shared storage (an hdfs:// URL)",
                    machines.len()
                )));
            }
        }
        Ok(mode)
    }

    /// `--local-cluster N`: starts N processes of this program with the same arguments (`argv`,
    /// the program name first), each given `--processes N --process I --hosts FILE`, forwards
    /// their output, waits for all and returns the exit status (that of the first that failed).
    /// `None` when this is not a local-cluster launch.
    #[cfg(feature = "cluster")]
    pub fn launch_local_cluster<I, T>(&self, argv: I) -> Option<ExitCode>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let processes = match self.cluster_mode() {
            Ok(stream_cluster::Mode::LocalCluster { processes }) => processes,
            Ok(_) => return None,
            Err(e) => {
                eprintln!("error: {}", report(&e));
                return Some(ExitCode::FAILURE);
            }
        };
        let args: Vec<String> = argv.into_iter().skip(1).map(|a| a.into().to_string_lossy().into_owned()).collect();
        let rest = match stream_cluster::ClusterArgs::parse_from(args) {
            Ok((_, rest)) => rest,
            Err(e) => {
                eprintln!("error: {}", report(&e));
                return Some(ExitCode::from(2));
            }
        };
        match stream_cluster::launch_local_cluster(processes, &rest) {
            Ok(()) => Some(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("error: {}", report(&e));
                Some(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1)))
            }
        }
    }
}

/// An error with its causes, each once: `error: a: b: c`, skipping a cause whose text the
/// message already holds.
///
/// ```
/// let e = std::io::Error::new(std::io::ErrorKind::Other, "disk full");
/// assert_eq!(stream_runtime::job::report(&e), "disk full");
/// ```
pub fn report(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// What is logged without `RUST_LOG`: warnings, but none of the HDFS client's, which repeats
/// a raw `IOError(Os { code: 111, .. })` for every call while a namenode is down, and only the
/// errors of the Kafka client, which warns at every connection attempt while the brokers are
/// away; the engine reports such failures itself, once, with the path and a count.
pub const DEFAULT_LOG_FILTER: &str = "warn,hdfs_native=off,rskafka=error";

/// Sends logs to standard error: warnings only by default (the job's own output stays
/// readable), more with `RUST_LOG` (e.g. `RUST_LOG=info` or `RUST_LOG=stream_runtime=debug`);
/// coloured only when standard error is a terminal.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Starts `ssc`, runs until `duration` elapses, the job stops, or SIGINT/SIGTERM asks for a
/// graceful stop (a second signal exits at once), then stops gracefully. A job with a
/// checkpoint directory continues from its newest checkpoint (as
/// [`StreamingContext::get_or_create`] makes it), and is refused if the directory holds
/// another job's checkpoints.
///
/// Exit status: 0 when every batch succeeded, 1 when a batch failed or the job could not
/// start (the error is printed), 130 after a second signal.
pub fn run_until_stopped(ssc: StreamingContext, duration: Option<Duration>) -> ExitCode {
    let ssc = match ssc.conf.checkpoint_dir.clone() {
        Some(dir) if ssc.recovery.is_none() => match StreamingContext::get_or_create(&dir, move || ssc) {
            Ok(ssc) => ssc,
            Err(e) => {
                eprintln!("error: {}", report(&e));
                return ExitCode::FAILURE;
            }
        },
        _ => ssc,
    };
    let signalled = crate::signals::stop_on_signals();
    let running = match ssc.start() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            return ExitCode::FAILURE;
        }
    };
    let deadline = duration.map(|d| std::time::Instant::now() + d.to_std());
    let mut failed = false;
    loop {
        match running.await_termination_or_timeout(Duration::millis(100)) {
            Ok(true) => break,
            Ok(false) => {}
            Err(e) => {
                eprintln!("error: {}", report(&e));
                failed = true;
            }
        }
        if signalled.load(Ordering::SeqCst) || deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            break;
        }
    }
    running.stop(true);
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The command line of a [`StreamJob`] (feature `cli`).
impl StreamJob {
    /// What the runtime says of the graph the job builds with the command line `matches`
    /// ([`StreamingContext::explain`]: the plan `--explain` prints and the Streaming page
    /// shows), nothing started; `None` when it cannot build it (an argument left out).
    pub(crate) fn runtime_plan(&self, matches: &clap::ArgMatches, job: &JobArgs) -> Option<String> {
        let values =
            self.spec.params.iter().map(|p| matches.get_one::<String>(p.name).cloned()).collect::<Option<Vec<_>>>()?;
        let mut ssc = job.context(self.spec.name, self.batch(), self.spec.threads).ok()?;
        if job.checkpoint.is_none() {
            if let Some(dir) = self.spec.checkpoint {
                ssc.checkpoint(dir);
            }
        }
        (self.build)(&mut ssc, &Args { values }).ok()?;
        Some(ssc.explain())
    }

    /// The job's command line: its parameters as positional arguments or, those marked
    /// `#[opt]`, named options (with their defaults), then [`JobArgs`].
    pub fn command(&self) -> Command {
        let mut cmd = JobArgs::augment_args(Command::new(self.spec.name)).about(None).long_about(None);
        if !self.spec.about.is_empty() {
            cmd = cmd.about(self.spec.about);
        }
        for p in self.spec.params {
            let check = p.check;
            let arg = Arg::new(p.name)
                .value_name(p.value_name)
                .help(format!("{} ({})", p.name, p.ty))
                .action(ArgAction::Set)
                .value_parser(move |s: &str| check(s).map(|()| s.to_string()));
            cmd = cmd.arg(match p.kind {
                ParamKind::Positional => arg.required_unless_present("explain"),
                // A value starting with `-` is the option's, refused by its parser if bad.
                ParamKind::Option { long, default } => {
                    let arg = arg.long(long).allow_hyphen_values(true);
                    match default {
                        Some(d) => arg.default_value(d),
                        None => arg.required_unless_present("explain"),
                    }
                }
            });
        }
        cmd
    }

    /// Runs the job with the process's command line; returns the exit status: 0 when every
    /// batch succeeded (or after `--help`, `--explain`), 1 when a batch failed or the job could
    /// not start, 2 for a bad command line.
    pub fn run(&self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Runs the job with command line `argv` (the program name first), as [`run`](Self::run).
    pub fn run_from<I, T>(&self, argv: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        let matches = match self.command().try_get_matches_from(&argv) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
            }
        };
        let job = match JobArgs::from_arg_matches(&matches) {
            Ok(j) => j,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(2);
            }
        };
        if job.explain {
            return crate::settings::explain(&self.spec, &job, self.runtime_plan(&matches, &job));
        }
        #[cfg(feature = "cluster")]
        if let Some(status) = job.launch_local_cluster(&argv) {
            return status;
        }
        let values =
            self.spec.params.iter().map(|p| matches.get_one::<String>(p.name).cloned().unwrap_or_default()).collect();
        init_logging();
        let mut ssc = match job.context(self.spec.name, self.batch(), self.spec.threads) {
            Ok(ssc) => ssc,
            Err(e) => {
                eprintln!("error: {}", report(&e));
                return ExitCode::FAILURE;
            }
        };
        if job.checkpoint.is_none() {
            if let Some(dir) = self.spec.checkpoint {
                ssc.checkpoint(dir);
            }
        }
        if let Err(e) = (self.build)(&mut ssc, &Args { values }) {
            eprintln!("error: {}", report(&e));
            return ExitCode::from(2);
        }
        let checked = crate::settings::Effective::of(&self.spec, &job)
            .and_then(|settings| crate::settings::check_start(&self.spec.requires, &ssc, &settings));
        if let Err(e) = checked {
            eprintln!("error: {}", report(&e));
            return ExitCode::FAILURE;
        }
        // With a checkpoint directory, the job continues from its newest checkpoint.
        run_until_stopped(ssc, job.duration)
    }
}

#[cfg(test)]
mod tests {
    use clap::{Args as _, Command};

    use super::JobArgs;

    #[cfg(feature = "ui")]
    #[test]
    fn the_page_keeps_the_batches_asked_for() {
        use clap::FromArgMatches;
        let cmd = JobArgs::augment_args(Command::new("job"));
        let kept = |argv: &[&str]| {
            let job = JobArgs::from_arg_matches(&cmd.clone().try_get_matches_from(argv).unwrap()).unwrap();
            job.context("job", crate::Duration::seconds(1), 1).unwrap().conf().ui.as_ref().map(|ui| ui.retained_batches)
        };
        assert_eq!(kept(&["job"]), Some(1000));
        assert_eq!(kept(&["job", "--ui-retained-batches", "50"]), Some(50));
        assert_eq!(kept(&["job", "--ui", "off", "--ui-retained-batches", "50"]), None);
        assert!(cmd.try_get_matches_from(["job", "--ui-retained-batches", "0"]).is_err());
    }

    /// The names `#[opt]` parameters cannot take are exactly the options of every job.
    #[test]
    fn the_common_options_are_those_of_job_args() {
        let cmd = JobArgs::augment_args(Command::new("job"));
        let mut longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
        longs.extend(["help", "version"]);
        longs.sort_unstable();
        let mut common = stream_spec::COMMON_OPTIONS.to_vec();
        common.sort_unstable();
        assert_eq!(longs, common);
    }

    #[cfg(feature = "cluster")]
    #[test]
    fn processes_on_one_machine_share_its_cores_unless_threads_are_given() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            job: JobArgs,
        }
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        std::fs::write(&hosts, "127.0.0.1:7000\n127.0.0.1:7001\n127.0.0.1:7002\n").unwrap();
        let member = ["job", "--processes", "3", "--process", "1", "--hosts", hosts.to_str().unwrap()];
        let threads = |extra: &[&str]| {
            let cli = Cli::parse_from(member.iter().chain(extra).copied());
            cli.job.context("job", crate::Duration::seconds(1), 64).unwrap().conf().threads
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(threads(&[]), (cores / 3).max(1));
        assert_eq!(threads(&["--threads", "5"]), 5);
        // Processes on several machines keep the job's default.
        std::fs::write(&hosts, "10.0.0.1:7000\n10.0.0.2:7000\n10.0.0.3:7000\n").unwrap();
        assert_eq!(threads(&[]), 64);
    }
}
