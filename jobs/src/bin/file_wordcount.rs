//! `file_wordcount <dir>`: Spark's HdfsWordCount over a local directory.
use std::process::ExitCode;

use clap::Parser;
use stream_runtime::job::{init_logging, run_until_stopped, JobArgs};
use stream_runtime::Duration;

/// Counts words in new files moved into a directory.
#[derive(Parser)]
struct Cli {
    /// Directory to watch (local path or file:// URL).
    dir: String,
    #[command(flatten)]
    job: JobArgs,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let ssc = match cli.job.context("file_wordcount", Duration::seconds(2), 2) {
        Ok(ssc) => ssc,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    jobs::file_wordcount::file_wordcount(&ssc, &cli.dir);
    run_until_stopped(ssc, cli.job.duration)
}
