//! `network_wordcount <host> <port>`: Spark's NetworkWordCount.
use std::process::ExitCode;

use clap::Parser;
use stream_runtime::job::{init_logging, run_until_stopped, JobArgs};
use stream_runtime::Duration;

/// Counts words in text received from a TCP server (e.g. `nc -lk 9999`).
#[derive(Parser)]
struct Cli {
    /// Host of the text server.
    host: String,
    /// Port of the text server.
    port: u16,
    #[command(flatten)]
    job: JobArgs,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let ssc = match cli.job.context("network_wordcount", Duration::seconds(1), 2) {
        Ok(ssc) => ssc,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    jobs::network_wordcount::network_wordcount(&ssc, &cli.host, cli.port);
    run_until_stopped(ssc, cli.job.duration)
}
