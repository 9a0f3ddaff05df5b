//! `recoverable_wordcount --dir <dir> | --socket <host:port> | --kafka <brokers> --topic <t>
//! --checkpoint <dir> --output <dir>`:
//! Spark's RecoverableNetworkWordCount. Kill it and start it again: it continues.
#![forbid(unsafe_code)]
use std::process::ExitCode;

use clap::Parser;
use jobs::recoverable_wordcount::{get_or_create, Input, Settings};
use stream_runtime::job::{init_logging, run_until_stopped, JobArgs};
use stream_runtime::Duration;

#[derive(Parser)]
#[command(about = "Word count with running totals that survives kill -9 (Spark's RecoverableNetworkWordCount)")]
struct Cli {
    /// Read new files of this directory (local or hdfs://).
    #[arg(long, conflicts_with_all = ["socket", "kafka"], required_unless_present_any = ["socket", "kafka"])]
    dir: Option<String>,
    /// Read lines from this TCP server, host:port.
    #[arg(long, conflicts_with = "kafka")]
    socket: Option<String>,
    /// Read the records of a Kafka topic through these brokers, host:port (with --topic).
    #[arg(long, requires = "topic")]
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
    /// Output directory.
    #[arg(long)]
    output: String,
    /// Checkpoint interval, e.g. 2s (default: about 10 s).
    #[arg(long)]
    checkpoint_interval: Option<Duration>,
    #[command(flatten)]
    job: JobArgs,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let Some(checkpoint) = cli.job.checkpoint.clone() else {
        eprintln!("error: --checkpoint <dir> is required");
        return ExitCode::FAILURE;
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
    match get_or_create(&checkpoint, &settings) {
        Ok(ssc) => run_until_stopped(ssc, cli.job.duration),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
