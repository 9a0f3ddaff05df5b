//! `recoverable_wordcount --dir <dir> | --socket <host:port> | --kafka <brokers> --topic <t>
//! --checkpoint <dir> --output <dir>`:
//! Spark's RecoverableNetworkWordCount. Kill it and start it again: it continues.
#![forbid(unsafe_code)]
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use jobs::recoverable_wordcount::{build, get_or_create, Input, Settings};
use stream_runtime::args::{parse_brokers, parse_input_dir, parse_output_dir, HostPort};
use stream_runtime::job::{init_logging, run_until_stopped, JobArgs};
use stream_runtime::Duration;

/// Word count with running totals that survives kill -9 (Spark's RecoverableNetworkWordCount).
///
/// Reads one input (--dir, --socket or --kafka), writes each batch's counts to
/// <output>/counts-<ms> and the running totals to <output>/totals-<ms>, and checkpoints to
/// --checkpoint; started again with the same checkpoint directory, it continues where it was.
#[derive(Parser)]
#[command(name = "recoverable_wordcount")]
#[command(group(clap::ArgGroup::new("input").required(true).args(["dir", "socket", "kafka"])))]
struct Cli {
    /// Read new files of this directory (local or hdfs://host:port/path).
    #[arg(long, value_name = "DIR", value_parser = parse_input_dir)]
    dir: Option<String>,
    /// Read lines from this TCP server, host:port.
    #[arg(long, value_name = "HOST:PORT")]
    socket: Option<HostPort>,
    /// Read the records of a Kafka topic through these brokers, host:port[,host:port...] (with --topic).
    #[arg(long, value_name = "BROKERS", requires = "topic", value_parser = check_brokers)]
    kafka: Option<String>,
    /// The Kafka topic.
    #[arg(long)]
    topic: Option<String>,
    /// The socket server replays its stream from the start on every connection.
    #[arg(long)]
    replayable: bool,
    /// Keep a write-ahead log of received lines.
    #[arg(long)]
    wal: bool,
    /// Output directory (local or hdfs://host:port/path).
    #[arg(long, value_name = "DIR", value_parser = parse_output_dir)]
    output: String,
    /// Checkpoint interval, e.g. 2s (default: the smallest multiple of the batch of at least 10 s).
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    checkpoint_interval: Option<Duration>,
    #[command(flatten)]
    job: JobArgs,
}

fn check_brokers(s: &str) -> Result<String, stream_runtime::args::AddrError> {
    parse_brokers(s).map(|_| s.to_string())
}

fn main() -> ExitCode {
    // The common --checkpoint is required here.
    let command = Cli::command().mut_arg("checkpoint", |a| a.required(true));
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let input = match (cli.dir, cli.socket, cli.kafka) {
        (Some(d), _, _) => Input::Dir(d),
        (None, Some(addr), _) => Input::Socket { addr, replayable: cli.replayable },
        (None, None, Some(brokers)) => Input::Kafka { brokers, topic: cli.topic.unwrap_or_default() },
        (None, None, None) => unreachable!("clap requires one"),
    };
    let threads = match cli.job.threads(2) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let settings = Settings {
        input,
        output: cli.output,
        batch: cli.job.batch.unwrap_or(Duration::seconds(1)),
        threads,
        checkpoint_interval: cli.checkpoint_interval,
        write_ahead_log: cli.wal,
    };
    if let Some(code) = cli.job.launch_local_cluster(std::env::args()) {
        return code;
    }
    let checkpoint = match cli.job.checkpoint_dir() {
        Ok(dir) => dir.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let member = match cli.job.member() {
        Ok(member) => member,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.job.explain {
        let mut ssc = build(&settings);
        ssc.checkpoint(checkpoint);
        print!("{}", ssc.explain());
        return ExitCode::SUCCESS;
    }
    init_logging();
    match get_or_create(&checkpoint, &settings) {
        Ok(ssc) => run_until_stopped(ssc.with_cluster(member), cli.job.duration),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
