//! `hdfs_wordcount [hdfs://namenode:port/dir]`: Spark's HdfsWordCount. Without a URL it runs
//! on an embedded HDFS cluster and feeds it sample text.
#![forbid(unsafe_code)]
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use jobs::hdfs_wordcount::{hdfs_wordcount, Demo, Embedded};
use stream_runtime::job::{init_logging, run_until_stopped, JobArgs};
use stream_runtime::Duration;

/// Counts words in new files put into an HDFS directory, every batch.
#[derive(Parser)]
#[command(name = "hdfs_wordcount")]
struct Cli {
    /// Directory to watch, e.g. hdfs://namenode:8020/user/me/booksStream. Without it, an
    /// embedded HDFS cluster is started and /user/<user>/booksStream in it is watched.
    #[arg(value_parser = stream_runtime::args::parse_input_dir)]
    url: Option<String>,
    /// Embedded cluster: keep its data in this directory (default: a temporary one).
    #[arg(long, value_name = "DIR", conflicts_with = "url")]
    data_dir: Option<PathBuf>,
    /// Embedded cluster: namenode port (default: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 0, conflicts_with = "url")]
    namenode_port: u16,
    /// Embedded cluster: do not feed the directory with sample text.
    #[arg(long, conflicts_with = "url")]
    no_demo: bool,
    /// Embedded cluster: put a sample file every this many batches.
    #[arg(long, value_name = "N", default_value_t = 3)]
    demo_every: u32,
    #[command(flatten)]
    job: JobArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ssc = match cli.job.context("hdfs_wordcount", Duration::seconds(2), 2) {
        Ok(ssc) => ssc,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.job.explain {
        // The plan only: no cluster is started, nothing is read.
        let dir = format!("<embedded cluster>/user/{}/booksStream", jobs::hdfs_wordcount::hdfs_user());
        hdfs_wordcount(&ssc, cli.url.as_deref().unwrap_or(&dir));
        print!("{}", ssc.explain());
        return ExitCode::SUCCESS;
    }
    init_logging();
    let embedded = match &cli.url {
        Some(_) => None,
        None => match Embedded::start(cli.data_dir.clone(), cli.namenode_port) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let url = match (&cli.url, &embedded) {
        (Some(url), _) => url.clone(),
        (None, Some(e)) => {
            println!("Embedded HDFS cluster at hdfs://{} (data in {})", e.namenode(), e.data_dir().display());
            println!("Watching {}", e.url());
            println!("Add files with any HDFS client, e.g. HADOOP_NAMENODE={} hdfs put FILE {}/", e.namenode(), e.dir);
            e.url()
        }
        (None, None) => unreachable!("an embedded cluster runs when no URL is given"),
    };
    // `--local-cluster N`: the processes watch this process's embedded cluster, which it feeds.
    let local_cluster = cli.job.local_cluster.is_some_and(|n| n > 1);
    if !local_cluster {
        hdfs_wordcount(&ssc, &url);
    }
    let demo = match &embedded {
        Some(e) if !cli.no_demo => match e.fs() {
            Ok(fs) => {
                let every = (ssc.batch_duration() * i64::from(cli.demo_every.max(1))).to_std();
                Some(Demo::start(fs as Arc<dyn stream_runtime::fs::FileSystem>, e.dir.clone(), every))
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let code = if local_cluster {
        let argv = member_argv(std::env::args(), embedded.is_some().then_some(url.as_str()));
        cli.job.launch_local_cluster(argv).unwrap_or(ExitCode::FAILURE)
    } else {
        run_until_stopped(ssc, cli.job.duration)
    };
    drop(demo);
    if let Some(e) = embedded {
        e.shutdown();
    }
    code
}

/// The command line of a local cluster's processes: this one's, with the embedded cluster's URL
/// in place of the options that start one.
fn member_argv(args: impl Iterator<Item = String>, url: Option<&str>) -> Vec<String> {
    let Some(url) = url else { return args.collect() };
    let mut out = Vec::new();
    let mut args = args.peekable();
    if let Some(program) = args.next() {
        out.extend([program, url.to_string()]);
    }
    while let Some(arg) = args.next() {
        let name = arg.split_once('=').map_or(arg.as_str(), |(name, _)| name);
        match name {
            "--no-demo" => {}
            "--data-dir" | "--namenode-port" | "--demo-every" if !arg.contains('=') => {
                args.next();
            }
            "--data-dir" | "--namenode-port" | "--demo-every" => {}
            _ => out.push(arg),
        }
    }
    out
}
